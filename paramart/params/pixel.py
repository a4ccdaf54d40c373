"""Raw pixels: the canvas itself is the parameter (Gatys et al. 2016).

Each pixel is held as a logit and rendered through a sigmoid, so the image stays in
[0, 1] with no clamp. A clamp (or a projection after each step) leaves L-BFGS a function
with kinks and flat regions: measured here, a 256 px default run stalled after ~95
L-BFGS steps (every step then spent its 20 line-search evaluations and gained nothing),
and at 128 px the sigmoid reached a loss of 2.1 in 150 steps against 2.9 with projection.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import MISSING

from paramart.config import ParamConfig
from paramart.errors import ParamartError
from paramart.io.images import resize
from paramart.params.base import Parameterization, register
from paramart.params.noise import check_grain, grain_noise


@dataclass
class PixelConfig(ParamConfig):
    """Schema of ``conf/param/pixel.yaml`` (:class:`Pixel`)."""

    _target_: str = "paramart.params.pixel.Pixel"
    #: auto (the content image when there is one, else noise) | content | noise
    init: str = MISSING
    #: spread of the starting noise around mid-grey for noise init (std of logits / 4)
    noise_scale: float = MISSING
    #: size in px of the noise's blocks for noise init (1 = per-pixel; 8 or 30 = coarse blobs)
    grain: int = MISSING
    #: how the coarse noise is enlarged: nearest (square blocks) | bilinear | bicubic (smooth blobs)
    grain_upsample: str = MISSING


register("pixel", PixelConfig)

#: pure black or white would need infinite logits; 1% off them keeps the gradient alive
EPS = 0.01


class Pixel(Parameterization):
    limits = {"grain": 1 << 16, "noise_scale": 1e6}

    """An RGB canvas of the training size. Rendering at another size can only resample it."""

    def __init__(self, size, init_image: torch.Tensor | None = None, init: str = "auto", noise_scale: float = 0.2,
                 grain: int = 1, grain_upsample: str = "nearest"):
        super().__init__(size)
        check_grain(grain, grain_upsample)  # also when the photo is the start: a typo is still a typo
        if init == "auto":
            init = "content" if init_image is not None else "noise"
        if init == "content":
            if init_image is None:
                raise ParamartError("param.init=content needs a content image; use param.init=noise")
            start = resize(init_image.float(), self.size).clone()
        elif init == "noise":
            # Drawn in logit space (4 = 1 / sigmoid'(0)): about noise_scale around mid-grey, but
            # never pinned at 0 or 1, where the sigmoid's gradient vanishes. Clamped noise left
            # saturated grain blocks that no optimiser could move (seen in grain=8/30 textures).
            start = torch.sigmoid(4 * noise_scale * grain_noise(self.size, grain, upsample=grain_upsample))
        else:
            raise ParamartError(f"param.init must be auto, content or noise, not {init!r}")
        self.logits = torch.nn.Parameter(torch.logit(start.clamp(EPS, 1 - EPS)))

    @torch.no_grad()
    def rescale(self, size):
        """Resample the logits to the new training ``size`` (height, width), bicubic; multi-scale."""
        # Multi-scale: the canvas is resampled to the new size (bicubic, antialiased when
        # shrinking); the finer scale then adds the detail the coarse one could not hold.
        super().rescale(size)
        self.logits = torch.nn.Parameter(resize(self.logits.detach(), self.size))

    def forward(self, size=None):
        """The sigmoid of the logits, (1, 3, H, W) in [0, 1]; at another ``size`` resized and clamped to [0, 1]."""
        image = torch.sigmoid(self.logits)
        return image if size is None else resize(image, size).clamp(0, 1)
