"""The Fourier-CPPN (F-CPPN) of Tesfaldet, Snelgrove & Vazquez, "Fourier-CPPNs for Image
Synthesis" (ICCV workshop 2019).

A plain CPPN outputs each pixel's colour: only the DC term of the pixel's local spectrum,
and its smooth inductive bias makes images overly smooth. The F-CPPN's network outputs, per
pixel and channel, a grid of ``fourier_size x fourier_size`` complex Fourier coefficients
``F[u, v](x, y)``, and the colour is their *localised* inverse DFT evaluated at the pixel
(paper eq. 3)::

    I_c(x, y) = Re sum_{u,v} F_c[u, v](x, y) exp(2 pi i (u x + v y) / K) / K,   K = fourier_size

with (x, y) in pixels of the training canvas. Where the coefficients are constant the image
is a periodic texture of period K px; where they vary smoothly (the CPPN's bias) one texture
blends into another, so fine detail is cheap to represent. The network body is the same as
:mod:`paramart.params.cppn` (the paper builds on the Distill CPPN: 8 layers of 24 units,
composite atan activation, N(0, 1/fan_in) weights, zero biases; K = 10).

What this implementation chooses:

- Frequencies are the *signed* DFT frequencies (``fftfreq(K)``: 0, 1/K, ..., -1/K cycles per
  training pixel) rather than 0 ... (K-1)/K. At the training pixels both give the same
  image (they alias exactly), but between pixels the signed set is the band-limited one, so
  a render at a higher resolution interpolates smoothly instead of showing frequencies up
  to ~1 cycle per training pixel that training never saw.
- The output layer is zero-initialised and the real part goes through a sigmoid, as for the
  CPPN, so the image starts grey and stays in [0, 1].
- Rendering at any size evaluates the network and the IDFT at that size's pixel centres in
  training-pixel units: the periodic detail keeps its size relative to the canvas.
- Eq. 3 is evaluated folded (:meth:`FourierCPPN.head`): the same image without materialising
  the (N, 6 K^2) coefficient field.

Why the paper's F-CPPN paints a K-periodic mesh, and the variant that does not (the defaults
of ``conf/param/fourier_cppn.yaml``; ``fourier_cppn_faithful.yaml`` is the paper's). The
coefficients are linear in the last hidden layer, so the colour is ``h(x) . W(x mod K)``: a
CPPN whose output layer is one of K^2 layers chosen by the pixel's phase. The hidden features
of a CPPN on raw coordinates are smooth (and the composite activation's atan^2 half and the
bias are far from zero-mean), so every update of ``W`` is nearly the same at all pixels of a
phase: a plane wave over the whole canvas. Adam moves each of the 6 K^2 x 49 output weights
by about the learning rate per step, and the DC coefficient, which carries the colour, is only
1/K of the image's logit, so the 99 other frequencies together outrun it: from grey, and even
when pre-fitting to a photo by MSE, the image becomes a K-periodic mesh before the body can
learn where things are. Even with the three keys below and a pre-fit, the network alone kept
a mesh and only a camouflage of the cat at 256 px (judged style 9.1x pixel's at equal time):
it has to learn the whole photo before it can learn the style, and its every pixel costs a
network evaluation. So the default (``base``) adds the local IDFT to a **learned global
spectrum** (:mod:`paramart.params.global_spectrum`, param=fft's: 1/f scaled, decorrelated
colour), which starts as the photo exactly (its inverse mapping: the pre-fit, done in the
frequency domain at no cost; small noise without a photo); the network starts at zero and
learns the local, spatially varying spectrum on top. Keys, each off in the paper's variant:

- ``base`` (``base_decay``, ``base_gain``): the global spectrum; ``base_gain`` 10 makes it move,
  under Adam at the network's rate 0.005, as param=fft's spectrum does at 0.05;
- ``lattice`` s: the network runs on a lattice s training pixels apart, its hidden features
  bilinear in between (so are the coefficients, which the paper takes to vary slowly): s^2
  fewer network evaluations, so the run gets more steps in the same time;
- ``colour_dc``: the DC coefficient is the colour logit itself (scale 1, as a CPPN's output),
  not 1/K of it: the subject is learned at a CPPN's pace;
- ``spectral_decay`` p: the coefficient of local frequency f is scaled by
  ``1 / max(1, K |f|) ** p`` (cycles per K px, 1 ... K / sqrt 2), a 1/f preconditioner as in
  Mordvintsev et al.'s FFT parameterization, so fine local frequencies grow slower than coarse
  ones (the default p = 2: with p = 1 the network spent itself on a canvas-wide 2-px checker at
  256 px, which the Gram loss rewards; docs/benchmarks.md); ``detail`` scales all non-DC
  coefficients once more;
- ``decorrelate``: the logits through ImageNet's colour correlation, as param=fft's;
- Fourier features of the coordinates (``fourier_features``, Tancik et al. 2020), so the
  coefficients can vary from one K-px period to the next.

Regions and sizes: both parts are functions of position, so ``renders_regions`` holds: the
network (on its lattice, fixed in canvas units) and the global spectrum's Fourier series are
evaluated at the requested pixels only, and a region is exactly that part of the whole render.
A render larger than the canvas adds the local IDFT's detail at the same size relative to the
canvas, and interpolates the global spectrum band-limited (no detail of its own). Multi-scale
(``schedule.scales``) zero-pads the global spectrum; the local period stays K pixels of the
current canvas.

Errors: :class:`ParamartError` naming the key for ``fourier_size`` < 1, ``spectral_decay`` < 0,
``detail`` <= 0, ``lattice`` < 1, ``base_decay`` < 0, ``base_gain`` <= 0, ``periodic``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from omegaconf import MISSING

from paramart.errors import ParamartError
from paramart.params.base import register
from paramart.params.coordinates import COORD_RANGE
from paramart.params.cppn import CPPN, CPPNConfig
from paramart.params.global_spectrum import GlobalSpectrum


@dataclass
class FourierCPPNConfig(CPPNConfig):
    """Schema of ``conf/param/fourier_cppn.yaml``: the CPPN's keys plus ``fourier_size``."""

    _target_: str = "paramart.params.fourier_cppn.FourierCPPN"
    #: K: each pixel's local spectrum has K x K complex coefficients per channel (period K px)
    fourier_size: int = MISSING
    #: coefficient of local frequency f scaled by 1 / max(1, K |f|) ** spectral_decay; 0 = the paper's
    #: (the schema's defaults are the paper's, so checkpoints from before these keys render as they did)
    spectral_decay: float = 0.0
    #: scale of every coefficient but the DC one; 1 = the paper's
    detail: float = 1.0
    #: the DC coefficient is the colour logit itself, as a CPPN's output (not 1/K of it, the paper's)
    colour_dc: bool = False
    #: add the local IDFT to a learned global spectrum (params/global_spectrum.py), initialised from
    #: the photo (or noise); false = the network alone (the paper's)
    base: bool = False
    #: the global spectrum's 1/f exponent (as param=fft's decay_power)
    base_decay: float = 1.0
    #: the global spectrum's parameters are it divided by this: its step size relative to the network's
    base_gain: float = 10.0
    #: training pixels between the points where the network runs; its hidden features are bilinear
    #: in between (the coefficients vary slowly); 1 = at every pixel (the paper's)
    lattice: int = 1


register("fourier_cppn", FourierCPPNConfig)


class FourierCPPN(CPPN):
    """A CPPN whose outputs are local Fourier coefficients, turned into colour by an IDFT, optionally
    added to a learned global spectrum (``base``). ``size`` (height, width) is the training canvas,
    ``init_image`` the photo (1, 3, H, W) in [0, 1] or None; renders are (1, 3, H, W) in [0, 1]
    at any size, and any region of one alone (:meth:`region`)."""

    limits = {**CPPN.limits, "fourier_size": 64, "base_decay": 16, "base_gain": 1e6, "lattice": 1024}

    def __init__(self, size, init_image: torch.Tensor | None = None, fourier_size: int = 10,
                 spectral_decay: float = 0.0, detail: float = 1.0, colour_dc: bool = False, base: bool = False,
                 base_decay: float = 1.0, base_gain: float = 10.0, lattice: int = 1, **cppn):
        if fourier_size < 1:
            raise ParamartError(f"param.fourier_size={fourier_size} must be at least 1")
        if spectral_decay < 0:
            raise ParamartError(f"param.spectral_decay={spectral_decay} must be >= 0")
        if detail <= 0:
            raise ParamartError(f"param.detail={detail} must be > 0")
        if cppn.get("periodic"):
            raise ParamartError("param.periodic is not available for fourier_cppn (its K-px period need not divide "
                                "the canvas); use param=cppn or param=hashgrid")
        if lattice < 1:
            raise ParamartError(f"param.lattice={lattice} must be at least 1 (training pixels)")
        if base and not base_decay >= 0:
            raise ParamartError(f"param.base_decay={base_decay} must be >= 0")
        if base and not base_gain > 0:
            raise ParamartError(f"param.base_gain={base_gain} must be > 0")
        self.outputs_per_pixel = 3 * 2 * fourier_size**2  # real and imaginary parts
        super().__init__(size, init_image, **cppn)
        self.base = None
        if base:
            # the photo goes into the global spectrum exactly (its inverse mapping): no pre-fit
            photo = init_image if self.prefit is not None else None
            self.base = GlobalSpectrum(self.size, self.color, base_decay, base_gain, photo)
            self.prefit = None
        self.fourier_size, self.lattice = fourier_size, int(lattice)
        f = torch.fft.fftfreq(fourier_size)  # cycles per training pixel
        self.register_buffer("freq", f, persistent=False)
        fy, fx = torch.meshgrid(f, f, indexing="ij")
        # |f| in cycles per K px: 0 (DC), 1 (one cycle per period), ... K / sqrt(2)
        radius = fourier_size * (fy * fy + fx * fx).sqrt()
        # the paper's 1 / sqrt(K * K) normalisation, times the spectral preconditioner
        scale = radius.clamp(min=1.0) ** -float(spectral_decay) / fourier_size
        scale = torch.where(radius > 0, scale * float(detail), 1.0 if colour_dc else scale)
        self.register_buffer("scale", scale, persistent=False)

    def logits(self, y, x, step):
        """(len(y) * len(x), 3) logits at the grid ``y`` x ``x`` (canvas units): the network's local
        IDFT (:meth:`head`), plus the global spectrum's series at the same points when ``base``."""
        out = super().logits(y, x, step)
        if self.base is None:
            return out
        px = max(self.size) / (2 * COORD_RANGE)  # canvas units -> training pixels
        h, w = self.size
        return out + self.base(y * px + (h - 1) / 2, x * px + (w - 1) / 2)

    def body(self, y, x):
        """(len(y) * len(x), J) hidden features at the grid ``y`` x ``x``. With ``lattice`` s > 1 the
        network runs only at the nodes of a lattice s training pixels apart (fixed in canvas units,
        one node at the centre, so a region is exactly that part of the whole render) and the
        features are bilinear in between: s^2 times fewer evaluations."""
        if self.lattice == 1:
            return super().body(y, x)
        spacing = self.lattice * 2 * COORD_RANGE / max(self.size)  # canvas units between nodes
        (ly, iy, wy), (lx, ix, wx) = _lattice(y, spacing), _lattice(x, spacing)
        nodes = super().body(ly, lx).reshape(ly.numel(), lx.numel(), -1)
        rows = nodes[iy] * (1 - wy)[:, None, None] + nodes[iy + 1] * wy[:, None, None]  # (len(y), nodes in x, J)
        grid = rows[:, ix] * (1 - wx)[None, :, None] + rows[:, ix + 1] * wx[None, :, None]
        return grid.reshape(y.numel() * x.numel(), -1)

    @torch.no_grad()
    def rescale(self, size):
        """Multi-scale: the network is resolution-free; the global spectrum keeps its band (zero-padded)."""
        super().rescale(size)
        if self.base is not None:
            self.base.rescale(self.size)

    def head(self, hidden, y, x):
        """Eq. 3 for the grid ``y`` x ``x``, evaluated without the (N, 6 K^2) coefficient field.

        The coefficients are linear in the last hidden layer, ``F_c[u, v] = sum_j G[c, u, v, j] h_j``
        (``G`` the output layer, complex, its bias as a constant ``h``), and the basis is separable,
        ``exp(2 pi i (u y + v x) / K) = E_u(y) E_v(x)``. So ``I_c = Re sum_j h_j M[y, x, c, j]`` with
        ``M = sum_u E_u(y) sum_v E_v(x) G[c, u, v, j]``, contracted one axis at a time: the same
        image at a fraction of the memory traffic of the coefficient field. ``E`` has period K
        training pixels, so ``M`` is built once per phase of a row and of a column (K of each on
        the training canvas), not per row and column, and gathered."""
        k = self.fourier_size
        px = max(self.size) / (2 * COORD_RANGE)  # canvas units -> training pixels: the period is K of them
        weight = torch.cat([self.out.weight, self.out.bias.unsqueeze(1)], dim=1)  # (3 * 2 * K * K, J)
        g = weight.reshape(3, 2, k, k, -1) * self.scale[:, :, None]
        g_re, g_im = g[:, 0], g[:, 1]  # (3, K, K, J): c, u (y frequency), v (x frequency), j
        (py, iy), (px_, ix) = phases(y * px, k), phases(x * px, k)
        ay = 2 * math.pi * py.unsqueeze(1) * self.freq  # (phases of y, K)
        ax = 2 * math.pi * px_.unsqueeze(1) * self.freq
        cy, sy, cx, sx = ay.cos(), ay.sin(), ax.cos(), ax.sin()
        # A[y, c, v, j] = sum_u E_u(y) G[c, u, v, j]
        a_re = torch.einsum("yu,cuvj->ycvj", cy, g_re) - torch.einsum("yu,cuvj->ycvj", sy, g_im)
        a_im = torch.einsum("yu,cuvj->ycvj", cy, g_im) + torch.einsum("yu,cuvj->ycvj", sy, g_re)
        # M[y, x, c, j] = Re sum_v A[y, c, v, j] E_v(x)
        m = torch.einsum("ycvj,xv->yxcj", a_re, cx) - torch.einsum("ycvj,xv->yxcj", a_im, sx)
        h = torch.cat([hidden, hidden.new_ones(hidden.shape[0], 1)], dim=1).reshape(y.numel(), x.numel(), -1)
        return torch.einsum("yxj,yxcj->yxc", h, m[iy][:, ix]).reshape(-1, 3)


def phases(t: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Positions ``t`` (training pixels) grouped by their phase modulo ``k``: (one position per
    phase, the phase index of each position). Positions closer than 2^-14 px in phase share one."""
    key = torch.round(torch.remainder(t, k) * 2.0**14).long()
    unique, index = torch.unique(key, return_inverse=True)
    return t.new_zeros(unique.numel()).scatter_(0, index, t), index


def _lattice(t: torch.Tensor, spacing: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Lattice nodes covering positions ``t`` (canvas units), ``spacing`` apart with one at 0: (the
    nodes' positions, each position's node below, its weight on the node above, in [0, 1))."""
    cell = t / spacing
    below = torch.floor(cell)
    first = below.min()
    nodes = (torch.arange(int(below.max() - first) + 2, device=t.device) + first) * spacing
    return nodes, (below - first).long(), cell - below
