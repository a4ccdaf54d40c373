"""Raw pixels: the canvas itself is the parameter (Gatys et al. 2016)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import MISSING

from paramart.errors import ParamartError
from paramart.images import resize
from paramart.noise import grain_noise
from paramart.params.base import ParamConfig, Parameterization, register


@dataclass
class PixelConfig(ParamConfig):
    _target_: str = "paramart.params.pixel.Pixel"
    #: auto (the content image when there is one, else noise) | content | noise
    init: str = MISSING
    #: standard deviation of the Gaussian noise around mid-grey for noise init
    noise_scale: float = MISSING
    #: size in px of the noise's blocks for noise init (1 = per-pixel; 8 or 30 = coarse blobs)
    grain: int = MISSING
    #: how the coarse noise is enlarged: nearest (square blocks) | bilinear | bicubic (smooth blobs)
    grain_upsample: str = MISSING


register("pixel", PixelConfig)


class Pixel(Parameterization):
    """An RGB canvas of the training size. Rendering at another size can only resample it."""

    def __init__(self, size, init_image: torch.Tensor | None = None, init: str = "auto", noise_scale: float = 0.2,
                 grain: int = 1, grain_upsample: str = "nearest"):
        super().__init__(size)
        if init == "auto":
            init = "content" if init_image is not None else "noise"
        if init == "content":
            if init_image is None:
                raise ParamartError("param.init=content needs a content image; use param.init=noise")
            start = resize(init_image.float(), self.size).clone()
        elif init == "noise":
            start = 0.5 + noise_scale * grain_noise(self.size, grain, upsample=grain_upsample)
        else:
            raise ParamartError(f"param.init must be auto, content or noise, not {init!r}")
        self.pixels = torch.nn.Parameter(start.clamp(0, 1))

    @torch.no_grad()
    def constrain(self):
        # Projected gradient descent: back into [0, 1] after each step.
        self.pixels.clamp_(0, 1)

    @torch.no_grad()
    def rescale(self, size):
        # Multi-scale: the canvas is resampled to the new size (bicubic, antialiased when
        # shrinking); the finer scale then adds the detail the coarse one could not hold.
        super().rescale(size)
        self.pixels = torch.nn.Parameter(resize(self.pixels.detach(), self.size).clamp(0, 1))

    def forward(self, size=None):
        # Trial points inside an L-BFGS line search may leave [0, 1]: render them clamped,
        # but let the gradient through (torch's clamp passes none even at the boundary, so a
        # projected pixel at exactly 0 or 1 would otherwise never move again).
        x = self.pixels
        image = x + (x.clamp(0, 1) - x).detach()
        return image if size is None else resize(image, size).clamp(0, 1)
