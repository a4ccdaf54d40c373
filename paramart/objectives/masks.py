"""Region masks for spatial style control (Gatys et al. 2017, "Controlling Perceptual
Factors in Neural Style Transfer", guided Gram matrices).

A mask is a (1, 1, H, W) tensor in [0, 1] at the canvas size: 1 where its style applies.
It comes from an image file (white = this style) or a built-in name. Borders are soft:
built-ins ramp smoothly over ``feather`` (a fraction of the canvas's shorter side) and
file masks are blurred by the same width, so neighbouring styles blend without a seam.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from paramart.errors import ParamartError
from paramart.io.images import to_tensor

#: built-in masks; ``radial`` is a soft disc in the middle and ``outside`` its complement
BUILTINS = ("left", "right", "top", "bottom", "radial", "outside", "all")


def _ramp(t: torch.Tensor, width: float) -> torch.Tensor:
    """Smoothstep from 0 to 1 as ``t`` goes from -width/2 to width/2 (a hard step for width 0)."""
    if width <= 0:
        return (t >= 0).float()
    x = (t / width + 0.5).clamp(0, 1)
    return x * x * (3 - 2 * x)


def builtin_mask(name: str, size: tuple[int, int], feather: float) -> torch.Tensor:
    """A built-in mask at ``size`` (height, width) with a soft edge ``feather`` wide."""
    h, w = size
    width = feather * min(h, w)
    # pixel centres, measured from the canvas centre
    y = (torch.arange(h, dtype=torch.float32) + 0.5 - h / 2).view(h, 1).expand(h, w)
    x = (torch.arange(w, dtype=torch.float32) + 0.5 - w / 2).view(1, w).expand(h, w)
    if name == "left":
        m = _ramp(-x, width)
    elif name == "right":
        m = _ramp(x, width)
    elif name == "top":
        m = _ramp(-y, width)
    elif name == "bottom":
        m = _ramp(y, width)
    elif name in ("radial", "outside"):
        # a disc of radius a third of the shorter side, centred
        r = torch.sqrt(x * x + y * y)
        m = _ramp(min(h, w) / 3 - r, width)
        if name == "outside":
            m = 1 - m
    elif name == "all":
        m = torch.ones(h, w)
    else:
        raise ValueError(name)
    return m.view(1, 1, h, w)


def _blur(mask: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma < 0.5:
        return mask
    radius = max(1, math.ceil(2.5 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-(t * t) / (2 * sigma * sigma))
    k = k / k.sum()
    pad = (radius, radius, radius, radius)
    m = F.pad(mask, pad, mode="replicate")
    m = F.conv2d(m, k.view(1, 1, 1, -1))
    return F.conv2d(m, k.view(1, 1, -1, 1))


def open_mask(spec: str, size: tuple[int, int], max_pixels: int | None = None):
    """A mask image file, checked before it is decoded (``max_input_pixels``) and against the
    canvas ``size`` (height, width): a mask of another shape is refused, never stretched."""
    from paramart.io.maskfiles import read_mask_file

    try:
        return read_mask_file(spec, (size[1], size[0]), max_pixels, against="the canvas")
    except ParamartError as exc:
        if "mask" in str(exc) or "max_input_pixels" in str(exc):
            raise ParamartError(f"style_masks: {exc}") from None
        raise ParamartError(
            f"style_masks: {spec!r} is neither a built-in mask ({', '.join(BUILTINS)}) nor a readable image "
            f"({exc})"
        ) from None


def make_mask(spec: str, size: tuple[int, int], feather: float, max_pixels: int | None = None) -> torch.Tensor:
    """A built-in name or an image file (its luminance; white = 1), at ``size``, feathered."""
    if feather < 0:
        raise ParamartError(f"mask_feather={feather} must be zero or more (a fraction of the canvas, e.g. 0.1)")
    if spec in BUILTINS:
        return builtin_mask(spec, size, feather)
    grey = to_tensor(open_mask(spec, size, max_pixels), size)[:, :1]
    # a smoothstep of width w has about the spread of a Gaussian with sigma w/4
    return _blur(grey, feather * min(size) / 4).clamp(0, 1)


def style_masks(specs: list[str], size: tuple[int, int], feather: float,
                max_pixels: int | None = None) -> list[torch.Tensor]:
    """One mask per style. Where masks overlap they share the pixel (they are divided by
    their sum where it exceeds 1); a pixel no mask covers gets no style."""
    masks = [make_mask(str(s), size, feather, max_pixels) for s in specs]
    total = torch.stack(masks).sum(0).clamp_min(1.0)
    out = [m / total for m in masks]
    if any(float(m.max()) <= 0 for m in out):
        empty = [str(s) for s, m in zip(specs, out) if float(m.max()) <= 0]
        raise ParamartError(f"style mask {empty[0]!r} is black everywhere; its style would apply nowhere")
    return out


def fit_to(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A mask resampled to a feature map's (h, w): area-averaged, so each feature position
    gets the share of its receptive field's centre region that the mask covers."""
    if tuple(mask.shape[-2:]) == tuple(size):
        return mask
    return F.interpolate(mask, size=tuple(size), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
