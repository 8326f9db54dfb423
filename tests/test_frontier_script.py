"""benchmarks/frontier.py end to end on 2 short development sequences (the full run lives in
benchmarks/; this checks the script, its table and its plot)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO, shared_path


def test_frontier_script_on_two_short_sequences(tmp_path: Path) -> None:
    shared_path("sequences", "Dog")
    out = tmp_path / "out"
    cmd = [
        sys.executable, str(REPO / "benchmarks" / "frontier.py"),
        "--variants", "feco,cg-3,scales-3", "--sequences", "Dog,Crossing", "--frames", "12",
        "--bench-frames", "6", "--workers", "1", "--name", "fr-test",
        "--out", str(out), "--raw", str(tmp_path / "raw"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads((out / "fr-test.json").read_text())
    assert set(rows) == {"feco", "fr-cg-3", "fr-scales-3"}
    for r in rows.values():
        assert 0.0 <= r["auc"] <= 1.0 and r["fps"] > 0 and r["latency_p95_ms"] > 0
    assert rows["fr-scales-3"]["overrides"] == {
        "use_scale_filter": "false",
        "number_of_scales": "3",
    }
    text = (out / "fr-test.md").read_text()
    assert "| feco | (default) |" in text and (out / "fr-test.png").stat().st_size > 10_000


def test_every_frontier_variant_is_a_valid_feco_config() -> None:
    """``--list`` builds every variant's config (a typo in a knob fails here, not after an
    hour of accuracy runs) and prints each variant's overrides."""
    cmd = [sys.executable, str(REPO / "benchmarks" / "frontier.py"), "--variants", "all", "--list"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = dict(line.split(": ", 1) for line in proc.stdout.splitlines())
    assert lines["feco"] == "-"
    assert lines["fr-budget"] == (
        "min_image_sample_size=22500, max_image_sample_size=40000, n_samples=30"
    )
    assert len(lines) >= 20


def test_frontier_refuses_a_variant_with_a_bad_knob(tmp_path: Path) -> None:
    """A knob that is not an ``ECOConfig`` field is refused before anything runs."""
    script = tmp_path / "bad_frontier.py"
    src = (REPO / "benchmarks" / "frontier.py").read_text()
    script.write_text(src.replace('"cg-3": {"cg_iter": "3"}', '"cg-3": {"cg_iters": "3"}'))
    (tmp_path / "devset.py").write_text((REPO / "benchmarks" / "devset.py").read_text())
    cmd = [sys.executable, str(script), "--variants", "cg-3", "--list"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "variant 'cg-3'" in proc.stderr and "cg_iters" in proc.stderr
