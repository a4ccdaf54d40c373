"""Where tiling meets a run: per stage (canvas size), decide whether to tile and how
(``model.tile``, ``model.memory_budget``), compute the targets in tiles, attach the tiled
evaluation to the objective (the loop then calls it instead of ``objective(param())``)
and cut an L-BFGS history to the budget. Each is one call from :mod:`paramart.api`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
from dataclasses import dataclass

import torch

from paramart.errors import ParamartError
from paramart.tiling import budget as B
from paramart.tiling.evaluate import TiledEvaluation, refusal
from paramart.tiling.layout import halo
from paramart.tiling.targets import TiledTargets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TilePlan:
    tile: int | None  #: core px, None: untiled
    history: int | None  #: L-BFGS history to use, None: as configured
    explicit: bool  #: model.tile=N (refuse what cannot tile) rather than auto


def _deepest(layers) -> str | None:
    from paramart.model.layers import deepest

    return deepest(layers) if layers else None


def decide(cfg, size: tuple[int, int], device: torch.device, precision: str, layers) -> TilePlan:
    """The tiling for one stage's ``size`` (height, width), from the config."""
    setting = B.check_tile(cfg.model.get("tile"))
    if setting is None:
        return TilePlan(None, None, False)
    budget = B.resolve_budget(cfg.model.get("memory_budget", "auto"), device)
    tile, history = B.plan(size, _deepest(layers), precision, cfg.optim, budget, setting)
    return TilePlan(tile, history, setting != "auto")


@contextlib.contextmanager
def targets_in_tiles(vgg, plan: TilePlan):
    """While building the objective, targets (content features, Gram matrices) are
    computed in tiles too (they are a forward pass over the whole canvas)."""
    if plan.tile is None:
        yield
        return
    vgg.tiled_targets = TiledTargets(vgg, plan.tile)
    try:
        yield
    finally:
        vgg.tiled_targets = None


def attach(objective, plan: TilePlan, size: tuple[int, int]) -> None:
    """Set ``objective.tiling`` (None: untiled). With model.tile=N an objective that cannot
    be tiled is refused; with auto it runs untiled and says so."""
    objective.tiling = None
    objective.tile_plan = plan
    if plan.tile is None:
        if plan.history is not None:
            log.info("L-BFGS history at most %d, to fit model.memory_budget", plan.history)
        return
    why = refusal(objective)
    if why is not None:
        if plan.explicit:
            raise ParamartError(f"model.tile cannot be used here: {why}; use model.tile=null")
        log.warning("not tiling the %dx%d canvas although it may not fit: %s", size[1], size[0], why)
        return
    objective.tiling = TiledEvaluation(objective, size, plan.tile)
    tiles = objective.tiling.tiles
    core = (max(t.bottom - t.top for t in tiles), max(t.right - t.left for t in tiles))
    log.info("tiled: %dx%d canvas in %d tiles of up to %dx%d px (+%d px halo)%s", size[1], size[0], len(tiles),
             core[1], core[0], halo(objective.tiling.deepest),
             "" if plan.history is None else f", L-BFGS history {plan.history}")


def fit_optimizer(factory, plan: TilePlan):
    """The optimiser factory with its L-BFGS history cut to the plan's (what fits the budget)."""
    if plan.history is None or not isinstance(factory, functools.partial):
        return factory
    if factory.keywords.get("history_size", plan.history) <= plan.history:
        return factory
    return functools.partial(factory, history_size=plan.history)


def check(cfg) -> None:
    """Refuse bad ``model.tile`` / ``model.memory_budget`` values, and an explicit tile with
    random transforms, before any model loads."""
    setting = B.check_tile(cfg.model.get("tile"))
    B.resolve_budget(cfg.model.get("memory_budget", "auto"), torch.device("cpu"))
    t = cfg.transforms
    if isinstance(setting, int) and (t.jitter > 0 or t.scale > 0 or t.rotate > 0):
        raise ParamartError(
            "model.tile cannot be used here: random transforms (transforms.jitter/scale/rotate) move the whole "
            "canvas before VGG, so tiles no longer see fixed parts of it; use model.tile=null"
        )


def evaluation(param, objective, optimizer):
    """The loop's closure for a tiled objective (None: the loop's own, untiled)."""
    if getattr(objective, "tiling", None) is None:
        return None
    from paramart.runner.loop import Evaluation, NonFiniteLoss

    class TiledClosure(Evaluation):
        """Both passes run here and leave the gradient in the parameters (no graph is
        returned: L-BFGS and Adam only read ``.grad`` and the loss)."""

        def __call__(self) -> torch.Tensor:
            self.optimizer.zero_grad(set_to_none=True)
            terms = self.objective.tiling.backward(self.param)
            total = sum(terms.values())
            values = torch.stack([total, *terms.values()]).tolist()
            if not math.isfinite(values[0]):
                raise NonFiniteLoss(
                    f"the loss became {values[0]} at step {self.step}; lower the learning rate or the loss weights"
                )
            self.count += 1
            self.record({"total": values[0], **dict(zip(terms, values[1:]))})
            return total

    return TiledClosure(param, objective, optimizer)
