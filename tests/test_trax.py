"""``fastcf trax``: the TraX server, driven over a pipe by vot-trax's own client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import fastcf
from conftest import require
from fastcf.cli.main import main
from synthetic import moving_object_clip

SRC = str(Path(fastcf.__file__).resolve().parents[1])


def start_server(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-m", "fastcf.cli.main", "trax", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        env=env,
    )


def connect(proc: subprocess.Popen):
    client = require("trax.client", "needs vot-trax")
    log: list[str] = []
    return client.Client(stream=(proc.stdin.fileno(), proc.stdout.fileno()), log=log.append)


def finish(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode(errors="replace")
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        stream.close()
    return rc, err


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    frames, boxes = moving_object_clip(8)
    folder = tmp_path_factory.mktemp("clip")
    paths = []
    for i, f in enumerate(frames):
        p = folder / f"{i:04d}.png"
        cv2.imwrite(str(p), f)
        paths.append(str(p))
    return frames, boxes, paths


def test_rectangle_init_update_quit_with_path_and_memory_images(clip):
    trax = require("trax")
    frames, boxes, paths = clip
    proc = start_server("--tracker", "eco-hc", "--threads", "1")
    try:
        c = connect(proc)
        assert c.tracker_name == "fastcf eco-hc"
        assert set(c.region_formats) >= {"rectangle", "polygon"}
        assert set(c.image_formats) >= {"path", "memory"}
        x, y, w, h = boxes[0]
        objs, _ = c.initialize(
            {"color": trax.FileImage.create(paths[0])},
            [(trax.Rectangle.create(x, y, w, h), {})],
            {},
        )
        assert objs[0][0].bounds() == pytest.approx((x, y, w, h))
        assert float(objs[0][1]["confidence"]) == 1.0
        ious = []
        for i in range(1, len(frames)):
            image = (
                trax.FileImage.create(paths[i])
                if i % 2
                else trax.MemoryImage.create(np.ascontiguousarray(frames[i][:, :, ::-1]))
            )
            objs, _ = c.frame({"color": image}, {}, [])
            region, props = objs[0]
            bx, by, bw, bh = region.bounds()
            gx, gy, gw, gh = boxes[i]
            ix = max(0.0, min(bx + bw, gx + gw) - max(bx, gx))
            iy = max(0.0, min(by + bh, gy + gh) - max(by, gy))
            ious.append(ix * iy / (bw * bh + gw * gh - ix * iy))
            assert 0.0 <= float(props["confidence"]) and props["ok"] in ("0", "1")
        assert min(ious) > 0.5  # it really tracks the object, through both image formats
        c.quit()
    finally:
        rc, err = finish(proc)
    assert rc == 0, err


def test_polygon_becomes_its_bounds_and_reinit_works(clip):
    trax = require("trax")
    frames, boxes, paths = clip
    proc = start_server("--tracker", "eco-hc")
    try:
        c = connect(proc)
        x, y, w, h = boxes[0]
        # a rotated-looking quadrilateral whose bounds are the box
        poly = [(x + w / 2, y), (x + w, y + h / 2), (x + w / 2, y + h), (x, y + h / 2)]
        objs, _ = c.initialize(
            {"color": trax.FileImage.create(paths[0])}, [(trax.Polygon.create(poly), {})], {}
        )
        assert objs[0][0].bounds() == pytest.approx((x, y, w, h))
        c.frame({"color": trax.FileImage.create(paths[1])}, {}, [])
        # re-initialisation (the supervised experiment's reset) in the same session
        x, y, w, h = boxes[3]
        objs, _ = c.initialize(
            {"color": trax.FileImage.create(paths[3])},
            [(trax.Rectangle.create(x, y, w, h), {})],
            {},
        )
        assert objs[0][0].bounds() == pytest.approx((x, y, w, h))
        objs, _ = c.frame({"color": trax.FileImage.create(paths[4])}, {}, [])
        assert objs[0][0].bounds()[2] > 0
        c.quit()
    finally:
        rc, err = finish(proc)
    assert rc == 0, err


def test_errors_reach_the_client_as_quit_messages(clip):
    trax = require("trax")
    _, boxes, paths = clip
    proc = start_server("--tracker", "no-such-tracker")
    try:
        c = connect(proc)
        with pytest.raises(trax.TraxException, match="unknown tracker 'no-such-tracker'"):
            c.initialize(
                {"color": trax.FileImage.create(paths[0])},
                [(trax.Rectangle.create(*boxes[0]), {})],
                {},
            )
    finally:
        rc, err = finish(proc)
    assert rc == 2 and "fastcf trax: error: unknown tracker" in err

    proc = start_server("--tracker", "eco-hc")
    try:
        c = connect(proc)
        with pytest.raises(trax.TraxException, match="missing.png"):
            c.initialize(
                {"color": trax.FileImage.create(str(Path(paths[0]).with_name("missing.png")))},
                [(trax.Rectangle.create(*boxes[0]), {})],
                {},
            )
    finally:
        rc, err = finish(proc)
    assert rc == 2 and err.strip().splitlines()[-1].startswith("fastcf trax: error:")


def test_missing_vot_trax_is_one_clear_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "trax", None)  # import trax -> ImportError
    assert main(["trax", "--tracker", "eco-hc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "vot-trax" in err[0] and "pip install" in err[0]
