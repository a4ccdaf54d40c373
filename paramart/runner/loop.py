"""The one optimization loop: the stage's evaluation strategy scores the parameterization
(:mod:`paramart.evaluation`), the loss is checked, backward, optimizer step."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from paramart.errors import ParamartError
from paramart.evaluation.base import Strategy
from paramart.evaluation.whole import WholeCanvas
from paramart.params.base import Parameterization
from paramart.runner.events import Progress


class NonFiniteLoss(ParamartError):
    """The loss became NaN or infinite: the run cannot go on from the current parameters."""


@dataclass
class History:
    """What a run (or one stage) logged: a :class:`Progress` row per logged step."""

    #: one :class:`Progress` per logged step, in order
    rows: list[Progress] = field(default_factory=list)
    #: steps taken (fewer than asked when a time budget ran out)
    steps: int = 0
    #: objective evaluations (forward + backward passes); L-BFGS's line search takes several a step
    evaluations: int = 0

    @property
    def last(self) -> Progress | None:
        """The last logged :class:`Progress` row, or None before the first log."""
        return self.rows[-1] if self.rows else None


def make_optimizer(factory: Callable, param: Parameterization) -> torch.optim.Optimizer:
    """``factory`` is a partial optimizer class (Hydra ``_partial_: true``) or any callable."""
    params = [p for p in param.parameters() if p.requires_grad]
    if not params:
        raise ParamartError(f"{type(param).__name__} has no learnable parameters")
    return factory(params)


class Closure:
    """The optimizer's closure: one evaluation of ``strategy`` on ``param``, the loss checked
    for NaN/inf (:class:`NonFiniteLoss`), then backward. L-BFGS calls it several times a
    step (line search). ``last`` holds the latest losses (``total`` and each term), copied
    to the host once per evaluation; ``first`` the first of the current step, which Adam and
    L-BFGS both take at the parameters the step starts from: the loss of the image after
    the previous step."""

    def __init__(self, param: Parameterization, strategy: Strategy, optimizer: torch.optim.Optimizer):
        self.param, self.strategy, self.optimizer = param, strategy, optimizer
        self.count = 0
        self.step = 0  #: the step being taken (for messages)
        self.last: dict[str, float] = {}
        self.first: dict[str, float] | None = None
        self._evaluate = strategy.losses  #: the strategy's measure_losses while measuring

    def measure(self) -> dict[str, float]:
        """The losses of the parameters as they are now (one more evaluation, not counted,
        its gradient discarded): what the saved image scores."""
        count, last, first = self.count, self.last, self.first
        self.first = None
        self._evaluate = self.strategy.measure_losses
        try:
            with torch.enable_grad():
                self()
            return self.first
        finally:
            self._evaluate = self.strategy.losses
            self.optimizer.zero_grad(set_to_none=True)
            self.count, self.last, self.first = count, last, first

    def __call__(self) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        losses = self._evaluate(self.param)
        # one device-to-host copy per evaluation for the finiteness check and the log
        values = torch.stack([losses.total.detach(), *(v.detach() for v in losses.terms.values())]).tolist()
        if not math.isfinite(values[0]):
            raise NonFiniteLoss(
                f"the loss became {values[0]} at step {self.step}; lower the learning rate or the loss weights"
            )
        losses.backward()
        self.count += 1
        self.last = {"total": values[0], **dict(zip(losses.terms, values[1:]))}
        if self.first is None:
            self.first = self.last
        return losses.total


def optimize(
    param: Parameterization,
    evaluation: Strategy | torch.nn.Module,
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
    closure: Closure | None = None,
) -> History:
    """Run ``steps`` optimizer steps (one L-BFGS iteration counts as one step).

    A logged row of step ``k`` is the loss of the image after ``k`` steps (the image a save
    at step ``k`` writes): it is measured by the first evaluation of step ``k + 1``, so the
    rows are those of steps ``start_step, start_step + log_every ...`` that the loop
    measures. The image after the last step is measured by the caller
    (:meth:`Closure.measure`), once. Each row is passed to ``on_log``.
    ``on_step(step)`` runs after every step (snapshots, time-lapse).
    With ``deadline`` (a ``time.perf_counter()`` value) the loop also ends after the first
    step that finishes past it. Logged ``seconds`` are ``seconds_offset`` plus the time
    since this call began (the session passes the run's time so far). ``evaluation`` is
    how each step scores ``param``: a :class:`~paramart.evaluation.base.Strategy`, or an
    objective (``image -> {term: weighted loss}``), scored on the whole canvas. ``closure``:
    the caller's :class:`Closure` of the same (to measure the end with); without one (a call
    from Python), the image after the last step is measured here and is ``history.last``.
    """
    history = History()
    strategy = evaluation if isinstance(evaluation, Strategy) else WholeCanvas(evaluation)
    evaluate = closure or Closure(param, strategy, optimizer)
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
    end = start_step + history.steps
    if closure is None and history.steps and (history.last is None or history.last.step != end):
        final = dict(evaluate.measure())
        entry = Progress(end, final.pop("total"), final, seconds_offset + time.perf_counter() - t0)
        history.rows.append(entry)
        if on_log is not None:
            on_log(entry)
    return history
