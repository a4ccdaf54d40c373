"""A trained video field's settings check, its render times (any frame rate) and its
``checkpoint.pt`` (``video.method=field``, :mod:`paramart.video.field`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from paramart.errors import ParamartError
from paramart.io.atomic import atomic_write
from paramart.io.torchfile import load_pt
from paramart.params.canonical_field import CanonicalField
from paramart.params.video_field import VideoField
from paramart.runner.checkpoint import check_rng

CHECKPOINT = "checkpoint.pt"
KIND = "paramart.video_field"
#: the two forms of ``video.field.form``: a canonical image per shot seen along the flow, or an (x, y, t) grid
FORMS = ("canonical", "spacetime")
Field = CanonicalField | VideoField
#: the hash grid's settings (param.*) the field takes
PARAM_KEYS = ("levels", "features", "log2_table", "coarsest", "finest", "depth", "width", "init_scale", "decorrelate")


def _whole(key: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ParamartError(f"{key}={value} must be a whole number from {low} to {high}")


def check_field(cfg: DictConfig) -> None:
    """Refuse what ``video.method=field`` cannot do, in one line, before anything is decoded."""
    v = cfg.video
    if v.method != "field":
        for key in ("render_fps", "render_size"):
            if v[key] is not None:
                raise ParamartError(f"video.{key}={v[key]} is for video.method=field (frames are rendered at "
                                    "the input's rate and size.); drop it or add video.method=field")
        return
    target = str(cfg.param.get("_target_", ""))
    if not target.endswith("hashgrid.HashGrid"):
        name = target.rsplit(".", 2)[-2] if "." in target else target
        raise ParamartError(f"video.method=field is a hash grid over (x, y, t): use param=hashgrid "
                            f"(param={name} has no field form; it can run video.method=frames)")
    if cfg.param.periodic:
        raise ParamartError("param.periodic=true does not combine with video.method=field (a clip does not tile)")
    if not str(cfg.optim.get("_target_", "")).endswith("Adam"):
        raise ParamartError("video.method=field trains on random frames of the clip, which needs optim=adam "
                            "(e.g. optim=adam optim.lr=0.01)")
    for key, value, why in (("schedule.scales", cfg.schedule.scales, "coarse-to-fine scales"),
                            ("preserve_color", cfg.preserve_color, "colour preservation"),
                            ("zoom.levels", cfg.zoom.levels, "zoom training")):
        if value is not None:
            raise ParamartError(f"{key}={value}: {why} is not built for video.method=field; give {key}=null")
    if v.field.form not in FORMS:
        raise ParamartError(f"video.field.form={v.field.form} must be one of {', '.join(FORMS)}")
    fpp = v.field.finest_per_pixel
    if isinstance(fpp, bool) or not isinstance(fpp, int | float) or not (math.isfinite(fpp) and 0 < fpp <= 64):
        raise ParamartError(f"video.field.finest_per_pixel={fpp} must be a number above 0 and at most 64")
    _whole("video.field.batch", v.field.batch, 1, 16)
    _whole("video.field.time_cells", v.field.time_cells, 1, 4096)
    if v.render_fps is not None:
        ok = isinstance(v.render_fps, int | float) and not isinstance(v.render_fps, bool)
        if not (ok and math.isfinite(v.render_fps) and 0.01 <= v.render_fps <= 1000):
            raise ParamartError(f"video.render_fps={v.render_fps} must be a number from 0.01 to 1000")
    if v.render_size is not None:
        _whole("video.render_size", v.render_size, 16, 8192)


def render_times(shots: Sequence[int], fps: float, render_fps: float) -> list[tuple[int, float, float]]:
    """(shot, time in [0, 1] within it, position in input frames) of each output frame at
    ``render_fps`` over a clip of ``shots`` frames per shot at ``fps``: ``round(N * render_fps /
    fps)`` frames (N the input's), output frame j at input position ``j * fps / render_fps``.
    A position between a shot's last frame and the next shot's first holds the last (no blend
    across a cut)."""
    total = sum(shots)
    count = max(1, round(total * render_fps / fps))
    starts = [sum(shots[:i]) for i in range(len(shots))]
    out = []
    for j in range(count):
        p = min(j * fps / render_fps, total - 1)
        shot = max(i for i, s in enumerate(starts) if s <= math.floor(p))
        t = min(1.0, (p - starts[shot]) / max(1, shots[shot] - 1))
        out.append((shot, t, p))
    return out


def save_field(path: Path, field: Field, cfg: DictConfig, fps: float, cuts: Sequence[int],
               training: dict | None = None) -> None:
    """``checkpoint.pt``: the field's tensors (a canonical field's displacements among them),
    what rebuilds it (plain values only) and, as ``training``, what ``resume=`` goes on from:
    the steps done, the seconds they took, Adam's state and the random generators' states."""
    param = {k: OmegaConf.to_container(cfg.param, resolve=True)[k] for k in PARAM_KEYS}
    form = "canonical" if isinstance(field, CanonicalField) else "spacetime"
    if isinstance(field, CanonicalField):
        param["finest"] = field.finest  # video.field.finest_per_pixel's, not param.finest
    data = {"kind": KIND, "form": form, "size": list(field.size), "shots": list(field.shots), "param": param,
            "time_cells": int(cfg.video.field.time_cells), "fps": float(fps), "cuts": list(cuts),
            "state": field.state_dict(), "training": training}
    atomic_write(path, lambda tmp: torch.save(data, tmp))


def resumable(path: Path, canvas: tuple[int, int]) -> dict:
    """The checkpoint of a field run to go on from (``resume=RUN``), checked before any model
    loads: one :class:`ParamartError` line for a missing, damaged or foreign file, another size,
    or one saved without its training state."""
    if not path.is_file():
        raise ParamartError(f"resume={path.parent}: no {CHECKPOINT} there; give the folder of a video.method=field run")
    field, data = load_field(path)
    if tuple(data["size"]) != tuple(canvas):
        raise ParamartError(f"resume={path.parent}: its field is {data['size'][1]}x{data['size'][0]} px but this "
                            f"run's is {canvas[1]}x{canvas[0]}; use the same size= as the run you resume")
    training = data.get("training")
    ok = isinstance(training, dict) and isinstance(training.get("step"), int) and training["step"] >= 0 \
        and isinstance(training.get("optimizer"), dict) and isinstance(training.get("seconds"), int | float)
    if not ok:
        raise ParamartError(f"resume={path.parent}: {CHECKPOINT} has no training state (saved before field runs "
                            "could resume); render it again instead")
    check_rng(training.get("rng"), str(path))
    return data


def load_field(path: str | Path) -> tuple[Field, dict]:
    """A field saved by :func:`save_field` and its facts (``fps``, ``cuts``, ``shots``); raises
    :class:`ParamartError` for a file that is not one."""
    data = load_pt(path, "video field checkpoint")
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise ParamartError(f"{path} is not a video field checkpoint (video.method=field's checkpoint.pt)")
    try:
        if data.get("form", "spacetime") == "canonical":
            moves = torch.split(data["state"]["moves"], list(data["shots"]))
            field: Field = CanonicalField(tuple(data["size"]), moves, **data["param"])
        else:
            field = VideoField(tuple(data["size"]), data["shots"], time_cells=int(data["time_cells"]), **data["param"])
        field.load_state_dict(data["state"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ParamartError(f"{path} is damaged: its field does not rebuild ({type(exc).__name__})") from None
    return field.eval(), data
