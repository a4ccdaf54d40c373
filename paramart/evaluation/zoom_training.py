"""Zoom-consistent training: brushwork at every scale of a coordinate image.

A coordinate network (CPPN, hash grid) renders at any size, but trained at one size it has
no reason to put anything between the training pixels: an 8K render of a 256 px run is a
smooth blur. With ``zoom.levels=[1,2,4,8]`` every evaluation also renders one crop of the
canvas at a random zoom ``z`` > 1 from the levels: the region ``1/z`` of the canvas on each
side, rendered with as many pixels as the whole canvas (``param.region`` at ``z`` times the
canvas size, with gradients), and scores it with the objective's style term only, weighted
by ``zoom.weight``. The style's strokes then exist at each zoom, and a large render shows
them at full resolution.

Only parameterizations that render regions (``renders_regions = True``: a ``region`` that
evaluates just the requested pixels) can do this; others are refused before any model loads.
(Zoom *training* is this; the zoom *animation* of ``paramart-render`` is
:mod:`paramart.outputs.zoom_animation`.)
"""

from __future__ import annotations

import math

import torch

from paramart.errors import ParamartError
from paramart.evaluation.base import Losses, Strategy

#: the largest zoom factor: the zoomed render's coordinates stay well inside float32's precision
MAX_ZOOM = 1e6


def check_zoom(levels, weight: float, renders_regions: bool, param_name: str) -> list[float]:
    """The zoom factors above 1 of ``zoom.levels``; [] when zoom training is off.

    Raises :class:`ParamartError` for a level under 1, a negative ``zoom.weight``, or zoom
    levels with a parameterization (named ``param_name``) that cannot render regions."""
    if not levels:
        return []
    if isinstance(levels, str) or not all(isinstance(z, int | float) and not isinstance(z, bool) for z in levels):
        raise ParamartError(f"zoom.levels={levels} must be a list of zoom factors of at least 1, e.g. [1,2,4,8]")
    levels = [float(z) for z in levels]
    if any(not 1 <= z <= MAX_ZOOM for z in levels):
        raise ParamartError(f"zoom.levels={levels} must all be from 1 to {MAX_ZOOM:g} (a crop of a render that "
                            "many times larger)")
    if not (isinstance(weight, int | float) and math.isfinite(weight) and weight >= 0):
        raise ParamartError(f"zoom.weight={weight} must be a number of at least 0")
    zooms = [z for z in levels if z > 1]
    if zooms and not renders_regions:
        raise ParamartError(f"zoom.levels needs a coordinate parameterization (cppn, fourier_cppn, hashgrid); "
                            f"{param_name} cannot render a region of a larger image")
    return zooms


def random_crop(size: tuple[int, int], zoom: float, generator: torch.Generator | None = None):
    """((height, width) of the render, top, left) of a canvas-sized (``size``) crop, placed
    uniformly at random in a render ``zoom`` times larger, in px."""
    h, w = size
    big = (round(h * zoom), round(w * zoom))
    top = int(torch.randint(0, big[0] - h + 1, (1,), generator=generator))
    left = int(torch.randint(0, big[1] - w + 1, (1,), generator=generator))
    return big, top, left


class ZoomTraining(Strategy):
    """The whole canvas's weighted terms plus ``zoom``: ``weight`` times the style terms'
    loss on one canvas-sized crop of a render ``z`` times larger, ``z`` drawn uniformly from
    ``zooms`` (each > 1) and the crop placed uniformly, at every evaluation."""

    def __init__(self, objective, param, zooms: list[float], weight: float):
        self.objective = objective
        self.param = param
        self.zooms = list(zooms)
        self.weight = float(weight)

    @property
    def names(self) -> list[str]:
        """The objective's term names plus ``zoom``, the weighted style loss of the zoomed crop."""
        return [*self.objective.names, "zoom"]

    def style_terms(self) -> dict:
        """The objective's terms that compare with the style images (Gram, W2 ...)."""
        return {name: term for name, term in self.objective.terms.items() if "style" in term.needs}

    def losses(self, param) -> Losses:
        """The whole canvas's weighted terms plus ``zoom`` (``weight`` x the style terms' weighted loss
        on one random canvas-sized crop at one random zoom; 0 with no style term); autograd backward."""
        terms = self.objective(param())
        zoom = self.zooms[int(torch.randint(0, len(self.zooms), (1,)))]
        big, top, left = random_crop(param.size, zoom)
        crop = param.region(big, top, left, *param.size)
        feats = self.objective.features(crop)
        style = [t.weight * t.value(t.statistics(feats, crop)) for t in self.style_terms().values()]
        terms["zoom"] = self.weight * sum(style) if style else crop.sum() * 0
        total = sum(terms.values())
        return Losses(terms, total, total.backward)
