"""The video plan: the clip read, every ``video.*`` setting checked, the canvas size fixed and a
resumed run's finished frames found, before any model loads (one :class:`ParamartError` line
for anything wrong)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig
from PIL import Image

from paramart.errors import ParamartError
from paramart.geometry import canvas_size
from paramart.io.video import read_clip
from paramart.objectives.objective import term_configs
from paramart.video import output
from paramart.video.field_files import CHECKPOINT, check_field, resumable
from paramart.video.flow import PRESETS

METHODS = ("frames", "field")
#: video.temporal.weight=null: per method (measured in docs/benchmarks.md: the field's Adam
#: steps need a stronger term than the frames method's L-BFGS for the same coherence)
TEMPORAL_WEIGHTS = {"frames": 100.0, "field": 1000.0}


def temporal_weight(cfg: DictConfig) -> float:
    """``video.temporal.weight``, or :data:`TEMPORAL_WEIGHTS` of ``video.method`` when it is null."""
    w = cfg.video.temporal.weight
    return TEMPORAL_WEIGHTS[cfg.video.method] if w is None else float(w)


@dataclass(frozen=True)
class VideoPlan:
    cfg: DictConfig
    frames: tuple[Image.Image, ...]  #: the input frames, full size
    fps: float
    canvas: tuple[int, int]  #: (height, width) of every output frame
    later_steps: int
    terms: tuple[str, ...]  #: the loss columns of losses.csv
    resume_dir: Path | None = None
    resume_frames: int = 0  #: frames already finished there
    pass_steps: int = 0  #: steps of each frame in the passes after the first (video.passes > 1)
    temporal_weight: float = 0.0  #: video.temporal.weight, or the method's default when null
    resume_field: dict | None = None  #: video.method=field: the checked checkpoint.pt that resume= goes on from


def _number(key: str, value, low: float, high: float | None = None, whole: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and value >= low and (high is None or value <= high) and (not whole or float(value).is_integer())
    if not ok:
        span = f"from {low:g} to {high:g}" if high is not None else f"{low:g} or more"
        raise ParamartError(f"{key}={value} must be {'a whole number' if whole else 'a number'} {span}")


def check_settings(cfg: DictConfig) -> int:
    """Check ``video.*``; return the later frames' steps."""
    v = cfg.video
    if v.method not in METHODS:
        raise ParamartError(f"video.method={v.method} is not one of {', '.join(METHODS)}")
    check_field(cfg)
    _number("video.start", v.start, 0)
    if v.frames is not None:
        _number("video.frames", v.frames, 1, whole=True)
    if v.fps is not None:
        _number("video.fps", v.fps, 0.01, 1000)
    _number("video.max_frames", v.max_frames, 1, whole=True)
    if v.temporal.weight is not None:
        _number("video.temporal.weight", v.temporal.weight, 0)
    if v.temporal.long_term is not None:
        gaps = list(v.temporal.long_term)
        if not gaps or any(isinstance(g, bool) or not isinstance(g, int) or not 1 <= g <= 100 for g in gaps) \
                or gaps != sorted(set(gaps)):
            raise ParamartError(f"video.temporal.long_term={gaps} must list frame gaps from 1 to 100, ascending "
                                "(e.g. [1,2,5]), or be null")
    _number("video.cut_reliable", v.cut_reliable, 0, 1)
    _number("video.cut_error", v.cut_error, 0, 1)
    if v.flow not in PRESETS:
        raise ParamartError(f"video.flow={v.flow} is not a DIS preset; use {', '.join(PRESETS)}")
    if v.frames is not None and v.frames > v.max_frames:
        raise ParamartError(f"video.frames={v.frames} is over video.max_frames={v.max_frames}; raise video.max_frames=")
    later = cfg.steps // 2 if v.later_steps is None else v.later_steps
    if v.method == "frames" or v.later_steps is not None:  # a field has no later frames
        _number("video.later_steps", later, 1, whole=True)
    _number("video.passes", v.passes, 1, 100, whole=True)
    if v.pass_steps is not None:
        _number("video.pass_steps", v.pass_steps, 1, whole=True)
    _number("video.pass_blend", v.pass_blend, 0, 1)
    if v.method == "field" and v.passes != 1:
        raise ParamartError(f"video.passes={v.passes} is for video.method=frames (Ruder et al.'s multi-pass); "
                            "a field sees every frame in each step")
    if cfg.max_seconds is not None and v.method != "field":
        raise ParamartError("max_seconds= is a still's (or video.method=field's) time budget; for frames set "
                            "steps= and video.later_steps=")
    return int(later)


def _resumed(cfg: DictConfig, canvas: tuple[int, int], total: int) -> tuple[Path | None, int, dict | None]:
    """The run to resume, its finished frames and (a field run's) its checked ``checkpoint.pt``."""
    if not cfg.resume:
        return None, 0, None
    run = Path(str(cfg.resume)).expanduser()
    run = run.parent if run.is_file() else run
    if cfg.video.method == "field":  # a field goes on from its checkpoint.pt
        return run, 0, resumable(run / CHECKPOINT, canvas)
    if not (run / output.FRAMES).is_dir():
        raise ParamartError(f"resume={cfg.resume}: no {output.FRAMES}/ folder there; give the folder of a video run")
    done = output.finished_frames(run)
    if done > total:
        raise ParamartError(f"resume={cfg.resume} has {done} frames, more than this clip's {total}; "
                            "use the same video.start, video.frames and video.fps")
    for i in range(done):
        try:
            with Image.open(output.frame_path(run, i)) as im:
                size = (im.height, im.width)
                im.verify()
        except Exception:
            raise ParamartError(f"resume={cfg.resume}: {output.frame_path(run, i)} is damaged; delete it and the "
                                "frames after it, then resume") from None
        if size != tuple(canvas):
            raise ParamartError(f"resume={cfg.resume}: its frames are {size[1]}x{size[0]} px but this run's are "
                                f"{canvas[1]}x{canvas[0]}; use the same size= as the run you resume")
    return run, done, None


def make_video_plan(cfg: DictConfig) -> VideoPlan:
    """Everything about the clip, checked, before any model loads."""
    later = check_settings(cfg)
    try:
        import av  # noqa: F401  (decoding)
        import cv2  # noqa: F401  (optical flow)
    except ImportError as exc:
        raise ParamartError(f"content={cfg.content} is a video, which needs the video extra ({exc.name} is "
                            "missing): pip install 'paramart[video]'") from None
    v = cfg.video
    clip = read_clip(str(cfg.content), start=float(v.start), frames=v.frames, fps=v.fps,
                     max_frames=int(v.max_frames), max_pixels=int(cfg.max_input_pixels))
    canvas = canvas_size(clip.frames[0], cfg.size)
    names = [n for n, node in term_configs(cfg.objective).items() if n != "temporal" and float(node.weight) > 0]
    terms = (*names, "temporal")
    run, done, field = _resumed(cfg, canvas, len(clip.frames))
    pass_steps = max(1, later // 2) if v.pass_steps is None else int(v.pass_steps)
    return VideoPlan(cfg, clip.frames, clip.fps, canvas, later, terms, run, done, pass_steps, temporal_weight(cfg),
                     field)
