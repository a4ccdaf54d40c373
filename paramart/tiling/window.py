"""The ``window`` a loss term gets in tiled evaluation: which part of the canvas is its.

A term's ``statistics(feats, image, window)`` returns sums over positions. Untiled,
``window`` is None and the sums run over the whole canvas. Tiled, ``feats`` and ``image``
are those of one tile (core plus halo) and the sums must run over the tile's *core*
only, so that the tiles' statistics add up to the canvas's exactly. A :class:`Window`
says, at each layer's resolution, which positions those are:

* ``window.crop(x, layer)``: the core part of the tile's activation ``x`` at ``layer``
  (``layer=None``: of the tile's image); ``after=1`` adds the next row and column where
  the canvas goes on (the neighbour a total-variation difference needs);
* ``window.region(t, layer)``: the core part of a *whole-canvas* tensor at the layer's
  resolution (a content target, a mask resampled to the layer);
* ``window.layer_size(layer)``: the whole canvas's (height, width) at that layer, to
  resample a mask before ``region``.

:func:`full_window` helpers do the same for ``window=None``, so a term writes each sum once.
"""

from __future__ import annotations

import torch

from paramart.tiling.layout import Tile, core_rows, stride


class Window:
    def __init__(self, tile: Tile):
        self.tile = tile

    def _stride(self, layer: str | None) -> int:
        return 1 if layer is None else stride(layer)

    def layer_size(self, layer: str | None) -> tuple[int, int]:
        j = self._stride(layer)
        h, w = self.tile.canvas
        return h // j, w // j

    def _core(self, layer: str | None) -> tuple[int, int, int, int]:
        t, j = self.tile, self._stride(layer)
        h, w = t.canvas
        top, bottom = core_rows(t.top, t.bottom, h, j)
        left, right = core_rows(t.left, t.right, w, j)
        return top, bottom, left, right

    def core_size(self, layer: str | None = None) -> tuple[int, int]:
        top, bottom, left, right = self._core(layer)
        return bottom - top, right - left

    def region(self, t: torch.Tensor, layer: str | None = None) -> torch.Tensor:
        top, bottom, left, right = self._core(layer)
        return t[..., top:bottom, left:right]

    def crop(self, x: torch.Tensor, layer: str | None = None, after: int = 0) -> torch.Tensor:
        top, bottom, left, right = self._core(layer)
        j = self._stride(layer)
        # the tile's input starts on a multiple of every stride (layout aligns it)
        oy, ox = self.tile.in_top // j, self.tile.in_left // j
        return x[..., top - oy : bottom - oy + after, left - ox : right - ox + after]


def crop(window: Window | None, x: torch.Tensor, layer: str | None = None, after: int = 0) -> torch.Tensor:
    """``window.crop`` or, untiled, ``x`` itself."""
    return x if window is None else window.crop(x, layer, after)


def region(window: Window | None, t: torch.Tensor, layer: str | None = None) -> torch.Tensor:
    """``window.region`` or, untiled, ``t`` itself."""
    return t if window is None else window.region(t, layer)


def core_size(window: Window | None, x: torch.Tensor, layer: str | None = None) -> tuple[int, int]:
    """The (height, width) the sums run over: the core's, or untiled ``x``'s."""
    return tuple(x.shape[-2:]) if window is None else window.core_size(layer)
