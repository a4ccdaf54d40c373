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
    """Schema of ``conf/term/content.yaml``: the shared term keys only (default layer conv4_2 in the YAML)."""

    _target_: str = "paramart.objectives.terms.content.Content"


register("content", ContentConfig)


class Content(Term):
    """Content loss (Gatys et al. 2016, eq. 1): at each layer the mean squared difference between
    the canvas's features and the content photo's, divided by the target's mean square (so each
    layer is 1 for all-zero features), summed with the layer weights. Needs a content image.

    Statistics keys, per layer ``L`` of :attr:`layers`:

    * whole canvas (``window`` None): ``L.mse``, the mean squared error itself (0-d, float32);
    * in a tile: ``L.sse``, the sum of squared errors over the window's positions and channels,
      and ``L.n``, how many values that sum holds (positions x channels)."""

    needs = ("content",)

    def build(self, inputs: Inputs) -> None:
        """The content photo's features at each layer (float32 buffers ``target{i}``) and their mean
        square (``scale{i}``, floored at 1e-8); tiled through ``inputs.targets`` for print sizes."""
        feats = inputs.features(inputs.content, self.layers)
        for i, layer in enumerate(self.layers):
            target = feats[layer].detach().float()
            self.register_buffer(f"target{i}", target)
            self.register_buffer(f"scale{i}", target.pow(2).mean().clamp_min(1e-8))

    def target(self, i: int, window: Any = None) -> torch.Tensor:
        """Layer ``i``'s target features, (1, C, h, w): whole, or cropped to ``window``'s core."""
        target = getattr(self, f"target{i}")
        return target if window is None else window.crop(target, self.layers[i])

    def statistics(self, feats, image, window=None) -> Stats:
        """``L.mse`` per layer for the whole canvas; ``L.sse`` and ``L.n`` over ``window``'s core (see the class)."""
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
        """One part per layer: factor (layer weight,), loss = mean squared error / the target's mean square."""
        return [((w,), self.mse(stats, layer) / getattr(self, f"scale{i}"))
                for i, (layer, w) in enumerate(zip(self.layers, self.layer_weights))]
