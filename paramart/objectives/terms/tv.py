"""Total variation: the mean squared difference of neighbouring pixels, for smoothness.
It reads the canvas itself, not VGG."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paramart.objectives.term import Stats, Term, TermConfig, register


@dataclass
class TVConfig(TermConfig):
    """Schema of ``conf/term/tv.yaml``: the shared term keys; ``layers`` stays empty (TV reads no VGG layer)."""

    _target_: str = "paramart.objectives.terms.tv.TotalVariation"


register("tv", TVConfig)


class TotalVariation(Term):
    """Mean squared difference of horizontally and vertically neighbouring pixels of the
    (1, 3, H, W) canvas in [0, 1] (Mahendran & Vedaldi 2015, with beta = 2), summed over
    the two directions. Statistics: ``dx``/``dy`` the sums of squared differences whose
    first pixel is in the window, ``nx``/``ny`` their counts. Reads no VGG layer."""

    reads_vgg = False

    def statistics(self, feats, image, window=None) -> Stats:
        """``dx``, ``nx``, ``dy``, ``ny`` (see the class); in a tile, the differences whose first
        pixel is in the core."""
        if window is None:
            dx = image[..., :, 1:] - image[..., :, :-1]
            dy = image[..., 1:, :] - image[..., :-1, :]
        else:  # the tile's image holds each core pixel's right and lower neighbour, or the canvas ends
            x = window.core(image, None, after=1)
            h, w = window.core_shape(None)
            dx = x[..., :h, 1:] - x[..., :h, :-1]
            dy = x[..., 1:, :w] - x[..., :-1, :w]
        return {"dx": dx.pow(2).sum(), "nx": torch.tensor(float(dx.numel()), device=image.device),
                "dy": dy.pow(2).sum(), "ny": torch.tensor(float(dy.numel()), device=image.device)}

    def value(self, stats: Stats) -> torch.Tensor:
        """``dx/nx + dy/ny``: mean squared horizontal plus vertical difference, in (pixel value)^2;
        0 for a flat canvas."""
        return stats["dx"] / stats["nx"] + stats["dy"] / stats["ny"]
