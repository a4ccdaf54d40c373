"""Exact tiled evaluation of an objective and its gradient (Galerne et al., "Scaling
Painting Style Transfer", 2023), so that memory is one tile's activations plus the image.

Every term's loss is a function of sums over positions (its statistics,
:mod:`paramart.tiling.terms`), and sums over the canvas are sums over disjoint tiles:

1. pass 1, without gradients: every tile (its core plus a halo, see
   :mod:`paramart.tiling.layout`) goes through VGG; each term's statistics of the tile's
   core are added up;
2. the summed statistics S become leaves that require grad; the total loss L(S) and
   dL/dS come from autograd (a few Gram-sized tensors);
3. pass 2, with gradients, tile by tile: backward of sum_k <dL/dS_k, S_k(tile)> into the
   tile's pixels, added into a canvas-sized image gradient (halo pixels get their share
   from the core positions they influence; halo outputs are never counted);
4. ``image.backward(image_grad)`` into the parameterization (tile by tile for tileable
   ones, such as CPPNs, so that their activations are never held for the whole canvas).

The chain rule makes this exactly the gradient of the untiled loss; only the order of
floating-point additions differs. Cost: one more VGG forward per step than untiled, and
the halos' overlap.
"""

from __future__ import annotations

import torch
from torch import nn

from paramart.errors import ParamartError
from paramart.model.layers import deepest as deepest_layer
from paramart.tiling.layout import Tile, halo, layout
from paramart.tiling.window import Window

#: row bands in which a tileable parameterization is rendered and back-propagated
BAND = 256


def refusal(objective) -> str | None:
    """Why ``objective`` cannot be tiled exactly, or None."""
    for name, term in objective.terms.items():
        if not getattr(term, "decomposable", False):
            return f"the {name} term ({type(term).__name__}) does not decompose into sums over tiles"
    transform = getattr(objective, "transform", None)
    if transform is not None and not _pointwise(transform):
        return ("random transforms (transforms.jitter/scale/rotate) move the whole canvas before VGG, "
                "so tiles no longer see fixed parts of it")
    return None


def _pointwise(transform: nn.Module) -> bool:
    """Colour maps act pixel by pixel, so they commute with cutting tiles."""
    from paramart.objectives.color import ToLuminance

    parts = list(transform) if isinstance(transform, nn.Sequential) else [transform]
    return all(isinstance(p, ToLuminance) or getattr(p, "pointwise", False) for p in parts)


class TiledEvaluation:
    """Evaluate ``objective`` on a ``size`` canvas in tiles of ``tile`` px (cores)."""

    def __init__(self, objective, size: tuple[int, int], tile: int):
        why = refusal(objective)
        if why is not None:
            raise ParamartError(f"model.tile cannot be used here: {why}; use model.tile=null")
        self.objective = objective
        self.layers = objective.layers
        self.deepest = deepest_layer(self.layers) if self.layers else None
        self.size = tuple(size)
        self.tile = int(tile)
        self.tiles = layout(self.size, self.tile, self.deepest)
        self.halo = halo(self.deepest)

    def tile_statistics(self, x: torch.Tensor, tile: Tile) -> dict[str, dict[str, torch.Tensor]]:
        """Each term's statistics over ``tile``'s core; ``x`` is the tile's input (core + halo)."""
        window = Window(tile)
        feats = {k: window.core(v, k) for k, v in self.objective.features(x).items()}
        return {name: term.statistics(feats, x, window) for name, term in self.objective.terms.items()}

    def statistics(self, image: torch.Tensor) -> dict[str, dict[str, torch.Tensor]]:
        """Pass 1: each term's statistics summed over all tiles (float64 sums)."""
        total: dict[str, dict[str, torch.Tensor]] = {}
        with torch.no_grad():
            for tile in self.tiles:
                for name, stats in self.tile_statistics(image[(..., *tile.input_slice)], tile).items():
                    acc = total.setdefault(name, {})
                    for k, v in stats.items():
                        acc[k] = acc[k] + v.double() if k in acc else v.double()
        return total

    def losses(self, stats):
        """{term: weighted loss} from summed statistics, and those statistics as leaves."""
        leaves = {n: {k: v.float().requires_grad_(True) for k, v in s.items()} for n, s in stats.items()}
        return self.objective.weighted(leaves), leaves

    def image_gradient(self, image: torch.Tensor):
        """Passes 1-3: the weighted losses (detached) and d(total)/d(image), or None if not finite."""
        terms, leaves = self.losses(self.statistics(image))
        total = sum(terms.values())
        if not torch.isfinite(total):
            return {k: v.detach() for k, v in terms.items()}, None
        wanted = [(n, k) for n, s in leaves.items() for k in s]
        grads = torch.autograd.grad(total, [leaves[n][k] for n, k in wanted], allow_unused=True)
        dl: dict[str, dict[str, torch.Tensor]] = {n: {} for n in leaves}
        for (n, k), g in zip(wanted, grads):
            if g is not None:
                dl[n][k] = g
        grad = torch.zeros_like(image)
        for tile in self.tiles:
            sl = (..., *tile.input_slice)
            x = image[sl].detach().requires_grad_(True)
            surrogate = None
            stats = self.tile_statistics(x, tile)
            for name, d in dl.items():
                s = stats[name]
                for k, g in d.items():
                    if s[k].requires_grad:
                        part = (g.to(s[k].dtype) * s[k]).sum()
                        surrogate = part if surrogate is None else surrogate + part
            if surrogate is not None:
                (g_x,) = torch.autograd.grad(surrogate, x)
                grad[sl] += g_x
        return {k: v.detach() for k, v in terms.items()}, grad

    def backward(self, param) -> dict[str, torch.Tensor]:
        """Render ``param``, evaluate in tiles and leave d(total)/d(parameters) in their
        ``.grad``; returns ``{group: weighted loss}`` (detached). When the loss is not
        finite no gradient is computed (the caller stops the run)."""
        tileable = getattr(param, "tileable", False) and hasattr(param, "region")
        size = tuple(param.size)
        if tileable:
            with torch.no_grad():
                image = torch.cat([param.region(size, top, 0, min(BAND, size[0] - top), size[1])
                                   for top in range(0, size[0], BAND)], dim=-2)
        else:
            rendered = param()
            image = rendered.detach()
        if tuple(image.shape[-2:]) != self.size:
            raise ParamartError(f"the canvas is {tuple(image.shape[-2:])} but tiles were laid out for {self.size}")
        terms, grad = self.image_gradient(image)
        if grad is None:
            return terms
        if tileable:
            for top in range(0, size[0], BAND):
                h = min(BAND, size[0] - top)
                param.region(size, top, 0, h, size[1]).backward(grad[..., top:top + h, :])
        else:
            rendered.backward(grad)
        return terms
