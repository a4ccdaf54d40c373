"""The evaluation seam: how one optimisation step scores the parameterization.

A stage carries one :class:`Strategy`; the loop (:mod:`paramart.runner.loop`) calls
``strategy.losses(param)``, checks that the total is finite, then ``losses.backward()``.
What differs between strategies is only how the canvas is rendered and scored:

* :class:`paramart.evaluation.whole.WholeCanvas` -- render the whole canvas, one VGG pass;
* :class:`paramart.evaluation.tiled.Tiled` -- the exact loss and gradient of a print-size
  canvas in tiles (Galerne et al., "Scaling Painting Style Transfer", 2023);
* :class:`paramart.evaluation.zoom_training.ZoomTraining` -- the whole canvas plus the style
  loss of one random zoomed crop (coordinate parameterizations);
* :class:`paramart.evaluation.print_crops.PrintCrops` -- random crops of a print-size render,
  each scored against the painting at its scale and anchored to the canvas (the print stage).

A new strategy is one module here that subclasses :class:`Strategy`, and one branch in
:func:`paramart.evaluation.choose.strategy`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Losses:
    """One evaluation's losses: ``terms`` maps each term's name to its weighted loss (a
    0-d tensor), ``total`` is their sum. ``backward()`` leaves d(total)/d(parameters) in the
    parameters' ``.grad``; call it once, and only when ``total`` is finite."""

    terms: dict[str, torch.Tensor]  #: {term name: weighted loss}, 0-d tensors
    total: torch.Tensor  #: their sum, 0-d
    run_backward: Callable[[], None]  #: what :meth:`backward` calls

    def backward(self) -> None:
        """Run the backward pass this evaluation prepared (autograd, or the tiled passes 2-4); once only."""
        self.run_backward()


class Strategy(ABC):
    """How a stage's objective is evaluated on a parameterization (see the module docstring)."""

    @property
    @abstractmethod
    def names(self) -> list[str]:
        """The loss columns this strategy reports (the objective's term names, and its own)."""

    @abstractmethod
    def losses(self, param: torch.nn.Module) -> Losses:
        """Render ``param`` and score it; gradients flow only when :meth:`Losses.backward` is called."""

    def measure_losses(self, param: torch.nn.Module) -> Losses:
        """:meth:`losses` as the saved image's own loss is measured (a strategy that draws at
        random draws the same every time here, leaving the run's random state alone)."""
        return self.losses(param)
