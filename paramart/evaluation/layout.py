"""Tiles of a canvas for exact tiled evaluation: the halo and the alignment VGG-19 needs.

A VGG-19 output at position q of a layer with stride J (1, 2, 4, 8, 16, 32 after 0-5
poolings) depends on the input rows q*J - a ... q*J + J - 1 + a, where ``a`` (the
one-sided reach) is the sum of the strides at which the 3x3 convolutions up to that
layer run (each adds one position on each side at its own resolution); 2x2 poolings only
cover their own window. So a tile whose *core* (the pixels it is responsible for) starts
and ends on multiples of J, cut from the canvas with ``a`` extra pixels on each side (the
halo), computes every core position exactly as the whole canvas would: zero padding
only ever touches halo outputs, which are discarded. Where a tile meets the canvas's edge
there is no halo and the network's own zero padding is the canvas's.

The halo is rounded up to the deepest layer's stride, so that the tile's first pixel
stays aligned with every pooling grid:

=========================  ===========  ======  ==========
deepest layer              reach ``a``  J       halo (px)
=========================  ===========  ======  ==========
conv1_2 / relu1_2          2            1       2
conv2_2 / pool2            6            2 / 4   6 / 8
conv3_1 / conv3_4          10 / 22      4       12 / 24
conv4_1 / conv4_2          30 / 38      8       32 / 40
conv4_4 / pool4            54           8 / 16  56 / 64
conv5_1 (the default)      70           16      80
conv5_4 / pool5            118          16 / 32 128
=========================  ===========  ======  ==========

(:func:`halo` computes it; the table is what it returns.) With no VGG layer at all (a TV
term alone) the halo is 1 px, the neighbour total variation needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from paramart.errors import ParamartError
from paramart.model.layers import LAYER_NAMES


def reach_and_stride(layer: str) -> tuple[int, int]:
    """(one-sided reach ``a`` in input px, stride ``J``) of a VGG-19 layer."""
    reach, stride = 0, 1
    for name in LAYER_NAMES[: LAYER_NAMES.index(layer) + 1]:
        if name.startswith("conv"):
            reach += stride
        elif name.startswith("pool"):
            stride *= 2
    return reach, stride


def stride(layer: str) -> int:
    """The stride ``J`` of ``layer`` in canvas px per position: 1, 2, 4, 8, 16 or 32 (after 0-5 poolings)."""
    return reach_and_stride(layer)[1]


def halo(deepest: str | None) -> int:
    """Pixels of context a tile needs on each side for exact features at ``deepest``
    (None: no VGG layer; 1 px for the total variation's neighbour)."""
    if deepest is None:
        return 1
    reach, j = reach_and_stride(deepest)
    # the alignment is the deepest layer's stride, and also that of every shallower layer
    return max(1, math.ceil(reach / j) * j)


def alignment(deepest: str | None) -> int:
    """The px multiple a tile's core must start on: ``deepest``'s stride, or 1 with no VGG layer (None)."""
    return 1 if deepest is None else stride(deepest)


@dataclass(frozen=True)
class Tile:
    """One tile: its core ``[top:bottom, left:right]`` (canvas px, disjoint from every other
    tile's) and the input it is cut from, ``[in_top:in_bottom, in_left:in_right]`` (core plus
    halo, clipped to the canvas). ``canvas`` is (height, width)."""

    top: int  #: first row of the core, canvas px
    bottom: int  #: one past the core's last row
    left: int  #: first column of the core
    right: int  #: one past the core's last column
    in_top: int  #: first row of the input (core minus the halo, at least 0)
    in_bottom: int  #: one past the input's last row (at most the canvas height)
    in_left: int  #: first column of the input
    in_right: int  #: one past the input's last column (at most the canvas width)
    canvas: tuple[int, int]  #: (height, width) of the whole canvas, px

    @property
    def input_slice(self) -> tuple[slice, slice]:
        """(rows, columns) slices of the canvas that make the tile's input (core plus halo),
        for ``image[..., *slices]``."""
        return slice(self.in_top, self.in_bottom), slice(self.in_left, self.in_right)

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the tile's input in px (core plus halo, clipped to the canvas)."""
        return self.in_bottom - self.in_top, self.in_right - self.in_left


def _cuts(length: int, core: int, j: int) -> list[tuple[int, int]]:
    """[start, end) cores covering ``length``: as few as cores of at most ``core`` px allow,
    of equal size rounded up to the stride ``j`` (so no thin sliver carries a whole halo);
    the last one may be shorter."""
    n = math.ceil(length / core)
    step = min(core, math.ceil(length / n / j) * j)
    return [(s, min(length, s + step)) for s in range(0, length, step)]


def layout(size: tuple[int, int], tile: int, deepest: str | None) -> list[Tile]:
    """Tiles with cores of at most ``tile`` px (rounded down to the deepest layer's stride,
    at least one stride) covering a ``size`` (height, width) canvas, row by row, as evenly
    as the stride allows; a last row or column may be narrower."""
    j = alignment(deepest)
    if tile < 1:
        raise ParamartError(f"model.tile={tile} must be a positive number of px, auto or null")
    core = max(j, tile // j * j)
    pad = halo(deepest)
    h, w = size
    tiles = []
    for top, bottom in _cuts(h, core, j):
        for left, right in _cuts(w, core, j):
            tiles.append(Tile(top, bottom, left, right, max(0, top - pad), min(h, bottom + pad),
                              max(0, left - pad), min(w, right + pad), (h, w)))
    return tiles


def core_rows(start: int, end: int, length: int, j: int) -> tuple[int, int]:
    """The positions ``[lo, hi)`` of a stride-``j`` feature map (``length // j`` positions
    over a ``length`` px canvas) that belong to the core ``[start, end)``: position q belongs
    to the tile holding pixel q*j (cores start on multiples of j)."""
    n = length // j
    return min(n, start // j), (n if end >= length else min(n, end // j))
