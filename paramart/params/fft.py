"""A Fourier spectrum with decorrelated colour (Mordvintsev et al., "Differentiable Image
Parameterizations", Distill 2018; Lucid's ``fft_image`` + ``to_valid_rgb``).

The parameters are the real and imaginary parts of a 2-D real FFT per channel. Each
coefficient is scaled by ``1 / max(f, 1 / max(h, w)) ** decay_power`` (``f`` the frequency in
cycles per pixel), which gives natural-image statistics (power falling as 1/f²) to
uncorrelated parameters: a gradient step moves low frequencies as much as high ones, so
optimisation is no longer dominated by high-frequency noise. The three channels are then
mixed by the square root of ImageNet's colour correlation (the shared stage in
:mod:`paramart.params.color`), so the parameters are decorrelated colours, and a sigmoid maps to [0, 1].

The mapping is invertible: ``init=content`` (or ``auto`` with a content image) computes the
spectrum that reproduces the photo (sigmoid -> logit, colour matrix -> its inverse, FFT).

Rendering at another size resamples the *spectrum*: the band the two sizes share is kept
(cropped when shrinking, zero-padded when enlarging) and the image is synthesised at the new
size, i.e. band-limited (trigonometric) interpolation of the pre-sigmoid image. An enlarged
render has no frequencies the training canvas did not have: it is smooth, not detailed.
The Nyquist row/column of an even size is dropped when the size changes, since it cannot be
split between positive and negative frequencies unambiguously.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import MISSING

from paramart.config import ParamConfig
from paramart.errors import ParamartError
from paramart.io.images import resize
from paramart.params.base import Parameterization, register
from paramart.params.color import color_matrix, to_rgb

#: Lucid divides the synthesised image by 4 so that unit-scale spectra give moderate logits.
SPECTRUM_GAIN = 4.0
#: Init from an image clamps it to half an 8-bit level from 0 and 1 (the logit is finite there
#: and the 8-bit image is unchanged).
EDGE = 0.5 / 255


def spectrum_scale(height: int, width: int, decay_power: float) -> torch.Tensor:
    """(height, width // 2 + 1) scale of each rfft2 coefficient: 1 / max(f, 1/max(h, w)) ** decay."""
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.rfftfreq(width)[None, :]
    f = (fx**2 + fy**2).sqrt()
    return 1.0 / f.clamp(min=1.0 / max(height, width)) ** decay_power


def resample_spectrum(spec: torch.Tensor, old: tuple[int, int], new: tuple[int, int]) -> torch.Tensor:
    """Move a (..., H, W//2+1) rfft2 spectrum (norm="ortho") of an image of size ``old`` to ``new``.

    Frequencies both sizes represent exactly are kept, the rest are zero; the amplitude is
    rescaled so that the synthesised image keeps its values (ortho divides by sqrt(pixels))."""
    (h0, w0), (h1, w1) = old, new
    ky = (min(h0, h1) - 1) // 2  # |frequency| < min/2: the band both sizes represent exactly
    kx = (min(w0, w1) - 1) // 2
    out = spec.new_zeros(*spec.shape[:-2], h1, w1 // 2 + 1)
    out[..., : ky + 1, : kx + 1] = spec[..., : ky + 1, : kx + 1]
    if ky > 0:
        out[..., h1 - ky :, : kx + 1] = spec[..., h0 - ky :, : kx + 1]
    return out * ((h1 * w1) / (h0 * w0)) ** 0.5


@torch.no_grad()
def spectrum_of(image: torch.Tensor, color: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """(3, H, W // 2 + 1, 2) real and imaginary parts of the unscaled spectrum that renders ``image``
    (1, 3, H, W) in [0, 1] through ``color`` (3, 3) and ``scale`` (H, W // 2 + 1): sigmoid -> logit
    (clamped to half an 8-bit level from 0 and 1), colour matrix -> its inverse, rfft2 / scale."""
    logits = torch.logit(image[0].float().cpu().clamp(EDGE, 1 - EDGE))
    decorrelated = torch.einsum("ij,jhw->ihw", torch.linalg.inv(color.cpu()), logits)
    spec = torch.fft.rfft2(decorrelated * SPECTRUM_GAIN, norm="ortho") / scale.cpu()
    return torch.view_as_real(spec).contiguous()


@dataclass
class FFTConfig(ParamConfig):
    """Schema of ``conf/param/fft.yaml`` (:class:`FFT`)."""

    _target_: str = "paramart.params.fft.FFT"
    #: auto (the content image when there is one, else noise) | content | noise
    init: str = MISSING
    #: standard deviation of the spectrum's Gaussian init (before the 1/f scaling)
    noise_scale: float = MISSING
    #: exponent of the 1/f spectrum scaling; 0 = plain Fourier basis, larger = smoother
    decay_power: float = MISSING
    #: mix channels by the ImageNet colour correlation (False: independent RGB logits)
    decorrelate: bool = MISSING


register("fft", FFTConfig)


class FFT(Parameterization):
    limits = {"noise_scale": 1e6, "decay_power": 16}

    """An rfft2 spectrum per decorrelated colour channel, scaled 1/f, through a sigmoid."""

    resampling = "spectrum cropped/zero-padded (band-limited resampling); no detail is added"

    def __init__(self, size, init_image: torch.Tensor | None = None, init: str = "auto",
                 noise_scale: float = 0.01, decay_power: float = 1.0, decorrelate: bool = True):
        super().__init__(size)
        h, w = self.size
        self.register_buffer("scale", spectrum_scale(h, w, decay_power), persistent=False)
        self.register_buffer("color", color_matrix(decorrelate), persistent=False)
        if init == "auto":
            init = "content" if init_image is not None else "noise"
        if init == "content":
            if init_image is None:
                raise ParamartError("param.init=content needs a content image; use param.init=noise")
            spectrum = self.spectrum_of(resize(init_image.float().cpu(), self.size))
        elif init == "noise":
            spectrum = noise_scale * torch.randn(3, h, w // 2 + 1, 2)
        else:
            raise ParamartError(f"param.init must be auto, content or noise, not {init!r}")
        self.spectrum = torch.nn.Parameter(spectrum)

    @torch.no_grad()
    def spectrum_of(self, image: torch.Tensor) -> torch.Tensor:
        """The parameters that render ``image`` (1, 3, H, W) at the training size: the inverse mapping."""
        return spectrum_of(image, self.color, self.scale)

    def forward(self, size=None):
        """(1, 3, H, W) in [0, 1] at ``size`` (the training size when None): the scaled spectrum,
        resampled when the size differs, inverse-FFT'd, colour-mixed and put through a sigmoid."""
        h, w = self.size
        spec = torch.view_as_complex(self.spectrum) * self.scale
        if size is not None and tuple(size) != self.size:
            spec = resample_spectrum(spec, (h, w), tuple(size))
            h, w = size
        decorrelated = torch.fft.irfft2(spec, s=(h, w), norm="ortho") / SPECTRUM_GAIN
        return to_rgb(decorrelated, self.color).unsqueeze(0)
