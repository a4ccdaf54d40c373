"""Which evaluation strategy a stage runs, from the config: whole canvas, tiled (print sizes:
``model.tile``, ``model.memory_budget``) or zoom training (``zoom.levels``), and the L-BFGS
history that fits the memory budget. Each is one call from :mod:`paramart.runner.stage` or
:mod:`paramart.runner.session`; :func:`check` runs in the plan, before any model loads.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import torch

from paramart.errors import ParamartError
from paramart.evaluation import budget as B
from paramart.evaluation.base import Strategy
from paramart.evaluation.layout import halo
from paramart.evaluation.targets import TiledTargets
from paramart.evaluation.tiled import Tiled, refusal
from paramart.evaluation.whole import WholeCanvas
from paramart.evaluation.zoom_training import ZoomTraining, check_zoom
from paramart.model.layers import deepest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Tiling:
    """How one stage's canvas is cut: ``tile`` core px (None: untiled), the L-BFGS
    ``history`` that fits the memory budget (None: as configured), and whether the tile
    was asked for explicitly (``model.tile=N``: refuse what cannot tile) or chosen (auto)."""

    tile: int | None  #: the longest core side in px; None: the canvas is scored whole
    history: int | None  #: L-BFGS ``history_size`` that fits the budget; None: as configured
    explicit: bool  #: ``model.tile=N`` was given (True) rather than chosen by ``auto``

    def targets(self, vgg) -> TiledTargets | None:
        """What computes the stage's targets (content features, Gram matrices) in tiles, or
        None to compute them in one pass; they are a forward pass over the whole canvas too."""
        return None if self.tile is None else TiledTargets(vgg, self.tile)


def tiling(cfg, size: tuple[int, int], device: torch.device, precision: str, layers) -> Tiling:
    """The tiling for one stage's ``size`` (height, width) from ``model.tile`` and
    ``model.memory_budget``; ``layers`` are the VGG layers the objective reads."""
    setting = B.check_tile(cfg.model.get("tile"))
    if setting is None:
        return Tiling(None, None, False)
    budget = B.resolve_budget(cfg.model.get("memory_budget", "auto"), device)
    tile, history = B.choose_tile(size, deepest(layers) if layers else None, precision, cfg.optim, budget, setting)
    return Tiling(tile, history, setting != "auto")


def _canvas_strategy(objective, tiles: Tiling, size: tuple[int, int]) -> Strategy:
    """Tiled when the tiling asks for it and the objective can be tiled; otherwise the whole
    canvas (with model.tile=N an objective that cannot be tiled is refused; with auto it
    runs untiled and says so)."""
    if tiles.tile is None:
        if tiles.history is not None:
            log.info("L-BFGS history at most %d, to fit model.memory_budget", tiles.history)
        return WholeCanvas(objective)
    why = refusal(objective)
    if why is not None:
        if tiles.explicit:
            raise ParamartError(f"model.tile cannot be used here: {why}; use model.tile=null")
        log.warning("not tiling the %dx%d canvas although it may not fit: %s", size[1], size[0], why)
        return WholeCanvas(objective)
    tiled = Tiled(objective, size, tiles.tile)
    core = (max(t.bottom - t.top for t in tiled.tiles), max(t.right - t.left for t in tiled.tiles))
    history = "" if tiles.history is None else f", L-BFGS history {tiles.history}"
    log.info("tiled: %dx%d canvas in %d tiles of up to %dx%d px (+%d px halo)%s", size[1], size[0], len(tiled.tiles),
             core[1], core[0], halo(tiled.deepest), history)
    return tiled


def strategy(objective, tiles: Tiling, size: tuple[int, int], param, zoom_cfg) -> Strategy:
    """The stage's evaluation strategy for ``param`` (see :mod:`paramart.evaluation.base`).

    Raises :class:`ParamartError` for zoom training on a tiled canvas and for an explicit
    ``model.tile`` with an objective that cannot be tiled."""
    canvas = _canvas_strategy(objective, tiles, size)
    zooms = check_zoom(zoom_cfg.levels, zoom_cfg.weight, param.renders_regions, type(param).__name__)
    if not zooms or zoom_cfg.weight == 0:
        return canvas
    if isinstance(canvas, Tiled):
        raise ParamartError("zoom.levels does not combine with a tiled canvas; use model.tile=null "
                            "(zoom training is for coordinate networks learned at small sizes)")
    return ZoomTraining(objective, param, zooms, zoom_cfg.weight)


def fit_optimizer(factory, tiles: Tiling):
    """The optimiser factory with its L-BFGS history cut to what fits the budget."""
    if tiles.history is None or not isinstance(factory, functools.partial):
        return factory
    if factory.keywords.get("history_size", tiles.history) <= tiles.history:
        return factory
    return functools.partial(factory, history_size=tiles.history)


def check(cfg) -> None:
    """Refuse bad ``model.tile`` / ``model.memory_budget`` values, and an explicit tile with
    random transforms, before any model loads (raises :class:`ParamartError`)."""
    setting = B.check_tile(cfg.model.get("tile"))
    B.resolve_budget(cfg.model.get("memory_budget", "auto"), torch.device("cpu"))
    t = cfg.transforms
    if isinstance(setting, int) and (t.jitter > 0 or t.scale > 0 or t.rotate > 0):
        raise ParamartError(
            "model.tile cannot be used here: random transforms (transforms.jitter/scale/rotate) move the whole "
            "canvas before VGG, so tiles no longer see fixed parts of it; use model.tile=null"
        )
