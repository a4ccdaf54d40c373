"""A whole clip as one function of (x, y, t): a multiresolution hash grid over space and time
(Müller et al., "Instant Neural Graphics Primitives", 2022, with time as a third axis as in
the dynamic-scene grids of CoDeF, Ouyang et al. 2024, and K-Planes/HexPlane) and one MLP.

Each shot of the clip (the frames between two scene cuts) has its own grids, so nothing is
interpolated across a cut; the MLP that maps features to colour is shared by every shot. A
level has the spatial cells of :class:`paramart.params.hashgrid.HashGrid` (``coarsest`` to
``finest`` across the canvas's longer side) and ``T_l`` cells along time, geometric from 1 at
the coarsest level to ``time_cells`` (at most the shot's frame intervals) at the finest: the
coarse levels are one image for the whole shot (what every frame shares), the finest can
change from frame to frame. Features are interpolated trilinearly, so the field is defined
between frames (slow motion) and between pixels (any size).

Positions are in the canvas units of :mod:`paramart.params.coordinates`; time ``t`` runs from
0 (the shot's first frame) to 1 (its last). The field is trained by :mod:`paramart.video.field`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from paramart.errors import ParamartError
from paramart.params.color import color_matrix, to_rgb
from paramart.params.coordinates import extent, pixel_coords
from paramart.params.hashgrid import feature_mlp, level_cells, level_tables

#: the spatial hash's primes for (x, y, t) (Teschner et al. 2003, as in Instant-NGP)
PRIMES = (1, 2654435761, 805459861)


class VideoField(nn.Module):
    """Per shot, hashed (x, y, t) feature grids; one shared MLP to RGB in [0, 1].

    ``size`` is the training canvas (height, width) px; ``shots`` the number of frames of
    each shot, in order. The other arguments are :class:`paramart.params.hashgrid.HashGridConfig`'s
    (``param.*``) plus ``time_cells``, the finest level's cells along a shot's time.
    Raises :class:`ParamartError` for values out of range."""

    def __init__(self, size: tuple[int, int], shots: Sequence[int], levels: int = 12, features: int = 2,
                 log2_table: int = 14, coarsest: int = 16, finest: int = 1024, depth: int = 2, width: int = 64,
                 init_scale: float = 1e-4, decorrelate: bool = False, time_cells: int = 16):
        super().__init__()
        if not shots or min(shots) < 1:
            raise ParamartError("a video field needs at least one frame in every shot")
        if not 1 <= coarsest <= finest or levels < 1 or features < 1 or time_cells < 1 or not 4 <= log2_table <= 24:
            raise ParamartError(f"param.levels={levels}, features={features}, log2_table={log2_table}, "
                                f"coarsest={coarsest}, finest={finest}, video.field.time_cells={time_cells}: "
                                "out of range for a video field")
        self.size = (int(size[0]), int(size[1]))
        self.shots = [int(n) for n in shots]
        h0, w0 = self.size
        growth = level_cells(coarsest, finest, levels)
        self.cells: list[list[tuple[int, int, int]]] = []  # per shot, per level: (time, rows, columns)
        self.dense: list[list[bool]] = []
        shot_tables = []
        for frames in self.shots:
            top = max(1, min(time_cells, frames - 1))
            cells = []
            for level, n in enumerate(growth):
                nt = 1 if levels == 1 else max(1, round(top ** (level / (levels - 1))))
                cells.append((nt, max(1, round(n * h0 / max(h0, w0))), max(1, round(n * w0 / max(h0, w0)))))
            dense, tables = level_tables([(nt + 1) * (ny + 1) * (nx + 1) for nt, ny, nx in cells], log2_table,
                                         features, init_scale)
            self.cells.append(cells)
            self.dense.append(dense)
            shot_tables.append(tables)
        self.tables = nn.ModuleList(shot_tables)
        self.mlp = feature_mlp(levels * features, depth, width)
        self.register_buffer("color", color_matrix(decorrelate), persistent=False)

    def _index(self, shot: int, level: int, it, iy, ix) -> torch.Tensor:
        nt, ny, nx = self.cells[shot][level]
        it, iy, ix = it.clamp(0, nt), iy.clamp(0, ny), ix.clamp(0, nx)
        if self.dense[shot][level]:
            return (it * (ny + 1) + iy) * (nx + 1) + ix
        return (ix * PRIMES[0] ^ iy * PRIMES[1] ^ it * PRIMES[2]) % self.tables[shot][level].shape[0]

    def encode(self, shot: int, t: float, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(len(y) * len(x), levels * features): the features of shot ``shot`` at time ``t`` in
        [0, 1] on the grid ``y`` x ``x`` (canvas units), trilinearly interpolated per level."""
        ey, ex = extent(self.size)
        u, v = (y + ey) / (2 * ey), (x + ex) / (2 * ex)
        t = min(1.0, max(0.0, float(t)))
        tables = self.tables[shot]
        indices, weights, offset = [], [], 0
        for level, table in enumerate(tables):
            nt, ny, nx = self.cells[shot][level]
            pt, py, px = t * nt, u * ny, v * nx
            ft = min(math.floor(pt), nt - 1)
            fy, fx = py.floor(), px.floor()
            wt, ty, tx = pt - ft, (py - fy)[:, None], (px - fx)[None, :]
            iy, ix = fy.long()[:, None], fx.long()[None, :]
            for dt in (0, 1):
                it = torch.full_like(iy, ft + dt)
                for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
                    indices.append(self._index(shot, level, it, iy + dy, ix + dx) + offset)
                    weights.append((wt if dt else 1 - wt) * (ty if dy else 1 - ty) * (tx if dx else 1 - tx))
            offset += table.shape[0]
        table = torch.cat(list(tables))
        levels, features = len(tables), table.shape[1]
        corners = nn.functional.embedding(torch.stack(indices), table)  # (levels*8, H, W, F)
        mixed = (corners * torch.stack(weights)[..., None]).reshape(levels, 8, *corners.shape[1:]).sum(1)
        return mixed.permute(1, 2, 0, 3).reshape(-1, levels * features)

    def frame(self, shot: int, t: float, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Shot ``shot`` at time ``t`` in [0, 1], rendered at ``size`` (height, width; the training
        canvas when None): (1, 3, H, W) in [0, 1], with gradients."""
        h, w = self.size if size is None else (int(size[0]), int(size[1]))
        device = self.mlp[-1].weight.device
        y, x = pixel_coords(self.size, (h, w), 0, 0, h, w)
        logits = self.mlp(self.encode(shot, t, y.to(device), x.to(device)))
        return to_rgb(logits, self.color, channel_dim=-1).reshape(h, w, 3).permute(2, 0, 1).unsqueeze(0)

    def shot_time(self, shot: int, index: int) -> float:
        """The time in [0, 1] of the shot's ``index``-th frame."""
        return index / max(1, self.shots[shot] - 1)
