"""Exact tiled evaluation of an objective and its gradient (Galerne et al., "Scaling
Painting Style Transfer", 2023), so that memory is one tile's activations plus the image.

Every term's loss is a function of sums over positions (its statistics,
:meth:`paramart.objectives.term.Term.statistics`), and sums over the canvas are sums over
disjoint tiles:

1. pass 1, without gradients: every tile (its core plus a halo, see
   :mod:`paramart.evaluation.layout`) goes through VGG; each term's statistics of the tile's
   core are added up (each term cuts what it holds for the whole canvas with the
   :class:`paramart.evaluation.window.Window` it is given);
2. the summed statistics S become leaves that require grad; the total loss L(S) and
   dL/dS come from autograd (a few Gram-sized tensors);
3. pass 2, with gradients, tile by tile: backward of sum_k <dL/dS_k, S_k(tile)> into the
   tile's pixels, added into a canvas-sized image gradient (halo pixels get their share
   from the core positions they influence; halo outputs are never counted);
4. ``image.backward(image_grad)`` into the parameterization (band by band for those that
   render regions, such as CPPNs, so that their activations are never held for the whole
   canvas).

Pass 1 is :meth:`Tiled.losses`; passes 2-4 run in :meth:`Losses.backward`, so the loop checks
the total for NaN before any gradient is computed, as for the whole canvas.

The chain rule makes this exactly the gradient of the untiled loss; only the order of
floating-point additions differs. Cost: one more VGG forward per step than untiled, and
the halos' overlap.
"""

from __future__ import annotations

import torch
from torch import nn

from paramart.errors import ParamartError
from paramart.evaluation.base import Losses, Strategy
from paramart.evaluation.layout import Tile, halo, layout
from paramart.evaluation.window import Window
from paramart.model.layers import deepest as deepest_layer
from paramart.objectives.color import ToLuminance

#: row bands (px) in which a parameterization that renders regions is rendered and back-propagated
BAND = 256


def refusal(objective) -> str | None:
    """Why ``objective`` cannot be tiled exactly (a term whose statistics are not sums over
    positions, a transform that moves pixels), as a phrase, or None when it can."""
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
    parts = list(transform) if isinstance(transform, nn.Sequential) else [transform]
    return all(isinstance(p, ToLuminance) or getattr(p, "pointwise", False) for p in parts)


class Tiled(Strategy):
    """Evaluate ``objective`` on a ``size`` (height, width) canvas in tiles whose cores are at
    most ``tile`` px on a side; loss and gradient equal the untiled ones up to float rounding.

    Raises :class:`ParamartError` when the objective cannot be tiled (:func:`refusal`)."""

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

    @property
    def names(self) -> list[str]:
        """The objective's term names (tiling adds no loss of its own)."""
        return list(self.objective.names)

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

    def weighted(self, stats):
        """{term: weighted loss} from summed statistics, and those statistics as leaves."""
        leaves = {n: {k: v.float().requires_grad_(True) for k, v in s.items()} for n, s in stats.items()}
        return self.objective.weighted(leaves), leaves

    def image_gradient(self, image: torch.Tensor, total: torch.Tensor, leaves) -> torch.Tensor:
        """Passes 2-3: d(total)/d(image) for the (1, 3, H, W) canvas ``image``, from the
        summed statistics ``leaves`` that ``total`` was computed from."""
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
        return grad

    def losses(self, param) -> Losses:
        """Render ``param`` and evaluate in tiles (pass 1); ``backward()`` runs passes 2-4 and
        leaves d(total)/d(parameters) in their ``.grad``. ``terms`` are detached."""
        regions = getattr(param, "renders_regions", False)
        size = tuple(param.size)
        rendered = None
        if regions:
            with torch.no_grad():
                image = torch.cat([param.region(size, top, 0, min(BAND, size[0] - top), size[1])
                                   for top in range(0, size[0], BAND)], dim=-2)
        else:
            rendered = param()
            image = rendered.detach()
        if tuple(image.shape[-2:]) != self.size:
            raise ParamartError(f"the canvas is {tuple(image.shape[-2:])} but tiles were laid out for {self.size}")
        terms, leaves = self.weighted(self.statistics(image))
        total = sum(terms.values())

        def backward() -> None:
            grad = self.image_gradient(image, total, leaves)
            if rendered is None:
                for top in range(0, size[0], BAND):
                    h = min(BAND, size[0] - top)
                    param.region(size, top, 0, h, size[1]).backward(grad[..., top:top + h, :])
            else:
                rendered.backward(grad)

        return Losses({k: v.detach() for k, v in terms.items()}, total, backward)
