"""video.method=field (issue #20, item 4): one (x, y, t) hash grid for a whole clip, on a tiny
clip made here (the astronaut seen through a moving window, then a cut to the coffee cup)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import paramart
from paramart.errors import ParamartError
from paramart.io.images import to_pil
from paramart.io.video import read_clip
from paramart.outputs.gallery import build_gallery
from paramart.video.field_files import load_field, render_times
from tests.conftest import paramart_cli
from tests.video.test_video import photo, window, write_mp4

av = pytest.importorskip("av")

FIELD = ["video.method=field", "param=hashgrid", "optim=adam", "optim.lr=0.01", "size=32", "steps=4",
         "progress=false", "seed=1"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """3 frames at 25 fps: two of the astronaut (the window moves by (3, 2) px), then a cut."""
    astronaut, coffee = photo("astronaut", 96), photo("coffee", 96)
    frames = [window(astronaut, 0, 0, (48, 64)), window(astronaut, 3, 2, (48, 64)), window(coffee, 0, 0, (48, 64))]
    return write_mp4(tmp_path_factory.mktemp("clip") / "clip.mp4", frames)


def test_render_times_hold_the_last_frame_of_a_shot_before_a_cut():
    times = render_times([2, 1], 25.0, 50.0)  # positions 0, 0.5, 1, 1.5, 2, 2.5
    assert [(s, round(t, 3)) for s, t, _ in times] == [(0, 0.0), (0, 0.5), (0, 1.0), (0, 1.0), (1, 0.0), (1, 0.0)]
    assert len(render_times([10], 25.0, 10.0)) == 4  # fewer frames at a lower rate


def test_a_field_run_renders_slow_motion_and_saves_a_field_that_renders_again(tmp_path, clip):
    run = tmp_path / "run"
    result = paramart.api.run(paramart.compose([f"content={clip}", *FIELD, "param.prefit.steps=10",
                                                "video.render_fps=50", "video.side_by_side=true"]), run)
    frames = sorted((run / "frames").glob("*.png"))
    # 3 input frames at 25 fps, rendered at 50 fps: 6 frames, numbered from 0
    assert [p.name for p in frames] == [f"{i:05d}.png" for i in range(6)]
    assert all(Image.open(p).size == (32, 24) for p in frames)
    with Image.open(run / "final.gif") as gif:  # Pillow merges a held frame into the one before it
        durations = [gif.seek(i) or gif.info["duration"] for i in range(gif.n_frames)]
        assert sum(durations) == 6 * 20 and gif.size == (32, 24)
    with Image.open(run / "side_by_side.gif") as gif:
        assert gif.size == (64, 24)
    assert len(read_clip(str(run / "final.mp4")).frames) == 6
    facts = json.loads((run / "run.json").read_text())
    assert (facts["method"], facts["frames"], facts["input_frames"], facts["render_fps"], facts["cuts"]) == \
        ("field", 6, 3, 50.0, [2])
    assert facts["steps_done"] == 4 and result.video.fps == 50.0 and len(result.video.frames) == 6
    pixels = [np.asarray(Image.open(p), dtype=np.int16) for p in frames]
    # frame 1 lies between input frames 0 and 1; frame 3 (position 1.5, before the cut) holds frame 2
    assert np.abs(pixels[1] - pixels[0]).max() > 0 and np.abs(pixels[1] - pixels[2]).max() > 0
    assert np.array_equal(pixels[2], pixels[3])
    # after the cut, the other shot's grids: the coffee, not the astronaut
    assert np.abs(pixels[4] - pixels[3]).mean() > 5
    # losses.csv: the step rows with the temporal term between the frames of the first shot
    header = (run / "losses.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["step", "frames", "total"] and "temporal" in header
    # checkpoint.pt renders the same frames again, and at another size
    field, data = load_field(run / "checkpoint.pt")
    assert data["shots"] == [2, 1] and data["fps"] == 25.0
    again = np.asarray(to_pil(field.frame(0, 0.5)), dtype=np.int16)
    assert np.abs(again - pixels[1]).max() <= 1
    assert tuple(field.frame(1, 0.0, (48, 64)).shape) == (1, 3, 48, 64)
    # the gallery shows a clip: input | result and the styled clip (issue #20, item 7)
    site = build_gallery([run], tmp_path / "site")
    piece = next((tmp_path / "site" / "pieces").iterdir())
    assert sorted(p.name for p in piece.iterdir()) == ["final.gif", "side_by_side.gif"]
    page = site.read_text()
    assert "input | result" in page and "method field" in page


@pytest.mark.parametrize("form", ["canonical", "spacetime"])
def test_a_field_run_renders_at_another_size(tmp_path, clip, form):
    cfg = paramart.compose([f"content={clip}", *FIELD, "steps=1", "param.prefit.steps=0", "video.render_size=48",
                            "video.frames=2", "video.mp4=false", f"video.field.form={form}"])
    paramart.api.run(cfg, tmp_path / "run")
    frames = sorted((tmp_path / "run" / "frames").glob("*.png"))
    assert len(frames) == 2 and Image.open(frames[0]).size == (48, 36)


@pytest.mark.parametrize("extra, says", [
    (["param=pixel", "optim=adam"], "use param=hashgrid"),
    (["optim=lbfgs"], "needs optim=adam"),
    (["video.render_fps=0"], "video.render_fps=0"),
    (["video.render_fps=nan"], "video.render_fps=nan"),
    (["video.render_size=8"], "video.render_size=8"),
    (["video.field.batch=0"], "video.field.batch=0"),
    (["video.field.time_cells=0"], "video.field.time_cells=0"),
    (["video.field.form=grid"], "video.field.form=grid must be one of canonical, spacetime"),
    (["video.field.finest_per_pixel=0"], "video.field.finest_per_pixel=0"),
    (["schedule.scales=[0.5,1]"], "schedule.scales="),
    (["video.method=frames", "video.render_fps=50"], "video.render_fps=50"),
])
def test_bad_field_settings_are_one_line_before_the_model_loads(tmp_path, monkeypatch, clip, extra, says):
    import paramart.api

    monkeypatch.setattr(paramart.api, "load_model", lambda plan: pytest.fail("the model was loaded"))
    with pytest.raises(ParamartError) as info:
        paramart.api.run(paramart.compose([f"content={clip}", *FIELD, *extra]), tmp_path / "run")
    assert "\n" not in str(info.value) and says in str(info.value), str(info.value)


def test_a_bad_render_rate_is_exit_2_through_the_cli(tmp_path, clip):
    res = paramart_cli(f"content={clip}", *FIELD, "video.render_fps=-3", f"hydra.run.dir={tmp_path / 'run'}",
                       cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "video.render_fps=-3" in lines[0], res.stderr


@pytest.mark.parametrize("method", ["frames", "field"])
def test_the_live_preview_shows_the_frame_being_styled(tmp_path, monkeypatch, clip, method):
    from paramart.outputs import live

    seen: list[live.LiveRun] = []
    clips: list[tuple[int, int]] = []
    real_init, real_clip = live.LiveRun.__init__, live.LiveRun.clip

    def init(self, **kwargs):
        real_init(self, **kwargs)
        seen.append(self)

    def record(self, index, count, total):
        clips.append((index, count))
        real_clip(self, index, count, total)

    monkeypatch.setattr(live.LiveRun, "__init__", init)
    monkeypatch.setattr(live.LiveRun, "clip", record)
    extra = [*FIELD, "param.prefit.steps=0", "steps=3", "preview.refresh=0.001"] if method == "field" else \
        ["size=32", "steps=2", "video.later_steps=1", "progress=false", "preview.refresh=0.001"]
    cfg = paramart.compose([f"content={clip}", "preview.enabled=true", "preview.port=0", "video.mp4=false", *extra])
    paramart.api.run(cfg, tmp_path / "run")
    (page,) = seen
    state = page.snapshot()
    assert state["status"] == "done" and page.frame_png() is not None
    if method == "frames":  # each frame in turn, its steps after the previous frame's
        assert sorted(set(clips)) == [(0, 3), (1, 3), (2, 3)] and state["step"] == 2 + 1 + 2
    else:  # the frames the field scores, as it trains
        assert clips and all(count == 3 and 0 <= k < 3 for k, count in clips) and state["step"] == 3
    assert state["clip"]["frames"] == 3


def test_a_stopped_field_run_resumes_to_the_field_an_unstopped_run_trains(tmp_path, monkeypatch, clip):
    import paramart.video.field
    from paramart.video.run import FieldInterrupted

    base = [f"content={clip}", *FIELD, "param.prefit.steps=3", "steps=5", "video.mp4=false"]
    straight = paramart.api.run(paramart.compose(base), tmp_path / "straight")
    calls = []

    def stop_after_two_steps():  # 3 pre-fit checks, then one before each step: SIGTERM before step 3
        calls.append(1)
        return "SIGTERM" if len(calls) == 6 else None

    monkeypatch.setattr(paramart.video.field, "stop_requested", stop_after_two_steps)
    with pytest.raises(FieldInterrupted) as info:
        paramart.api.run(paramart.compose(base), tmp_path / "stopped")
    assert info.value.step == 2 and "continue with: paramart resume=" in info.value.message()
    monkeypatch.undo()
    resumed = paramart.api.run(paramart.compose([*base, f"resume={tmp_path / 'stopped'}"]), tmp_path / "resumed")
    for a, b in zip(straight.video.frames, resumed.video.frames, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    facts = json.loads((tmp_path / "resumed" / "run.json").read_text())
    assert facts["steps_done"] == 5
    steps = [r.split(",")[0] for r in (tmp_path / "resumed" / "losses.csv").read_text().splitlines()[1:]]
    assert steps == [r.split(",")[0] for r in (tmp_path / "straight" / "losses.csv").read_text().splitlines()[1:]]
    # a folder without a field's checkpoint is one line before the model loads
    with pytest.raises(ParamartError, match="no checkpoint.pt there"):
        paramart.api.run(paramart.compose([*base, f"resume={tmp_path}"]), tmp_path / "again")
