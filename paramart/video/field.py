"""One field for the whole clip: ``video.method=field`` (issue #20, item 4).

The clip is one :class:`paramart.params.video_field.VideoField`, a hash grid over (x, y, t)
per shot with a shared MLP, trained by Adam on minibatches of frames:

1. pre-fit (``param.init``, no VGG): the mean squared error of random frames against their
   content frames, ``param.prefit.steps`` steps, so the field starts as the input clip;
2. each step takes ``video.field.batch`` consecutive frames of one shot (a shot drawn in
   proportion to its length, the window uniformly within it) and scores each with the still
   objective (``objective.*``: content against its own content frame, style against the
   painting; the style targets are computed once), plus, between each consecutive pair, the
   temporal term of Ruder et al. (2016, eq. 6) with the *input's* flow: the reliability-masked
   squared difference between frame k and frame k-1 warped along the backward flow, weight
   ``video.temporal.weight`` (null: 1000); the gradient reaches both frames. The window's first frame is
   joined to the frame before it too, which is rendered for that alone (no VGG), so one frame a
   step (``batch=1``) still has a temporal term. The loss is the batch's mean.
   ``steps`` caps the steps; ``max_seconds`` (when set) ends training by time. ``resume=RUN``
   goes on from RUN's ``checkpoint.pt`` (its steps, seconds, Adam state and random generators),
   with no pre-fit: a stopped run resumed gives the field an unstopped run gives;
3. the field is rendered at ``video.render_fps`` and ``video.render_size`` (frames between the
   input's are the field between them: slow motion), written as the frames method writes
   (:mod:`paramart.video.output`), and saved as ``checkpoint.pt`` (:mod:`paramart.video.field_files`).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm.auto import tqdm

from paramart.errors import ParamartError
from paramart.geometry import canvas_size
from paramart.io.images import save_image, to_pil, to_tensor
from paramart.model.vgg import VGG19
from paramart.objectives.color import ColorPreservation
from paramart.objectives.objective import Objective, term_configs
from paramart.objectives.term import TERMS, Inputs
from paramart.objectives.transforms import RandomWarp
from paramart.params.canonical_field import CanonicalField
from paramart.params.video_field import VideoField
from paramart.runner.checkpoint import check_optimizer_state, rng_state, set_rng_state
from paramart.runner.events import Observer, Progress, StageInfo
from paramart.runner.optimizers import optimizer_factory
from paramart.runner.plan import Plan
from paramart.runner.signals import stop_requested
from paramart.runner.stage import build_stage
from paramart.video import output
from paramart.video.canonical import displacements
from paramart.video.field_files import CHECKPOINT, PARAM_KEYS, Field, render_times, save_field
from paramart.video.flow import motion
from paramart.video.frames import as_array
from paramart.video.setup import VideoPlan


def warp_tensor(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) ``image`` sampled at ``x + flow(x)`` (flow (H, W, 2) px, as
    :func:`paramart.video.flow.warp`), bilinear, differentiable with respect to ``image``."""
    h, w = flow.shape[:2]
    ys, xs = torch.meshgrid(torch.arange(h, dtype=flow.dtype), torch.arange(w, dtype=flow.dtype), indexing="ij")
    gx = (xs.to(flow.device) + flow[..., 0]) / max(1, w - 1) * 2 - 1
    gy = (ys.to(flow.device) + flow[..., 1]) / max(1, h - 1) * 2 - 1
    grid = torch.stack([gx, gy], -1).unsqueeze(0)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


class FieldRunner:
    """Trains one field on the clip of ``video`` and renders it (see the module docstring)."""

    def __init__(self, video: VideoPlan, first: Plan, vgg: VGG19, out: Path | None, observers: Sequence[Observer] = ()):
        self.video, self.first, self.vgg, self.out, self.cfg = video, first, vgg, out, video.cfg
        self.observers = observers  # a preview: the frame just scored, and the losses
        self.device = first.device
        self.log = output.FrameLog(out, ())
        self.log.columns = ["step", "frames", "total", *video.terms, "seconds"]
        self.seconds_training = 0.0
        self.steps_done = 0
        self.stopped: str | None = None
        self.training: dict | None = None  #: what resume= goes on from (checkpoint.pt's "training")

    def _clip(self) -> None:
        size = self.video.canvas
        sized = [f.resize((size[1], size[0]), Image.Resampling.LANCZOS) for f in self.video.frames]
        self.contents = [to_tensor(f).to(self.device) for f in sized]
        self.cuts: list[int] = []
        self.flows: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # k: (backward flow k -> k-1, weight)
        v = self.cfg.video
        for k in range(1, len(sized)):
            move = motion(as_array(sized[k - 1]), as_array(sized[k]), v.flow, v.cut_reliable, v.cut_error)
            if move.cut:
                self.cuts.append(k)
            else:
                self.flows[k] = (torch.from_numpy(move.backward).to(self.device),
                                 torch.from_numpy(move.weight)[None, None].to(self.device))
        bounds = [0, *self.cuts, len(sized)]
        self.shots = [(a, b - a) for a, b in zip(bounds, bounds[1:])]  # (first frame, frames)

    def _objectives(self) -> list[Objective]:
        """Each frame's objective: the style terms (their targets computed once) shared, the
        content terms built against the frame's own content."""
        cfg = self.cfg
        color = ColorPreservation(cfg.preserve_color, True)
        warp = RandomWarp(cfg.transforms.jitter, cfg.transforms.scale, cfg.transforms.rotate)
        longest, steps = self.first.schedule[0]
        shared = build_stage(self.first, self.vgg, longest, steps, color, warp).objective
        nodes = term_configs(cfg.objective)
        out = []
        for content in self.contents:
            terms = {}
            for name, term in shared.terms.items():
                if "content" in term.needs:
                    cls, kwargs = TERMS.build_args(nodes[name], f"objective.{name}")
                    term = cls(**kwargs).to(self.device)
                    term.build(Inputs(self.vgg, self.video.canvas, content))
                terms[name] = term
            out.append(Objective(self.vgg, terms, shared.transform))
        return out

    def _field(self) -> Field:
        """The untrained field of ``video.field.form``: a canonical image per shot seen along the
        flow, or an (x, y, t) grid."""
        cfg = self.cfg
        kwargs = {k: cfg.param[k] for k in PARAM_KEYS}
        if cfg.video.field.form == "canonical":
            moves = [torch.from_numpy(displacements([self.flows[k][0].cpu().numpy() for k in range(a + 1, a + n)],
                                                    self.video.canvas)) for a, n in self.shots]
            # cells finer than the canvas's pixels alias as the image moves (docs/benchmarks.md)
            finest = round(float(cfg.video.field.finest_per_pixel) * max(self.video.canvas))
            kwargs["finest"] = max(int(kwargs["coarsest"]), finest)
            return CanonicalField(self.video.canvas, moves, **kwargs)
        return VideoField(self.video.canvas, [n for _, n in self.shots], time_cells=int(cfg.video.field.time_cells),
                          **kwargs)

    def _prefit(self, field: Field) -> None:
        """``param.init``: Adam on the squared error of one random frame per step against its
        content frame (no VGG), as a still hash grid pre-fits to its photo (:mod:`paramart.params.prefit`)."""
        p = self.cfg.param
        if p.init == "none" or int(p.prefit.steps) == 0:
            return
        frames = [(s, i) for s, (_, n) in enumerate(self.shots) for i in range(n)]
        optimizer = torch.optim.Adam(field.parameters(), lr=float(p.prefit.lr), fused=True)
        end = None if p.prefit.seconds is None else time.perf_counter() + float(p.prefit.seconds)
        for _ in range(int(p.prefit.steps)):
            s, i = random.choice(frames)
            optimizer.zero_grad(set_to_none=True)
            F.mse_loss(field.frame(s, field.shot_time(s, i)), self.contents[self.shots[s][0] + i]).backward()
            optimizer.step()
            if (end is not None and time.perf_counter() >= end) or stop_requested():
                break

    def train(self) -> Field:
        cfg = self.cfg
        random.seed(int(cfg.seed))
        np.random.seed(int(cfg.seed) % 2**32)
        torch.manual_seed(int(cfg.seed))
        self._clip()
        field = self._field().to(self.device)
        t0 = time.perf_counter()
        resumed = self._resume(field)
        if resumed is None:
            self._prefit(field)
        objectives = self._objectives()
        optimizer = optimizer_factory(cfg.optim)(list(field.parameters()))
        first, before = 0, 0.0
        if resumed is not None:  # Adam and the random generators as they were when the run stopped
            where = str(self.video.resume_dir / CHECKPOINT)
            check_optimizer_state(resumed["optimizer"], optimizer, where)
            optimizer.load_state_dict(resumed["optimizer"])
            set_rng_state(resumed["rng"])
            first, before = int(resumed["step"]), float(resumed["seconds"])
            t0 -= before
        self.steps_done = first
        weight = self.video.temporal_weight
        deadline = None if cfg.max_seconds is None else t0 + float(cfg.max_seconds)  # resumed: the seconds left
        lengths = [n for _, n in self.shots]
        bar = tqdm(total=int(cfg.steps), initial=first, desc="field", unit="step", disable=not cfg.progress,
                   file=sys.stderr)
        for o in self.observers:
            o.on_stage(StageInfo(0, 1, self.video.canvas, 0, int(cfg.steps), ("total", *self.video.terms)))
        for step in range(first, int(cfg.steps)):
            name = stop_requested()
            if name or (deadline is not None and time.perf_counter() >= deadline):
                self.stopped = name
                break
            s = random.choices(range(len(self.shots)), weights=lengths)[0]
            start, n = self.shots[s]
            b = min(int(cfg.video.field.batch), n)
            a = random.randrange(n - b + 1)
            optimizer.zero_grad(set_to_none=True)
            totals: dict[str, float] = {}
            loss, previous = 0.0, None
            if a > 0 and weight > 0 and start + a in self.flows:  # the frame before the window: its partner
                previous = field.frame(s, field.shot_time(s, a - 1))
            for i in range(a, a + b):
                k = start + i
                image = field.frame(s, field.shot_time(s, i))
                terms = objectives[k](image)
                if previous is not None and weight > 0 and k in self.flows:
                    flow, reliable = self.flows[k]
                    warped = warp_tensor(previous, flow)
                    terms["temporal"] = weight * (reliable * (image - warped).pow(2)).mean()
                part = sum(terms.values())
                loss = loss + part / b
                for key, value in (("total", part), *terms.items()):
                    totals[key] = totals.get(key, 0.0) + float(value.detach()) / b
                previous = image
            loss.backward()
            optimizer.step()
            self.steps_done = step + 1
            bar.update(1)
            seconds = time.perf_counter() - t0
            if step % max(1, int(cfg.log_every)) == 0 or step + 1 == int(cfg.steps):
                self.log.append({"step": step + 1, "frames": f"{start + a}-{start + a + b - 1}",
                                 "seconds": round(seconds, 3), **totals})
                terms = {k: v for k, v in totals.items() if k != "total"}
                for o in self.observers:
                    o.on_log(Progress(step + 1, totals["total"], terms, seconds))
            self._show(step + 1, seconds, k, previous)
        bar.close()
        self.seconds_training = time.perf_counter() - t0
        self.training = {"step": self.steps_done, "seconds": self.seconds_training, "rng": rng_state(),
                         "optimizer": optimizer.state_dict()}
        return field

    def _resume(self, field: Field) -> dict | None:
        """``resume=RUN``: the field of RUN's ``checkpoint.pt`` loaded into ``field``, RUN's
        ``losses.csv`` rows kept, and its training state (steps, seconds, Adam, random generators)."""
        run = self.video.resume_dir
        if run is None:
            return None
        data = self.video.resume_field  # read and checked by the plan, before the model loaded
        if list(data["shots"]) != list(field.shots) or data.get("form", "spacetime") != self.cfg.video.field.form:
            raise ParamartError(f"resume={run}: its field ({data.get('form', 'spacetime')}, shots {data['shots']}) "
                                f"is not this clip's ({self.cfg.video.field.form}, shots {field.shots}); use the same "
                                "video.start, video.frames, video.fps and video.field.form")
        try:
            field.load_state_dict(data["state"])
        except RuntimeError:
            raise ParamartError(f"resume={run}: its field's settings differ from this run's (param.*, "
                                "video.field.*); resume with the same settings") from None
        training = data["training"]
        self.log.keep(run, int(training["step"]))
        return training

    def _show(self, step: int, seconds: float, k: int, image: torch.Tensor) -> None:
        """The frame just scored (frame ``k``, as the field renders it now) to the observers that want one."""
        wanting = [o for o in self.observers if o.wants_frame(step, seconds)]
        for o in wanting:
            o.on_clip_frame(k, len(self.contents), int(self.cfg.steps))
            o.on_frame(step, image.detach().clamp(0, 1).cpu(), False)

    @torch.no_grad()
    def render(self, field: Field) -> tuple[list[Image.Image], float, list[tuple[int, float, float]]]:
        """The output frames (written to ``frames/`` as they are made, read back as saved), their
        rate, and each one's (shot, time, input position)."""
        v = self.cfg.video
        fps = float(v.render_fps) if v.render_fps is not None else self.video.fps
        size = self.video.canvas if v.render_size is None else canvas_size(self.video.frames[0], int(v.render_size))
        times = render_times([n for _, n in self.shots], self.video.fps, fps)
        frames = []
        if self.out is not None:
            (self.out / output.FRAMES).mkdir(parents=True, exist_ok=True)
        for j, (shot, t, _) in enumerate(times):
            image = to_pil(field.frame(shot, t, size).cpu())
            if self.out is not None:
                save_image(image, output.frame_path(self.out, j))
            frames.append(image)
        return frames, fps, times

    def save(self, field: Field) -> None:
        if self.out is not None:
            save_field(self.out / CHECKPOINT, field, self.cfg, self.video.fps, self.cuts, self.training)


def input_at(frames: Sequence[Image.Image], times: Sequence[tuple[int, float, float]]) -> list[Image.Image]:
    """The input frame nearest each output frame's position (for side_by_side)."""
    return [frames[min(len(frames) - 1, round(p))] for _, _, p in times]
