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
from paramart.runner.events import Progress


class NonFiniteLoss(ParamartError):
    """The loss became NaN or infinite: the run cannot go on from the current parameters."""


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


class Evaluation:
    """One evaluation of the objective, the optimizer's closure: render, score, check that
    the loss is finite, backward. L-BFGS calls it several times a step (line search).
    ``last`` holds the latest losses (``total`` and each term), copied to the host once;
    ``first`` the first of the current step, which Adam and L-BFGS both take at the
    parameters the step starts from: the loss of the image after the previous step."""

    def __init__(self, param: Parameterization, objective: Objective, optimizer: torch.optim.Optimizer):
        self.param, self.objective, self.optimizer = param, objective, optimizer
        self.count = 0
        self.step = 0  #: the step being taken (for messages)
        self.last: dict[str, float] = {}
        self.first: dict[str, float] | None = None

    def record(self, values: dict[str, float]) -> None:
        self.last = values
        if self.first is None:
            self.first = values

    def measure(self) -> dict[str, float]:
        """The losses of the parameters as they are now (one more evaluation, not counted,
        its gradient discarded): what the saved image scores."""
        count, last, first = self.count, self.last, self.first
        self.first = None
        try:
            with torch.enable_grad():
                self()
            return self.first
        finally:
            self.optimizer.zero_grad(set_to_none=True)
            self.count, self.last, self.first = count, last, first

    def losses(self) -> dict[str, torch.Tensor]:
        """The weighted terms; the one place a variant (tiles, zoom crops) changes what is scored."""
        return self.objective(self.param())

    def __call__(self) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        terms = self.losses()
        total = sum(terms.values())
        # one device-to-host copy per evaluation for the finiteness check and the log
        values = torch.stack([total.detach(), *(v.detach() for v in terms.values())]).tolist()
        if not math.isfinite(values[0]):
            raise NonFiniteLoss(
                f"the loss became {values[0]} at step {self.step}; lower the learning rate or the loss weights"
            )
        total.backward()
        self.count += 1
        self.record({"total": values[0], **dict(zip(terms, values[1:]))})
        return total


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
    seconds_offset: float = 0.0,
    evaluation: Evaluation | None = None,
) -> History:
    """Run ``steps`` optimizer steps (one L-BFGS iteration counts as one step).

    A logged row of step ``k`` is the loss of the image after ``k`` steps (the image a save
    at step ``k`` writes): it is measured by the first evaluation of step ``k + 1``, so the
    rows are those of steps ``start_step, start_step + log_every ...`` that the loop
    measures. The image after the last step is measured by the caller
    (:meth:`Evaluation.measure`), once. Each row is passed to ``on_log``.
    ``on_step(step)`` runs after every step (snapshots, time-lapse).
    With ``deadline`` (a ``time.perf_counter()`` value) the loop also ends after the first
    step that finishes past it. Logged ``seconds`` are ``seconds_offset`` plus the time
    since this call began (the session passes the run's time so far). ``evaluation`` is
    the closure (default: :class:`Evaluation` of ``objective`` on ``param()``).
    """
    history = History()
    evaluate = evaluation or Evaluation(param, objective, optimizer)
    t0 = time.perf_counter()
    bar = tqdm(total=start_step + steps, initial=start_step, disable=not progress, unit="step",
               dynamic_ncols=True, leave=True)
    try:
        for done in range(start_step + 1, start_step + steps + 1):
            evaluate.step = done
            evaluate.first = None
            optimizer.step(evaluate)
            bar.update(1)
            history.steps += 1
            out_of_time = deadline is not None and time.perf_counter() >= deadline
            if (done - 1) % max(1, log_every) == 0 and evaluate.first is not None:
                first = dict(evaluate.first)
                entry = Progress(done - 1, first.pop("total"), first, seconds_offset + time.perf_counter() - t0)
                history.rows.append(entry)
                bar.set_postfix({k: f"{v:.4g}" for k, v in evaluate.first.items()}, refresh=False)
                if on_log is not None:
                    on_log(entry)
            if on_step is not None:
                on_step(done)
            if out_of_time:
                break
    finally:
        bar.close()
        history.evaluations += evaluate.count
    return history
