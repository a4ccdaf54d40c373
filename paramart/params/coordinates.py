"""Coordinate parameterizations: an image as a function of position (CPPN, Fourier-CPPN,
hash grid), evaluated at pixel centres, so it renders at any size and any region of it can
be rendered alone.

Coordinates are resolution-independent by construction: the longer side of the training
canvas spans [-sqrt(3), sqrt(3)] (unit variance, as in the Distill CPPN notebook) and the
shorter side proportionally less, measured at pixel centres. A render at any size samples the
same region more or less densely; a render of another aspect ratio shows the largest centred
part of that region with the render's aspect (never extrapolating beyond it).

:class:`CoordinateParameterization` holds what they share: :meth:`region` (the pixels asked
for, with gradients), ``forward`` and ``render_region``; a subclass gives
:meth:`CoordinateParameterization.logits` (RGB logits at a grid of coordinates) and a
``color`` buffer (:mod:`paramart.params.color`).
"""

from __future__ import annotations

import math

import torch

from paramart.params.base import Parameterization
from paramart.params.color import to_rgb

#: Coordinates span +-sqrt(3) along the longer side: a uniform variable there has unit variance.
COORD_RANGE = math.sqrt(3.0)


def pixel_step(train_size: tuple[int, int], size: tuple[int, int]) -> float:
    """Canvas units between neighbouring pixels of a ``size`` render (see :func:`pixel_coords`)."""
    ey, ex = extent(train_size)
    return min(2 * ey / size[0], 2 * ex / size[1])


def pixel_coords(train_size: tuple[int, int], size: tuple[int, int], top: int, left: int,
                 height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(y, x) of the pixel centres of rows ``top:top+height`` and columns ``left:left+width``
    of a ``size`` render of a canvas trained at ``train_size``, in canvas units.

    The training canvas covers [-ey, ey] x [-ex, ex] with the longer side +-COORD_RANGE; a
    render covers the largest centred region of it with the render's aspect ratio."""
    h, w = size
    step = pixel_step(train_size, size)
    y = (torch.arange(top, top + height, dtype=torch.float32) + 0.5 - h / 2) * step
    x = (torch.arange(left, left + width, dtype=torch.float32) + 0.5 - w / 2) * step
    return y, x


def roll(param, y: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """While training a periodic image (renders with gradients), shift it around the torus by a
    random offset, so that no place is always at the canvas's edge, where VGG's zero padding
    would print a frame into the texture. Renders without gradients are not moved."""
    if not (getattr(param, "periodic", False) and torch.is_grad_enabled()):
        return y, x
    ey, ex = extent(param.size)
    shift = torch.rand(2)
    return y + float(shift[0]) * 2 * ey, x + float(shift[1]) * 2 * ex


def extent(size: tuple[int, int]) -> tuple[float, float]:
    """(ey, ex): the training canvas of ``size`` (height, width) covers [-ey, ey] x [-ex, ex]."""
    h0, w0 = size
    return COORD_RANGE * h0 / max(h0, w0), COORD_RANGE * w0 / max(h0, w0)


class CoordinateParameterization(Parameterization):
    """Base class of images that are functions of position (see the module docstring)."""

    renders_regions = True
    color: torch.Tensor  #: (3, 3) colour mix before the sigmoid (paramart.params.color)

    def logits(self, y: torch.Tensor, x: torch.Tensor, step: float) -> torch.Tensor:
        """(len(y) * len(x), 3) RGB logits at the grid ``y`` x ``x`` (canvas units, row-major),
        for pixels ``step`` canvas units apart."""
        raise NotImplementedError

    def region(self, size: tuple[int, int], top: int, left: int, height: int, width: int) -> torch.Tensor:
        """Pixels ``[top:top+height, left:left+width]`` of a ``size`` (height, width) render,
        (1, 3, height, width) in [0, 1], with gradients; only those pixels are evaluated."""
        device = next(self.parameters()).device
        y, x = roll(self, *pixel_coords(self.size, tuple(size), top, left, height, width))
        logits = self.logits(y.to(device), x.to(device), pixel_step(self.size, tuple(size)))
        return to_rgb(logits, self.color, channel_dim=-1).reshape(height, width, 3).permute(2, 0, 1).unsqueeze(0)

    def forward(self, size=None):
        """The whole canvas rendered at ``size`` (height, width; the training size when None), (1, 3, H, W)
        in [0, 1], with gradients: the network evaluated at every pixel centre."""
        size = self.size if size is None else tuple(size)
        return self.region(size, 0, 0, *size)

    @torch.no_grad()
    def render_region(self, size, top, left, height, width):
        """:meth:`region` without gradients: only the requested pixels are evaluated, so a render of
        any size can be made region by region."""
        return self.region(tuple(size), top, left, height, width)
