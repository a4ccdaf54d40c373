"""Time-lapse of an optimisation: frames stream to disk, then become a GIF (and an MP4).

During the run each captured frame is written at once as a PNG under ``frames/`` and
dropped, so a run of any length holds no frames in memory. At the end the frames are
read back one at a time and quantised to a palette (1 byte per pixel) for the GIF; the
MP4 (when the optional ``imageio-ffmpeg`` is installed) is encoded as a stream.
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import time
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import torch
from PIL import Image

from paramart.errors import WriteError
from paramart.geometry import fit_size
from paramart.io.atomic import atomic_write, write_error
from paramart.io.images import to_pil
from paramart.io.runfolder import TIMELAPSE_GIF, TIMELAPSE_MP4
from paramart.runner.events import Observer


def auto_every(steps: int, frames: int) -> int:
    """Capture interval giving at most about ``frames`` frames over ``steps`` steps."""
    return max(1, math.ceil(steps / max(1, frames)))


class Timelapse(Observer):
    """Collects frames of a run (across scales: all frames share one frame size)."""

    def __init__(self, out_dir: str | Path, canvas: tuple[int, int], *, every: int, fps: float,
                 hold_seconds: float, max_size: int, mp4: bool | None = None, keep_frames: bool = False,
                 every_seconds: float | None = None):
        self.dir = Path(out_dir)
        self.frames_dir = self.dir / "frames"
        try:
            self.frames_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteError(write_error(self.frames_dir, exc)) from None
        self.every = max(1, int(every))
        self.fps = float(fps)
        self.hold_seconds = float(hold_seconds)
        h, w = canvas
        self.frame_size = fit_size(w, h, min(max_size, max(h, w)))  # (h, w), never upscaled
        self.mp4 = importlib.util.find_spec("imageio_ffmpeg") is not None if mp4 is None else mp4
        self.keep_frames = keep_frames
        #: with a time budget: a frame every this many seconds instead of every ``every`` steps
        self.every_seconds = every_seconds
        self.count = 0
        self.last_step = -1
        self._last_time = time.perf_counter()

    def _frame(self, image: torch.Tensor) -> Image.Image:
        pil = to_pil(image)
        h, w = self.frame_size
        return pil if pil.size == (w, h) else pil.resize((w, h), Image.Resampling.LANCZOS)

    def due(self, step: int) -> bool:
        """Whether ``step`` gets a frame: on the step interval, or once ``every_seconds`` have
        passed since the last frame."""
        if step == self.last_step:
            return False
        if self.every_seconds is not None:
            return time.perf_counter() - self._last_time >= self.every_seconds
        return step % self.every == 0

    def wants_frame(self, step: int, seconds: float) -> bool:
        """Whether ``step`` is due for a frame (:meth:`due`); ``seconds`` is unused
        (the time-lapse keeps its own clock)."""
        return self.due(step)

    def on_frame(self, step: int, image: torch.Tensor, final: bool = False) -> None:
        """Capture ``image`` ((1, 3, H, W) in [0, 1]) as frame ``step``, whether due or not (the final frame too)."""
        self.capture(step, image, force=True)

    def on_end(self, status: str) -> None:
        """A run that did not finish (``stopped``, ``failed``) leaves no ``frames/`` folder (unless kept)."""
        if status != "done":
            self._discard()

    def _discard(self) -> None:
        """A run that fails leaves no stale ``frames/`` folder (unless frames are kept)."""
        if not self.keep_frames:
            shutil.rmtree(self.frames_dir, ignore_errors=True)

    def capture(self, step: int, image: torch.Tensor, force: bool = False) -> None:
        """Save a frame if ``step`` is due (or ``force``)."""
        if step == self.last_step or not (force or self.due(step)):
            return
        frame = self._frame(image)
        atomic_write(self.frames_dir / f"{self.count:06d}.png", lambda tmp: frame.save(tmp, format="PNG"))
        self.count += 1
        self.last_step = step
        self._last_time = time.perf_counter()

    def _frame_paths(self) -> list[Path]:
        return sorted(self.frames_dir.glob("*.png"))

    def write(self, keep_frames: bool | None = None) -> list[Path]:
        """Assemble ``timelapse.gif`` (and ``timelapse.mp4``); the last frame is held.
        ``frames/`` is removed afterwards unless frames are kept."""
        keep_frames = self.keep_frames if keep_frames is None else keep_frames
        paths = self._frame_paths()
        if not paths:
            return []
        hold = max(1, round(self.hold_seconds * self.fps))
        try:
            written = [self._write_gif(paths, hold)]
            if self.mp4:
                written.append(self._write_mp4(paths, hold))
        except BaseException:
            if not keep_frames:
                shutil.rmtree(self.frames_dir, ignore_errors=True)
            raise
        if not keep_frames:
            shutil.rmtree(self.frames_dir, ignore_errors=True)
        return written

    def _write_gif(self, paths: list[Path], hold: int) -> Path:
        # One palette for all frames, taken from the finished image, avoids colour flicker.
        with Image.open(paths[-1]) as last:
            palette = last.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        frames = []
        for p in paths:
            with Image.open(p) as im:
                frames.append(im.convert("RGB").quantize(palette=palette, dither=Image.Dither.NONE))
        ms = round(1000 / self.fps)
        durations = [ms] * (len(frames) - 1) + [ms * hold]
        out = self.dir / TIMELAPSE_GIF
        atomic_write(out, lambda tmp: frames[0].save(
            tmp, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0,
            optimize=False, disposal=1))
        return out

    def _write_mp4(self, paths: list[Path], hold: int) -> Path:
        out = self.dir / TIMELAPSE_MP4

        def encode(tmp: str) -> None:
            # H.264 wants even sides; macro_block_size=2 pads at most one pixel.
            with imageio.get_writer(tmp, format="FFMPEG", fps=self.fps, codec="libx264", quality=7,
                                    macro_block_size=2, pixelformat="yuv420p") as writer:
                for i, p in enumerate(paths):
                    frame = np.asarray(Image.open(p).convert("RGB"))
                    for _ in range(hold if i == len(paths) - 1 else 1):
                        writer.append_data(frame)

        atomic_write(out, encode)
        return out
