"""A whole clip as one canonical image per shot, each frame a view of it along the input's
optical flow (``video.method=field video.field.form=canonical``).

Per shot, a 2-D multiresolution hash grid (Müller et al. 2022, as :class:`paramart.params.hashgrid.HashGrid`)
over the shot's *canonical* plane: its first frame's pixels, extended as far as the camera
goes. Frame k shows the canonical point ``x + D_k(x)`` at its pixel x, where ``D_k`` is the
input's backward flow chained from the shot's first frame (:mod:`paramart.video.canonical`).
One MLP, shared by every shot, maps features to colour. This is CoDeF's canonical content
field (Ouyang et al. 2024) with its deformation field replaced by the flow: a styled
canonical image moves exactly as the input does, so the output's warping error under the
input's flow is only what bilinear resampling leaves, whatever the style.

Between frames (slow motion) the displacement is interpolated linearly; at another size, the
displacement maps are resized bilinearly (they are in training-canvas pixels), and the grid is
evaluated at the new pixels' canonical points. The field is trained by :mod:`paramart.video.field`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from paramart.errors import ParamartError
from paramart.params.color import color_matrix, to_rgb
from paramart.params.hashgrid import CORNERS, PRIMES, Bilinear, feature_mlp, level_cells, level_tables


class CanonicalField(nn.Module):
    """Per shot a canonical 2-D hash grid; one shared MLP to RGB in [0, 1].

    ``size`` is the training canvas (height, width) px; ``moves`` per shot the (n, H, W, 2)
    displacements ``D_k`` in px (dx, dy) of its n frames into its canonical plane (the first
    frame's all zero). The other arguments are :class:`paramart.params.hashgrid.HashGridConfig`'s
    (``param.*``): ``coarsest``/``finest`` count cells across the canvas's longer side, so a
    shot whose camera travels gets proportionally more cells. Raises :class:`ParamartError`
    for values out of range or maps of the wrong shape."""

    def __init__(self, size: tuple[int, int], moves: Sequence[torch.Tensor], levels: int = 12, features: int = 2,
                 log2_table: int = 14, coarsest: int = 16, finest: int = 1024, depth: int = 2, width: int = 64,
                 init_scale: float = 1e-4, decorrelate: bool = False):
        super().__init__()
        self.size = (int(size[0]), int(size[1]))
        h0, w0 = self.size
        if not moves or any(m.dim() != 4 or tuple(m.shape[1:]) != (h0, w0, 2) or len(m) < 1 for m in moves):
            raise ParamartError(f"a canonical field needs, per shot, (frames, {h0}, {w0}, 2) displacements")
        if not 1 <= coarsest <= finest or levels < 1 or features < 1 or not 4 <= log2_table <= 24:
            raise ParamartError(f"param.levels={levels}, features={features}, log2_table={log2_table}, "
                                f"coarsest={coarsest}, finest={finest}: out of range for a video field")
        self.finest = int(finest)
        self.shots = [len(m) for m in moves]
        self.register_buffer("moves", torch.cat([m.float() for m in moves]))  # (frames, H, W, 2), saved
        self.starts = [sum(self.shots[:s]) for s in range(len(self.shots))]
        longer = max(h0, w0)
        self.bounds: list[tuple[float, float]] = []  # per shot: the canonical plane's top-left, px
        self.cells: list[list[tuple[int, int]]] = []  # per shot, per level: (rows, columns)
        self.dense: list[list[bool]] = []
        self.spans: list[tuple[float, float]] = []  # per shot: the plane's height, width, px
        shot_tables = []
        ys, xs = torch.meshgrid(torch.arange(h0, dtype=torch.float32), torch.arange(w0, dtype=torch.float32),
                                indexing="ij")
        for m in moves:
            py, px = ys + m[..., 1].float(), xs + m[..., 0].float()
            top, left = min(float(py.min()), 0.0) - 0.5, min(float(px.min()), 0.0) - 0.5
            bottom, right = max(float(py.max()), h0 - 1.0) + 0.5, max(float(px.max()), w0 - 1.0) + 0.5
            self.bounds.append((top, left))
            self.spans.append((bottom - top, right - left))
            cells = [(max(1, math.ceil(n * (bottom - top) / longer)), max(1, math.ceil(n * (right - left) / longer)))
                     for n in level_cells(coarsest, finest, levels)]
            dense, tables = level_tables([(ny + 1) * (nx + 1) for ny, nx in cells], log2_table, features, init_scale)
            self.cells.append(cells)
            self.dense.append(dense)
            shot_tables.append(tables)
        self.tables = nn.ModuleList(shot_tables)
        self.mlp = feature_mlp(levels * features, depth, width)
        self.register_buffer("color", color_matrix(decorrelate), persistent=False)

    def _index(self, shot: int, level: int, iy: torch.Tensor, ix: torch.Tensor) -> torch.Tensor:
        ny, nx = self.cells[shot][level]
        iy, ix = iy.clamp(0, ny), ix.clamp(0, nx)
        if self.dense[shot][level]:
            return iy * (nx + 1) + ix
        return (ix * PRIMES[0] ^ iy * PRIMES[1]) % self.tables[shot][level].shape[0]

    def encode(self, shot: int, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(N, levels * features): the features of shot ``shot``'s canonical plane at the N points
        ``y``, ``x`` (px of the training canvas, as ``x + D_k(x)``), bilinear per level."""
        top, left = self.bounds[shot]
        height, width = self.spans[shot]
        u, v = (y - top) / height, (x - left) / width  # [0, 1] over the plane
        out = []
        for level, table in enumerate(self.tables[shot]):
            ny, nx = self.cells[shot][level]
            py, px = u * ny, v * nx
            fy, fx = py.floor(), px.floor()
            ty, tx = py - fy, px - fx
            iy, ix = fy.long(), fx.long()
            corners = torch.stack([self._index(shot, level, iy + dy, ix + dx) for dy, dx in CORNERS], -1)
            weights = torch.stack([(1 - ty) * (1 - tx), (1 - ty) * tx, ty * (1 - tx), ty * tx], -1)
            out.append(Bilinear.apply(table, corners, weights))
        return torch.cat(out, 1)

    def displacement(self, shot: int, t: float, size: tuple[int, int] | None = None) -> torch.Tensor:
        """(H, W, 2) ``D`` (px of the training canvas) of shot ``shot`` at time ``t`` in [0, 1]
        (between frames: linear), at ``size`` (height, width; the training canvas when None)."""
        n = self.shots[shot]
        p = min(1.0, max(0.0, float(t))) * (n - 1)
        k = min(math.floor(p), max(0, n - 2))
        a = p - k
        first = self.moves[self.starts[shot] + k]
        d = first if n == 1 or a == 0 else (1 - a) * first + a * self.moves[self.starts[shot] + k + 1]
        if size is None or tuple(size) == self.size:
            return d
        return F.interpolate(d.permute(2, 0, 1)[None], size=tuple(size), mode="bilinear",
                             align_corners=False)[0].permute(1, 2, 0)

    def frame(self, shot: int, t: float, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Shot ``shot`` at time ``t`` in [0, 1], rendered at ``size`` (height, width; the training
        canvas when None): (1, 3, H, W) in [0, 1], with gradients."""
        h0, w0 = self.size
        h, w = self.size if size is None else (int(size[0]), int(size[1]))
        d = self.displacement(shot, t, (h, w))
        device = d.device
        ys = (torch.arange(h, dtype=torch.float32, device=device) + 0.5) * h0 / h - 0.5
        xs = (torch.arange(w, dtype=torch.float32, device=device) + 0.5) * w0 / w - 0.5
        y = (ys[:, None] + d[..., 1]).reshape(-1)
        x = (xs[None, :] + d[..., 0]).reshape(-1)
        logits = self.mlp(self.encode(shot, y, x))
        return to_rgb(logits, self.color, channel_dim=-1).reshape(h, w, 3).permute(2, 0, 1).unsqueeze(0)

    def shot_time(self, shot: int, index: int) -> float:
        """The time in [0, 1] of the shot's ``index``-th frame."""
        return index / max(1, self.shots[shot] - 1)
