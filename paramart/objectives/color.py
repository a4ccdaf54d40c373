"""Colour preservation (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style
Transfer", section 5): keep the content photo's colours while taking the style's texture.

* ``luminance``: style transfer on luminance only. The style's luminance is shifted and
  scaled to the content's mean and spread; the objective sees the canvas as grey (its Y
  channel); the result's Y is then joined to the content's chroma (I, Q of YIQ).
* ``histogram``: the style images are recoloured before the run so that their colour
  mean and covariance equal the content's (the linear "colour histogram matching" of the
  paper, with the symmetric matrix square root); the run itself is the usual one.
"""

from __future__ import annotations

import torch
from torch import nn

from paramart.errors import ParamartError
from paramart.io.images import resize

MODES = ("luminance", "histogram")

# NTSC RGB -> YIQ, the colour space the paper uses
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> (N, 3, H, W) NTSC YIQ (Y in [0, 1], I about +-0.6, Q about +-0.52)."""
    return torch.einsum("ij,njhw->nihw", _RGB_TO_YIQ.to(image), image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) NTSC YIQ -> RGB, the inverse of :func:`rgb_to_yiq` (not clamped)."""
    return torch.einsum("ij,njhw->nihw", torch.linalg.inv(_RGB_TO_YIQ).to(image), image)


class ToLuminance(nn.Module):
    """The image's Y channel repeated as grey RGB, so VGG sees luminance only."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) RGB in [0, 1] -> (N, 3, H, W) grey: its Y channel (a view, expanded) in all three."""
        y = rgb_to_yiq(image)[:, :1]
        return y.expand(-1, 3, -1, -1)


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The style's luminance with the content's mean and standard deviation, as grey RGB."""
    ys, yc = rgb_to_yiq(style)[:, :1], rgb_to_yiq(content)[:, :1]
    y = (ys - ys.mean()) / ys.std().clamp_min(1e-6) * yc.std() + yc.mean()
    return y.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def _sqrtm(cov: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(cov)
    vals = vals.clamp_min(1e-5)
    power = -0.5 if inverse else 0.5
    return vecs @ torch.diag(vals.pow(power)) @ vecs.T


def match_histogram(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The style recoloured by the affine map that gives its pixels the content's colour
    mean and covariance: x -> C_c^1/2 C_s^-1/2 (x - mu_s) + mu_c."""
    s = style[0].reshape(3, -1).double()
    c = content[0].reshape(3, -1).double()
    mu_s, mu_c = s.mean(1, keepdim=True), c.mean(1, keepdim=True)
    cov_s, cov_c = torch.cov(s), torch.cov(c)
    transform = _sqrtm(cov_c) @ _sqrtm(cov_s, inverse=True)
    out = transform @ (s - mu_s) + mu_c
    return out.reshape_as(style[0]).unsqueeze(0).to(style.dtype).clamp(0, 1)


class ColorPreservation:
    """What one ``preserve_color`` mode does to the inputs, the objective and the result."""

    def __init__(self, mode: str | None, has_content: bool):
        if mode is not None and mode not in MODES:
            raise ParamartError(f"preserve_color must be null, luminance or histogram, not {mode!r}")
        if mode is not None and not has_content:
            raise ParamartError(
                "preserve_color keeps the content image's colours; give content=... or preserve_color=null"
            )
        self.mode = mode

    def content(self, content: torch.Tensor | None) -> torch.Tensor | None:
        """The content target as the objective should see it."""
        if self.mode == "luminance" and content is not None:
            return ToLuminance()(content)
        return content

    def style(self, style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        """A (1, 3, h, w) style image as the objective should see it: luminance-matched grey
        (``luminance``), recoloured to the content's colour statistics (``histogram``), or unchanged."""
        if self.mode == "luminance":
            return match_luminance(style, content)
        if self.mode == "histogram":
            return match_histogram(style, content)
        return style

    def transform(self) -> nn.Module | None:
        """Applied to the canvas before VGG."""
        return ToLuminance() if self.mode == "luminance" else None

    def finish(self, image: torch.Tensor, content: torch.Tensor | None) -> torch.Tensor:
        """The saved result: for luminance, the canvas's Y with the content's I and Q."""
        if self.mode != "luminance" or content is None:
            return image
        yiq = rgb_to_yiq(image)
        chroma = rgb_to_yiq(resize(content.to(image), tuple(image.shape[-2:])))[:, 1:]
        return yiq_to_rgb(torch.cat([yiq[:, :1], chroma], dim=1)).clamp(0, 1)
