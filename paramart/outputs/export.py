"""What ``paramart-render`` does (its command line is :mod:`paramart.cli.render`): re-render a
finished run from its ``checkpoint.pt`` at any size, or as a zoom animation.

    paramart-render run=outputs/DATE/TIME width=7680 height=4320 out=big.png
    paramart-render run=outputs/DATE/TIME width=480 zoom.to=64 zoom.frames=96 out=zoom.gif

What a larger render holds depends on the parameterization (each says so in its
``resampling``): CPPN and Fourier-CPPN are functions of position, evaluated at every pixel of
the new size, tile by tile, into an 8-bit array (memory: the uint8 image plus one tile's
activations); an FFT spectrum is resampled (band-limited, smooth, no new detail); pixels can
only be resized. The render is written atomically.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from omegaconf import ListConfig
from PIL import Image
from tqdm.auto import tqdm

from paramart.device import resolve_device
from paramart.errors import ParamartError
from paramart.io.claim import own_file
from paramart.io.images import save_image
from paramart.outputs.drawing import check_render_size, output_size, render_array, window_array
from paramart.outputs.zoom_animation import ANIMATIONS, write_animation, zoom_frames
from paramart.runner.checkpoint import load_checkpoint, param_from_checkpoint

FORMATS = (".png", ".jpg", ".jpeg")

#: bounds of paramart-render's keys: (low, high) for whole numbers and numbers
MAX_SIDE = 1 << 17
MAX_FRAMES = 10_000
MAX_ZOOM = 1e6


def _whole(key: str, value: Any, low: int, high: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ParamartError(f"{key}={value} must be a whole number from {low} to {high}"
                            + (" (or null)" if allow_none else ""))


def _number(key: str, value: Any, low: float, high: float, *, above: bool = False) -> None:
    ok = (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
          and (value > low if above else value >= low) and value <= high)
    if not ok:
        raise ParamartError(f"{key}={value} must be a number {'above' if above else 'from'} {low:g} "
                            f"{'and at most' if above else 'to'} {high:g}")


def check_render(cfg: Any) -> None:
    """Every ``paramart-render`` key, before the checkpoint is read or anything is rendered:
    one line naming the key (so a bad ``zoom.fps`` does not fail after every frame was made)."""
    _whole("width", cfg.width, 1, MAX_SIDE, allow_none=True)
    _whole("height", cfg.height, 1, MAX_SIDE, allow_none=True)
    _whole("tile", cfg.tile, 1, 1 << 14)
    _whole("repeat", cfg.repeat, 1, 256)
    _whole("max_pixels", cfg.max_pixels, 1, 1 << 40)
    if cfg.out is not None and (not isinstance(cfg.out, str) or not cfg.out.strip()):
        raise ParamartError(f"out={cfg.out} must be a file name (.png, .jpg; .gif or .mp4 for a zoom) or null")
    zoom = cfg.zoom
    if zoom is None or zoom.to is None:
        return
    _number("zoom.to", zoom.to, 1, MAX_ZOOM)
    _whole("zoom.frames", zoom.frames, 2, MAX_FRAMES)
    _number("zoom.fps", zoom.fps, 0, 100, above=True)
    center = zoom.center
    if (not isinstance(center, list | tuple | ListConfig) or len(center) != 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c) and 0 <= c <= 1
                       for c in center)):
        raise ParamartError(f"zoom.center={center} must be two fractions of the width and height in [0, 1], "
                            "e.g. [0.5,0.5]")


def render(run: str | Path, width: int | None = None, height: int | None = None, out: str | Path | None = None,
           *, tile: int = 256, device: str = "cpu", progress: bool = False, log=None, zoom=None,
           repeat: int = 1, max_pixels: int = 2**28, overwrite: bool = False) -> Path:
    """Render the run's learned image at (width, height) into ``out``; returns the path.
    With ``zoom`` (a :class:`paramart.cli.render.ZoomAnimationConfig` whose ``to`` is set) a zoom animation of
    frames of that size is written instead (``out`` .gif or .mp4). ``repeat`` > 1 shows a
    periodic (``param.periodic=true``) image repeated ``repeat`` x ``repeat`` times."""
    animate = zoom is not None and zoom.to is not None
    ckpt = load_checkpoint(run)
    size = output_size(tuple(ckpt["size"]), width, height)
    check_render_size((size[0] * max(1, repeat), size[1] * max(1, repeat)), max_pixels)
    if tile < 1:
        raise ParamartError(f"tile={tile} must be at least 1")
    param = param_from_checkpoint(ckpt).to(resolve_device(device)).eval()
    run_dir = Path(run) if Path(run).is_dir() else Path(run).parent
    if repeat < 1 or (repeat > 1 and not getattr(param, "periodic", False)):
        raise ParamartError(f"repeat={repeat}: only a run with param.periodic=true repeats seamlessly "
                            "(and repeat must be at least 1)")
    tiled = (size[0] * repeat, size[1] * repeat)
    default = (f"zoom_{size[1]}x{size[0]}.gif" if animate else
               f"render_{tiled[1]}x{tiled[0]}{f'_tiled{repeat}x{repeat}' if repeat > 1 else ''}.png")
    path = Path(out) if out is not None else run_dir / default
    if path.suffix.lower() not in (ANIMATIONS if animate else FORMATS):
        raise ParamartError(f"out={path}: give a {'.gif or .mp4' if animate else '.png or .jpg'} file name")
    if not path.parent.is_dir():
        raise ParamartError(f"out={path}: the folder {path.parent} does not exist")
    if not overwrite and own_file(path) is not None:
        raise ParamartError(f"out={path} is a file of the run in {own_file(path)}; give another file name "
                            "(or leave out out= for render_WxH.png there), or add overwrite=true to replace it")
    if animate:
        frames = zoom_frames(param, size, float(zoom.to), int(zoom.frames), tuple(zoom.center), tile)
        write_animation(path, tqdm(frames, total=int(zoom.frames), disable=not progress, unit="frame"), zoom.fps)
        return path
    if log is not None and size != param.size:
        h0, w0 = param.size
        log(f"{type(param).__name__} learned at {w0}x{h0}: {param.resampling}")
    array = render_array(param, size, tile, progress) if repeat == 1 else window_array(param, size, 0, 0, tiled, tile)
    save_image(Image.fromarray(array), path)
    return path
