"""Total variation: the mean squared difference of neighbouring pixels, for smoothness.
It reads the canvas itself, not VGG."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paramart.objectives.term import Stats, Term, TermConfig, register


@dataclass
class TVConfig(TermConfig):
    _target_: str = "paramart.objectives.terms.tv.TotalVariation"


register("tv", TVConfig)


class TotalVariation(Term):
    def statistics(self, feats, image, window=None) -> Stats:
        if window is not None:
            return window.tv_statistics(image)
        dx = image[..., :, 1:] - image[..., :, :-1]
        dy = image[..., 1:, :] - image[..., :-1, :]
        return {"dx": dx.pow(2).sum(), "nx": torch.tensor(float(dx.numel()), device=image.device),
                "dy": dy.pow(2).sum(), "ny": torch.tensor(float(dy.numel()), device=image.device)}

    def value(self, stats: Stats) -> torch.Tensor:
        return stats["dx"] / stats["nx"] + stats["dy"] / stats["ny"]
