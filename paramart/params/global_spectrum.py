"""A learned global spectrum evaluated as a Fourier series at any pixel centres: the base
image under the default Fourier-CPPN's local coefficients (:mod:`paramart.params.fourier_cppn`).

It is the spectrum of :mod:`paramart.params.fft` (Mordvintsev et al., Distill 2018): an rfft2
per decorrelated colour channel, each coefficient scaled ``1 / max(f, 1 / max(h, w)) ** decay``
(``f`` in cycles per pixel), initialised exactly from the content photo (the inverse mapping:
a pre-fit in the frequency domain, with no optimisation) or from small noise. Here it returns
pre-sigmoid *logits* that the Fourier-CPPN adds to its own, and it is evaluated as the
Fourier series it is, so any region of a render at any size costs only its own pixels:

    L_c(y, x) = Re sum_{u, v} w_v S_c[u, v] exp(2 pi i (f_u y + f_v x)) / sqrt(H W) / 4

with (y, x) in pixels of the training canvas (0 at the first pixel's centre), ``f_u`` the
signed frequencies (``fftfreq(H)``), ``f_v = rfftfreq(W)``, ``w_v`` 2 for the frequencies
whose negative twin the half-spectrum omits, 1 for DC and Nyquist, and the Nyquist row and
column taken as cosines. At the training pixels this is exactly ``irfft2`` (which the whole
canvas uses, for speed); between them it is band-limited (trigonometric) interpolation, as
:func:`paramart.params.fft.resample_spectrum`: a render at a larger size adds no detail of
its own. The series has the canvas as its period.

The stored parameters are the spectrum divided by ``gain``: Adam moves each parameter by about
its learning rate per step, so with the Fourier-CPPN's rate (0.005) and ``gain`` 10 the
spectrum moves as ``param=fft``'s does at its rate (0.05), while the network moves at its own.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paramart.io.images import resize
from paramart.params.fft import SPECTRUM_GAIN, resample_spectrum, spectrum_of, spectrum_scale

#: standard deviation of the spectrum's Gaussian init without a photo (Lucid's, as param=fft's)
NOISE_SCALE = 0.01


class GlobalSpectrum(nn.Module):
    """(3, H, W // 2 + 1) complex spectrum -> (N, 3) decorrelated logits at any pixel centres."""

    def __init__(self, size: tuple[int, int], color: torch.Tensor, decay_power: float = 1.0, gain: float = 1.0,
                 image: torch.Tensor | None = None):
        """``size`` (height, width) of the training canvas; ``color`` the (3, 3) matrix the owner
        mixes its logits by; ``image`` (1, 3, H, W) in [0, 1], any size, or None for noise."""
        super().__init__()
        self.size = (int(size[0]), int(size[1]))
        self.gain, self.decay_power = float(gain), float(decay_power)
        self.register_buffer("scale", spectrum_scale(*self.size, self.decay_power), persistent=False)
        if image is not None:
            spectrum = spectrum_of(resize(image.float().cpu(), self.size), color, self.scale)
        else:
            spectrum = NOISE_SCALE * torch.randn(3, self.size[0], self.size[1] // 2 + 1, 2)
        self.spectrum = nn.Parameter(spectrum / self.gain)

    def coefficients(self) -> torch.Tensor:
        """(3, H, W // 2 + 1) complex: the scaled spectrum (ortho rfft2 of 4x the logits)."""
        return torch.view_as_complex(self.spectrum) * (self.scale * self.gain)

    def forward(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(len(y) * len(x), 3) decorrelated logits at the grid ``y`` x ``x`` (row-major), given in
        training pixels with 0 at the first pixel's centre. The whole training grid (0, 1, ...,
        H - 1 by 0, ..., W - 1) is ``irfft2``; any other grid the series (module docstring)."""
        h, w = self.size
        spec = self.coefficients()
        if _is_grid(y, h) and _is_grid(x, w):
            logits = torch.fft.irfft2(spec, s=(h, w), norm="ortho")
        else:
            ey = torch.polar(torch.ones_like(y).unsqueeze(1), 2 * math.pi * y.unsqueeze(1) * _freq(h, y, False))
            ex = torch.polar(torch.ones_like(x).unsqueeze(1), 2 * math.pi * x.unsqueeze(1) * _freq(w, x, True))
            weight = torch.full((w // 2 + 1,), 2.0, device=x.device)
            weight[0] = 1.0
            if h % 2 == 0:  # the Nyquist row: the cosine both signs share
                ey[:, h // 2] = torch.cos(math.pi * y).to(ey.dtype)
            if w % 2 == 0:
                weight[-1] = 1.0
                ex[:, -1] = torch.cos(math.pi * x).to(ex.dtype)
            along_x = spec @ (ex * weight).T  # (3, H, len(x))
            logits = (ey @ along_x).real / math.sqrt(h * w)  # (3, len(y), len(x))
        return (logits / SPECTRUM_GAIN).permute(1, 2, 0).reshape(-1, 3)

    @torch.no_grad()
    def rescale(self, size: tuple[int, int]) -> None:
        """Move to a new training canvas (multi-scale): the shared band is kept, the rest starts at
        zero (:func:`paramart.params.fft.resample_spectrum`); the parameter is replaced."""
        old, self.size = self.size, (int(size[0]), int(size[1]))
        # the new canvas's pixel j is centred at old position (j + 1/2) h0 / h1 - 1/2, where
        # irfft2 at the new size would sample j h0 / h1: shift by the difference first
        dy, dx = ((o / n - 1) / 2 for o, n in zip(old, self.size, strict=True))
        spec = self.coefficients()
        shift = torch.polar(torch.ones(()), 2 * math.pi * dy * _freq(old[0], spec, False)).unsqueeze(1)
        shift = shift * torch.polar(torch.ones(()), 2 * math.pi * dx * _freq(old[1], spec, True))
        moved = resample_spectrum(spec * shift.to(spec.device), old, self.size)
        self.scale = spectrum_scale(*self.size, self.decay_power).to(moved.device)
        self.spectrum = nn.Parameter(torch.view_as_real(moved / (self.scale * self.gain)).contiguous())


def _freq(n: int, like: torch.Tensor, half: bool) -> torch.Tensor:
    """Signed (fftfreq) or non-negative (rfftfreq) frequencies in cycles per pixel, on ``like``'s device."""
    return (torch.fft.rfftfreq(n) if half else torch.fft.fftfreq(n)).to(like.device)


def _is_grid(t: torch.Tensor, n: int) -> bool:
    """Whether ``t`` is 0, 1, ..., n - 1 (to float precision): the training pixels of one axis."""
    return t.numel() == n and bool((t - torch.arange(n, device=t.device)).abs().max() < 1e-3)
