"""Zoom animations: a continuous zoom into a learned coordinate image, every frame rendered
at full detail (``paramart-render run=RUN zoom.to=64 out=zoom.gif``).

Frame ``i`` of ``n`` shows the image magnified ``to ** (i / (n - 1))`` times (a constant
zoom speed), centred on ``zoom.center`` (fractions of the width and height): the window of
the frame's size cut from a render that many times larger, which only a parameterization that
renders regions (resolution-independent) can evaluate without building the whole render.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from paramart.errors import ParamartError
from paramart.io.atomic import atomic_write
from paramart.outputs.drawing import window_array
from paramart.params.base import Parameterization

ANIMATIONS = (".gif", ".mp4")


def zoom_windows(size: tuple[int, int], to: float, frames: int, center: tuple[float, float]):
    """[(render size, top, left)] of each frame's window, for frames of ``size`` (h, w)."""
    if to < 1 or frames < 2:
        raise ParamartError(f"zoom.to={to} must be >= 1 and zoom.frames={frames} at least 2")
    cx, cy = center
    if not (0 <= cx <= 1 and 0 <= cy <= 1):
        raise ParamartError(f"zoom.center={list(center)} must be fractions of the width and height in [0, 1]")
    h, w = size
    out = []
    for i in range(frames):
        z = to ** (i / (frames - 1))
        big = (max(h, round(h * z)), max(w, round(w * z)))
        top = min(max(0, round(cy * big[0] - h / 2)), big[0] - h)
        left = min(max(0, round(cx * big[1] - w / 2)), big[1] - w)
        out.append((big, top, left))
    return out


def zoom_frames(param: Parameterization, size: tuple[int, int], to: float, frames: int,
                center: tuple[float, float] = (0.5, 0.5), tile: int = 256) -> Iterator[np.ndarray]:
    """(h, w, 3) uint8 frames, rendered window by window (tile by tile within a window)."""
    if not param.renders_regions:
        raise ParamartError(f"{type(param).__name__} is not resolution-independent: a zoom needs a coordinate "
                            "parameterization (cppn, fourier_cppn, hashgrid)")
    for big, top, left in zoom_windows(size, to, frames, center):
        yield window_array(param, big, top, left, size, tile)


def write_animation(path: str | Path, frames: Iterator[np.ndarray], fps: float) -> int:
    """Write ``frames`` to a .gif (PIL, adaptive palette) or .mp4 (imageio-ffmpeg); returns the count."""
    path = Path(path)
    if path.suffix.lower() not in ANIMATIONS:
        raise ParamartError(f"out={path}: a zoom is written as .gif or .mp4")
    if path.suffix.lower() == ".mp4":
        import importlib.util

        if importlib.util.find_spec("imageio_ffmpeg") is None:
            raise ParamartError("an .mp4 needs imageio-ffmpeg (pip install 'paramart[video]'); use out=NAME.gif")
        import imageio.v2 as imageio

        count = 0

        def write_mp4(tmp: Path) -> None:
            nonlocal count
            with imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", macro_block_size=1) as writer:
                for frame in frames:
                    writer.append_data(frame)
                    count += 1

        atomic_write(path, write_mp4)
        return count
    images = [Image.fromarray(f).quantize(256, method=Image.Quantize.MEDIANCUT) for f in frames]

    def write_gif(tmp: Path) -> None:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps),
                       loop=0, disposal=1)

    atomic_write(path, write_gif)
    return len(images)
