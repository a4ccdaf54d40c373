"""Robustness transforms for feature visualisation (as Lucid uses): a random jitter,
scale and small rotation of the canvas before VGG at every evaluation.

Optimising through random warps keeps the result from exploiting pixel-exact patterns
that only one alignment of the network's grid responds to (high-frequency noise), which
matters most for the "dream" objective. All three are one differentiable affine warp with
reflection at the borders, so no black corners reach the network.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from paramart.errors import ParamartError


class RandomWarp(nn.Module):
    """Shift by up to ``jitter`` px, scale by a factor in [1 - scale, 1 + scale] and rotate
    by up to ``rotate`` degrees, drawn afresh at each call."""

    def __init__(self, jitter: float = 0.0, scale: float = 0.0, rotate: float = 0.0):
        super().__init__()
        if jitter < 0 or rotate < 0 or not 0 <= scale < 1:
            raise ParamartError(
                "transforms: jitter (px) and rotate (degrees) must be zero or more and scale in [0, 1); "
                f"got jitter={jitter}, scale={scale}, rotate={rotate}"
            )
        self.jitter, self.scale, self.rotate = float(jitter), float(scale), float(rotate)

    @property
    def active(self) -> bool:
        """True when any of jitter, scale or rotate is non-zero (otherwise :meth:`forward` is the identity)."""
        return self.jitter > 0 or self.scale > 0 or self.rotate > 0

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> the same shape, warped by one random draw from torch's global generator."""
        if not self.active:
            return image
        n, _, h, w = image.shape

        def uniform(bound: float) -> float:
            return (2 * torch.rand(()).item() - 1) * bound

        s = 1 + uniform(self.scale)
        a = math.radians(uniform(self.rotate))
        # translation in grid units (the grid spans 2 across each side)
        tx, ty = 2 * uniform(self.jitter) / w, 2 * uniform(self.jitter) / h
        theta = torch.tensor(
            [[math.cos(a) / s, -math.sin(a) / s * h / w, tx], [math.sin(a) / s * w / h, math.cos(a) / s, ty]],
            dtype=image.dtype, device=image.device,
        ).expand(n, 2, 3)
        grid = F.affine_grid(theta, list(image.shape), align_corners=False)
        return F.grid_sample(image, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
