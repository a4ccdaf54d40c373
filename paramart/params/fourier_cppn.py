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
learn where things are. Three keys, each off in the paper's variant:

- ``colour_dc``: the DC coefficient is the colour logit itself (scale 1, as a CPPN's output),
  not 1/K of it: the subject is learned at a CPPN's pace;
- ``spectral_decay`` p: the coefficient of local frequency f is scaled by
  ``1 / max(1, K |f|) ** p`` (cycles per K px, 1 ... K / sqrt 2), a 1/f preconditioner as in
  Mordvintsev et al.'s FFT parameterization, so fine local frequencies grow slower than coarse
  ones; ``detail`` scales all non-DC coefficients once more;
- Fourier features of the coordinates (``fourier_features``, Tancik et al. 2020), so the
  coefficients can vary from one K-px period to the next, which breaks the period.
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


register("fourier_cppn", FourierCPPNConfig)


class FourierCPPN(CPPN):
    """A CPPN whose outputs are local Fourier coefficients, turned into colour by an IDFT."""

    limits = {**CPPN.limits, "fourier_size": 64}

    def __init__(self, size, init_image: torch.Tensor | None = None, fourier_size: int = 10,
                 spectral_decay: float = 0.0, detail: float = 1.0, colour_dc: bool = False, **cppn):
        if fourier_size < 1:
            raise ParamartError(f"param.fourier_size={fourier_size} must be at least 1")
        if spectral_decay < 0:
            raise ParamartError(f"param.spectral_decay={spectral_decay} must be >= 0")
        if detail <= 0:
            raise ParamartError(f"param.detail={detail} must be > 0")
        if cppn.get("periodic"):
            raise ParamartError("param.periodic is not available for fourier_cppn (its K-px period need not divide "
                                "the canvas); use param=cppn or param=hashgrid")
        self.outputs_per_pixel = 3 * 2 * fourier_size**2  # real and imaginary parts
        super().__init__(size, init_image, **cppn)
        self.fourier_size = fourier_size
        f = torch.fft.fftfreq(fourier_size)  # cycles per training pixel
        self.register_buffer("freq", f, persistent=False)
        fy, fx = torch.meshgrid(f, f, indexing="ij")
        # |f| in cycles per K px: 0 (DC), 1 (one cycle per period), ... K / sqrt(2)
        radius = fourier_size * (fy * fy + fx * fx).sqrt()
        # the paper's 1 / sqrt(K * K) normalisation, times the spectral preconditioner
        scale = radius.clamp(min=1.0) ** -float(spectral_decay) / fourier_size
        scale = torch.where(radius > 0, scale * float(detail), 1.0 if colour_dc else scale)
        self.register_buffer("scale", scale, persistent=False)

    def head(self, hidden, y, x):
        """Eq. 3 for the grid ``y`` x ``x``, evaluated without the (N, 6 K^2) coefficient field.

        The coefficients are linear in the last hidden layer, ``F_c[u, v] = sum_j G[c, u, v, j] h_j``
        (``G`` the output layer, complex, its bias as a constant ``h``), and the basis is separable,
        ``exp(2 pi i (u y + v x) / K) = E_u(y) E_v(x)``. So ``I_c = Re sum_j h_j M[y, x, c, j]`` with
        ``M = sum_u E_u(y) sum_v E_v(x) G[c, u, v, j]``, contracted one axis at a time: the same
        image, at a quarter of the memory traffic of the coefficient field (and of its cos/sin
        products), which made the F-CPPN's step dearer than VGG's."""
        k = self.fourier_size
        px = max(self.size) / (2 * COORD_RANGE)  # canvas units -> training pixels: the period is K of them
        weight = torch.cat([self.out.weight, self.out.bias.unsqueeze(1)], dim=1)  # (3 * 2 * K * K, J)
        g = weight.reshape(3, 2, k, k, -1) * self.scale[:, :, None]
        g_re, g_im = g[:, 0], g[:, 1]  # (3, K, K, J): c, u (y frequency), v (x frequency), j
        ay = 2 * math.pi * (y * px).unsqueeze(1) * self.freq  # (H, K)
        ax = 2 * math.pi * (x * px).unsqueeze(1) * self.freq  # (W, K)
        cy, sy, cx, sx = ay.cos(), ay.sin(), ax.cos(), ax.sin()
        # A[y, c, v, j] = sum_u E_u(y) G[c, u, v, j]
        a_re = torch.einsum("yu,cuvj->ycvj", cy, g_re) - torch.einsum("yu,cuvj->ycvj", sy, g_im)
        a_im = torch.einsum("yu,cuvj->ycvj", cy, g_im) + torch.einsum("yu,cuvj->ycvj", sy, g_re)
        # M[y, x, c, j] = Re sum_v A[y, c, v, j] E_v(x)
        m = torch.einsum("ycvj,xv->yxcj", a_re, cx) - torch.einsum("ycvj,xv->yxcj", a_im, sx)
        h = torch.cat([hidden, hidden.new_ones(hidden.shape[0], 1)], dim=1).reshape(y.numel(), x.numel(), -1)
        return torch.einsum("yxj,yxcj->yxc", h, m).reshape(-1, 3)
