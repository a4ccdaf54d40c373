"""Style as Gram matrices (Gatys et al., eq. 3-5): at each layer the canvas's feature
co-activations, averaged over positions, must equal the style image's.

Several styles: each layer's target is the blend-weighted mean of their Gram matrices.
With ``style_masks`` (one per style) each style applies in its region only: guided Gram
matrices (Gatys et al. 2017), the features weighted by the region's mask resampled to the
layer, averaged over the mask's energy, each region's loss weighted by its share of the
canvas. Relative errors (divided by the target's mean square), so every layer starts near 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paramart.errors import ParamartError
from paramart.objectives.masks import fit_to
from paramart.objectives.term import Inputs, Stats, Term, TermConfig, register, relative_mse


@dataclass
class GramConfig(TermConfig):
    """Schema of ``conf/term/gram.yaml``: the shared term keys only (layers conv1_1 ... conv5_1 in the YAML)."""

    _target_: str = "paramart.objectives.terms.gram.GramStyle"


register("gram", GramConfig)


class _Gram(torch.autograd.Function):
    """``F F^T`` for (N, C, M) float32 ``F``, with the backward in one product.

    Autograd's own backward of ``bmm(F, F^T)`` treats the two operands as different tensors
    and multiplies twice (``dG F`` and ``(F^T dG)^T``); with them the same, the gradient is
    ``(dG + dG^T) F``: one product. That halves the Gram backward's FLOPs, 4.5% of a 256 px
    evaluation's (bench/flops.py); measured on the default objective's five layer shapes,
    Gram forward + backward took 0.79x the time."""

    @staticmethod
    def forward(ctx, f: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(f)
        return torch.bmm(f, f.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (f,) = ctx.saved_tensors
        return torch.bmm(grad + grad.transpose(1, 2), f)


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C) Gram matrix divided by H*W, accumulated in float32.

    Dividing by the number of positions makes it a spatial average of feature
    co-activations, so it does not grow with image size (Gatys et al. divide in the loss
    instead, by 4 N^2 M^2, which ties the loss scale to resolution).
    """
    n, c, h, w = features.shape
    return _Gram.apply(features.reshape(n, c, h * w).float()) / (h * w)


def gram_sum(features: torch.Tensor) -> torch.Tensor:
    """Sum over positions of the co-activations, (N, C, C), in float32."""
    n, c, h, w = features.shape
    return _Gram.apply(features.reshape(n, c, h * w).float())


def blend_weights(n: int, blend) -> list[float]:
    """Normalised blend weights for ``n`` styles (equal when ``blend`` is None or empty)."""
    if blend is None or len(blend) == 0:
        return [1.0 / n] * n
    if len(blend) != n:
        raise ParamartError(f"style_blend has {len(blend)} weights for {n} style images")
    if any(b < 0 for b in blend) or sum(blend) <= 0:
        raise ParamartError("style_blend weights must be non-negative and not all zero")
    total = float(sum(blend))
    return [float(b) / total for b in blend]


def energy(stats: Stats, s: int, layer: str) -> torch.Tensor:
    """Style ``s``'s mask energy at ``layer`` (sum of the squared resampled mask), floored at 1e-8."""
    return stats[f"{s}.{layer}.energy"].clamp_min(1e-8)


class GramStyle(Term):
    """Style loss as Gram matrices (Gatys et al. 2016, eq. 3-5): at each layer the mean squared
    difference of the canvas's and the style's (C, C) Gram matrices, both averaged over
    positions (:func:`gram_matrix`), divided by the target's mean square, summed with the layer
    weights. With ``style_masks``, guided Gram matrices (Gatys et al. 2017), one per style region,
    each region's loss weighted by its share of the canvas. Needs at least one style image.

    Statistics keys, per layer ``L`` (sums over the window's positions, so tiles add up):

    * unguided: ``L.gram``, the (1, C, C) sum of co-activations (float32), and ``L.n``, the
      number of positions;
    * guided, per style ``s``: ``s.L.gram``, the (1, C, C) sum of co-activations of the
      mask-weighted features, and ``s.L.energy``, the sum of the squared mask over the positions.

    Raises :class:`ParamartError` (in :meth:`build`) for ``style_blend`` together with
    ``style_masks``, or a blend of the wrong length or sign (:func:`blend_weights`)."""

    needs = ("style",)
    position_free = True
    takes_masks = True

    def build(self, inputs: Inputs) -> None:
        """Each layer's target Gram matrix: the blend-weighted mean over the style images (unguided),
        or one per style with its mask kept as a buffer (guided); plus each target's mean square."""
        self.guided = inputs.masks is not None
        if self.guided:
            if inputs.blend:
                raise ParamartError(
                    "style_blend and style_masks do not combine: masks already say where each style goes")
            self.regions = len(inputs.styles)
            self.shares = [float(m.mean()) for m in inputs.masks]
            for s, (style, mask) in enumerate(zip(inputs.styles, inputs.masks)):
                self.register_buffer(f"mask{s}", mask.detach().float())
                self._targets(inputs.features(style, self.layers, gram_matrix), prefix=f"{s}.")
            self._fitted: dict[tuple, torch.Tensor] = {}
            return
        blend = blend_weights(len(inputs.styles), inputs.blend)
        grams = {layer: 0.0 for layer in self.layers}
        for style, b in zip(inputs.styles, blend):
            style_grams = inputs.features(style, self.layers, gram_matrix)
            for layer in self.layers:
                grams[layer] = grams[layer] + b * style_grams[layer]
        self._targets(grams, prefix="")

    def _targets(self, grams: dict[str, torch.Tensor], prefix: str) -> None:
        for i, layer in enumerate(self.layers):
            target = grams[layer].detach().float()
            self.register_buffer(f"target{prefix}{i}".replace(".", "_"), target)
            self.register_buffer(f"scale{prefix}{i}".replace(".", "_"), target.pow(2).mean().clamp_min(1e-8))

    def _buffer(self, kind: str, prefix: str, i: int) -> torch.Tensor:
        return getattr(self, f"{kind}{prefix}{i}".replace(".", "_"))

    def mask_at(self, s: int, shape: tuple[int, int]) -> torch.Tensor:
        """Style ``s``'s mask resampled to a layer of ``shape`` (cached)."""
        mask = getattr(self, f"mask{s}")
        key = (s, *shape, mask.device)
        if key not in self._fitted:
            self._fitted[key] = fit_to(mask, shape).to(mask.device)
        return self._fitted[key]

    def statistics(self, feats, image, window=None) -> Stats:
        """``L.gram``/``L.n`` per layer, or ``s.L.gram``/``s.L.energy`` per style and layer when
        guided (see the class)."""
        if self.guided:
            return self._guided_statistics(feats, window)
        stats = {}
        for layer in self.layers:
            f = feats[layer]
            stats[f"{layer}.gram"] = gram_sum(f)
            stats[f"{layer}.n"] = torch.tensor(float(f.shape[-2] * f.shape[-1]), device=f.device)
        return stats

    def _guided_statistics(self, feats, window) -> Stats:
        stats = {}
        for layer in self.layers:
            f = feats[layer]
            full = tuple(f.shape[-2:]) if window is None else window.layer_shape(layer)
            for s in range(self.regions):
                mask = self.mask_at(s, full)
                if window is not None:
                    mask = window.crop(mask, layer)
                stats[f"{s}.{layer}.gram"] = gram_sum(f.float() * mask)
                stats[f"{s}.{layer}.energy"] = mask.pow(2).sum()
        return stats

    def parts(self, stats: Stats):
        """One part per layer (and per style region when guided, with factor (layer weight, share)):
        the relative squared error of the position-averaged Gram matrix against its target."""
        if self.guided:
            return [((w, share), relative_mse(stats[f"{s}.{layer}.gram"] / energy(stats, s, layer),
                                              self._buffer("target", f"{s}.", i), self._buffer("scale", f"{s}.", i)))
                    for s, share in enumerate(self.shares)
                    for i, (layer, w) in enumerate(zip(self.layers, self.layer_weights))]
        return [((w,), relative_mse(stats[f"{layer}.gram"] / stats[f"{layer}.n"], self._buffer("target", "", i),
                                    self._buffer("scale", "", i)))
                for i, (layer, w) in enumerate(zip(self.layers, self.layer_weights))]
