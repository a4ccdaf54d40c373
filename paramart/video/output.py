"""A video run's folder: ``frames/00000.png`` ..., ``losses.csv`` (a row per frame),
``final.gif``, ``final.mp4`` (H.264 through imageio-ffmpeg, the ``video`` extra), the
optional ``side_by_side.gif``/``.mp4`` (input | result) and ``run.json``.

Every file is written atomically, so a stopped run leaves only finished frames behind.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from paramart.io.atomic import atomic_write

FRAMES = "frames"
LOSSES = "losses.csv"
#: the per-frame columns of losses.csv before the loss terms'
HEAD = ["frame", "pass", "cut", "steps", "reliable", "total"]
TAIL = ["seconds"]


def frame_path(out: Path, index: int) -> Path:
    return out / FRAMES / f"{index:05d}.png"


def finished_frames(run: Path) -> int:
    """How many frames of ``run`` are finished: ``frames/00000.png`` on, without a gap."""
    n = 0
    while frame_path(run, n).is_file():
        n += 1
    return n


class FrameLog:
    """``losses.csv``: one row per finished frame (and pass: ``video.passes``), rewritten whole (it is
    small) after each."""

    def __init__(self, out: Path | None, terms: Sequence[str]):
        self.out, self.columns = out, [*HEAD, *terms, *TAIL]
        self.rows: list[dict[str, str]] = []

    def keep(self, run: Path, frames: int) -> None:
        """The first ``frames`` rows (frames, or frame passes) of a stopped run ``run`` (for resume=)."""
        try:
            with open(run / LOSSES, newline="") as f:
                rows = list(csv.DictReader(f))
        except OSError:
            rows = []
        self.rows = [{c: r.get(c) or "" for c in self.columns} for r in rows[:frames]]

    def append(self, row: dict[str, object]) -> None:
        self.rows.append({c: _text(row.get(c, "")) for c in self.columns})
        if self.out is not None:
            text = io.StringIO()
            writer = csv.DictWriter(text, self.columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(self.rows)
            atomic_write(self.out / LOSSES, lambda tmp: Path(tmp).write_text(text.getvalue()))


def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def write_gif(frames: Sequence[Image.Image], path: Path, fps: float) -> Path:
    """An animated GIF, one palette for the whole clip (per-frame palettes flicker)."""
    strip = Image.new("RGB", (frames[0].width, frames[0].height * min(len(frames), 8)))
    for i, f in enumerate(frames[:: max(1, len(frames) // 8)][:8]):
        strip.paste(f, (0, i * frames[0].height))
    palette = strip.quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    quantized = [f.convert("RGB").quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]
    ms = max(20, round(1000 / fps))
    atomic_write(path, lambda tmp: quantized[0].save(tmp, format="GIF", save_all=True, append_images=quantized[1:],
                                                     duration=ms, loop=0, optimize=False, disposal=1))
    return path


def mp4_available() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def write_mp4(frames: Sequence[Image.Image], path: Path, fps: float) -> Path:
    """H.264 (yuv420p, what every player reads) through imageio's FFmpeg plugin."""
    import imageio

    def encode(tmp: str) -> None:
        # H.264 wants even sides; macro_block_size=2 pads at most one pixel.
        with imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", quality=8,
                                macro_block_size=2, pixelformat="yuv420p") as writer:
            for f in frames:
                writer.append_data(np.asarray(f.convert("RGB")))

    atomic_write(path, encode)
    return path


def side_by_side(inputs: Sequence[Image.Image], results: Sequence[Image.Image]) -> list[Image.Image]:
    """Each input frame (resized to the result) left of its result."""
    out = []
    for a, b in zip(inputs, results):
        pair = Image.new("RGB", (b.width * 2, b.height))
        pair.paste(a.convert("RGB").resize(b.size, Image.Resampling.LANCZOS), (0, 0))
        pair.paste(b, (b.width, 0))
        out.append(pair)
    return out


def write_clip(out: Path, stem: str, frames: Sequence[Image.Image], fps: float, mp4: bool) -> list[Path]:
    written = [write_gif(frames, out / f"{stem}.gif", fps)]
    if mp4:
        written.append(write_mp4(frames, out / f"{stem}.mp4", fps))
    return written


def write_facts(out: Path, facts: dict) -> None:
    atomic_write(out / "run.json", lambda tmp: Path(tmp).write_text(json.dumps(facts, indent=2)))
