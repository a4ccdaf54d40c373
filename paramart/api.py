"""The Python API. The ``paramart`` command is a thin Hydra layer over :func:`run`.

In a notebook::

    import paramart
    result = paramart.stylize(content="photo.jpg", style="painting.jpg", param="pixel",
                              size=256, steps=200)
    result.pil          # PIL image
    result.history      # losses per logged step
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra import compose as hydra_compose
from hydra import initialize_config_module
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from paramart.config import register_configs
from paramart.errors import ParamartError
from paramart.io.images import fit_size, load_image, to_pil, to_tensor
from paramart.model.vgg import VGG19, check_speed_settings, deepest
from paramart.objectives.color import ColorPreservation
from paramart.objectives.masks import style_masks
from paramart.objectives.objective import Objective, style_transfer
from paramart.objectives.transforms import RandomWarp
from paramart.outputs.rundir import finish_run_dir, make_timelapse
from paramart.params.base import Parameterization
from paramart.runner.loop import History, Progress, make_optimizer, optimize
from paramart.runner.stages import stages
from paramart.runner.state import RunState, explain_out_of_memory, load_resume
from paramart.tiling import setup as tiling

ImageInput = str | Image.Image


@dataclass
class Result:
    image: torch.Tensor  #: (1, 3, H, W) in [0, 1], on the CPU
    history: History
    param: Parameterization
    out_dir: Path | None

    @property
    def pil(self) -> Image.Image:
        return to_pil(self.image)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ParamartError(f"device={name!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParamartError(f"device={name} was asked for but no CUDA GPU is available; use device=auto or cpu")
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str | Image.Image):
        return [value]
    return list(value)


def _open(image: ImageInput, max_pixels: int) -> Image.Image:
    return image.convert("RGB") if isinstance(image, Image.Image) else load_image(image, max_pixels)


def _fit(image: Image.Image, longest: int, what: str) -> tuple[int, int]:
    """(height, width) of ``image`` scaled to ``longest``, refused when VGG-19 could not see it."""
    h, w = fit_size(image.width, image.height, longest)
    if min(h, w) < 16:
        raise ParamartError(
            f"the {what} is {image.width}x{image.height} px: at {longest} px its short side would be "
            f"{min(h, w)} px but VGG-19 needs 16; crop it to a less extreme shape or raise size="
        )
    return h, w


def canvas_size(content: Image.Image | None, size: int) -> tuple[int, int]:
    """(height, width): the content image's aspect with the longest side ``size``; square without one."""
    if size < 16:
        raise ParamartError(f"size={size} is too small; VGG-19 needs at least 16 px")
    if content is None:
        return size, size
    return _fit(content, size, "content image")


def build_objective(
    cfg: DictConfig, vgg: VGG19, content: torch.Tensor | None, styles: list[torch.Tensor],
    masks: list[torch.Tensor] | None = None,
) -> Objective:
    o = cfg.objective
    return style_transfer(
        vgg, content, styles,
        content_weight=o.content_weight, style_weight=o.style_weight, tv_weight=o.tv_weight,
        content_layers=list(o.content_layers), style_layers=list(o.style_layers),
        content_layer_weights=o.content_layer_weights, style_layer_weights=o.style_layer_weights,
        style_blend=cfg.style_blend, style_masks=masks,
        dream_weight=o.dream_weight, dream_layer=o.dream_layer, dream_channels=o.dream_channels,
    )


def needed_layers(cfg: DictConfig) -> list[str]:
    dream = [cfg.objective.dream_layer] if cfg.objective.dream_weight > 0 else []
    return list(cfg.objective.content_layers) + list(cfg.objective.style_layers) + dream


@dataclass
class _Stage:
    """Targets and objective at one canvas size (one scale of a schedule)."""

    size: tuple[int, int]
    content: torch.Tensor | None  #: the content photo at this size, in colour (for init and colour)
    objective: Objective


def _build_stage(cfg: DictConfig, vgg: VGG19, content_img: Image.Image | None, style_imgs: list[Image.Image],
                 longest: int, color: ColorPreservation, warp: RandomWarp, device: torch.device) -> _Stage:
    size = canvas_size(content_img, longest)
    style_longest = max(16, round(longest * cfg.objective.style_scale))
    content_t = to_tensor(content_img, size).to(device) if content_img is not None else None
    style_ts = [to_tensor(s, _fit(s, style_longest, "style image")).to(device) for s in style_imgs]
    style_ts = [color.style(s, content_t) for s in style_ts]
    masks = None
    if cfg.style_masks is not None:
        masks = [m.to(device) for m in style_masks(list(cfg.style_masks), size, cfg.mask_feather)]
    tiles = tiling.decide(cfg, size, device, vgg.precision, needed_layers(cfg))  # print sizes: paramart.tiling
    with tiling.targets_in_tiles(vgg, tiles):
        objective = build_objective(cfg, vgg, color.content(content_t), style_ts, masks)
    before_vgg = [t for t in (color.transform(), warp if warp.active else None) if t is not None]
    if before_vgg:
        objective.transform = torch.nn.Sequential(*before_vgg)
    tiling.attach(objective, tiles, size)
    objective.tile_plan = tiles
    return _Stage(size, content_t, objective)


def _rescale(param: Parameterization, size: tuple[int, int]) -> None:
    param.rescale(size)
    got = tuple(param.render().shape[-2:])
    if got != tuple(size):
        raise ParamartError(
            f"{type(param).__name__} rendered {got} after rescale({size}); it does not support "
            "schedule.scales (override Parameterization.rescale), so use schedule.scales=null"
        )


@explain_out_of_memory
def run(
    cfg: DictConfig,
    out_dir: str | Path | None = None,
    *,
    content: ImageInput | None = None,
    style: ImageInput | Sequence[ImageInput] | None = None,
) -> Result:
    """Run one optimisation described by a composed config.

    ``content``/``style`` may pass images directly (PIL or path), overriding the config's.
    When ``out_dir`` is given, ``final.png``, ``losses.csv`` and ``checkpoint.pt`` go there
    (see :mod:`paramart.runner.state` for periodic saves, stopping and ``resume=``).
    """
    t_start = time.perf_counter()
    check_speed_settings(cfg.model.precision, cfg.model.channels_last, cfg.model.compile)
    tiling.check(cfg)
    if cfg.max_seconds is not None and cfg.max_seconds <= 0:
        raise ParamartError(f"max_seconds={cfg.max_seconds} must be positive (or null for no time limit)")
    # Inputs first: bad paths fail before any model is loaded.
    content_img = _open(content if content is not None else cfg.content, cfg.max_input_pixels) if (
        content is not None or cfg.content is not None) else None
    styles_in = _as_list(style if style is not None else cfg.style)
    style_imgs = [_open(s, cfg.max_input_pixels) for s in styles_in]
    dreaming = cfg.objective.dream_weight > 0
    if cfg.objective.content_weight <= 0 and not dreaming:
        content_img = None  # pure texture synthesis: no content, square canvas, noise init
    if not style_imgs and content_img is None and not dreaming:
        raise ParamartError("nothing to optimise for: give style=... and/or content=...")
    if cfg.steps < 0:
        raise ParamartError(f"steps={cfg.steps} must be zero or more")
    if cfg.style_masks is not None and len(cfg.style_masks) != len(style_imgs):
        raise ParamartError(
            f"style_masks has {len(cfg.style_masks)} masks for {len(style_imgs)} style images; give one per style"
        )
    color = ColorPreservation(cfg.preserve_color, content_img is not None)
    warp = RandomWarp(cfg.transforms.jitter, cfg.transforms.scale, cfg.transforms.rotate)
    # the smallest longest side that keeps the shorter one at VGG's 16 px
    aspect = 1.0 if content_img is None else max(content_img.size) / min(content_img.size)
    plan = stages(cfg.size, cfg.steps, cfg.schedule.scales, cfg.schedule.shares, min_longest=math.ceil(16 * aspect))
    size = canvas_size(content_img, cfg.size)  # a too-small size fails before VGG loads
    for s in style_imgs:
        _fit(s, max(16, round(cfg.size * cfg.objective.style_scale)), "style image")
    resume = load_resume(cfg, size)  # a bad checkpoint fails before any model is loaded
    if resume is not None and len(plan) > 1:
        raise ParamartError("resume= does not combine with schedule.scales; resume with schedule.scales=null")

    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    vgg = VGG19(cfg.model.weights, pooling=cfg.model.pooling.value if hasattr(cfg.model.pooling, "value")
                else cfg.model.pooling, last_layer=deepest(needed_layers(cfg)),
                preprocess=cfg.model.preprocess).to(device)
    vgg.configure(cfg.model.precision, cfg.model.channels_last, cfg.model.compile)
    out = Path(out_dir) if out_dir is not None else None
    timelapse = make_timelapse(cfg, out, size) if out is not None else None

    # One stage per scale (one in all without a schedule): targets at that size, the
    # parameterization carried up, a fresh optimizer (see paramart/runner/stages.py).
    # losses.csv, periodic and final saves, resume, Ctrl-C / NaN / out-of-memory: paramart.runner.state
    param: Parameterization | None = None
    state: RunState | None = None
    history = History()
    done = 0
    planned = 0
    for longest, steps in plan:
        planned += steps
        # a time budget is shared out like the steps: each scale ends by its share of it
        deadline = None if cfg.max_seconds is None else t_start + cfg.max_seconds * planned / max(1, cfg.steps)
        stage = _build_stage(cfg, vgg, content_img, style_imgs, longest, color, warp, device)
        if param is None:
            param = instantiate(cfg.param, size=stage.size, init_image=stage.content).to(device)
        else:
            _rescale(param, stage.size)
        optimizer = make_optimizer(tiling.fit_optimizer(instantiate(cfg.optim), stage.objective.tile_plan), param)
        if state is None:
            columns = ["step", "total", *dict.fromkeys(["content", "style", "tv", *stage.objective.groups]),
                       "seconds"]
            state = RunState(cfg, out, param, optimizer, columns)
            done = state.begin(resume)
            run_t0 = time.perf_counter()
            steps -= done  # resuming (single scale only): the steps left
        else:
            state.next_stage(optimizer)
        if timelapse is not None:
            timelapse.capture(done, color.finish(param.render(), stage.content), force=True)

        def on_step(step: int, stage: _Stage = stage, state: RunState = state, param: Parameterization = param) -> None:
            state.on_step(step)
            if timelapse is not None and timelapse.due(step):
                timelapse.capture(step, color.finish(param.render(), stage.content))

        def on_log(entry: Progress, stage_t0: float = time.perf_counter() - run_t0, state: RunState = state) -> None:
            entry.seconds += stage_t0  # seconds since the run's first stage began
            state.on_log(entry)

        with state.guard():
            part = optimize(param, stage.objective, optimizer, steps, start_step=done, log_every=cfg.log_every,
                            progress=cfg.progress, on_log=on_log, on_step=on_step, deadline=deadline)
        history.rows += part.rows
        history.steps += part.steps
        history.evaluations += part.evaluations
        done += part.steps
    image = color.finish(param.render(), stage.content).cpu()
    state.finish(image)
    if out is not None:
        if timelapse is not None:
            timelapse.capture(done, image, force=True)
            timelapse.write()
        finish_run_dir(out, cfg, history, content_img, style_imgs, device, precision=vgg.precision)
    return Result(image=image, history=history, param=param, out_dir=out)


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
    keyword arguments set keys, dotted ones via ``overrides`` (``["objective.style_weight=1e4"]``).
    """
    groups = [f"{k}={values.pop(k)}" for k in _GROUPS if k in values]
    cfg = compose([*groups, *overrides])
    # Paths and sample names go into the config (so the run records them); PIL images pass directly.
    if isinstance(content, str):
        values["content"], content = content, None
    if isinstance(style, str) or (style is not None and not isinstance(style, Image.Image)
                                  and all(isinstance(s, str) for s in style)):
        values["style"], style = (style if isinstance(style, str) else list(style)), None
    for key, value in values.items():
        if key not in cfg:
            raise ParamartError(f"unknown option {key!r}")
        OmegaConf.update(cfg, key, value, merge=False)
    return run(cfg, out_dir, content=content, style=style)
