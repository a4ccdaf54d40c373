"""The run's stages: for each scale of the plan, targets and objective at that size, the
parameterization made (first stage) or carried up (later ones), a fresh optimizer, and
the loop. :class:`RunState` logs, saves and stops; observers (the time-lapse, a preview)
get immutable progress records and frames.
"""

from __future__ import annotations

import logging
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
from paramart.params.anchored import PRINT_SURFACE, AnchoredField, anchor_field, print_average
from paramart.params.base import Parameterization, build_param
from paramart.params.prefit import prefit_to_content
from paramart.runner.events import Observer, Progress, StageInfo
from paramart.runner.loop import Closure, History, make_optimizer, optimize
from paramart.runner.optimizers import optimizer_factory
from paramart.runner.plan import Plan
from paramart.runner.print_stage import ANCHOR, build_print, print_parts
from paramart.runner.signals import stop_requested
from paramart.runner.stage import Stage, build_stage
from paramart.runner.state import RunState

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What :func:`run_stages` returns: the saved image, the log and the trained parameterization."""

    image: torch.Tensor  #: the finished canvas, colour-finished, on the CPU
    history: History  #: every logged step of every stage, steps and evaluations counted
    param: Parameterization  #: the trained parameterization, at the last stage's size
    #: a print run's canvas as the canvas stages left it (what the print is anchored to), (1, 3, H, W)
    #: in [0, 1] on the CPU; None without a print stage
    canvas: torch.Tensor | None = None


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
        #: the final frame's render when it is not ``param.render()`` (a print run: the print's far view)
        self.final_render: torch.Tensor | None = None

    def frame(self, step: int, final: bool = False) -> torch.Tensor:
        """Render the canvas, colour-finished, (1, 3, H, W) in [0, 1] on the CPU; give it to every
        observer's ``on_frame`` and return it (the last stage's final frame is the saved result)."""
        render = self.final_render if final and self.final_render is not None else self.param.render()
        image = self.stage.finish(render)
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
    """Optimise through every stage of ``plan``, then the print stage when ``print.size`` is set
    (:mod:`paramart.runner.print_stage`). The result is the field rendered at the last canvas
    stage's size at the end (after a print stage, which changes it too); a print run's
    :attr:`Outcome.canvas` is the canvas as the canvas stages left it."""
    cfg = plan.cfg
    color = ColorPreservation(cfg.preserve_color, plan.content is not None)
    warp = RandomWarp(cfg.transforms.jitter, cfg.transforms.scale, cfg.transforms.rotate)
    run = _Run(plan, observers)
    for longest, steps in plan.schedule:
        stage = build_stage(plan, vgg, longest, steps, color, warp)
        prefit = run.param is None and plan.resume is None  # param.init=content: coordinate networks fit the photo
        if run.param is None:
            # a video frame starts from the previous result warped along the flow (plan.init)
            start = stage.content if plan.init is None else resize(plan.init, stage.size).to(plan.device)
            run.param = build_param(cfg.param, stage.size, start).to(plan.device)  # an allow-list
        else:
            rescale(run.param, stage.size)
            start = None
        evaluation = strategy(stage.objective, stage.tiling, stage.size, run.param, cfg.zoom)
        run.stage(stage, evaluation, steps, fit_optimizer(optimizer_factory(cfg.optim), stage.tiling), out,
                  start if prefit else None)
    if plan.print_size is not None:
        # the canvas the print is anchored to: the field as the canvas stages left it (a resumed
        # print stage's own, from its checkpoint)
        saved = plan.resume.checkpoint.get(ANCHOR) if plan.resume is not None else None
        done = max(0, run.done - sum(steps for _, steps in plan.schedule))  # print steps a resumed run took
        evaluation = build_print(plan, vgg, stage, run.param, saved, done)
        run.state.extra[ANCHOR] = evaluation.canvas.cpu()
        first, through = print_parts(cfg.print.steps)
        run.stage(stage, evaluation, first, optimizer_factory(cfg.optim), out, None)
        if through:
            # anchored exactly, then trained through the anchor's surface: the crops' detail meets the
            # low band the print will have (a run stopped in this part resumes with its own surface)
            past = plan.resume is not None and run.done > run.planned
            run.anchor(evaluation, plan.print_size, plan.resume.checkpoint.get(PRINT_SURFACE) if past else None,
                       final=False)
            run.stage(stage, evaluation, through, optimizer_factory(cfg.optim), out, None)
        run.anchor(evaluation, plan.print_size)
    return run.finish()


class _Run:
    """The stages of one run, one after another: the parameterization, the run state (made at
    the first stage), the time budget and the history they share."""

    def __init__(self, plan: Plan, observers: Sequence[Observer]):
        self.plan, self.observers = plan, observers
        cfg = plan.cfg
        self.param: Parameterization | None = None
        self.state: RunState | None = None
        self.history, self.done, self.planned = History(), 0, 0
        self.total = sum(s for _, s in plan.schedule) + (cfg.print.steps if plan.print_size is not None else 0)
        self.count = len(plan.schedule) + (0 if plan.print_size is None else 1 + bool(print_parts(cfg.print.steps)[1]))
        self.index = 0
        self.t_start: float | None = None  # the time budget counts from the first step, like losses.csv's seconds
        self.hooks: StageHooks | None = None

    def columns(self, names: list[str]) -> list[str]:
        """The losses.csv columns: the first stage's terms, and the print stage's ``anchor``."""
        return [*names, "anchor"] if self.plan.print_size is not None else list(names)

    def stage(self, stage: Stage, evaluation, steps: int, factory, out: Path | None,
              prefit_from: torch.Tensor | None) -> None:
        """Optimise one stage: ``steps`` steps of ``evaluation`` with a fresh optimiser from ``factory``
        (after the photo pre-fit from ``prefit_from`` when given)."""
        cfg, param, observers = self.plan.cfg, self.param, self.observers
        self.planned += steps
        optimizer = make_optimizer(factory, param)
        closure = Closure(param, evaluation, optimizer)
        if self.state is None:
            self.state = RunState(cfg, out, param, optimizer, self.columns(evaluation.names), stage.finish,
                                  closure.measure)
            self.done = self.state.begin(self.plan.resume)
        else:
            self.state.next_stage(optimizer, stage.finish, closure.measure)
        state = self.state
        resume = self.plan.resume
        if resume is not None and self.planned - steps < self.done < self.planned:
            state.restore_optimizer(resume)  # the stage the resumed run stopped in: its optimiser's state
        steps = min(steps, self.planned - self.done)  # resuming: the steps of this stage left
        if prefit_from is not None:  # inside the state's guard: Ctrl-C, a second one, running out of memory
            with state.guard():
                prefit_to_content(param, prefit_from, observers, should_stop=stop_requested)
                state.after_prefit()
        self.t_start = time.perf_counter() if self.t_start is None else self.t_start
        # a time budget is shared out like the steps: each stage ends by its share of it
        share = self.planned / max(1, self.total)
        deadline = None if cfg.max_seconds is None else self.t_start + cfg.max_seconds * share
        info = StageInfo(self.index, self.count, stage.size, self.done, max(0, steps), tuple(evaluation.names))
        self.index += 1
        for o in observers:
            o.on_stage(info)
        self.hooks = StageHooks(state, observers, param, stage)
        self.hooks.frame(self.done)
        if steps <= 0:  # resumed past this stage
            return
        with state.guard():
            part = optimize(param, evaluation, optimizer, steps, start_step=self.done, log_every=cfg.log_every,
                            progress=cfg.progress, on_log=self.hooks.on_log, on_step=self.hooks.on_step,
                            deadline=deadline, seconds_offset=state.seconds, closure=closure)
        self.history.rows += part.rows
        self.history.steps += part.steps
        self.history.evaluations += part.evaluations
        self.done += part.steps

    def anchor(self, evaluation, size: tuple[int, int], surface: torch.Tensor | None = None,
               final: bool = True) -> None:
        """The field anchored to its canvas exactly for the ``size`` (height, width) print
        (:func:`paramart.params.anchored.anchor_field`: two renders of the whole print), or with
        ``surface`` (a resumed run's, from its checkpoint) as it was. From here the run's image is
        the anchored field: the next part of the print stage trains through it, the finish
        measures its crops, and the checkpoint keeps its surface (:data:`PRINT_SURFACE`). With
        ``final``, ``final.png`` is the print averaged over the canvas's pixel footprints (its far
        view, one more render), ``print.png`` its render."""
        state, canvas = self.state, evaluation.canvas
        with state.guard():
            if surface is not None:
                field = self.param.field if isinstance(self.param, AnchoredField) else self.param
                anchored = AnchoredField(field, surface.to(canvas))
            else:
                anchored = anchor_field(self.param, canvas, size)
            far = print_average(anchored, size, tuple(canvas.shape[-2:])).float().to(canvas) if final else None
        state.extra[PRINT_SURFACE] = anchored.coefficients.cpu()
        state.view = anchored
        state.measure = Closure(anchored, evaluation, state.optimizer).measure
        self.hooks.param = anchored
        self.param = anchored
        if far is not None:
            gap = float((far - canvas).pow(2).mean().sqrt())
            log.info("print: anchored to the canvas; the %dx%d print averaged down is %.4f RMS from it", size[1],
                     size[0], gap)
            self.hooks.final_render = far

    def finish(self) -> Outcome:
        """Measure and save the result (the saved image's own loss is the log's last row)."""
        state = self.state
        with state.guard():
            final = state.measured()
        if final is not None:
            self.history.rows.append(final)
            for o in self.observers:
                o.on_log(final)
        image = self.hooks.frame(self.done, final=True)
        state.finish(image)
        return Outcome(image, self.history, self.param, state.extra.get(ANCHOR))
