"""The loss-term seam: a term is one module in ``paramart/objectives/terms/`` plus one
``conf/term/NAME.yaml``, and nothing else changes.

A term declares the VGG layers it reads (none for terms on the canvas itself, such as
total variation), builds its targets once from the run's :class:`Inputs`, and computes its
value in two halves:

* :meth:`Term.statistics` -- sums over the canvas positions it is given (a Gram matrix's
  sum of co-activations, a squared error's sum, a count). Sums over disjoint windows add
  up to the sum over the whole canvas, which is what lets a print-size canvas be scored
  tile by tile with the exact loss and gradient;
* :meth:`Term.value` -- the unweighted loss from the whole canvas's statistics.

The objective (:mod:`paramart.objectives.objective`) multiplies each value by the term's
``weight``. The term's name in the config (``objective.style``, ``objective.tv`` ...) is its
column in ``losses.csv``, its field in the progress bar, ``run.json`` and the loss plot.

Every term file registers its schema with :func:`register`, and its YAML's defaults list
starts with ``NAME_schema``, exactly as parameterizations do. In a config::

    objective:
      style:            # conf/term/gram.yaml, placed by `- /term@style: gram`
        _target_: paramart.objectives.terms.gram.GramStyle
        weight: 30.0
        layers: [conv1_1, conv2_1, conv3_1, conv4_1, conv5_1]

On the command line: ``objective.style.weight=300``; another term in the same place:
``term@objective.style=w2``; one more term: ``+term@objective.extra=w2``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from omegaconf import MISSING
from torch import nn

from paramart.errors import ParamartError
from paramart.model.vgg import VGG19
from paramart.registry import Registry

Stats = dict[str, torch.Tensor]


@dataclass
class TermConfig:
    """Schema shared by all terms."""

    _target_: str = MISSING
    #: the term's weight in the total (0: the term is off)
    weight: float = MISSING
    #: the VGG-19 layers it reads (conv1_1 ... relu5_4); empty for terms on the canvas itself
    layers: list[str] = field(default_factory=list)
    #: per-layer weights, same length as layers; null = equal weights summing to 1
    layer_weights: list[float] | None = None


#: the loss terms a config may build (``term@objective.NAME=KIND``)
TERMS = Registry("term", "loss term")


def register(name: str, schema: type) -> None:
    """Make ``schema`` available to ``conf/term/NAME.yaml`` as ``NAME_schema``, and its class
    (the schema's ``_target_``) one that :func:`paramart.objectives.objective.build_terms` may build."""
    TERMS.register(name, schema)


@dataclass
class Inputs:
    """What terms build their targets from, at one canvas size."""

    vgg: VGG19  #: the network the targets are computed with (the run's, configured)
    size: tuple[int, int]  #: (height, width) of the canvas
    content: torch.Tensor | None = None  #: the content photo as VGG sees it, (1, 3, H, W)
    styles: list[torch.Tensor] = field(default_factory=list)  #: style images, (1, 3, h, w) each
    blend: Sequence[float] | None = None  #: style_blend as configured (None: equal)
    masks: list[torch.Tensor] | None = None  #: one (1, 1, H, W) mask per style, or None
    #: computes targets of print-size images in tiles, ``targets(image, layers, reduce)``
    #: (:class:`paramart.evaluation.targets.TiledTargets`); None: one forward pass
    targets: Callable[..., dict[str, torch.Tensor]] | None = None
    #: per-run images some terms read, at the canvas size: for a video frame (paramart.video),
    #: ``previous`` (1, 3, H, W) the previous result warped by the flow and ``previous_weight``
    #: (1, 1, H, W) where the flow is reliable (terms/temporal.py); empty for stills
    guides: dict[str, torch.Tensor] = field(default_factory=dict)

    def features(self, image: torch.Tensor, layers: Sequence[str], reduce=None) -> dict[str, torch.Tensor]:
        """``image``'s features at ``layers`` (or ``reduce`` of each), computed once under
        ``torch.inference_mode`` with the network's precision settings, then cloned into
        ordinary tensors so that the terms may save them for backward."""
        if self.targets is not None:
            return self.targets(image, layers, reduce)
        with torch.inference_mode():
            feats = self.vgg(image, list(layers))
            out = {k: v if reduce is None else reduce(v) for k, v in feats.items()}
        return {k: v.clone() for k, v in out.items()}


def split_weights(layers: Sequence[str], weights: Sequence[float] | None) -> list[float]:
    """Per-layer weights for ``layers``: ``weights`` as floats, or equal weights summing to 1 when
    ``weights`` is None ([] for no layers). Raises :class:`ParamartError` when ``weights`` and
    ``layers`` differ in length (``layer_weights`` vs ``layers`` in the term's config)."""
    if weights is None:
        return [1.0 / len(layers)] * len(layers) if layers else []
    if len(weights) != len(layers):
        raise ParamartError(f"layer_weights has {len(weights)} entries but layers has {len(layers)}")
    return [float(w) for w in weights]


def relative_mse(x: torch.Tensor, target: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Mean squared error divided by ``scale`` (the target's mean square): starts near 1."""
    return torch.nn.functional.mse_loss(x, target.expand_as(x)) / scale


def combine(weight: float, parts: list[tuple[tuple[float, ...], torch.Tensor]]) -> torch.Tensor:
    """The sum of ``weight x factors x loss`` over the parts, left to right."""
    total = None
    for factors, loss in parts:
        factor = weight
        for f in factors:
            factor = factor * f
        total = factor * loss if total is None else total + factor * loss
    return total


class Term(nn.Module):
    """Base class of loss terms. Subclasses set the class attributes and implement
    :meth:`build`, :meth:`statistics` and :meth:`value`."""

    #: inputs the term cannot do without: ``"content"`` and/or ``"style"``; without them it is off
    needs: ClassVar[tuple[str, ...]] = ()
    #: its statistics are sums over positions (the canvas can be scored in tiles)
    decomposable: ClassVar[bool] = True
    #: it reads VGG-19 features (so a positive weight needs at least one layer); False for
    #: terms on the canvas itself (total variation)
    reads_vgg: ClassVar[bool] = True
    #: weighted, it keeps the content photo in the run (the canvas starts from it) although
    #: it does not compare with it, and it gives the canvas something to optimise without any
    #: style or content term (the dream objective)
    stands_alone: ClassVar[bool] = False
    #: it applies each style in its ``style_masks`` region (guided Gram matrices); a term that
    #: needs style images and does not is refused with masks before any model loads
    takes_masks: ClassVar[bool] = False

    def __init__(self, weight: float, layers: Sequence[str] = (), layer_weights: Sequence[float] | None = None):
        super().__init__()
        self.weight = float(weight)
        self.layers = list(layers)
        self.layer_weights = split_weights(self.layers, layer_weights)

    @classmethod
    def check_settings(cls, node: dict[str, Any], prefix: str) -> None:
        """Refuse (:class:`ParamartError`, naming ``PREFIX + key``) a value of this term's own
        config keys that it cannot use; ``node`` is the term's config as plain data, already
        checked for ``weight``, ``layers`` and ``layer_weights``. Runs before any model loads."""

    def active(self, inputs: Inputs) -> bool:
        """On when weighted and its inputs are there (a style term without style images is off)."""
        have = {"content": inputs.content is not None, "style": bool(inputs.styles)}
        return self.weight > 0 and all(have[n] for n in self.needs)

    def build(self, inputs: Inputs) -> None:
        """Compute the targets, once."""

    def statistics(self, feats: dict[str, torch.Tensor], image: torch.Tensor, window: Any = None) -> Stats:
        """Sums over the positions of ``window`` (the whole canvas when None) of what
        :meth:`value` needs; ``feats`` are the canvas's features at :attr:`layers`, ``image``
        the canvas as the terms see it (untransformed).

        The keys contract: a flat ``{key: tensor}`` whose keys the term chooses (by convention
        ``LAYER.WHAT``, e.g. ``conv4_2.sse``) and only its own :meth:`value` / :meth:`parts`
        read. With a ``window`` (:class:`paramart.evaluation.window.Window`), ``feats`` are
        already cut to the window's core at each layer's stride, ``image`` is the tile's input
        (core plus halo; ``window.core`` cuts it), and every value must be a *sum over the
        window's core positions* (a sum of squares, of co-activations, a count of positions):
        :class:`paramart.evaluation.tiled.Tiled` adds the tiles' statistics key by key (in
        float64) and calls :meth:`value` once on the totals, so the same keys must come back
        from every tile. With ``window`` None the term may return any whole-canvas summary its
        :meth:`value` understands (:class:`paramart.objectives.terms.content.Content` returns
        the mean squared error itself). A term that cannot keep this sets ``decomposable =
        False`` (tiling is then refused). Each term class's docstring lists its keys."""
        raise NotImplementedError

    def parts(self, stats: Stats) -> list[tuple[tuple[float, ...], torch.Tensor]] | None:
        """Per-layer (or per-region) losses with their factors (layer weight, region share),
        for terms that are a weighted sum of parts; None for the others."""
        return None

    def value(self, stats: Stats) -> torch.Tensor:
        """The unweighted loss from the whole canvas's statistics."""
        parts = self.parts(stats)
        if parts is None:
            raise NotImplementedError
        return combine(1.0, parts)

    def weighted(self, stats: Stats) -> torch.Tensor:
        """``weight`` x :meth:`value`; for a sum of parts the weight is folded into each part's
        factor, as ``(weight * factor) * loss``, so the arithmetic is the same at any weight."""
        parts = self.parts(stats)
        return self.weight * self.value(stats) if parts is None else combine(self.weight, parts)

    def forward(self, feats: dict[str, torch.Tensor], image: torch.Tensor) -> torch.Tensor:
        """The unweighted loss of the whole canvas (``value(statistics(feats, image))``), a 0-d tensor;
        the objective calls :meth:`statistics` and :meth:`weighted` instead."""
        return self.value(self.statistics(feats, image))
