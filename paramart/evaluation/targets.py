"""Targets (a photo's features, a painting's Gram matrices) of a print-size image, in tiles.

Features are assembled from the tiles' cores into whole feature maps (exact, see
:mod:`paramart.evaluation.layout`); a ``reduce`` that averages over positions (the Gram
matrix) is averaged over the tiles' cores weighted by their positions instead, so the
full-resolution early layers are never held whole.
"""

from __future__ import annotations

import torch

from paramart.evaluation.layout import layout
from paramart.evaluation.window import Window
from paramart.model.layers import deepest


class TiledTargets:
    """``Inputs.targets`` for print-size targets: ``targets(image, layers, reduce)`` computes a
    (1, 3, H, W) image's VGG-19 features at ``layers`` tile by tile (cores of at most ``tile`` px,
    see :func:`paramart.evaluation.layout.layout`), under ``torch.inference_mode``.

    Without ``reduce`` it returns whole feature maps ``{layer: (1, C, H/J, W/J)}`` assembled from
    the cores (exact). With ``reduce`` (which must be a mean over positions, such as
    :func:`paramart.objectives.terms.gram.gram_matrix`) it returns the cores' reductions averaged
    with their share of the layer's positions. Tensors are cloned out of inference mode."""

    def __init__(self, vgg, tile: int):
        self.vgg = vgg
        self.tile = int(tile)

    def __call__(self, image: torch.Tensor, layers, reduce=None) -> dict[str, torch.Tensor]:
        layers = list(dict.fromkeys(layers))
        size = tuple(image.shape[-2:])
        tiles = layout(size, self.tile, deepest(layers))
        out: dict[str, torch.Tensor] = {}
        with torch.inference_mode():
            for tile in tiles:
                window = Window(tile)
                feats = self.vgg(image[(..., *tile.input_slice)], layers)
                for layer in layers:
                    core = window.core(feats[layer], layer)
                    if reduce is None:
                        if layer not in out:
                            h, w = window.layer_shape(layer)
                            out[layer] = core.new_zeros((*core.shape[:-2], h, w))
                        window.crop(out[layer], layer).copy_(core)
                    elif core.shape[-1] * core.shape[-2] > 0:  # a last row/column may hold no position
                        h, w = window.layer_shape(layer)
                        part = reduce(core) * (core.shape[-2] * core.shape[-1] / (h * w))
                        out[layer] = part if layer not in out else out[layer] + part
        return {k: v.clone() for k, v in out.items()}
