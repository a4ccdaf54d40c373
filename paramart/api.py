"""The Python API. The ``paramart`` command is a thin Hydra layer over :func:`run`.

In a notebook::

    import paramart
    result = paramart.stylize(content="photo.jpg", style="painting.jpg", param="pixel",
                              size=256, steps=200)
    result.pil          # PIL image
    result.history      # losses per logged step
"""

from __future__ import annotations

import random
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
from paramart.images import fit_size, load_image, to_pil, to_tensor
from paramart.objective import Objective, style_transfer
from paramart.optimize import History, make_optimizer, optimize
from paramart.params.base import Parameterization
from paramart.rundir import finish_run_dir, make_timelapse
from paramart.runstate import RunState, explain_out_of_memory, load_resume
from paramart.vgg import VGG19, deepest

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


def build_objective(cfg: DictConfig, vgg: VGG19, content: torch.Tensor | None, styles: list[torch.Tensor]) -> Objective:
    o = cfg.objective
    return style_transfer(
        vgg, content, styles,
        content_weight=o.content_weight, style_weight=o.style_weight, tv_weight=o.tv_weight,
        content_layers=list(o.content_layers), style_layers=list(o.style_layers),
        content_layer_weights=o.content_layer_weights, style_layer_weights=o.style_layer_weights,
        style_blend=cfg.style_blend,
    )


def needed_layers(cfg: DictConfig) -> list[str]:
    return list(cfg.objective.content_layers) + list(cfg.objective.style_layers)


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
    (see :mod:`paramart.runstate` for periodic saves, stopping and ``resume=``).
    """
    # Inputs first: bad paths fail before any model is loaded.
    content_img = _open(content if content is not None else cfg.content, cfg.max_input_pixels) if (
        content is not None or cfg.content is not None) else None
    styles_in = _as_list(style if style is not None else cfg.style)
    style_imgs = [_open(s, cfg.max_input_pixels) for s in styles_in]
    if cfg.objective.content_weight <= 0:
        content_img = None  # pure texture synthesis: no content, square canvas, noise init
    if not style_imgs and content_img is None:
        raise ParamartError("nothing to optimise for: give style=... and/or content=...")
    if cfg.steps < 0:
        raise ParamartError(f"steps={cfg.steps} must be zero or more")

    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    size = canvas_size(content_img, cfg.size)
    style_longest = max(16, round(cfg.size * cfg.objective.style_scale))
    style_sizes = [_fit(s, style_longest, "style image") for s in style_imgs]
    resume = load_resume(cfg, size)  # a bad checkpoint fails before any model is loaded

    vgg = VGG19(cfg.model.weights, pooling=cfg.model.pooling.value if hasattr(cfg.model.pooling, "value")
                else cfg.model.pooling, last_layer=deepest(needed_layers(cfg)),
                preprocess=cfg.model.preprocess).to(device)
    content_t = to_tensor(content_img, size).to(device) if content_img is not None else None
    style_ts = [to_tensor(s, hw).to(device) for s, hw in zip(style_imgs, style_sizes)]
    objective = build_objective(cfg, vgg, content_t, style_ts)

    param: Parameterization = instantiate(cfg.param, size=size, init_image=content_t).to(device)
    optimizer = make_optimizer(instantiate(cfg.optim), param)

    out = Path(out_dir) if out_dir is not None else None
    columns = ["step", "total", *dict.fromkeys(["content", "style", "tv", *objective.groups]), "seconds"]
    # losses.csv, periodic and final saves, resume, Ctrl-C / NaN / out-of-memory: paramart.runstate
    state = RunState(cfg, out, param, optimizer, columns)
    start = state.begin(resume)
    timelapse = make_timelapse(cfg, out, size) if out is not None else None
    on_step = state.on_step
    if timelapse is not None:
        timelapse.capture(start, param.render(), force=True)

        def on_step(step: int) -> None:
            state.on_step(step)
            if step % timelapse.every == 0:
                timelapse.capture(step, param.render())

    with state.guard():
        history = optimize(param, objective, optimizer, cfg.steps - start, start_step=start,
                           log_every=cfg.log_every, progress=cfg.progress,
                           on_log=state.on_log, on_step=on_step)
    image = param.render().cpu()
    state.finish(image)
    if out is not None:
        if timelapse is not None:
            timelapse.capture(cfg.steps, image, force=True)
            timelapse.write()
        finish_run_dir(out, cfg, history, content_img, style_imgs, device)
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
