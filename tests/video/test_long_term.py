"""video.temporal.long_term (Ruder et al. 2016's long-term loss): a frame follows earlier
frames where the previous one's flow is not reliable, nearest first."""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest

import paramart
import paramart.api
from paramart.errors import ParamartError
from paramart.video.flow import motion
from paramart.video.frames import long_term_target
from tests.video.test_video import SHIFTS, photo, window, write_mp4

av = pytest.importorskip("av")


def test_each_pixel_follows_the_nearest_earlier_frame_that_sees_it():
    scene = window(photo("astronaut", 160), 0, 0, (96, 128)).astype(np.float32) / 255
    contents = {0: scene, 1: scene, 2: scene}
    rng = np.random.default_rng(0)
    results = {i: rng.random(scene.shape, dtype=np.float32) for i in range(3)}
    # frame 1 -> 2 is not reliable in a square (as if something had covered it in frame 1)
    move = motion(scene, scene)
    hole = np.zeros(scene.shape[:2], bool)
    hole[30:60, 40:80] = True
    move = dataclasses.replace(move, weight=np.where(hole, 0.0, move.weight).astype(np.float32))
    short, short_weight = long_term_target(results, contents, 2, [1], 0, move)
    target, weight = long_term_target(results, contents, 2, [1, 2], 0, move)
    assert short_weight[hole].max() == 0 and weight[hole].mean() > 0.9  # frame 0 fills the hole
    assert weight.max() <= 1 and np.array_equal(weight[~hole], short_weight[~hole])
    seen = hole & (weight > 0)
    assert np.abs(target[seen] - results[0][seen]).max() < 1e-4  # frame 0's result (zero flow) there
    assert np.abs(target[~hole] - short[~hole]).max() < 1e-6  # the previous frame's everywhere else
    # not across the shot's first frame
    _, first_only = long_term_target(results, contents, 2, [1, 2], 1, move)
    assert np.array_equal(first_only, short_weight)


def test_a_long_term_run_and_its_bad_values(tmp_path, monkeypatch):
    astronaut = photo("astronaut", 96)
    clip = write_mp4(tmp_path / "pan.mp4", [window(astronaut, dx, dy, (48, 64)) for dx, dy in SHIFTS])
    base = [f"content={clip}", "size=32", "steps=2", "video.later_steps=1", "progress=false", "video.mp4=false"]
    paramart.api.run(paramart.compose([*base, "video.temporal.long_term=[1,2]"]), tmp_path / "run")
    with open(tmp_path / "run" / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["cut"] for r in rows] == ["0", "0", "0"] and float(rows[2]["temporal"]) > 0
    assert '"long_term": [\n    1,\n    2\n  ]' in (tmp_path / "run" / "run.json").read_text()
    monkeypatch.setattr(paramart.api, "load_model", lambda plan: pytest.fail("the model was loaded"))
    for bad in ("[2,1]", "[0]", "[]", "[1,1]"):
        with pytest.raises(ParamartError, match="video.temporal.long_term="):
            paramart.api.run(paramart.compose([*base, f"video.temporal.long_term={bad}"]), tmp_path / "bad")
