"""Objectives: a weighted sum of named loss terms sharing one VGG-19 forward pass."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from paramart.errors import ParamartError
from paramart.model.vgg import VGG19, check_layers
from paramart.objectives.losses import ActivationLoss, ContentLoss, GuidedStyleLoss, StyleLoss, TVLoss, gram_matrix


class Objective(nn.Module):
    """Terms grouped by name (``content``, ``style``, ``tv`` ...).

    ``forward(image)`` returns ``{group: weighted loss}``; the total is their sum. A term
    reads either one VGG layer's activation or, with ``layer=None``, the image itself.
    ``transform``, when set, is applied to the image before VGG (colour preservation,
    robustness warps); terms on the image itself (TV) see it untransformed.
    """

    def __init__(self, vgg: VGG19 | None):
        super().__init__()
        self.vgg = vgg
        self.transform: nn.Module | None = None
        self.modules_ = nn.ModuleList()
        self._entries: list[tuple[str, str | None, float]] = []

    def add(self, group: str, module: nn.Module, weight: float, layer: str | None = None) -> Objective:
        if layer is not None:
            check_layers([layer])
        self.modules_.append(module)
        self._entries.append((group, layer, float(weight)))
        return self

    @property
    def layers(self) -> list[str]:
        return sorted({layer for _, layer, _ in self._entries if layer is not None})

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(group for group, _, _ in self._entries))

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        seen = self.transform(image) if self.transform is not None and self.layers else image
        feats = self.vgg(seen, self.layers) if self.layers else {}
        out: dict[str, torch.Tensor] = {}
        for module, (group, layer, weight) in zip(self.modules_, self._entries):
            value = weight * module(image if layer is None else feats[layer])
            out[group] = out[group] + value if group in out else value
        return out


def _layer_weights(layers: Sequence[str], weights: Sequence[float] | None, what: str) -> list[float]:
    if weights is None:
        return [1.0 / len(layers)] * len(layers)
    if len(weights) != len(layers):
        raise ParamartError(f"{what}_layer_weights has {len(weights)} entries but {what}_layers has {len(layers)}")
    return [float(w) for w in weights]


def blend_weights(n: int, blend: Sequence[float] | None) -> list[float]:
    """Normalised blend weights for ``n`` styles (equal when ``blend`` is None)."""
    if blend is None or len(blend) == 0:
        return [1.0 / n] * n
    if len(blend) != n:
        raise ParamartError(f"style_blend has {len(blend)} weights for {n} style images")
    if any(b < 0 for b in blend) or sum(blend) <= 0:
        raise ParamartError("style_blend weights must be non-negative and not all zero")
    total = float(sum(blend))
    return [float(b) / total for b in blend]


def style_transfer(
    vgg: VGG19,
    content: torch.Tensor | None,
    styles: Sequence[torch.Tensor],
    *,
    content_weight: float,
    style_weight: float,
    tv_weight: float,
    content_layers: Sequence[str],
    style_layers: Sequence[str],
    content_layer_weights: Sequence[float] | None = None,
    style_layer_weights: Sequence[float] | None = None,
    style_blend: Sequence[float] | None = None,
    style_masks: Sequence[torch.Tensor] | None = None,
    dream_weight: float = 0.0,
    dream_layer: str = "relu4_2",
    dream_channels: Sequence[int] | None = None,
) -> Objective:
    """Gatys et al.'s objective: content features + Gram matrices of one or more styles.

    Targets are computed once here. With several styles, each layer's target Gram matrix
    is their blend-weighted mean. With no content image (or zero content weight), this is
    texture synthesis.

    With ``style_masks`` (one (1, 1, H, W) mask per style, at the canvas size) each style
    applies only in its region, through guided Gram matrices (Gatys et al. 2017); each
    region's term is weighted by its share of the canvas. ``dream_weight > 0`` adds a
    feature-visualisation term raising ``dream_layer`` (or its ``dream_channels``).
    """
    check_layers(list(content_layers) + list(style_layers) + ([dream_layer] if dream_weight > 0 else []))
    if style_masks is not None and len(style_masks) != len(styles):
        raise ParamartError(
            f"style_masks has {len(style_masks)} masks for {len(styles)} style images; give one per style"
        )
    if style_masks is not None and style_blend:
        raise ParamartError("style_blend and style_masks do not combine: masks already say where each style goes")
    objective = Objective(vgg)
    if content is not None and content_weight > 0 and content_layers:
        feats = targets(vgg, content, content_layers)
        for layer, w in zip(content_layers, _layer_weights(content_layers, content_layer_weights, "content")):
            objective.add("content", ContentLoss(feats[layer]), content_weight * w, layer)
    if styles and style_weight > 0 and style_layers and style_masks is not None:
        _add_guided_style(objective, vgg, styles, style_masks, style_weight,
                          list(zip(style_layers, _layer_weights(style_layers, style_layer_weights, "style"))))
    elif styles and style_weight > 0 and style_layers:
        blend = blend_weights(len(styles), style_blend)
        grams = {layer: 0.0 for layer in style_layers}
        for style, b in zip(styles, blend):
            style_grams = targets(vgg, style, style_layers, gram_matrix)
            for layer in style_layers:
                grams[layer] = grams[layer] + b * style_grams[layer]
        for layer, w in zip(style_layers, _layer_weights(style_layers, style_layer_weights, "style")):
            objective.add("style", StyleLoss(target_gram=grams[layer]), style_weight * w, layer)
    if dream_weight > 0:
        channels = None if dream_channels is None or len(dream_channels) == 0 else list(dream_channels)
        objective.add("dream", ActivationLoss(channels), dream_weight, dream_layer)
    if tv_weight > 0:
        objective.add("tv", TVLoss(), tv_weight)
    if not objective.groups:
        raise ParamartError("the objective is empty: give a style image or a content image with a positive weight")
    return objective


def targets(vgg: VGG19, image: torch.Tensor, layers: Sequence[str], reduce=None) -> dict[str, torch.Tensor]:
    """The features of ``image`` at ``layers`` (or ``reduce`` of them, e.g. their Gram
    matrices), computed once under ``torch.inference_mode`` (no autograd bookkeeping, no
    version counters) with the network's precision settings, then cloned into ordinary
    tensors so that the losses may save them for backward."""
    tiled = getattr(vgg, "tiled_targets", None)  # print-size canvases: see paramart.tiling.setup
    if tiled is not None:
        return tiled(image, layers, reduce)
    with torch.inference_mode():
        feats = vgg(image, layers)
        out = {k: v if reduce is None else reduce(v) for k, v in feats.items()}
    return {k: v.clone() for k, v in out.items()}


def _add_guided_style(objective: Objective, vgg: VGG19, styles, masks, style_weight: float, layers) -> None:
    """One guided Gram term per (style, layer): the whole style image is the target of its region."""
    for style, mask in zip(styles, masks):
        grams = targets(vgg, style, [layer for layer, _ in layers], gram_matrix)
        share = float(mask.mean())
        for layer, w in layers:
            loss = GuidedStyleLoss(grams[layer], mask.to(style.device))
            objective.add("style", loss, style_weight * w * share, layer)
