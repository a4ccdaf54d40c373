"""The objective: a weighted sum of named loss terms sharing one VGG-19 forward pass.

The terms come from the config (``objective.NAME`` nodes with a ``_target_``, see
:mod:`paramart.objectives.term`); their names are the loss columns everywhere a run
reports them. Only active terms (weighted, with their inputs present) are kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn

import paramart.objectives.terms  # noqa: F401  (registers every term's schema)
from paramart.errors import ParamartError
from paramart.model.layers import check_layers
from paramart.model.vgg import VGG19
from paramart.objectives.term import TERMS, Inputs, Stats, Term


class Objective(nn.Module):
    """``forward(image)`` returns ``{term name: weighted loss}``; the total is their sum.

    ``transform``, when set, is applied to the image before VGG (colour preservation,
    robustness warps); terms on the image itself (TV) see it untransformed.
    """

    def __init__(self, vgg: VGG19 | None, terms: Mapping[str, Term], transform: nn.Module | None = None):
        super().__init__()
        self.vgg = vgg
        self.terms = nn.ModuleDict(dict(terms))
        self.transform = transform

    @property
    def layers(self) -> list[str]:
        """The VGG-19 layers any term reads, sorted by name (one forward pass computes them all)."""
        return sorted({layer for term in self.terms.values() for layer in term.layers})

    @property
    def names(self) -> list[str]:
        """The terms' names in config order: the loss columns."""
        return list(self.terms)

    def features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """VGG-19 features ``{layer: (1, C, h, w)}`` of the (1, 3, H, W) ``image`` in [0, 1], after
        ``transform``; {} when no term reads VGG. Gradients flow back to ``image``."""
        if not self.layers:
            return {}
        seen = self.transform(image) if self.transform is not None else image
        return self.vgg(seen, self.layers)

    def statistics(self, image: torch.Tensor, window: Any = None) -> dict[str, Stats]:
        """``{term name: its statistics}`` of the (1, 3, H, W) ``image`` in [0, 1], from one VGG pass.
        ``window`` is handed to the terms as it is, but the features are not cut to its core here
        (:meth:`paramart.evaluation.tiled.Tiled.tile_statistics` does that itself): call with None."""
        feats = self.features(image)
        return {name: term.statistics(feats, image, window) for name, term in self.terms.items()}

    def weighted(self, stats: Mapping[str, Stats]) -> dict[str, torch.Tensor]:
        """``{term name: weight x value}`` (0-d tensors) from each term's whole-canvas statistics."""
        return {name: term.weighted(stats[name]) for name, term in self.terms.items()}

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{term name: weighted loss}`` of the whole (1, 3, H, W) canvas in [0, 1]."""
        return self.weighted(self.statistics(image))


def term_configs(objective: DictConfig | Mapping) -> dict[str, Any]:
    """The term nodes of an objective config: its children that name a ``_target_``."""
    return {str(k): v for k, v in objective.items() if isinstance(v, Mapping | DictConfig) and "_target_" in v}


def weighted_term_classes(objective: DictConfig | Mapping) -> dict[str, type[Term]]:
    """{name: term class} of the terms of an objective config with a positive weight, from the
    registry (nothing is built). Raises :class:`ParamartError` for an unregistered term."""
    return {name: TERMS.entry(node, f"objective.{name}").cls() for name, node in term_configs(objective).items()
            if float(node.get("weight", 0)) > 0}


def needed_layers(objective: DictConfig | Mapping) -> list[str]:
    """Every VGG layer a weighted term of this objective config reads."""
    return [layer for t in term_configs(objective).values() if float(t.get("weight", 0)) > 0
            for layer in t.get("layers", [])]


def check_terms(objective: DictConfig | Mapping, masks: bool = False, blend: bool = False) -> None:
    """Refuse ``style_masks`` for a weighted style term that cannot take them (and with
    ``style_blend``), before any model loads. The message names the term's key."""
    if not masks:
        return
    for name, cls in weighted_term_classes(objective).items():
        if "style" not in cls.needs:
            continue
        if not cls.takes_masks:
            kind = cls.__module__.rsplit(".", 1)[-1]
            raise ParamartError(f"objective.{name}: the {kind} term does not take style_masks; use "
                                f"term@objective.{name}=gram, or style_masks=null")
        if blend:
            raise ParamartError("style_blend and style_masks do not combine: the masks already say where each "
                                "style goes; give style_blend=null")


def build_terms(objective: DictConfig | Mapping, inputs: Inputs) -> dict[str, Term]:
    """The active terms, built from the term registry (:data:`paramart.objectives.term.TERMS`),
    with their targets computed. Raises :class:`ParamartError` for an unregistered term or an
    objective with no active term."""
    terms = {}
    for name, node in term_configs(objective).items():
        cls, kwargs = TERMS.build_args(node, f"objective.{name}")
        term = cls(**kwargs)
        check_layers(term.layers)
        if term.active(inputs) and (term.layers or not term.needs):
            term.build(inputs)
            terms[name] = term
    if not terms:
        raise ParamartError("the objective is empty: give a style image or a content image with a positive weight")
    return terms


def build_objective(objective: DictConfig | Mapping, inputs: Inputs, transform: nn.Module | None = None) -> Objective:
    """The :class:`Objective` of the active terms of an ``objective`` config (see :func:`build_terms`
    for the errors raised), with ``transform`` applied before VGG."""
    return Objective(inputs.vgg, build_terms(objective, inputs), transform)


def style_transfer(
    vgg: VGG19, content: torch.Tensor | None, styles: Sequence[torch.Tensor], *,
    content_weight: float = 1.0, style_weight: float = 30.0, tv_weight: float = 0.0,
    content_layers: Sequence[str] = ("conv4_2",),
    style_layers: Sequence[str] = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"),
    style_blend: Sequence[float] | None = None, style_masks: Sequence[torch.Tensor] | None = None,
) -> Objective:
    """Gatys et al.'s objective from Python, without a config: content features + Gram
    matrices of one or more styles (+ total variation). With no content image (or zero
    content weight) this is texture synthesis."""
    prefix = "paramart.objectives.terms."
    spec = {
        "content": {"_target_": prefix + "content.Content", "weight": content_weight, "layers": list(content_layers)},
        "style": {"_target_": prefix + "gram.GramStyle", "weight": style_weight, "layers": list(style_layers)},
        "tv": {"_target_": prefix + "tv.TotalVariation", "weight": tv_weight},
    }
    size = tuple(content.shape[-2:]) if content is not None else (0, 0)
    inputs = Inputs(vgg, size, content, list(styles), style_blend, None if style_masks is None else list(style_masks))
    return Objective(vgg, build_terms(spec, inputs))
