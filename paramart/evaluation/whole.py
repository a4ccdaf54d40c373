"""The whole canvas at once: render, one VGG-19 forward pass, autograd back into the parameters."""

from __future__ import annotations

import torch

from paramart.evaluation.base import Losses, Strategy


class WholeCanvas(Strategy):
    """``objective(param())``: the default for every canvas that fits in memory.

    ``objective`` maps a (1, 3, H, W) image in [0, 1] to ``{term: weighted loss}``
    (:class:`paramart.objectives.objective.Objective`)."""

    def __init__(self, objective: torch.nn.Module):
        self.objective = objective

    @property
    def names(self) -> list[str]:
        """The objective's term names."""
        return list(self.objective.names)

    def losses(self, param: torch.nn.Module) -> Losses:
        """Render ``param()`` ((1, 3, H, W) in [0, 1]), one objective pass; ``backward`` is ``total.backward``."""
        terms = self.objective(param())
        total = sum(terms.values())
        return Losses(terms, total, total.backward)
