"""Starting noise with a chosen grain: the size, in pixels, of its smallest blobs.

Texture synthesis from noise (Gatys et al. 2015) inherits the scale of the starting
noise: per-pixel noise gives fine, busy detail in the first steps; noise in 8 or 30 px
blocks lets large structures form first. Any parameterization that starts from a random
canvas can call :func:`grain_noise`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from paramart.errors import ParamartError

UPSAMPLING = ("nearest", "bilinear", "bicubic")


def check_grain(grain: int, upsample: str) -> None:
    """Refuse a grain that is not a whole number of pixels, or an unknown upsampling."""
    if int(grain) != grain or grain < 1:
        raise ParamartError(f"param.grain={grain} must be a whole number of pixels, 1 or more")
    if upsample not in UPSAMPLING:
        raise ParamartError(f"param.grain_upsample must be one of {', '.join(UPSAMPLING)}, not {upsample!r}")


def grain_noise(
    size: tuple[int, int],
    grain: int = 1,
    *,
    channels: int = 3,
    upsample: str = "nearest",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Standard normal noise of shape (1, channels, H, W) drawn at (H/grain, W/grain) and upsampled.

    ``upsample='nearest'`` gives visible square blocks of ``grain`` px; ``bilinear`` or
    ``bicubic`` give smooth blobs of about that size. Callers scale and shift it.
    """
    check_grain(grain, upsample)
    h, w = int(size[0]), int(size[1])
    grain = int(grain)
    coarse = (max(1, math.ceil(h / grain)), max(1, math.ceil(w / grain)))
    noise = torch.randn(1, channels, *coarse, generator=generator)
    if grain == 1:
        return noise
    # Upsample to whole blocks, then crop, so every block is exactly grain x grain px.
    big = (coarse[0] * grain, coarse[1] * grain)
    if upsample == "nearest":
        noise = F.interpolate(noise, size=big, mode="nearest")
    else:
        noise = F.interpolate(noise, size=big, mode=upsample, align_corners=False)
    return noise[..., :h, :w].contiguous()
