"""What a finished run directory holds besides the image: time-lapse, loss plot, input
thumbnails and ``run.json`` (the facts a gallery shows)."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from paramart.errors import WriteError
from paramart.io.atomic import atomic_write, write_error
from paramart.io.runfolder import INPUTS, LOSS_PLOT, LOSSES, RUN_JSON
from paramart.objectives.objective import term_configs
from paramart.runner.loop import History

if TYPE_CHECKING:
    from paramart.runner.plan import Plan
from paramart.outputs.plots import plot_losses
from paramart.outputs.timelapse import Timelapse, auto_every

THUMB = 256


def param_name(cfg: DictConfig) -> str:
    """The parameterization's config name (``pixel``, ``fft`` ...) from its class path."""
    target = cfg.param._target_
    return target.split(".")[-2] if target.startswith("paramart.params.") else target.rsplit(".", 1)[-1]


def make_timelapse(cfg: DictConfig, out: Path, canvas: tuple[int, int]) -> Timelapse | None:
    """The run's time-lapse observer (frames of ``canvas`` (height, width) in ``out``), or None when
    ``timelapse.enabled`` is false. Without ``timelapse.every`` the frames are spread over the
    steps (``timelapse.frames`` of them), or over ``max_seconds`` when the run has a time budget."""
    t = cfg.timelapse
    if not t.enabled:
        return None
    every = t.every if t.every is not None else auto_every(cfg.steps, t.frames)
    # with a time budget the steps are only a cap: spread the frames over the time instead
    every_seconds = cfg.max_seconds / t.frames if t.every is None and cfg.max_seconds is not None else None
    return Timelapse(out, canvas, every=every, fps=t.fps, hold_seconds=t.hold_seconds, max_size=t.max_size,
                     mp4=t.mp4, keep_frames=t.keep_frames, every_seconds=every_seconds)


def _thumbnail(image: Image.Image, path: Path) -> None:
    thumb = image.copy()
    thumb.thumbnail((THUMB, THUMB), Image.Resampling.LANCZOS)
    atomic_write(path, lambda tmp: thumb.save(tmp, format="JPEG", quality=88))


def term_facts(cfg: DictConfig) -> dict[str, dict]:
    """Each term of the objective: its kind (the config name of its class), weight and layers."""
    facts = {}
    for name, node in term_configs(cfg.objective).items():
        plain = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)
        kind = str(plain.pop("_target_")).rsplit(".", 2)[-2]
        facts[name] = {"kind": kind, **plain}
    return facts


def finish_run_dir(out: Path, plan: Plan, history: History, precision: str | None = None) -> None:
    """Write ``losses.png``, ``inputs/`` thumbnails and ``run.json``."""
    cfg, content, styles, device = plan.cfg, plan.content, plan.styles, plan.device
    if (out / LOSSES).is_file():
        plot_losses(out / LOSSES, out / LOSS_PLOT)
    inputs = out / INPUTS
    try:
        inputs.mkdir(exist_ok=True)
    except OSError as exc:
        raise WriteError(write_error(inputs, exc)) from None
    if content is not None:
        _thumbnail(content, inputs / "content.jpg")
    for i, style in enumerate(styles):
        _thumbnail(style, inputs / f"style_{i}.jpg")
    last = history.last
    facts = {
        "param": param_name(cfg),
        "content": plan.content_name if content is not None else None,
        "style": list(plan.style_names) if len(plan.style_names) != 1 else plan.style_names[0],
        "size": cfg.size,
        "steps": last.step if last else 0,
        "seed": cfg.seed,
        "optimizer": cfg.optim._target_.rsplit(".", 1)[-1],
        "terms": term_facts(cfg),
        "seconds": round(last.seconds, 2) if last else 0.0,
        "evaluations": history.evaluations,
        "evaluations_per_step": round(history.evaluations / history.steps, 3) if history.steps else None,
        "precision": precision or cfg.model.precision,  # what auto resolved to
        "final_loss": last.total if last else None,
        "losses": last.terms if last else {},
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "host": platform.node(),
    }
    atomic_write(out / RUN_JSON, lambda tmp: Path(tmp).write_text(json.dumps(facts, indent=2)))
