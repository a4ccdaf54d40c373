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


register("fourier_cppn", FourierCPPNConfig)


class FourierCPPN(CPPN):
    """A CPPN whose outputs are local Fourier coefficients, turned into colour by an IDFT."""

    limits = {**CPPN.limits, "fourier_size": 64}

    def __init__(self, size, init_image: torch.Tensor | None = None, fourier_size: int = 10, **cppn):
        if fourier_size < 1:
            raise ParamartError(f"param.fourier_size={fourier_size} must be at least 1")
        if cppn.get("periodic"):
            raise ParamartError("param.periodic is not available for fourier_cppn (its K-px period need not divide "
                                "the canvas); use param=cppn or param=hashgrid")
        self.outputs_per_pixel = 3 * 2 * fourier_size**2  # real and imaginary parts
        super().__init__(size, init_image, **cppn)
        f = torch.fft.fftfreq(fourier_size)
        fy, fx = torch.meshgrid(f, f, indexing="ij")
        self.register_buffer("freqs", torch.stack([fy.reshape(-1), fx.reshape(-1)]), persistent=False)

    def head(self, out, y, x):
        """(N, 3 * 2 * K^2) coefficients -> (N, 3) RGB logits: the real part of their localised IDFT at
        each pixel (paper eq. 3), pixel positions in training-canvas px, divided by K."""
        k = self.freqs.shape[1]
        # canvas units -> training pixels, so the period is K pixels of the training canvas
        px = max(self.size) / (2 * COORD_RANGE)
        yy, xx = torch.meshgrid(y * px, x * px, indexing="ij")
        phase = 2 * math.pi * (yy.reshape(-1, 1) * self.freqs[0] + xx.reshape(-1, 1) * self.freqs[1])
        coeffs = out.reshape(-1, 3, 2, k)
        # Re[(a + ib) e^{i phase}] = a cos(phase) - b sin(phase), summed over the K*K frequencies
        real = (coeffs[:, :, 0] * phase.cos().unsqueeze(1)).sum(-1)
        real = real - (coeffs[:, :, 1] * phase.sin().unsqueeze(1)).sum(-1)
        return real / k**0.5
