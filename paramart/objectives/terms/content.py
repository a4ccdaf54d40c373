"""Content (Gatys et al., eq. 1): the canvas's features must equal the photo's, at the
same positions. A relative squared error: divided by the target's mean square."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from paramart.objectives.term import Inputs, Stats, Term, TermConfig, register


@dataclass
class ContentConfig(TermConfig):
    _target_: str = "paramart.objectives.terms.content.Content"


register("content", ContentConfig)


class Content(Term):
    needs = ("content",)

    def build(self, inputs: Inputs) -> None:
        feats = inputs.features(inputs.content, self.layers)
        for i, layer in enumerate(self.layers):
            target = feats[layer].detach().float()
            self.register_buffer(f"target{i}", target)
            self.register_buffer(f"scale{i}", target.pow(2).mean().clamp_min(1e-8))

    def target(self, i: int, window: Any = None) -> torch.Tensor:
        target = getattr(self, f"target{i}")
        return target if window is None else window.crop(target, self.layers[i])

    def statistics(self, feats, image, window=None) -> Stats:
        if window is None:
            # The whole canvas at once: its mean squared error, by the same kernels (forward
            # and backward) as before tiling existed, so untiled runs keep their exact bits.
            # A sum and a count would round the gradient differently by an ulp, which bf16
            # VGG sometimes turns into a different pixel hundreds of steps later.
            return {f"{layer}.mse": F.mse_loss(feats[layer].float(), self.target(i))
                    for i, layer in enumerate(self.layers)}
        stats = {}
        for i, layer in enumerate(self.layers):
            diff = feats[layer].float() - self.target(i, window)
            stats[f"{layer}.sse"] = diff.pow(2).sum()
            stats[f"{layer}.n"] = torch.tensor(float(diff.numel()), device=diff.device)
        return stats

    @staticmethod
    def mse(stats: Stats, layer: str) -> torch.Tensor:
        """Mean squared error at ``layer``: the whole canvas's, or the tiles' summed errors over their count."""
        if f"{layer}.mse" in stats:
            return stats[f"{layer}.mse"]
        return stats[f"{layer}.sse"] / stats[f"{layer}.n"]

    def parts(self, stats: Stats):
        return [((w,), self.mse(stats, layer) / getattr(self, f"scale{i}"))
                for i, (layer, w) in enumerate(zip(self.layers, self.layer_weights))]
