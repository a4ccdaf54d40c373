"""A print whose far view is the canvas, exactly: a coordinate field plus a smooth low band.

The print stage (:mod:`paramart.evaluation.print_crops`) trains a field on crops of its
print-size render; its anchor is a penalty, so the print averaged down to the canvas drifts
from the canvas the canvas stages made (a mottle at canvas-pixel scale that Gram statistics
punish: docs/benchmarks.md, "Prints of learned images"). :class:`AnchoredField` removes that
drift by construction, as a Laplacian pyramid's low band (Burt & Adelson 1983) would: it adds
to the field a smooth correction, a bicubic B-spline surface (Unser, Aldroubi & Eden 1991)
with one coefficient per canvas pixel, whose coefficients are solved so that the area average
of the corrected print over each canvas pixel's footprint equals that canvas pixel.

Along each axis the print's box average of the B-spline surface is a linear map of its
coefficients, ``A = D U`` (``D``: the footprints' box weights, canvas x print; ``U``: the
B-spline basis sampled at the print's pixel centres, print x canvas), so the coefficients are
``c = A_y^-1 (canvas - D_y F D_x^T) A_x^-T`` for the field's own averages ``D_y F D_x^T``
(:func:`anchor_field`: one render of the whole print, tile by tile). The surface holds no
detail finer than a canvas pixel: up close the print is the field's strokes, with their colour
shifted smoothly where the field's averages had drifted. The sum is clamped to [0, 1], so a
footprint whose correction would leave that range is matched as nearly as the clamp lets it.
"""

from __future__ import annotations

import math

import torch

from paramart.params.base import Parameterization
from paramart.params.coordinates import CoordinateParameterization, pixel_coords, pixel_step

#: the checkpoint's key for an anchored print's surface coefficients, (3, h, w) for an (h, w) canvas
PRINT_SURFACE = "print_surface"
#: the print is averaged tile by tile (px a side) while solving the coefficients
SOLVE_TILE = 512


def _overlaps(start: int, length: int, scale: float, k0: int, k1: int) -> torch.Tensor:
    """(k1 - k0, length) float64: the share of render pixel ``start + j`` inside canvas pixel
    ``k0 + k``'s footprint, times ``scale`` (canvas px per render px)."""
    edges = torch.arange(start, start + length + 1, dtype=torch.float64)  # render pixels' edges
    lo = torch.arange(k0, k1, dtype=torch.float64)[:, None] / scale  # footprints' edges, render px
    overlap = (torch.minimum(edges[None, 1:], lo + 1 / scale) - torch.maximum(edges[None, :-1], lo)).clamp(min=0)
    return overlap * scale


def footprints(start: int, length: int, scale: float) -> tuple[torch.Tensor | None, int, int]:
    """The canvas pixels ``k0 .. k1 - 1`` whose footprints lie wholly in render pixels ``start ..
    start + length - 1`` along one axis (``scale`` canvas px per render px, at most 1), and the
    (k1 - k0, length) matrix that averages the render over each footprint: row k weights render
    pixel j by the share of it inside canvas pixel k0 + k, times ``scale`` (each row sums to 1).
    (None, 0, 0) when no footprint fits."""
    k0, k1 = math.ceil(start * scale - 1e-6), math.floor((start + length) * scale + 1e-6)
    if k1 <= k0:
        return None, 0, 0
    return _overlaps(start, length, scale, k0, k1).float(), k0, k1


def box_rows(canvas: int, render: int) -> torch.Tensor:
    """(canvas, render) float64 matrix averaging a ``render`` px axis over the footprints of its
    ``canvas`` pixels (each row sums to 1)."""
    return _overlaps(0, render, canvas / render, 0, canvas)


def bspline(t: torch.Tensor) -> torch.Tensor:
    """The cubic B-spline kernel at ``t`` (canvas px from a coefficient): 2/3 - t^2 + |t|^3 / 2
    for |t| < 1, (2 - |t|)^3 / 6 for |t| < 2, else 0; C2-smooth, positive, partition of unity."""
    a = t.abs()
    return torch.where(a < 1, 2 / 3 - a**2 + a**3 / 2, torch.where(a < 2, (2 - a).clamp(min=0) ** 3 / 6, 0.0))


def spline_rows(u: torch.Tensor, n: int) -> tuple[torch.Tensor, int]:
    """(len(u), k1 - k0) float64 B-spline basis at positions ``u`` (canvas px, pixel centres at
    0 .. n - 1) over coefficients ``k0 .. k1 - 1`` of an ``n`` px axis (those with any weight),
    and ``k0``. Coefficients beyond the edges repeat the edge's (the surface continues flat)."""
    u = u.to(torch.float64)
    base = torch.floor(u).long()
    k0 = max(0, min(n - 1, int(base.min()) - 1))
    k1 = min(n, max(1, int(base.max()) + 3))
    rows = torch.zeros(len(u), k1 - k0, dtype=torch.float64)
    for offset in (-1, 0, 1, 2):
        k = base + offset
        rows.scatter_add_(1, (k.clamp(0, n - 1) - k0)[:, None], bspline(u - k)[:, None])
    return rows, k0


class AnchoredField(CoordinateParameterization):
    """``field`` (a parameterization that renders regions) plus a bicubic B-spline surface of
    ``coefficients`` ((3, h, w) in [0, 1] units, one per pixel of the canvas the field was trained
    on), clamped to [0, 1]: see the module docstring. Renders regions, at any size, like the field
    (``forward`` and ``render_region`` are :class:`CoordinateParameterization`'s, over
    :meth:`region`); its learnable parameters are the field's."""

    def __init__(self, field: Parameterization, coefficients: torch.Tensor):
        if not field.renders_regions:
            raise ValueError(f"{type(field).__name__} does not render regions; only a coordinate field is anchored")
        if coefficients.dim() != 3 or coefficients.shape[0] != 3:
            raise ValueError(f"coefficients must be (3, h, w), not {tuple(coefficients.shape)}")
        super().__init__(field.size)
        self.field = field
        self.register_buffer("coefficients", coefficients.float())
        self.periodic = getattr(field, "periodic", False)
        self.resampling = (f"{field.resampling}; plus the print's anchor, a smooth surface (one B-spline "
                           "coefficient per canvas pixel) that makes the print averaged down the canvas")

    def surface(self, size: tuple[int, int], top: int, left: int, height: int, width: int) -> torch.Tensor:
        """The correction at pixels ``[top:top+height, left:left+width]`` of a ``size`` render,
        (1, 3, height, width)."""
        h, w = self.coefficients.shape[-2:]
        y, x = pixel_coords(self.size, tuple(size), top, left, height, width)
        step = pixel_step(self.size, self.size)  # canvas units per canvas pixel
        rows, k0 = spline_rows(y / step + h / 2 - 0.5, h)
        cols, j0 = spline_rows(x / step + w / 2 - 0.5, w)
        c = self.coefficients[:, k0:k0 + rows.shape[1], j0:j0 + cols.shape[1]]
        return (rows.to(c) @ c @ cols.to(c).T).unsqueeze(0)

    def region(self, size, top, left, height, width):
        """The field's pixels plus the correction there, clamped to [0, 1]; with gradients."""
        image = self.field.region(tuple(size), top, left, height, width)
        return (image + self.surface(size, top, left, height, width).to(image)).clamp(0, 1)


@torch.no_grad()
def print_average(param: Parameterization, size: tuple[int, int], canvas: tuple[int, int],
                  tile: int = SOLVE_TILE) -> torch.Tensor:
    """``param``'s ``size`` (height, width) render averaged over the footprints of a ``canvas``
    (h, w) grid, (1, 3, h, w) float64 on the CPU, evaluated tile by tile (no whole render held)."""
    dy, dx = box_rows(canvas[0], size[0]), box_rows(canvas[1], size[1])
    total = torch.zeros(1, 3, *canvas, dtype=torch.float64)
    for top in range(0, size[0], tile):
        for left in range(0, size[1], tile):
            th, tw = min(tile, size[0] - top), min(tile, size[1] - left)
            part = param.render_region(size, top, left, th, tw).double().cpu()
            total += dy[:, top:top + th] @ part @ dx[:, left:left + tw].T
    return total


def _systems(field: Parameterization, canvas: tuple[int, int], size: tuple[int, int]) -> list[torch.Tensor]:
    """[A_y, A_x]: per axis, the (n, n) map from B-spline coefficients to the surface's averages over
    the footprints of the canvas's n pixels in the ``size`` print (``D U``, float64)."""
    step = pixel_step(field.size, field.size)
    y, x = pixel_coords(field.size, tuple(size), 0, 0, size[0], size[1])
    systems = []
    for centres, n, big in ((y, canvas[0], size[0]), (x, canvas[1], size[1])):
        basis, k0 = spline_rows(centres / step + n / 2 - 0.5, n)
        full = torch.zeros(big, n, dtype=torch.float64)
        full[:, k0:k0 + basis.shape[1]] = basis
        systems.append(box_rows(n, big) @ full)
    return systems


def _solve(systems: list[torch.Tensor], residual: torch.Tensor) -> torch.Tensor:
    """(3, h, w) coefficients whose surface averages to ``residual`` ((1, 3, h, w)) over the footprints:
    ``A_y^-1 r A_x^-T`` per channel."""
    coefficients = torch.linalg.solve(systems[0], residual[0])
    return torch.linalg.solve(systems[1], coefficients.transpose(-1, -2)).transpose(-1, -2)


@torch.no_grad()
def anchor_field(field: Parameterization, canvas: torch.Tensor, size: tuple[int, int],
                 tile: int = SOLVE_TILE, refine: int = 1) -> AnchoredField:
    """``field`` anchored to ``canvas`` ((1, 3, h, w) in [0, 1], the canvas the field was trained
    on) for its ``size`` (height, width) render, the print: the :class:`AnchoredField` whose
    render at ``size``, averaged over each canvas pixel's footprint, is that canvas pixel up to
    the clamp to [0, 1]. ``refine`` more passes solve again for what the clamp left (the other
    pixels of a footprint make up for its clamped ones). An :class:`AnchoredField` is anchored
    again from its own surface (its field trained on since): a new one, the surface corrected
    by ``1 + refine`` passes. Costs ``1 + refine`` renders of the whole print, tile by tile."""
    h, w = canvas.shape[-2:]
    target = canvas.double().cpu()
    base = field.field if isinstance(field, AnchoredField) else field
    systems = _systems(base, (h, w), size)
    device = next(base.parameters()).device
    if isinstance(field, AnchoredField):
        coefficients, passes = field.coefficients.double().cpu(), 1 + refine
    else:
        coefficients, passes = _solve(systems, target - print_average(base, size, (h, w), tile)), refine
    anchored = AnchoredField(base, coefficients.float().to(device))
    for _ in range(passes):
        coefficients = coefficients + _solve(systems, target - print_average(anchored, size, (h, w), tile))
        anchored.coefficients.copy_(coefficients.float())
    return anchored
