"""``paramart content=CLIP``: a clip styled by the method ``video.method`` names, and its
run folder written (:mod:`paramart.video.output`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from PIL import Image

from paramart.model.vgg import VGG19
from paramart.outputs.rundir import param_name, term_facts
from paramart.runner.events import Observer
from paramart.runner.plan import Plan, make_plan
from paramart.runner.signals import Interrupted
from paramart.video import output
from paramart.video.field import FieldRunner, input_at
from paramart.video.frames import FrameRunner, frame_config
from paramart.video.setup import VideoPlan, make_video_plan


@dataclass
class VideoResult:
    frames: list[Image.Image]  #: the styled frames, in order
    fps: float
    cuts: list[int] = field(default_factory=list)  #: frames that start a new shot
    seconds: list[float] = field(default_factory=list)  #: wall seconds of each frame
    out_dir: Path | None = None


def plan_video(cfg: DictConfig) -> tuple[VideoPlan, Plan]:
    """The clip's plan and its first frame's still plan (which checks the rest of the config,
    styles included), both before any model loads."""
    video = make_video_plan(cfg)
    size = video.canvas
    first = video.frames[0].resize((size[1], size[0]), Image.Resampling.LANCZOS)
    return video, make_plan(frame_config(cfg, cfg.steps, False), first, None)


def run_video(cfg: DictConfig, out_dir: str | Path | None, load_model: Callable[[Plan], VGG19],
              observers: Sequence[Observer] = (), planned: tuple[VideoPlan, Plan] | None = None) -> VideoResult:
    """Style the clip ``cfg.content`` (``video.method=frames``, or ``field``: :func:`run_field`); with
    ``out_dir``, write its frames as they finish, then ``final.gif``, ``final.mp4``, ``losses.csv``
    and ``run.json``. ``planned``: :func:`plan_video`'s result when the caller made it already."""
    video, first = planned or plan_video(cfg)
    out = Path(out_dir) if out_dir is not None else None
    vgg = load_model(first)
    if cfg.video.method == "field":
        return run_field(video, first, vgg, out, observers)
    runner = FrameRunner(video, vgg, out, observers, styles=first.styles)
    frames = runner.run()
    result = VideoResult(frames, video.fps, runner.cuts, runner.seconds, out)
    if out is not None:
        finish(out, video, result, vgg.precision)
    return result


def run_field(video: VideoPlan, first: Plan, vgg: VGG19, out: Path | None,
              observers: Sequence[Observer] = ()) -> VideoResult:
    """``video.method=field``: train one field on the clip, render it at ``video.render_fps`` and
    ``video.render_size``, write the run folder and ``checkpoint.pt`` (:mod:`paramart.video.field`)."""
    cfg = video.cfg
    runner = FieldRunner(video, first, vgg, out, observers)
    trained = runner.train()
    runner.save(trained)
    t0 = time.perf_counter()
    frames, fps, times = runner.render(trained)
    rendering = time.perf_counter() - t0
    total = runner.seconds_training + rendering
    result = VideoResult(frames, fps, runner.cuts, [total / len(frames)] * len(frames), out)
    if out is not None:
        mp4 = output.mp4_available() if cfg.video.mp4 is None else bool(cfg.video.mp4)
        output.write_clip(out, "final", frames, fps, mp4)
        if cfg.video.side_by_side:
            output.write_clip(out, "side_by_side", output.side_by_side(input_at(video.frames, times), frames), fps, mp4)
        output.write_facts(out, {
            "kind": "video", "method": "field", "param": param_name(cfg), "content": cfg.content,
            "style": OmegaConf.to_container(cfg.style) if not isinstance(cfg.style, str | None) else cfg.style,
            "size": cfg.size, "canvas": list(video.canvas), "render_size": list(frames[0].size[::-1]),
            "input_frames": len(video.frames), "fps": video.fps, "frames": len(frames), "render_fps": fps,
            "start": cfg.video.start, "steps": cfg.steps, "steps_done": runner.steps_done,
            "max_seconds": cfg.max_seconds, "stopped_by": runner.stopped, "batch": cfg.video.field.batch,
            "form": cfg.video.field.form, "time_cells": cfg.video.field.time_cells,
            "temporal_weight": video.temporal_weight,
            "flow": cfg.video.flow, "cuts": runner.cuts, "seed": cfg.seed, "terms": term_facts(cfg),
            "parameters": sum(p.numel() for p in trained.parameters()),
            "seconds_training": round(runner.seconds_training, 2), "seconds_render": round(rendering, 2),
            "seconds": round(total, 2), "precision": vgg.precision or cfg.model.precision, "mp4": mp4,
        })
    if runner.stopped:
        raise FieldInterrupted(runner.stopped, runner.steps_done, out, saved=out is not None)
    return result


class FieldInterrupted(Interrupted):
    """A field run stopped on a signal: trained so far, rendered and saved all the same."""

    def message(self) -> str:
        if self.out_dir is None:
            return f"{self.signal_name} at step {self.step}: the field was not saved (no run folder)"
        return (f"{self.signal_name} at step {self.step}: the field as trained so far is rendered in "
                f"{self.out_dir} ({output.FRAMES}/, final.gif) and saved as its checkpoint.pt; continue with: "
                f"paramart resume={self.out_dir} content=CLIP")


def finish(out: Path, video: VideoPlan, result: VideoResult, precision: str | None) -> None:
    cfg = video.cfg
    mp4 = output.mp4_available() if cfg.video.mp4 is None else bool(cfg.video.mp4)
    output.write_clip(out, "final", result.frames, video.fps, mp4)
    if cfg.video.side_by_side:
        output.write_clip(out, "side_by_side", output.side_by_side(video.frames, result.frames), video.fps, mp4)
    first, later = result.seconds[:1], result.seconds[1:]
    output.write_facts(out, {
        "kind": "video",
        "method": cfg.video.method,
        "param": param_name(cfg),
        "content": cfg.content,
        "style": OmegaConf.to_container(cfg.style) if not isinstance(cfg.style, str | None) else cfg.style,
        "size": cfg.size,
        "canvas": list(video.canvas),
        "frames": len(result.frames),
        "fps": video.fps,
        "start": cfg.video.start,
        "steps": cfg.steps,
        "later_steps": video.later_steps,
        "warm_start": cfg.video.warm_start,
        "temporal_weight": video.temporal_weight,
        "long_term": list(cfg.video.temporal.long_term or [1]),
        "passes": cfg.video.passes,
        "pass_steps": video.pass_steps if cfg.video.passes > 1 else None,
        "flow": cfg.video.flow,
        "cuts": result.cuts,
        "seed": cfg.seed,
        "terms": term_facts(cfg),
        "seconds_first_frame": round(first[0], 2) if first else None,
        "seconds_per_later_frame": round(sum(later) / len(later), 2) if later else None,
        "seconds": round(sum(result.seconds), 2),
        "precision": precision or cfg.model.precision,
        "mp4": mp4,
    })
