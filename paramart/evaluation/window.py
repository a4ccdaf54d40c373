"""The ``window`` a loss term gets in tiled evaluation: which part of the canvas is its.

A term's ``statistics(feats, image, window)`` returns sums over positions. Untiled,
``window`` is None and the sums run over the whole canvas (the content term returns its mean
there, to keep the untiled arithmetic bit for bit). Tiled, the evaluator
(:mod:`paramart.evaluation.tiled`) passes each layer's features already cut to the tile's
*core* (the positions this tile is responsible for; halos are never counted), so sums
over ``feats`` need nothing more. What a term holds for the whole canvas it cuts with:

* ``window.crop(t, layer)``: the core part of a *whole-canvas* tensor at ``layer``'s
  resolution (a content target, a mask resampled to the layer); ``layer=None``: pixels;
* ``window.layer_shape(layer)``: the whole canvas's (height, width) at that layer, to
  resample a mask before cropping it;
* ``window.core(x, layer, after)``: the core part of the *tile's* own tensor, with ``after``
  more rows and columns where the tile has them (total variation takes each core pixel's
  right and lower neighbour this way).

The evaluator itself cuts features with ``window.core(x, layer)``.
"""

from __future__ import annotations

import torch

from paramart.evaluation.layout import Tile, core_rows, stride


def _stride(layer: str | None) -> int:
    return 1 if layer is None else stride(layer)


class Window:
    """The part of the canvas one tile is responsible for (see the module docstring); sizes
    are (height, width) in px at the canvas (``layer=None``) or at a VGG layer's stride."""

    def __init__(self, tile: Tile):
        self.tile = tile

    def layer_shape(self, layer: str | None) -> tuple[int, int]:
        """The whole canvas's (height, width) at ``layer``'s resolution."""
        j = _stride(layer)
        h, w = self.tile.canvas
        return h // j, w // j

    def _core(self, layer: str | None) -> tuple[int, int, int, int]:
        t, j = self.tile, _stride(layer)
        h, w = t.canvas
        top, bottom = core_rows(t.top, t.bottom, h, j)
        left, right = core_rows(t.left, t.right, w, j)
        return top, bottom, left, right

    def core_shape(self, layer: str | None = None) -> tuple[int, int]:
        """The core's (height, width) at ``layer``'s resolution."""
        top, bottom, left, right = self._core(layer)
        return bottom - top, right - left

    def crop(self, t: torch.Tensor, layer: str | None = None) -> torch.Tensor:
        """The core part of a whole-canvas tensor at ``layer``'s resolution."""
        top, bottom, left, right = self._core(layer)
        return t[..., top:bottom, left:right]

    def core(self, x: torch.Tensor, layer: str | None = None, after: int = 0) -> torch.Tensor:
        """The core part of the *tile's* tensor ``x`` at ``layer`` (its input starts on a
        multiple of every stride); ``after`` more rows and columns where the tile has them."""
        top, bottom, left, right = self._core(layer)
        j = _stride(layer)
        oy, ox = self.tile.in_top // j, self.tile.in_left // j
        return x[..., top - oy : bottom - oy + after, left - ox : right - ox + after]
