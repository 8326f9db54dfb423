"""fastcf.evaluation.report: end to end on published results, and edge cases on tiny data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_path
from fastcf.datasets.base import Dataset, Sequence
from fastcf.errors import DatasetError
from fastcf.evaluation.plots import CurveEntry, sorted_entries
from fastcf.evaluation.report import build_report, score_results
from fastcf.io.frames import ImageFiles
from fastcf.io.results import read_boxes, result_paths, write_error, write_result
from fastcf.metrics import got_ious, got_scores, mean_curves, score_sequence

SEQS = ("Crossing", "Dog", "Human3", "Biker")
TRACKERS = ("ATOM", "SiamFC", "CFNet")
ATTRS = {"Crossing": ("SV", "DEF"), "Dog": ("SV",), "Human3": ("OCC", "DEF"), "Biker": ()}


def _otb_dataset(seq_root: Path, names=SEQS, attrs=ATTRS) -> Dataset:
    """An OTB Dataset built straight from groundtruth_rect.txt (no dataset reader)."""
    seqs = []
    for name in names:
        gt = read_boxes(seq_root / name / "groundtruth_rect.txt")
        gt[:, :2] -= 1.0  # OTB is 1-based; fastcf holds 0-based boxes
        frames = ImageFiles(sorted((seq_root / name / "img").glob("*.jpg"))[: len(gt)])
        seqs.append(Sequence(name, frames, gt, offset=1.0, attributes=attrs.get(name, ())))
    return Dataset("OTB", seq_root, seqs, attribute_names=("SV", "OCC", "DEF", "IV"))


@pytest.fixture
def published(tmp_path: Path) -> tuple[Path, Dataset, dict[str, np.ndarray]]:
    results = shared_path("results", "OTB100")
    dataset = _otb_dataset(shared_path("sequences"))
    root = tmp_path / "results"
    for t in TRACKERS:
        for s in SEQS:
            dst = result_paths(root, "OTB", t, s).boxes
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(results / t / f"{s}.txt", dst)
    # ATOM gets per-frame times; CFNet "failed" on Dog
    rng = np.random.default_rng(0)
    times = {}
    for s in SEQS:
        t = rng.uniform(0.01, 0.05, len(dataset[s].ground_truth))
        t[0] = 3.0  # a slow init must not count
        times[s] = t
        p = result_paths(root, "OTB", "ATOM", s).times
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("".join(f"{v:.6f}\n" for v in t))
    paths = result_paths(root, "OTB", "CFNet", "Dog")
    paths.boxes.unlink()
    write_error(paths, "frame 17: RuntimeError: boom")
    return root, dataset, times


def test_report_end_to_end_on_published_results(published, tmp_path: Path) -> None:
    root, dataset, times = published
    out = tmp_path / "reports"
    report = build_report(root, dataset, out_dir=out)
    for stem in ("success", "precision", "norm_precision"):
        for ext in ("png", "svg"):
            f = out / f"{stem}.{ext}"
            assert f.is_file() and f.stat().st_size > 1000, f
    assert (out / "success.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (out / "success.svg").read_text()
    data = json.loads((out / "report.json").read_text())
    md = (out / "report.md").read_text()
    assert sorted(data["trackers"]) == sorted(TRACKERS)
    assert data["sequences"] == list(SEQS)

    published_dir = shared_path("results", "OTB100")
    for t in TRACKERS:
        curves, ious = [], []
        for s in SEQS:
            seq = dataset[s]
            entry = data["trackers"][t]["sequences"][s]
            if t == "CFNet" and s == "Dog":
                assert entry["status"] == "failed" and "boom" in entry["message"]
                curves.append(None)
                ious.append(np.zeros(len(seq.ground_truth) - 1))
                continue
            gt1 = read_boxes(shared_path("sequences", s, "groundtruth_rect.txt"))
            res = read_boxes(published_dir / t / f"{s}.txt")[: len(gt1)]
            want = score_sequence(res, gt1)
            assert entry["status"] == "ok"
            assert entry["auc"] == pytest.approx(want.auc, abs=1e-12)
            assert entry["precision_20"] == pytest.approx(want.precision_20, abs=1e-12)
            assert entry["norm_precision_20"] == pytest.approx(want.norm_precision_20, abs=1e-12)
            g = got_scores(got_ious(res, gt1))
            assert entry["ao"] == pytest.approx(g.ao, abs=1e-12)
            assert entry["sr75"] == pytest.approx(g.sr75, abs=1e-12)
            if s == "Human3":
                assert entry["truncated_from"] == 1698
            curves.append(want.curves)
            ious.append(got_ious(res, gt1))
        ok = [c for c in curves if c is not None]
        overall = data["trackers"][t]["overall"]
        # a failed sequence enters the mean with zero curves
        mean_auc = sum(c.auc for c in ok) / len(SEQS)
        assert overall["auc"] == pytest.approx(mean_auc, abs=1e-12)
        if len(ok) == len(SEQS):
            assert overall["auc"] == pytest.approx(mean_curves(ok).auc, abs=1e-12)
        p20 = sum(c.precision_20 for c in ok) / len(SEQS)
        assert overall["precision_20"] == pytest.approx(p20, abs=1e-12)
        assert overall["ao"] == pytest.approx(got_scores(ious).ao, abs=1e-12)
        assert overall["failed_sequences"] == (1 if t == "CFNet" else 0)
        assert report.tracker(t).curves.auc == pytest.approx(overall["auc"])
        assert f"| {t} | {overall['auc']:.3f} | {overall['precision_20']:.3f} |" in md

    # speed: throughput = frames / tracking time per sequence (init included), mean over
    # sequences; latency over the update frames pooled
    atom = data["trackers"]["ATOM"]["overall"]["speed"]
    written = {s: np.round(times[s], 6) for s in SEQS}  # as the fixture wrote them
    per_seq = [len(written[s]) / written[s].sum() for s in SEQS]
    assert atom["throughput_fps"] == pytest.approx(np.mean(per_seq), rel=1e-12)
    frames = sum(len(written[s]) for s in SEQS)
    assert atom["throughput_fps_pooled"] == pytest.approx(
        frames / sum(written[s].sum() for s in SEQS), rel=1e-12
    )
    pooled = np.concatenate([written[s][1:] for s in SEQS])
    assert atom["latency_ms"]["median"] == pytest.approx(np.median(pooled) * 1e3, rel=1e-9)
    assert atom["latency_ms"]["p95"] == pytest.approx(np.percentile(pooled, 95) * 1e3, rel=1e-9)
    assert atom["init_ms_median"] == pytest.approx(3000.0)
    assert atom["frames"] == frames and atom["sequences"] == len(SEQS)
    assert data["trackers"]["SiamFC"]["overall"]["speed"]["throughput_fps"] is None
    assert "n/a" in md

    # attributes: mean of per-sequence AUC over the sequences having the attribute
    attrs = data["attributes"]
    assert list(attrs) == ["SV", "OCC", "DEF"]  # IV: no sequence, no row
    assert attrs["SV"]["sequences"] == ["Crossing", "Dog"]
    for t in TRACKERS:
        seq_auc = {
            s: data["trackers"][t]["sequences"][s].get("auc", 0.0) for s in SEQS
        }  # failed -> 0
        assert attrs["SV"]["trackers"][t]["auc"] == pytest.approx(
            (seq_auc["Crossing"] + seq_auc["Dog"]) / 2, abs=1e-12
        )
        assert attrs["DEF"]["trackers"][t]["auc"] == pytest.approx(
            (seq_auc["Crossing"] + seq_auc["Human3"]) / 2, abs=1e-12
        )
        assert attrs["OCC"]["trackers"][t]["auc"] == pytest.approx(seq_auc["Human3"], abs=1e-12)
    assert "## AUC per attribute" in md

    # the legend of the success plot is sorted by AUC (best first) with the AUC in it
    svg = (out / "success.svg").read_text()
    order = sorted(TRACKERS, key=lambda t: -data["trackers"][t]["overall"]["auc"])
    labels = [f"{t} [{data['trackers'][t]['overall']['auc']:.3f}]" for t in order]
    positions = [svg.find(label) for label in labels]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), labels


def test_report_cli(published, tmp_path: Path) -> None:
    import fastcf.datasets as datasets

    if not hasattr(datasets, "open_dataset"):
        pytest.skip("dataset readers not available")
    from fastcf.cli.main import main

    root, _, _ = published
    spec = f"otb:{shared_path('sequences')}"
    name = datasets.open_dataset(spec).name
    if name != "OTB":  # the reader names the dataset; the results folder must match
        shutil.move(str(root / "OTB"), str(root / name))
    out = tmp_path / "out"
    rc = main(["report", "--results", str(root), "--dataset", spec, "--out", str(out)])
    assert rc == 0
    data = json.loads((out / name / "report.json").read_text())
    assert set(data["trackers"]) == set(TRACKERS)
    # only the sequences some tracker ran are scored; the others are listed as skipped
    assert sorted(data["sequences"]) == sorted(SEQS)
    assert "ball1" in data["skipped_sequences"]
    rc = main(
        [
            "report",
            "--results",
            str(root),
            "--dataset",
            spec,
            "--trackers",
            "ATOM",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    assert list(json.loads((out / name / "report.json").read_text())["trackers"]) == ["ATOM"]
    # unknown tracker: one clear error line, exit status 2
    bad = ["--trackers", "nope", "--out", str(out)]
    rc = main(["report", "--results", str(root), "--dataset", spec, *bad])
    assert rc == 2


# --- tiny synthetic data (no shared data needed) ---------------------------------


def _tiny_dataset(tmp_path: Path) -> Dataset:
    gt_a = np.array([[10, 10, 20, 20]] * 5, float)
    gt_b = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [np.nan] * 4, [0, 0, 10, 10]], float)
    seqs = [
        Sequence("a", ImageFiles([tmp_path / f"a{i}.jpg" for i in range(5)]), gt_a, 1.0),
        Sequence("b", ImageFiles([tmp_path / f"b{i}.jpg" for i in range(4)]), gt_b, 1.0),
    ]
    return Dataset("Tiny", tmp_path, seqs)


def test_tiny_report_conventions(tmp_path: Path) -> None:
    ds = _tiny_dataset(tmp_path)
    root = tmp_path / "results"
    a, b = ds["a"], ds["b"]
    # "perfect": boxes written in the dataset convention (+1) must score 1
    write_result(
        result_paths(root, "Tiny", "perfect", "a"),
        a.to_dataset_convention(a.ground_truth),
        np.full(5, 0.01),
    )
    perfect_b = np.nan_to_num(b.ground_truth, nan=5.0)
    write_result(
        result_paths(root, "Tiny", "perfect", "b"),
        b.to_dataset_convention(perfect_b),
        [1.0, 0.02, 0.02, 0.02],
    )
    # "short": result of sequence a is too short (incomplete), b too long (truncated)
    write_result(result_paths(root, "Tiny", "short", "a"), np.ones((3, 4)), np.ones(3))
    long_b = np.vstack([b.to_dataset_convention(perfect_b), np.ones((2, 4))])
    write_result(result_paths(root, "Tiny", "short", "b"), long_b, np.ones(6))
    report = build_report(root, ds, out_dir=tmp_path / "rep")
    perfect = report.tracker("perfect")
    assert perfect.curves.auc == pytest.approx(20 / 21)  # IoU 1 is not > 1
    assert perfect.curves.precision_20 == 1.0
    assert perfect.ao == 1.0 and perfect.sr75 == 1.0
    # throughput includes the init frame and time: a at 0.01 s/frame, b with a 1 s init
    assert perfect.speed.throughput_fps == pytest.approx((100.0 + 4 / 1.06) / 2)
    assert perfect.speed.latency_median_ms == pytest.approx(10.0)  # update frames only
    assert perfect.speed.init_ms_median == pytest.approx((10.0 + 1000.0) / 2)
    short = report.tracker("short")
    seqs = short.by_sequence()
    assert seqs["a"].status == "incomplete" and not seqs["a"].ok
    assert seqs["b"].ok and seqs["b"].truncated_from == 6
    assert short.curves.auc == pytest.approx(20 / 21 / 2)
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert data["trackers"]["short"]["overall"]["failed"] == {"a": "incomplete"}
    assert data["trackers"]["short"]["sequences"]["b"]["truncated_from"] == 6
    assert data["attributes"] == {}


def test_tiny_report_errors(tmp_path: Path) -> None:
    ds = _tiny_dataset(tmp_path)
    root = tmp_path / "results"
    with pytest.raises(DatasetError, match="no results folder"):
        score_results(root, ds)
    p = result_paths(root, "Tiny", "t", "a")
    p.boxes.parent.mkdir(parents=True)
    p.boxes.write_text("1,2,3\n")  # unreadable: 3 columns
    with pytest.raises(DatasetError, match="no results for tracker 'u'"):
        score_results(root, ds, trackers=["u"])
    with pytest.raises(DatasetError, match="no sequence 'zzz'"):
        score_results(root, ds, sequences=["zzz"])
    rep = score_results(root, ds)
    assert rep.sequences == ["a"] and rep.skipped_sequences == ["b"]
    s = rep.tracker("t").by_sequence()["a"]
    assert s.status == "unreadable" and "expected 4 values" in s.message
    # naming a sequence explicitly scores it even if nobody ran it (missing -> failed)
    rep = score_results(root, ds, sequences=["a", "b"])
    assert rep.tracker("t").by_sequence()["b"].status == "missing"
    assert len(rep.tracker("t").failed) == 2


def test_plot_legend_order() -> None:
    t = np.linspace(0, 1, 3)
    entries = [
        CurveEntry("b", t, t, 0.5),
        CurveEntry("a", t, t, 0.5),
        CurveEntry("c", t, t, float("nan")),
        CurveEntry("d", t, t, 0.7),
    ]
    assert [e.label for e in sorted_entries(entries)] == ["d", "a", "b", "c"]
