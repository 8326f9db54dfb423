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
