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
