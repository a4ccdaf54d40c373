"""The Python API. The ``paramart`` command is a thin Hydra layer over :func:`run`.

In a notebook::

    import paramart
    result = paramart.stylize(content="photo.jpg", style="painting.jpg", param="pixel",
                              size=256, steps=200)
    result.pil          # PIL image
    result.history      # losses per logged step
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra import compose as hydra_compose
from hydra import initialize_config_module
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from paramart.config import store_schemas
from paramart.errors import ParamartError
from paramart.io.claim import claim
from paramart.io.images import save_image, to_pil, to_tensor
from paramart.io.runfolder import CANVAS, PRINT
from paramart.io.video import is_video
from paramart.model.vgg import VGG19
from paramart.outputs.drawing import write_print
from paramart.outputs.rundir import finish_run_dir, make_timelapse
from paramart.outputs.watch import Watch
from paramart.params.base import Parameterization
from paramart.runner.events import Observer
from paramart.runner.loop import History
from paramart.runner.memory import explain_out_of_memory
from paramart.runner.plan import ImageInput, Plan, as_list, image_input, make_plan
from paramart.runner.session import run_stages


def register_configs() -> None:
    """Every schema in Hydra's ConfigStore: the top level's, each parameterization's and each
    loss term's (their packages register them on import). Call before composing a config."""
    import paramart.objectives.terms  # noqa: F401  (each term registers its schema)
    import paramart.params  # noqa: F401  (each parameterization registers its schema)
    import paramart.runner.optimizers  # noqa: F401  (the optimisers' schemas)

    store_schemas()


@dataclass
class Result:
    """What :func:`run` (and :func:`stylize`, :func:`compose`) return: the saved image, the log,
    the trained parameterization (render it at another size with ``param.render((H, W))``) and
    the run folder."""

    image: torch.Tensor  #: (1, 3, H, W) in [0, 1], on the CPU
    history: History  #: every logged step (losses, seconds), steps and evaluations counted
    param: Parameterization | None  #: the trained parameterization, on the run's device; None for a clip
    out_dir: Path | None  #: the run folder written (final.png, checkpoint.pt ...), or None
    #: a clip's result (paramart.video.run.VideoResult) when content= was a video; image is its last frame
    video: Any = None

    @property
    def pil(self) -> Image.Image:
        """:attr:`image` as an 8-bit RGB PIL image (rounded, as ``final.png`` holds it)."""
        return to_pil(self.image)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy (``seed`` mod 2^32) and torch (CPU and every CUDA device),
    so that a run's noise init, latent vector and random warps repeat."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def load_model(plan: Plan) -> VGG19:
    """The VGG-19, cut after the deepest layer in use, on the plan's device, configured."""
    m = plan.cfg.model
    pooling = m.pooling.value if hasattr(m.pooling, "value") else m.pooling
    vgg = VGG19(m.weights, pooling=pooling, last_layer=plan.last_layer, preprocess=m.preprocess).to(plan.device)
    return vgg.configure(m.precision, m.channels_last, m.compile)


@explain_out_of_memory
def run(
    cfg: DictConfig,
    out_dir: str | Path | None = None,
    *,
    content: ImageInput | None = None,
    style: ImageInput | Sequence[ImageInput] | None = None,
    observers: Sequence[Observer] = (),
    preview: bool = False,
) -> Result:
    """Run one optimisation described by a composed config, in three stages: the plan
    (everything resolved and checked before any model loads), the stages (one per scale,
    :mod:`paramart.runner.session`), and the finish (the run folder's other files).

    ``content``/``style`` may pass images directly (PIL or path), overriding the config's.
    When ``out_dir`` is given, ``final.png``, ``losses.csv``, ``checkpoint.pt``, the
    time-lapse, ``losses.png``, ``run.json`` and ``inputs/`` go there. ``observers`` watch
    the run (:class:`paramart.runner.events.Observer`); ``preview=True`` shows it in a
    notebook cell (:mod:`paramart.outputs.notebook`), ``preview.enabled`` on a web page.

    When ``content=`` names a video file or a folder of frames, the clip is styled frame by
    frame (:mod:`paramart.video`) and ``Result.video`` holds the frames.
    """
    if content is None and style is None and is_video(cfg.content):
        return _run_clip(cfg, out_dir, observers, preview)
    plan = check(cfg, content, style)
    watch = Watch(plan, out_dir, notebook=preview)  # listens now (busy ports: refused here); serves from stage 1
    try:
        if out_dir is not None:
            claim_run_dir(cfg, Path(out_dir))
        seed_everything(cfg.seed)
        vgg = load_model(plan)
    except BaseException:
        watch.release()
        raise
    out = Path(out_dir) if out_dir is not None else None
    timelapse = make_timelapse(cfg, out, plan.canvas) if out is not None else None
    watchers = [*([timelapse] if timelapse is not None else []), *observers, *([watch] if watch.active else [])]
    try:
        outcome = run_stages(plan, vgg, out, watchers)
    except BaseException as exc:
        status = "stopped" if isinstance(exc, KeyboardInterrupt) else "failed"
        for o in watchers:
            o.on_end(status)
        raise
    for o in watchers:
        o.on_end("done")
    if out is not None:
        if timelapse is not None:
            timelapse.write()
        if plan.print_size is not None:
            write_print(outcome.param, plan.print_size, out / PRINT)
            if outcome.canvas is not None:  # the canvas run's image, before the print stage changed the field
                save_image(outcome.canvas, out / CANVAS)
        finish_run_dir(out, plan, outcome.history, precision=vgg.precision)
    return Result(image=outcome.image, history=outcome.history, param=outcome.param, out_dir=out)


def _run_clip(cfg: DictConfig, out_dir: str | Path | None, observers: Sequence[Observer], preview: bool) -> Result:
    """``content=`` a clip (:mod:`paramart.video`): planned (everything checked), then the preview
    (which shows the frame being styled), the model, the clip."""
    from paramart.video.run import plan_video, run_video

    planned = plan_video(cfg)
    watch = Watch(planned[1], out_dir, notebook=preview)
    try:
        if out_dir is not None:
            claim_run_dir(cfg, Path(out_dir))
    except BaseException:
        watch.release()
        raise
    watchers = [*observers, *([watch] if watch.active else [])]
    try:
        clip = run_video(cfg, out_dir, load_model, watchers, planned)
    except BaseException as exc:
        for o in watchers:  # the preview's on_end stops its server
            o.on_end("stopped" if isinstance(exc, KeyboardInterrupt) else "failed")
        raise
    for o in watchers:
        o.on_end("done")
    return Result(to_tensor(clip.frames[-1]), History(), None, clip.out_dir, video=clip)


def check(cfg: DictConfig, content: ImageInput | None = None,
          style: ImageInput | Sequence[ImageInput] | None = None) -> Plan:
    """Everything a run checks before any model loads (:func:`paramart.runner.plan.make_plan`:
    every value, the inputs, the checkpoint to resume, the preview settings);
    :class:`ParamartError` naming the key, else the plan. Loads and writes nothing; reads the inputs."""
    return make_plan(cfg, content, style)


def claim_run_dir(cfg: DictConfig, out: Path) -> None:
    """``out`` becomes this run's folder (:mod:`paramart.io.claim`): refused when it holds
    another run, unless ``overwrite=true`` or the run resumes itself in place."""
    from paramart.runner.resume import run_dir_of

    spec = cfg.get("resume")
    try:
        in_place = bool(spec) and run_dir_of(str(spec)).resolve() == out.expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        in_place = False
    claim(out, overwrite=bool(cfg.get("overwrite")) or in_place, key="out_dir")


def compose(overrides: Sequence[str] = ()) -> DictConfig:
    """The config the ``paramart`` command would use with these command-line overrides."""
    register_configs()
    with initialize_config_module(config_module="paramart.conf", version_base="1.3"):
        return hydra_compose(config_name="config", overrides=list(overrides))


_GROUPS = ("param", "model", "optim", "objective", "experiment")


def stylize(
    content: ImageInput | None = None,
    style: ImageInput | Sequence[ImageInput] | None = None,
    *,
    out_dir: str | Path | None = None,
    overrides: Sequence[str] = (),
    **values: Any,
) -> Result:
    """Compose the packaged config, apply ``values`` and run.

    Config groups are chosen by name (``param="pixel"``, ``optim="adam"``); other
    keyword arguments set keys, dotted ones via ``overrides`` (``["objective.style.weight=1e4"]``).
    """
    preview = bool(values.pop("preview", False))  # the notebook cell; the web page is preview.enabled
    groups = [f"{k}={values.pop(k)}" for k in _GROUPS if k in values]
    cfg = compose([*groups, *overrides])
    # Paths and sample names go into the config (so the run records them and resume= finds
    # them); images and pixels pass directly (run.json then says they came from Python).
    if content is not None:
        content = image_input(content, "content")
        if isinstance(content, str):
            values["content"], content = content, None
    if style is not None:
        styles = as_list(style, "style")
        if all(isinstance(s, str) for s in styles):
            values["style"] = styles[0] if isinstance(style, str | os.PathLike) else styles
            style = None
        else:
            style = styles
    for key, value in values.items():
        if key not in cfg:
            raise ParamartError(f"unknown option {key!r}")
        OmegaConf.update(cfg, key, value, merge=False)
    return run(cfg, out_dir, content=content, style=style, preview=preview)
