"""video.passes (issue #20, item 3): Ruder et al.'s multi-pass, backward and forward over the clip
after the first pass, on the tiny clip of test_video (two frames of the astronaut, a cut, the coffee)."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest

import paramart
from paramart.errors import ParamartError
from paramart.runner.signals import stop_on_signals
from tests.video.test_video import _rows, clip  # noqa: F401  (the clip fixture)

av = pytest.importorskip("av")

BASE = ["size=32", "steps=4", "video.later_steps=2", "progress=false", "seed=3", "video.mp4=false"]


def test_later_passes_go_backward_and_forward_from_their_neighbour_and_stop_at_the_cut(tmp_path, clip):  # noqa: F811
    once = paramart.api.run(paramart.compose([f"content={clip}", *BASE]), tmp_path / "once")
    run = tmp_path / "run"
    result = paramart.api.run(paramart.compose([f"content={clip}", *BASE, "video.passes=3"]), run)
    rows = _rows(run)
    # pass 1 forward, pass 2 backward, pass 3 forward; 2 is a cut, so frames 1 and 2 never follow each other
    assert [(r["frame"], r["pass"]) for r in rows] == [
        ("0", "1"), ("1", "1"), ("2", "1"), ("2", "2"), ("1", "2"), ("0", "2"), ("0", "3"), ("1", "3"), ("2", "3")]
    follows = [r["temporal"] != "" for r in rows]
    assert follows == [False, True, False, False, False, True, False, True, False]
    assert [r["steps"] for r in rows[3:]] == ["1"] * 6  # video.pass_steps: later_steps // 2
    # the saved frames are the last pass's: not the single pass's
    assert len(result.video.frames) == 3
    assert not np.array_equal(np.asarray(once.video.frames[0]), np.asarray(result.video.frames[0]))
    facts = json.loads((run / "run.json").read_text())
    assert facts["passes"] == 3 and facts["pass_steps"] == 1
    assert facts["seconds"] == pytest.approx(sum(float(r["seconds"]) for r in rows), abs=0.05)


def test_a_run_stopped_in_a_later_pass_resumes_with_the_same_frames(tmp_path, monkeypatch, clip):  # noqa: F811
    import paramart.video.frames

    base = [f"content={clip}", *BASE, "video.passes=2"]
    straight = paramart.api.run(paramart.compose(base), tmp_path / "straight")
    real, calls = paramart.video.frames.run_stages, []

    def stop_at_fifth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:  # SIGTERM while pass 2 starts on frame 1 (after frame 2)
            signal.raise_signal(signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(paramart.video.frames, "run_stages", stop_at_fifth)
    with pytest.raises(paramart.video.frames.VideoInterrupted) as info, stop_on_signals():
        paramart.api.run(paramart.compose(base), tmp_path / "stopped")
    assert info.value.frame == 4 and "in pass 2 at frame 1: kept all 3 frames" in info.value.message()
    monkeypatch.undo()
    resumed = paramart.api.run(paramart.compose([*base, f"resume={tmp_path / 'stopped'}"]), tmp_path / "resumed")
    for a, b in zip(straight.video.frames, resumed.video.frames, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert [(r["frame"], r["pass"]) for r in _rows(tmp_path / "resumed")] == \
        [(r["frame"], r["pass"]) for r in _rows(tmp_path / "straight")]


@pytest.mark.parametrize("extra, says", [
    (["video.passes=0"], "video.passes=0"),
    (["video.pass_steps=0"], "video.pass_steps=0"),
    (["video.pass_blend=2"], "video.pass_blend=2"),
    (["video.passes=2", "video.method=field", "param=hashgrid", "optim=adam"],
     "video.passes=2 is for video.method=frames"),
])
def test_bad_pass_settings_are_one_line(tmp_path, clip, extra, says):  # noqa: F811
    with pytest.raises(ParamartError) as info:
        paramart.api.run(paramart.compose([f"content={clip}", *BASE, *extra]), tmp_path / "run")
    assert "\n" not in str(info.value) and says in str(info.value), str(info.value)
