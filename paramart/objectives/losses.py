"""Loss terms on VGG features: content, Gram-matrix style, total variation.

Content and style terms are *relative* squared errors: the mean squared error divided by
the target's mean square. Gram matrices are averaged over positions. Together this makes
every layer's term start near 1 whatever its depth, the image size (128 px or 1024 px)
or the weight source (Caffe features are ~255x torchvision's), so one set of weights
works everywhere and per-layer weights mean what they say.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paramart.errors import ParamartError


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C) Gram matrix divided by H*W, accumulated in float32.

    Dividing by the number of positions makes it a spatial average of feature
    co-activations, so it does not grow with image size (Gatys et al. divide in the loss
    instead, by 4 N^2 M^2, which ties the loss scale to resolution).
    """
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w).float()
    return torch.bmm(f, f.transpose(1, 2)) / (h * w)


def _relative_mse(x: torch.Tensor, target: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(x, target) / scale


class ContentLoss(nn.Module):
    """Squared distance between feature maps (Gatys et al., eq. 1), relative to the target."""

    def __init__(self, target: torch.Tensor):
        super().__init__()
        target = target.detach().float()
        self.register_buffer("target", target)
        self.register_buffer("scale", target.pow(2).mean().clamp_min(1e-8))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return _relative_mse(features.float(), self.target, self.scale)


class StyleLoss(nn.Module):
    """Squared distance between Gram matrices (Gatys et al., eq. 3-5), relative to the target.

    The target Gram matrix is computed once, at construction.
    """

    def __init__(self, target_features: torch.Tensor | None = None, *, target_gram: torch.Tensor | None = None):
        super().__init__()
        if target_gram is None:
            target_gram = gram_matrix(target_features.detach())
        target_gram = target_gram.detach().float()
        self.register_buffer("target", target_gram)
        self.register_buffer("scale", target_gram.pow(2).mean().clamp_min(1e-8))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        gram = gram_matrix(features)
        return _relative_mse(gram, self.target.expand_as(gram), self.scale)


class TVLoss(nn.Module):
    """Total variation (mean squared difference of neighbouring pixels) for smoothness."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        dx = image[..., :, 1:] - image[..., :, :-1]
        dy = image[..., 1:, :] - image[..., :-1, :]
        return dx.pow(2).mean() + dy.pow(2).mean()


def guided_gram_matrix(features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Gram matrix of the features weighted by ``mask`` (already at the features' size),
    divided by the mask's energy: the co-activations averaged over the masked region only
    (Gatys et al. 2017, guided Gram matrices)."""
    n, c, h, w = features.shape
    f = (features.float() * mask).reshape(n, c, h * w)
    energy = mask.pow(2).sum().clamp_min(1e-8)
    return torch.bmm(f, f.transpose(1, 2)) / energy


class GuidedStyleLoss(StyleLoss):
    """Style loss on one region of the canvas: the canvas's features, weighted by the
    region's mask downsampled to the layer, must have the target's Gram matrix.

    ``mask`` is (1, 1, H, W) at the canvas size; it is resampled to each layer's size on
    the fly (and cached), so one loss works at every scale of a multi-scale schedule.
    """

    def __init__(self, target_gram: torch.Tensor, mask: torch.Tensor):
        super().__init__(target_gram=target_gram)
        self.register_buffer("mask", mask.detach().float())
        self._fitted: dict[tuple[int, int], torch.Tensor] = {}

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        from paramart.objectives.masks import fit_to

        key = tuple(features.shape[-2:])
        if key not in self._fitted or self._fitted[key].device != features.device:
            self._fitted[key] = fit_to(self.mask, key).to(features.device)
        gram = guided_gram_matrix(features, self._fitted[key])
        return _relative_mse(gram, self.target.expand_as(gram), self.scale)


class ActivationLoss(nn.Module):
    """Feature visualisation ("dream"): minus the mean activation of some channels of a layer.

    Minimising it raises those channels (all of the layer's when ``channels`` is None).
    It is divided by the layer's root-mean-square activation on the first image it sees
    (the starting canvas), so it starts near -1 like the other terms start near 1 and
    ``dream_weight`` trades against content and style weights the same way at every layer.
    """

    def __init__(self, channels: list[int] | None = None):
        super().__init__()
        self.channels = None if channels is None else [int(c) for c in channels]
        self.register_buffer("scale", torch.zeros(()))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.channels and not all(0 <= c < features.shape[1] for c in self.channels):
            raise ParamartError(
                f"dream_channels {self.channels} do not all exist: this layer has channels 0-{features.shape[1] - 1}"
            )
        if float(self.scale) == 0.0:
            self.scale.fill_(features.detach().float().pow(2).mean().sqrt().clamp_min(1e-8).item())
        chosen = features if self.channels is None else features[:, self.channels]
        return -chosen.float().mean() / self.scale
