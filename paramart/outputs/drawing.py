"""Drawing a learned parameterization into 8-bit pixels, window by window: what
``paramart-render`` (:mod:`paramart.outputs.export`) and the zoom animation
(:mod:`paramart.outputs.zoom_animation`) share.

A parameterization that renders regions (CPPN, Fourier-CPPN, hash grid) is evaluated tile
by tile into a uint8 array, so no float image of the whole size is ever held (memory: the
uint8 image plus one tile's activations); others render whole and are converted once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from paramart.errors import ParamartError
from paramart.io.images import save_image
from paramart.params.base import Parameterization


def output_size(train_size: tuple[int, int], width: int | None, height: int | None) -> tuple[int, int]:
    """(height, width) asked for; a missing side follows the training canvas's aspect ratio."""
    h0, w0 = train_size
    if width is None and height is None:
        return h0, w0
    if height is None:
        height = max(1, round(width * h0 / w0))
    if width is None:
        width = max(1, round(height * w0 / h0))
    if width < 1 or height < 1:
        raise ParamartError(f"width={width} height={height}: both must be at least 1 px")
    return height, width


def check_render_size(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse (:class:`ParamartError`) a (height, width) render of more than ``max_pixels`` px."""
    h, w = size
    if h * w > max_pixels:
        raise ParamartError(f"width={w} height={h} is {h * w / 1e6:.0f} megapixels, over max_pixels={max_pixels} "
                            f"({h * w * 3 / 2**30:.1f} GiB as 8-bit RGB); ask for a smaller render, or raise "
                            "max_pixels= if you have the memory")


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) float image in [0, 1] (clamped) -> (H, W, 3) uint8 array, on the host."""
    return image[0].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()


def render_array(param: Parameterization, size: tuple[int, int], tile: int = 256,
                 progress: bool = False) -> np.ndarray:
    """(height, width, 3) uint8 render. Parameterizations that render regions are evaluated tile by tile,
    so no float image of the whole size is ever held."""
    if not param.renders_regions:
        return to_uint8(param.render(size))
    return window_array(param, size, 0, 0, size, tile, progress)


def write_print(param: Parameterization, size: tuple[int, int], path: Path, tile: int = 512) -> None:
    """Render ``param`` at ``size`` (height, width) tile by tile into the PNG ``path`` (the
    print stage's ``print.png``); no float image of the whole print is held."""
    save_image(Image.fromarray(render_array(param, size, tile)), path)


def window_array(param: Parameterization, size: tuple[int, int], top: int, left: int, window: tuple[int, int],
                 tile: int = 256, progress: bool = False) -> np.ndarray:
    """(h, w, 3) uint8 pixels ``[top:top+h, left:left+w]`` of a ``size`` render of a parameterization that
    renders regions, evaluated tile by tile (``window`` = (h, w))."""
    if tile < 1:
        raise ParamartError(f"tile={tile} must be at least 1")
    h, w = window
    out = np.empty((h, w, 3), dtype=np.uint8)
    tiles = [(y, x) for y in range(0, h, tile) for x in range(0, w, tile)]
    for y, x in tqdm(tiles, disable=not progress, unit="tile", dynamic_ncols=True):
        th, tw = min(tile, h - y), min(tile, w - x)
        out[y : y + th, x : x + tw] = to_uint8(param.render_region(size, top + y, left + x, th, tw))
    return out
