"""Decorrelated colour, a stage any parameterization can put before its sigmoid (Mordvintsev
et al., "Differentiable Image Parameterizations", Distill 2018; Lucid's ``to_valid_rgb``).

A parameterization that produces three channels of logits may treat them as *decorrelated*
colours: they are mixed by the square root of ImageNet's colour correlation (normalised by
its largest column norm) before the sigmoid. A gradient step then moves luminance and the
two opponent colours independently, instead of pushing R, G and B one by one.
"""

from __future__ import annotations

import torch

#: Square root of the colour correlation of ImageNet (Lucid's ``color_correlation_svd_sqrt``).
COLOR_CORRELATION_SQRT = torch.tensor(
    [[0.26, 0.09, 0.02],
     [0.27, 0.00, -0.05],
     [0.27, -0.09, 0.03]]
)


def color_matrix(decorrelate: bool) -> torch.Tensor:
    """(3, 3) matrix from decorrelated channels to RGB logits (the identity when not decorrelating)."""
    if not decorrelate:
        return torch.eye(3)
    return COLOR_CORRELATION_SQRT / COLOR_CORRELATION_SQRT.norm(dim=0).max()


def to_rgb(logits: torch.Tensor, matrix: torch.Tensor, channel_dim: int = 0) -> torch.Tensor:
    """Mix the 3 channels of ``logits`` (along ``channel_dim``) by ``matrix`` and squash to [0, 1]."""
    moved = logits.movedim(channel_dim, -1)
    return torch.sigmoid(moved @ matrix.T).movedim(-1, channel_dim)
