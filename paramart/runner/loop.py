"""The one optimization loop: render -> objective -> backward -> optimizer step."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from paramart.errors import ParamartError
from paramart.objectives.objective import Objective
from paramart.params.base import Parameterization


class NonFiniteLoss(ParamartError):
    """The loss became NaN or infinite: the run cannot go on from the current parameters."""


@dataclass
class Progress:
    """One logged step: the weighted loss of each term and the seconds since the start."""

    step: int
    total: float
    terms: dict[str, float]
    seconds: float

    def row(self, groups: list[str]) -> dict[str, float]:
        return {"step": self.step, "total": self.total, **{g: self.terms.get(g, 0.0) for g in groups},
                "seconds": self.seconds}


@dataclass
class History:
    rows: list[Progress] = field(default_factory=list)
    #: steps taken (fewer than asked when a time budget ran out)
    steps: int = 0
    #: objective evaluations (forward + backward passes); L-BFGS's line search takes several a step
    evaluations: int = 0

    @property
    def last(self) -> Progress | None:
        return self.rows[-1] if self.rows else None


def make_optimizer(factory: Callable, param: Parameterization) -> torch.optim.Optimizer:
    """``factory`` is a partial optimizer class (Hydra ``_partial_: true``) or any callable."""
    params = [p for p in param.parameters() if p.requires_grad]
    if not params:
        raise ParamartError(f"{type(param).__name__} has no learnable parameters")
    return factory(params)


def optimize(
    param: Parameterization,
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    steps: int,
    *,
    start_step: int = 0,
    log_every: int = 10,
    progress: bool = True,
    on_log: Callable[[Progress], None] | None = None,
    on_step: Callable[[int], None] | None = None,
    deadline: float | None = None,
) -> History:
    """Run ``steps`` optimizer steps (one L-BFGS iteration counts as one step).

    Every ``log_every`` steps, and at the last step, the current losses are recorded and
    passed to ``on_log``. ``on_step(step)`` runs after every step (snapshots, time-lapse).
    With ``deadline`` (a ``time.perf_counter()`` value) the loop also ends after the first
    step that finishes past it.
    """
    history = History()
    last: dict[str, float] = {}
    t0 = time.perf_counter()

    def closure():
        optimizer.zero_grad(set_to_none=True)
        tiling = getattr(objective, "tiling", None)
        # tiled (paramart.tiling): both passes run here and leave the gradient in param
        terms = objective(param()) if tiling is None else tiling.backward(param)
        total = sum(terms.values())
        # one device-to-host copy per evaluation for the finiteness check and the log
        values = torch.stack([total.detach(), *(v.detach() for v in terms.values())]).tolist()
        if not math.isfinite(values[0]):
            raise NonFiniteLoss(
                f"the loss became {values[0]} at step {step + 1}; lower the learning rate or the loss weights"
            )
        if tiling is None:
            total.backward()
        history.evaluations += 1
        last.clear()
        last.update(zip(terms, values[1:]))
        last["total"] = values[0]
        return total

    bar = tqdm(total=start_step + steps, initial=start_step, disable=not progress, unit="step",
               dynamic_ncols=True, leave=True)
    try:
        for step in range(start_step, start_step + steps):
            optimizer.step(closure)
            bar.update(1)
            done = step + 1
            history.steps += 1
            out_of_time = deadline is not None and time.perf_counter() >= deadline
            if done % max(1, log_every) == 0 or done == start_step + steps or out_of_time:
                terms = {k: v for k, v in last.items() if k != "total"}
                entry = Progress(done, last["total"], terms, time.perf_counter() - t0)
                history.rows.append(entry)
                bar.set_postfix({k: f"{v:.4g}" for k, v in last.items()}, refresh=False)
                if on_log is not None:
                    on_log(entry)
            if on_step is not None:
                on_step(done)
            if out_of_time:
                break
    finally:
        bar.close()
    return history
