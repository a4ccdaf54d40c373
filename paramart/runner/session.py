"""The run's stages: for each scale of the plan, targets and objective at that size, the
parameterization made (first stage) or carried up (later ones), a fresh optimizer, and
the loop. :class:`RunState` logs, saves and stops; observers (the time-lapse, a preview)
get immutable progress records and frames.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from paramart.errors import ParamartError
from paramart.evaluation.choose import fit_optimizer, strategy
from paramart.io.images import resize
from paramart.model.vgg import VGG19
from paramart.objectives.color import ColorPreservation
from paramart.objectives.transforms import RandomWarp
from paramart.params.base import Parameterization, build_param
from paramart.params.prefit import prefit_to_content
from paramart.runner.events import Observer, Progress, StageInfo
from paramart.runner.loop import Closure, History, make_optimizer, optimize
from paramart.runner.optimizers import optimizer_factory
from paramart.runner.plan import Plan
from paramart.runner.signals import stop_requested
from paramart.runner.stage import Stage, build_stage
from paramart.runner.state import RunState


@dataclass
class Outcome:
    """What :func:`run_stages` returns: the saved image, the log and the trained parameterization."""

    image: torch.Tensor  #: the finished canvas, colour-finished, on the CPU
    history: History  #: every logged step of every stage, steps and evaluations counted
    param: Parameterization  #: the trained parameterization, at the last stage's size


def rescale(param: Parameterization, size: tuple[int, int]) -> None:
    """Move ``param`` to the next stage's canvas ``size`` (height, width). Raises
    :class:`ParamartError` when it then renders another size (its class does not override
    :meth:`Parameterization.rescale` but stores a grid), naming ``schedule.scales``."""
    param.rescale(size)
    got = tuple(param.render().shape[-2:])
    if got != tuple(size):
        raise ParamartError(
            f"{type(param).__name__} rendered {got} after rescale({size}); it does not support "
            "schedule.scales (override Parameterization.rescale), so use schedule.scales=null"
        )


class StageHooks:
    """What happens after each step and each logged step of one stage."""

    def __init__(self, state: RunState, observers: Sequence[Observer], param: Parameterization,
                 stage: Stage):
        self.state, self.observers, self.param, self.stage = state, observers, param, stage

    def frame(self, step: int, final: bool = False) -> torch.Tensor:
        """Render the canvas, colour-finished, (1, 3, H, W) in [0, 1] on the CPU; give it to every
        observer's ``on_frame`` and return it (the last stage's final frame is the saved result)."""
        image = self.stage.finish(self.param.render())
        for o in self.observers:
            o.on_frame(step, image, final)
        return image

    def on_log(self, entry: Progress) -> None:
        """A logged step: to ``losses.csv`` (the run state), then to every observer."""
        self.state.on_log(entry)
        for o in self.observers:
            o.on_log(entry)

    def on_step(self, step: int) -> None:
        """After each step: the run state (checkpoint, stop request: may raise :class:`Interrupted`),
        then a colour-finished frame for the observers that want one at this step."""
        self.state.on_step(step)
        seconds = self.state.seconds
        wanting = [o for o in self.observers if o.wants_frame(step, seconds)]
        if wanting:
            image = self.stage.finish(self.param.render())
            for o in wanting:
                o.on_frame(step, image, False)


def run_stages(plan: Plan, vgg: VGG19, out: Path | None, observers: Sequence[Observer] = ()) -> Outcome:
    """Optimise through every stage of ``plan``; the last stage's canvas is the result."""
    cfg = plan.cfg
    color = ColorPreservation(cfg.preserve_color, plan.content is not None)
    warp = RandomWarp(cfg.transforms.jitter, cfg.transforms.scale, cfg.transforms.rotate)
    t_start: float | None = None  # the time budget counts from the first step, like losses.csv's seconds
    param: Parameterization | None = None
    state: RunState | None = None
    history, done, planned = History(), 0, 0
    for index, (longest, steps) in enumerate(plan.schedule):
        planned += steps
        stage = build_stage(plan, vgg, longest, steps, color, warp)
        prefit = param is None and plan.resume is None  # param.init=content: coordinate networks fit the photo
        if param is None:
            # a video frame starts from the previous result warped along the flow (plan.init)
            start = stage.content if plan.init is None else resize(plan.init, stage.size).to(plan.device)
            param = build_param(cfg.param, stage.size, start).to(plan.device)  # an allow-list
        else:
            rescale(param, stage.size)
        evaluation = strategy(stage.objective, stage.tiling, stage.size, param, cfg.zoom)
        optimizer = make_optimizer(fit_optimizer(optimizer_factory(cfg.optim), stage.tiling), param)
        closure = Closure(param, evaluation, optimizer)
        if state is None:
            state = RunState(cfg, out, param, optimizer, evaluation.names, stage.finish, closure.measure)
            done = state.begin(plan.resume)
            steps -= done  # resuming (single scale only): the steps left
        else:
            state.next_stage(optimizer, stage.finish, closure.measure)
        if prefit:  # inside the state's guard: Ctrl-C, a second one, running out of memory as in the loop
            with state.guard():
                prefit_to_content(param, start, observers, should_stop=stop_requested)
                state.after_prefit()
        t_start = time.perf_counter() if t_start is None else t_start
        # a time budget is shared out like the steps: each scale ends by its share of it
        deadline = None if cfg.max_seconds is None else t_start + cfg.max_seconds * planned / max(1, cfg.steps)
        info = StageInfo(index, len(plan.schedule), stage.size, done, steps, tuple(evaluation.names))
        for o in observers:
            o.on_stage(info)
        hooks = StageHooks(state, observers, param, stage)
        hooks.frame(done)
        with state.guard():
            part = optimize(param, evaluation, optimizer, steps, start_step=done, log_every=cfg.log_every,
                            progress=cfg.progress, on_log=hooks.on_log, on_step=hooks.on_step, deadline=deadline,
                            seconds_offset=state.seconds, closure=closure)
        history.rows += part.rows
        history.steps += part.steps
        history.evaluations += part.evaluations
        done += part.steps
    with state.guard():
        final = state.measured()  # the saved image's own loss: the last row of losses.csv and run.json
    if final is not None:
        history.rows.append(final)
        for o in observers:
            o.on_log(final)
    image = hooks.frame(done, final=True)
    state.finish(image)
    return Outcome(image, history, param)
