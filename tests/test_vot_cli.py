"""``fastcf eval|report --protocol vot-*`` on a VOT-layout synthetic clip, and the real VOT
toolkit on a tiny workspace (slow)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from conftest import shared_path
from fastcf.cli.main import main
from fastcf.datasets import open_dataset
from fastcf.errors import ConfigError
from fastcf.evaluation.vot_toolkit import build_workspace
from synthetic import moving_object_clip


@pytest.fixture
def vot_root(tmp_path):
    frames, boxes = moving_object_clip(24)
    seq = tmp_path / "data" / "clip"
    (seq / "color").mkdir(parents=True)
    for i, f in enumerate(frames):
        cv2.imwrite(str(seq / "color" / f"{i + 1:08d}.png"), f)
    (seq / "groundtruth.txt").write_text(
        "".join(",".join(f"{v:g}" for v in b) + "\n" for b in boxes)
    )
    (tmp_path / "data" / "list.txt").write_text("clip\n")
    return tmp_path


def test_eval_and_report_vot_protocols(vot_root, capsys):
    spec = f"vot:{vot_root / 'data'}"
    results, out = vot_root / "results", vot_root / "reports"
    for extra in ([], ["--fps", "30"]):
        protocol = "vot-realtime" if extra else "vot-supervised"
        args = ["--trackers", "eco-hc", "--results", str(results), "--quiet"]
        assert main(["eval", spec, *args, "--protocol", protocol, *extra]) == 0
        assert (
            main(
                ["report", "--dataset", spec, "--results", str(results), "--out", str(out)]
                + ["--protocol", protocol, *extra, "--eao-interval", "5,20"]
            )
            == 0
        )
    sup = json.loads((out / "data" / "vot-supervised" / "report.json").read_text())
    rt = json.loads((out / "data" / "vot-realtime-30fps" / "report.json").read_text())
    for data in (sup, rt):
        t = data["trackers"]["eco-hc"]
        assert data["eao_interval"] == [5, 20]
        assert t["failures"] == 0 and t["accuracy"] > 0.6 and 0.5 < t["eao"] <= 1.0
    assert (results / "data" / "eco-hc" / "vot-supervised" / "clip" / "clip_001.txt").is_file()
    held = results / "data" / "eco-hc" / "vot-realtime-30fps" / "clip" / "clip_001_held.value"
    assert held.is_file()
    assert (out / "data" / "vot-supervised" / "eao_curve.png").is_file()
    printed = capsys.readouterr().out
    assert "EAO 5..20" in printed
    # the OTB protocol is still the default: no --protocol, no vot-* folder
    assert main(["eval", spec, "--trackers", "eco-hc", "--results", str(results), "--quiet"]) == 0
    assert (results / "data" / "eco-hc" / "clip.txt").is_file()


def test_bad_protocol_options_are_one_line_errors(vot_root, capsys):
    spec = f"vot:{vot_root / 'data'}"
    assert (
        main(
            ["eval", spec, "--trackers", "eco-hc", "--protocol", "vot-realtime"]
            + ["--fps", "0", "--results", str(vot_root / "r")]
        )
        == 2
    )
    assert "fps must be a number > 0" in capsys.readouterr().err
    assert (
        main(
            ["report", "--dataset", spec, "--results", str(vot_root / "r")]
            + ["--protocol", "vot-supervised", "--eao-interval", "9"]
        )
        == 2
    )
    assert "--eao-interval" in capsys.readouterr().err


def test_workspace_layout(tmp_path):
    data = shared_path("sequences")
    dataset = open_dataset(f"otb:{data}")
    ws = build_workspace(dataset, ["Crossing"], tmp_path / "ws", ["eco-hc"], max_frames=12)
    seq = tmp_path / "ws" / "sequences" / "Crossing"
    assert ws.frames == {"Crossing": 12} and ws.cut == {"Crossing": 120}
    assert len(list((seq / "color").glob("*.jpg"))) == 12
    assert "channels.color=color/%08d.jpg" in (seq / "sequence").read_text()
    # OTB's 1-based first box 205,151,17,50 is 204,150,17,50 in VOT's 0-based convention
    assert (seq / "groundtruth.txt").read_text().splitlines()[0] == "204,150,17,50"
    ini = (tmp_path / "ws" / "trackers.ini").read_text()
    assert "[fastcf_eco-hc]" in ini and "protocol = trax" in ini and "--tracker eco-hc" in ini
    assert (tmp_path / "ws" / "fastcf_vot_adapter.py").is_file()
    with pytest.raises(ConfigError, match="already a VOT workspace"):
        build_workspace(dataset, ["Crossing"], tmp_path / "ws", ["eco-hc"])


def test_workspace_cuts_before_unknown_ground_truth(tmp_path):
    dataset = open_dataset(f"otb:{shared_path('sequences')}")
    gt = dataset["skiing_lt"].ground_truth
    first_unknown = int(np.flatnonzero(np.isnan(gt).any(axis=1))[0])
    ws = build_workspace(dataset, ["skiing_lt"], tmp_path / "ws", ["eco-hc"])
    assert ws.frames["skiing_lt"] == first_unknown


@pytest.mark.slow
def test_real_vot_toolkit_matches_fastcf(tmp_path):
    """vot evaluate + vot analysis on a 2-sequence, 40-frame workspace with eco-hc; the
    toolkit's failures and accuracy equal fastcf's own supervised protocol's."""
    from fastcf.evaluation.vot_eval import run_vot, score_vot
    from fastcf.evaluation.vot_toolkit import (
        find_toolkit,
        install_toolkit,
        read_toolkit_analysis,
        run_toolkit,
        toolkit_trajectory,
    )

    data = shared_path("sequences")
    vot = find_toolkit()
    if vot is None:
        try:
            vot = install_toolkit()
        except ConfigError as exc:  # no PyPI here: nothing to test against
            pytest.skip(f"the VOT toolkit cannot be installed: {exc}")
    dataset = open_dataset(f"otb:{data}")
    ws = build_workspace(dataset, ["Biker", "Crossing"], tmp_path / "ws", ["eco-hc"], max_frames=40)
    tk = read_toolkit_analysis(run_toolkit(vot, ws).analysis)["fastcf_eco-hc"]
    vot_data = open_dataset(f"vot:{ws.root / 'sequences'}")
    run_vot(["eco-hc"], vot_data, tmp_path / "own")
    own = score_vot(
        tmp_path / "own" / vot_data.name, vot_data, "vot-supervised", interval=ws.interval
    )
    mine = own.scores[0]
    for q in mine.sequences:
        toolkit_lines = toolkit_trajectory(ws.root, "fastcf_eco-hc", q.sequence).read_text()
        assert toolkit_lines.count("\n2\n") + toolkit_lines.startswith("2\n") == q.failures
        assert tk["sequences"][q.sequence]["failures"] == q.failures
        assert tk["sequences"][q.sequence]["accuracy"] == pytest.approx(q.accuracy, abs=0.01)
    assert tk["accuracy"] == pytest.approx(mine.accuracy, abs=0.01)
    assert tk["eao"] == pytest.approx(mine.eao, abs=0.01)
