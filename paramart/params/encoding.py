"""Coordinate inputs for the CPPN family: plain (x, y, r), torus coordinates, and Fourier
features (Tancik et al., "Fourier Features Let Networks Learn High Frequency Functions in Low
Dimensional Domains", NeurIPS 2020).

An MLP fed raw coordinates learns smooth functions first and high frequencies hardly at all
(spectral bias): a CPPN of a painting comes out as blobs. Mapping each position ``p`` through
``[cos(2 pi B p), sin(2 pi B p)]`` first lets it represent detail down to the scale of the
frequencies in ``B``:

- ``gaussian``: ``B`` has ``count`` rows drawn from N(0, sigma^2) (cycles per canvas side);
- ``positional``: axis-aligned frequencies geometric from 1 to ``sigma`` cycles, ``count / 2``
  per axis (Tancik's "positional encoding" with scale sigma).

``anneal`` > 0 opens the frequencies coarse to fine over that many training renders
(BARF, Lin et al. 2021): a frequency's features are faded in as a cut-off that grows
linearly from 0 to the largest frequency passes it, so the network settles the large
structure before the fine detail. Renders without gradients (saving, ``paramart-render``)
do not advance it; a finished run's checkpoint stores how far it got.

``periodic``: positions are taken on a torus (each axis of the canvas is one turn), the
plain inputs become ``cos`` and ``sin`` of the two angles and Gaussian frequencies are
rounded to whole cycles per canvas, so the image tiles with no seam.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paramart.errors import ParamartError

KINDS = ("gaussian", "positional")


def frequencies(count: int, sigma: float, kind: str, periodic: bool) -> torch.Tensor:
    """(count, 2) frequencies in cycles per canvas side (y, x)."""
    if kind not in KINDS:
        raise ParamartError(f"param.fourier_kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if count < 0 or (count and sigma <= 0):
        raise ParamartError("param.fourier_features must be >= 0 and param.fourier_sigma > 0")
    if kind == "gaussian":
        freqs = torch.randn(count, 2) * sigma
    else:
        per_axis = max(1, count // 2)
        f = sigma ** (torch.arange(per_axis) / max(1, per_axis - 1))
        zeros = torch.zeros(per_axis)
        freqs = torch.cat([torch.stack([f, zeros], 1), torch.stack([zeros, f], 1)])[:count]
    if periodic:
        freqs = freqs.round()
    return freqs


class CoordinateEncoding(nn.Module):
    """(y, x) grids in canvas units -> per-pixel network inputs."""

    def __init__(self, extent: tuple[float, float], count: int = 0, sigma: float = 10.0, kind: str = "gaussian",
                 anneal: int = 0, periodic: bool = False):
        super().__init__()
        if anneal < 0:
            raise ParamartError(f"param.fourier_anneal={anneal} must be >= 0")
        self.extent = extent  # half-height and half-width of the canvas, canvas units
        self.periodic = periodic
        self.anneal = int(anneal)
        # saved only when used, so checkpoints of plain CPPNs from before this module still load
        self.register_buffer("freqs", frequencies(count, sigma, kind, periodic), persistent=count > 0)
        self.register_buffer("renders", torch.zeros((), dtype=torch.long), persistent=self.anneal > 0)
        self.plain = 4 if periodic else 3

    @property
    def width(self) -> int:
        """Values per pixel this encoding produces: 3 plain inputs (x, y, r), or 4 on the torus, plus
        2 (cos, sin) per frequency."""
        return self.plain + 2 * self.freqs.shape[0]

    def weights(self) -> torch.Tensor | None:
        """Per-frequency fade-in factors while annealing; None when all are open."""
        if not self.anneal or self.renders >= self.anneal or not self.freqs.numel():
            return None
        norms = self.freqs.norm(dim=1)
        top = float(norms.max())
        step = max(top / 8, 1e-6)  # the width of the fade
        cutoff = float(self.renders) / self.anneal * (top + step)
        return ((cutoff - norms) / step).clamp(0, 1)

    def forward(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(len(y) * len(x), :attr:`width`) inputs for the grid ``y`` x ``x`` (canvas units, row-major):
        the plain coordinates, then the (faded, while annealing) Fourier features. A render with
        gradients in training mode counts one step of the anneal."""
        if torch.is_grad_enabled() and self.training:
            self.renders += 1
        yy, xx = torch.meshgrid(y, x, indexing="ij")
        ey, ex = self.extent
        if self.periodic:
            # each axis of the canvas is one turn: [0, 1) per side
            u, v = (yy + ey) / (2 * ey), (xx + ex) / (2 * ex)
            turns = 2 * math.pi * torch.stack([u, v], dim=-1)
            plain = torch.cat([turns.cos(), turns.sin()], dim=-1) * math.sqrt(2.0)
        else:
            # r / sqrt(2) keeps the radius near unit scale like x and y.
            r = (xx * xx + yy * yy).sqrt() / math.sqrt(2.0)
            plain = torch.stack([xx, yy, r], dim=-1)
            side = 2 * max(ey, ex)  # the longer side is one unit: cycles per canvas
            u, v = yy / side, xx / side
        plain = plain.reshape(-1, self.plain)
        if not self.freqs.numel():
            return plain
        phase = 2 * math.pi * (u.reshape(-1, 1) * self.freqs[:, 0] + v.reshape(-1, 1) * self.freqs[:, 1])
        feats = torch.cat([phase.cos(), phase.sin()], dim=-1)
        weights = self.weights()
        if weights is not None:
            feats = feats * weights.repeat(2)
        return torch.cat([plain, feats], dim=-1)
