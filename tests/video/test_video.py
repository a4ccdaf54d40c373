"""Video style transfer (issue #20) on tiny clips made here: a photo seen through a window that
moves by known whole pixels (so the true flow is known), then a cut to another photo."""

from __future__ import annotations

import csv
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from paramart.errors import ParamartError
from paramart.io.images import load_image
from paramart.io.video import is_video, read_clip
from paramart.runner.signals import stop_on_signals
from paramart.video.flow import motion, warp
from tests.conftest import paramart_cli

av = pytest.importorskip("av")

#: (dx, dy) of the window between consecutive frames: the scene moves by minus this
SHIFTS = [(0, 0), (3, 2), (5, 3)]


def window(image: Image.Image, dx: int, dy: int, size: tuple[int, int]) -> np.ndarray:
    """The (h, w) crop of ``image`` whose top left corner is (10 + dx, 10 + dy)."""
    arr = np.asarray(image, dtype=np.uint8)
    return arr[10 + dy:10 + dy + size[0], 10 + dx:10 + dx + size[1]]


def photo(name: str, width: int) -> Image.Image:
    im = load_image(f"sample:{name}")
    return im.resize((width, round(width * im.height / im.width)), Image.Resampling.LANCZOS)


def write_mp4(path: Path, frames: list[np.ndarray], fps: int = 25) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "10"}
        for f in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A 64x48 MP4: the astronaut moving by SHIFTS[1] then a cut to the coffee cup."""
    tmp = tmp_path_factory.mktemp("clip")
    astronaut, coffee = photo("astronaut", 96), photo("coffee", 96)
    frames = [window(astronaut, 0, 0, (48, 64)), window(astronaut, 3, 2, (48, 64)), window(coffee, 0, 0, (48, 64))]
    return write_mp4(tmp / "clip.mp4", frames)


def test_warping_with_the_computed_flow_reproduces_the_next_frame():
    astronaut = photo("astronaut", 160)
    a = window(astronaut, 0, 0, (96, 128)).astype(np.float32) / 255
    for dx, dy in SHIFTS[1:]:
        b = window(astronaut, dx, dy, (96, 128)).astype(np.float32) / 255
        move = motion(a, b)
        reliable = move.weight > 0
        assert not move.cut and move.reliable > 0.7, move.reliable
        # frame b's pixel x shows frame a's pixel x + (dx, dy): the backward flow is the shift
        flow = np.median(move.backward[reliable], axis=0)
        assert np.allclose(flow, (dx, dy), atol=0.25), flow
        error = np.abs(warp(a, move.backward) - b).mean(-1)
        assert error[reliable].mean() < 0.02, error[reliable].mean()
        # the strip that entered the window (the right and bottom edge) is not reliable
        assert move.weight[:, -dx:].mean() < 0.2 and move.weight[-dy:, :].mean() < 0.2
    other = window(photo("coffee", 160), 0, 0, (96, 128)).astype(np.float32) / 255
    assert motion(a, other).cut


def test_reading_clips_by_time_and_from_folders(tmp_path, clip):
    assert is_video(str(clip)) and is_video(str(tmp_path)) and not is_video("sample:astronaut")
    frames = read_clip(str(clip)).frames
    assert len(frames) == 3 and frames[0].size == (64, 48)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(10):
        Image.new("RGB", (20, 16), (i * 20, 0, 0)).save(folder / f"f{i:03d}.png")
    picked = read_clip(str(folder), start=0.2, frames=3)  # a folder counts as 25 fps: files 5, 6, 7
    assert [f.getpixel((0, 0))[0] for f in picked.frames] == [100, 120, 140]
    assert [f.getpixel((0, 0))[0] for f in read_clip(str(folder), fps=12.5).frames] == [0, 40, 80, 120, 160]
    with pytest.raises(ParamartError, match="video.max_frames=4"):
        read_clip(str(folder), max_frames=4)


@pytest.mark.parametrize("kind", ["damaged", "empty", "no video stream", "too many frames", "method"])
def test_bad_clips_fail_in_one_line_before_any_model_loads(tmp_path, monkeypatch, clip, kind):
    import paramart.api

    monkeypatch.setattr(paramart.api, "load_model", lambda plan: pytest.fail("the model was loaded"))
    path, extra = tmp_path / "bad.mp4", []
    if kind == "damaged":
        path.write_bytes(clip.read_bytes()[:40] + b"\x00garbage" * 50)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "no video stream":
        with av.open(str(path), "w") as c:
            s = c.add_stream("aac", rate=8000)
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), dtype="float32"), format="fltp", layout="mono")
            frame.sample_rate = 8000
            c.mux(s.encode(frame))
            c.mux(s.encode())
    elif kind == "too many frames":
        path, extra = clip, ["video.max_frames=2"]
    else:
        path, extra = clip, ["video.method=field"]
    cfg = paramart.compose([f"content={path}", "size=32", *extra])
    with pytest.raises(ParamartError) as info:
        paramart.api.run(cfg, tmp_path / "run")
    assert "\n" not in str(info.value)
    assert {"damaged": "cannot read video", "empty": "empty (0 bytes)", "no video stream": "no video stream",
            "too many frames": "video.max_frames=2", "method": "video.method=field"}[kind] in str(info.value)


def test_a_damaged_clip_is_one_line_and_exit_2_through_the_cli(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\xff" * 300)
    res = paramart_cli(f"content={bad}", "size=32", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("paramart: error: cannot read video") and "broken.mp4" in lines[0]


def _rows(run: Path) -> list[dict[str, str]]:
    with open(run / "losses.csv") as f:
        return list(csv.DictReader(f))


def test_a_clip_through_the_cli_writes_frames_and_gif_and_the_cut_resets_the_temporal_term(tmp_path, clip):
    run = tmp_path / "run"
    res = paramart_cli(f"content={clip}", "size=32", "steps=6", "video.later_steps=3", "progress=false",
                       "video.side_by_side=true", f"hydra.run.dir={run}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    frames = sorted((run / "frames").glob("*.png"))
    assert [p.name for p in frames] == ["00000.png", "00001.png", "00002.png"]
    assert all(Image.open(p).size == (32, 24) for p in frames)
    with Image.open(run / "final.gif") as gif:
        assert gif.n_frames == 3 and gif.size == (32, 24)
    with Image.open(run / "side_by_side.gif") as gif:
        assert gif.size == (64, 24)
    assert (run / "final.mp4").stat().st_size > 0 and len(read_clip(str(run / "final.mp4")).frames) == 3
    rows = _rows(run)
    # frame 1 follows frame 0 (warm start, temporal term, later steps); frame 2 is a cut: a still again
    assert [(r["cut"], r["steps"]) for r in rows] == [("0", "6"), ("0", "3"), ("1", "6")]
    assert rows[0]["temporal"] == "" and float(rows[1]["temporal"]) > 0 and rows[2]["temporal"] == ""
    facts = (run / "run.json").read_text()
    assert '"cuts": [\n    2\n  ]' in facts and '"kind": "video"' in facts


def test_a_stopped_clip_resumes_at_the_next_frame_with_the_same_frames(tmp_path, monkeypatch, clip):
    import paramart.video.frames

    base = [f"content={clip}", "size=32", "steps=4", "video.later_steps=2", "progress=false", "seed=3"]
    straight = paramart.api.run(paramart.compose(base), tmp_path / "straight")

    real, calls = paramart.video.frames.run_stages, []

    def stop_at_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # SIGTERM while frame 1 starts: frame 0 is kept
            signal.raise_signal(signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(paramart.video.frames, "run_stages", stop_at_second)
    with pytest.raises(paramart.video.frames.VideoInterrupted) as info, stop_on_signals():
        paramart.api.run(paramart.compose(base), tmp_path / "stopped")
    assert info.value.frame == 1 and info.value.exit_code == 143
    assert "continue with: paramart resume=" in info.value.message()
    assert [p.name for p in (tmp_path / "stopped" / "frames").iterdir()] == ["00000.png"]
    monkeypatch.undo()

    resumed = paramart.api.run(paramart.compose([*base, f"resume={tmp_path / 'stopped'}"]), tmp_path / "resumed")
    for a, b in zip(straight.video.frames, resumed.video.frames, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert [r["frame"] for r in _rows(tmp_path / "resumed")] == ["0", "1", "2"]
