"""A multiresolution hash encoding (Müller, Evans, Schied & Keller, "Instant Neural Graphics
Primitives", SIGGRAPH 2022) over pixel coordinates, in pure PyTorch.

``levels`` 2-D grids, their resolutions spaced geometrically from ``coarsest`` to ``finest``
cells across the longer side of the canvas, each vertex holding ``features`` learnable
values. A level whose vertices fit in ``2 ** log2_table`` entries is stored densely; a finer
one is hashed into a table of that size (the paper's spatial hash, XOR of the integer
coordinates times large primes), and its collisions are left for the gradients to sort out.
Each pixel's features are bilinearly interpolated per level, concatenated and mapped to
colour by a tiny MLP and a sigmoid (through the decorrelated colour stage of
:mod:`paramart.params.color` when ``decorrelate``).

The image is a continuous function of position, in the CPPN's canvas units
(:func:`paramart.params.coordinates.pixel_coords`), so a render at any size samples the same image
and ``render_region`` evaluates only the pixels asked for. The finest levels may have more
cells than the training canvas has pixels: they are where zoom training
(:mod:`paramart.evaluation.zoom_training`) puts the detail a large render shows.

``periodic=true`` makes every level wrap around (a torus): the right edge continues into the
left and the bottom into the top, so the texture tiles with no seam.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from omegaconf import MISSING
from torch import nn

from paramart.config import ParamConfig
from paramart.errors import ParamartError
from paramart.params.base import register
from paramart.params.color import color_matrix
from paramart.params.coordinates import COORD_RANGE, CoordinateParameterization, extent
from paramart.params.prefit import PrefitConfig, content_init

#: the spatial hash's primes (Teschner et al. 2003, as in Instant-NGP); the first is 1
PRIMES = (1, 2654435761)
#: the four corners of a cell, (dy, dx), in the order of the bilinear weights
CORNERS = ((0, 0), (0, 1), (1, 0), (1, 1))


class Bilinear(torch.autograd.Function):
    """``out[n] = sum_k weights[n, k] * table[corners[n, k]]``: (N, features) from a (rows,
    features) table, (N, 4) corner rows and (N, 4) weights, by ``embedding_bag``; the gradient
    flows to the table only, by one ``index_add`` (torch's own embedding-bag backward with
    per-sample weights is several times slower on a CPU)."""

    @staticmethod
    def forward(ctx, table: torch.Tensor, corners: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(corners, weights)
        ctx.rows = table.shape[0]
        return nn.functional.embedding_bag(corners, table, per_sample_weights=weights, mode="sum")

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        corners, weights = ctx.saved_tensors
        table = grad.new_zeros(ctx.rows, grad.shape[1])
        table.index_add_(0, corners.reshape(-1), (weights[..., None] * grad[:, None, :]).reshape(-1, grad.shape[1]))
        return table, None, None


@dataclass
class HashGridConfig(ParamConfig):
    """Schema of ``conf/param/hashgrid.yaml`` (:class:`HashGrid`)."""

    _target_: str = "paramart.params.hashgrid.HashGrid"
    #: number of grid levels
    levels: int = MISSING
    #: features per grid vertex and level
    features: int = MISSING
    #: log2 of the entries in each level's table (dense levels use fewer)
    log2_table: int = MISSING
    #: cells across the longer side of the canvas at the coarsest and the finest level
    coarsest: int = MISSING
    finest: int = MISSING
    #: hidden layers and their width in the MLP after the encoding
    depth: int = MISSING
    width: int = MISSING
    #: std of the table's uniform-ish init (Instant-NGP: 1e-4)
    init_scale: float = MISSING
    #: mix the three outputs by the ImageNet colour correlation before the sigmoid
    decorrelate: bool = MISSING
    #: wrap every level around the canvas (a seamless, tileable texture)
    periodic: bool = MISSING
    #: fade out levels whose cells are smaller than a rendered pixel (mip-mapping); the schema's
    #: default is off, what checkpoints made before the key existed were trained with (the YAML: off too)
    antialias: bool = False
    #: auto (content when there is a content photo) | content | none: pixel-space pre-fit
    init: str = MISSING
    #: the pre-fit to the content photo (steps, seconds, lr) when ``init`` asks for it
    prefit: PrefitConfig = field(default_factory=PrefitConfig)


register("hashgrid", HashGridConfig)


def feature_mlp(fan_in: int, depth: int, width: int) -> nn.Sequential:
    """The tiny MLP after a hash encoding: ``depth`` hidden ReLU layers of ``width`` units from
    ``fan_in`` features (levels x features per level) to 3 RGB logits."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), nn.ReLU()]
        fan_in = width
    return nn.Sequential(*layers, nn.Linear(fan_in, 3))


def level_cells(coarsest: int, finest: int, levels: int) -> list[int]:
    """Cells across the longer side at each level: geometric from ``coarsest`` to ``finest``."""
    if levels == 1:
        return [coarsest]
    growth = math.exp((math.log(finest) - math.log(coarsest)) / (levels - 1))
    return [round(coarsest * growth**level) for level in range(levels)]


def level_tables(vertices: list[int], log2_table: int, features: int,
                 init_scale: float) -> tuple[list[bool], nn.ParameterList]:
    """Per level, whether its ``vertices`` fit the table densely, and its table: ``min(vertices,
    2 ** log2_table)`` rows of ``features`` uniform in +-``init_scale`` (Instant-NGP's init)."""
    entries = 2**log2_table
    dense = [v <= entries for v in vertices]
    tables = [nn.Parameter(torch.empty(min(v, entries), features).uniform_(-init_scale, init_scale))
              for v in vertices]
    return dense, nn.ParameterList(tables)


class HashGrid(CoordinateParameterization):
    """Hashed multiresolution feature grids + a tiny MLP: an image of any resolution."""

    resampling = "the hash grids and MLP are evaluated at every pixel of the new size (tile by tile)"
    limits = {"levels": 64, "features": 64, "depth": 64, "width": 4096, "coarsest": 1 << 20, "finest": 1 << 20}

    def __init__(self, size, init_image: torch.Tensor | None = None, levels: int = 12, features: int = 2,
                 log2_table: int = 14, coarsest: int = 16, finest: int = 1024, depth: int = 2, width: int = 64,
                 init_scale: float = 1e-4, decorrelate: bool = False, periodic: bool = False,
                 init: str = "auto", prefit=None, antialias: bool = False):
        super().__init__(size)
        for key, value, low, high in (("levels", levels, 1, None), ("features", features, 1, None),
                                      ("depth", depth, 0, None), ("width", width, 1, None),
                                      ("log2_table", log2_table, 4, 24)):
            if value < low or (high is not None and value > high):
                span = f"from {low} to {high}" if high is not None else f"at least {low}"
                raise ParamartError(f"param.{key}={value} must be {span}")
        if not 1 <= coarsest <= finest:
            raise ParamartError(f"param.coarsest={coarsest} and finest={finest}: need 1 <= coarsest <= finest")
        self.periodic = bool(periodic)
        self.antialias = bool(antialias)
        # a photo does not tile: a periodic image starts from noise, not from a pre-fit
        self.prefit = None if periodic else content_init(init, init_image, prefit)
        h0, w0 = self.size
        self.cells: list[tuple[int, int]] = [  # (rows, columns) of cells per level
            (max(1, round(n * h0 / max(h0, w0))), max(1, round(n * w0 / max(h0, w0))))
            for n in level_cells(coarsest, finest, levels)]
        edge = 0 if periodic else 1
        self.dense, self.tables = level_tables([(ny + edge) * (nx + edge) for ny, nx in self.cells], log2_table,
                                               features, init_scale)
        self.mlp = feature_mlp(levels * features, depth, width)
        self.register_buffer("color", color_matrix(decorrelate), persistent=False)

    def _index(self, level: int, iy: torch.Tensor, ix: torch.Tensor) -> torch.Tensor:
        ny, nx = self.cells[level]
        if self.periodic:
            iy, ix = iy % ny, ix % nx
            stride = nx
        else:
            iy, ix = iy.clamp(0, ny), ix.clamp(0, nx)
            stride = nx + 1
        if self.dense[level]:
            return iy * stride + ix
        return (ix * PRIMES[0] ^ iy * PRIMES[1]) % self.tables[level].shape[0]

    def level_gains(self, step: float | None) -> torch.Tensor:
        """Each level's gain for a render whose pixels are ``step`` canvas units apart.

        With ``antialias``, a level whose cells are smaller than a pixel is faded by the
        pixel's width in cells, ``f``, to ``1 / f``: the spread of an average of ``f x f``
        independent cells, what a box filter over the pixel would leave of it (mip-mapping,
        as in Mip-NeRF and Zip-NeRF). A render at the training size then shows the image
        that a larger render, downsampled, shows: zoom training's fine levels are detail
        seen when zoomed, not aliasing noise on the canvas. Otherwise every gain is 1."""
        gains = torch.ones(len(self.cells))
        if not self.antialias or step is None:
            return gains
        h0, w0 = self.size
        span = 2 * COORD_RANGE * h0 / max(h0, w0)  # the canvas's height in canvas units
        for level, (ny, _) in enumerate(self.cells):
            cells_per_pixel = step * ny / span
            gains[level] = min(1.0, 1.0 / cells_per_pixel)
        return gains

    def encode(self, y: torch.Tensor, x: torch.Tensor, step: float | None = None) -> torch.Tensor:
        """(len(y) * len(x), levels * features) interpolated features of the grid ``y`` x ``x``,
        each level times its :meth:`level_gains` for pixels ``step`` canvas units apart.

        Each level is one bag-of-four lookup (:class:`Bilinear`: the four corners' entries
        weighted and summed in one ``embedding_bag``), never a (4, H, W, features) tensor of
        corners; its backward is one ``index_add`` into the level's table."""
        ey, ex = extent(self.size)
        u, v = (y + ey) / (2 * ey), (x + ex) / (2 * ex)  # [0, 1] over the canvas
        gains = self.level_gains(step) if self.antialias else None
        out = []
        for level, table in enumerate(self.tables):
            ny, nx = self.cells[level]
            py, px = u * ny, v * nx
            fy, fx = py.floor(), px.floor()
            ty, tx = py - fy, px - fx
            iy, ix = fy.long()[:, None], fx.long()[None, :]
            corners = torch.stack([self._index(level, iy + dy, ix + dx) for dy, dx in CORNERS], -1)
            weights = torch.stack([1 - ty, 1 - ty, ty, ty], -1)[:, None] * torch.stack([1 - tx, tx, 1 - tx, tx], -1)
            if gains is not None:
                weights = weights * float(gains[level])
            out.append(Bilinear.apply(table, corners.reshape(-1, 4), weights.reshape(-1, 4)))
        return torch.cat(out, 1)

    def logits(self, y: torch.Tensor, x: torch.Tensor, step: float) -> torch.Tensor:
        """(len(y) * len(x), 3) RGB logits: the multiresolution encoding at the grid (levels faded by
        ``step``, canvas units per pixel, when ``antialias``) through the MLP."""
        return self.mlp(self.encode(y, x, step))
