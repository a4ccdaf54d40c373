"""The plan: everything a run needs, resolved and checked before any model loads.

Bad input (a missing image, a size VGG-19 cannot see, a checkpoint that does not fit,
an impossible setting) fails here, in seconds, with one line, before the network loads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from hydra.utils import get_class
from omegaconf import DictConfig
from PIL import Image

from paramart.errors import ParamartError
from paramart.io.images import fit_size, load_image
from paramart.model.layers import deepest
from paramart.model.vgg import resolve_precision
from paramart.objectives.objective import check_terms, needed_layers, term_configs
from paramart.objectives.zoom import check_zoom
from paramart.runner.resume import Resume, load_resume
from paramart.runner.stages import stages
from paramart.runner.validate import check_masks, validate
from paramart.tiling import setup as tiling

ImageInput = str | Image.Image


@dataclass(frozen=True)
class Plan:
    cfg: DictConfig
    content: Image.Image | None  #: None for texture synthesis
    styles: tuple[Image.Image, ...]
    canvas: tuple[int, int]  #: (height, width) at full size
    schedule: tuple[tuple[int, int], ...]  #: (longest side, steps) of each stage
    resume: Resume | None
    device: torch.device
    last_layer: str  #: the deepest VGG layer any term reads (the network is cut there)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise ParamartError(f"device={name!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise ParamartError(f"device={name} is not one paramart runs on; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and device.index is not None and device.index >= max(1, torch.cuda.device_count()):
        raise ParamartError(f"device={name}: there is no GPU number {device.index}; use device=cuda or auto")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParamartError(f"device={name} was asked for but no CUDA GPU is available; use device=auto or cpu")
    return device


def as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str | Image.Image):
        return [value]
    return list(value)


def open_input(image: ImageInput, max_pixels: int) -> Image.Image:
    return image.convert("RGB") if isinstance(image, Image.Image) else load_image(image, max_pixels)


def fit(image: Image.Image, longest: int, what: str, fix: str = "raise size=") -> tuple[int, int]:
    """(height, width) of ``image`` scaled to ``longest``, refused when VGG-19 could not see it."""
    h, w = fit_size(image.width, image.height, longest)
    if min(h, w) < 16:
        raise ParamartError(
            f"the {what} is {image.width}x{image.height} px: at {longest} px its short side would be "
            f"{min(h, w)} px but VGG-19 needs 16; crop it to a less extreme shape or {fix}"
        )
    return h, w


def style_longest(cfg: DictConfig, longest: int) -> int:
    """The style images' longest side at a stage whose canvas is ``longest`` px (as build_stage resizes them)."""
    return max(16, round(longest * cfg.objective.style_scale))


def check_style_at_every_scale(cfg: DictConfig, image: Image.Image, stage_sides: Sequence[int],
                               aspect: float) -> None:
    """The style image stays visible to VGG-19 (16 px on its short side) at every scale of
    the schedule, and the advice names a value that works: the smallest ``size=`` for which
    every scale passes."""
    for longest in stage_sides:
        h, w = fit_size(image.width, image.height, style_longest(cfg, longest))
        if min(h, w) >= 16:
            continue
        needed = _size_that_fits(cfg, image, aspect)
        scales = cfg.schedule.scales
        where = f" (the schedule's {longest} px scale)" if scales and longest != stage_sides[-1] else ""
        fix = (f"raise size= to {needed} or more" if needed is not None else "crop it to a less extreme shape")
        if cfg.objective.style_scale < 1:
            fix += f", or raise objective.style_scale= (now {cfg.objective.style_scale})"
        if scales:
            fix += ", or start the schedule at a larger scale (schedule.scales=)"
        raise ParamartError(
            f"the style image is {image.width}x{image.height} px: at {style_longest(cfg, longest)} px{where} its "
            f"short side would be {min(h, w)} px but VGG-19 needs 16; {fix}")


def _size_that_fits(cfg: DictConfig, image: Image.Image, aspect: float) -> int | None:
    """The smallest ``size=`` at which the style image is 16 px on its short side at every scale."""
    for size in range(cfg.size, 32769):
        sides = [side for side, _ in stages(size, max(cfg.steps, len(cfg.schedule.scales or [1])),
                                             cfg.schedule.scales, cfg.schedule.shares,
                                             min_longest=math.ceil(16 * aspect))]
        if all(min(fit_size(image.width, image.height, style_longest(cfg, s))) >= 16 for s in sides):
            return size
    return None


def style_fix(cfg: DictConfig) -> str:
    """What to change when a style image is too small: ``style_scale`` when it is the cause."""
    scale = cfg.objective.style_scale
    return "raise size=" if scale >= 1 else f"raise objective.style_scale= (now {scale}) or size="


def canvas_size(content: Image.Image | None, size: int) -> tuple[int, int]:
    """(height, width): the content image's aspect with the longest side ``size``; square without one."""
    if size < 16:
        raise ParamartError(f"size={size} is too small; VGG-19 needs at least 16 px")
    if content is None:
        return size, size
    return fit(content, size, "content image")


def weight(cfg: DictConfig, term: str) -> float:
    node = term_configs(cfg.objective).get(term)
    return 0.0 if node is None else float(node.weight)


def check_zoom_untiled(cfg: DictConfig, canvas: tuple[int, int], layers: list[str]) -> None:
    """Zoom training scores whole canvases: refuse an explicit ``model.tile=N``, and a canvas
    that ``model.tile=auto`` would tile (it does not fit ``model.memory_budget``)."""
    setting = cfg.model.get("tile")
    if setting is None:
        return
    device = resolve_device(cfg.device)
    tiles = None if setting == "auto" else setting
    if setting == "auto":
        tiles = tiling.decide(cfg, canvas, device, resolve_precision(cfg.model.precision, device), layers).tile
    if tiles is not None:
        why = "model.tile=auto would tile this canvas (it does not fit model.memory_budget)" if setting == "auto" \
            else f"model.tile={setting} tiles the canvas"
        raise ParamartError(f"zoom.levels does not combine with a tiled canvas: {why}; use model.tile=null or "
                            "a smaller size= (zoom training is for coordinate networks learned at small sizes)")


def make_plan(cfg: DictConfig, content: ImageInput | None = None,
              style: ImageInput | Sequence[ImageInput] | None = None) -> Plan:
    """Resolve and check ``cfg`` (``content``/``style`` may pass images directly)."""
    validate(cfg)  # every value that reaches the math (paramart/runner/validate.py)
    tiling.check(cfg)
    check_terms(cfg.objective, masks=cfg.style_masks is not None, blend=cfg.style_blend is not None)
    layers = needed_layers(cfg.objective)  # known layer names: validate() checked them
    # Inputs first: bad paths fail before any model is loaded.
    content_spec = content if content is not None else cfg.content
    content_img = open_input(content_spec, cfg.max_input_pixels) if content_spec is not None else None
    style_imgs = tuple(open_input(s, cfg.max_input_pixels) for s in as_list(style if style is not None else cfg.style))
    dreaming = weight(cfg, "dream") > 0
    if weight(cfg, "content") <= 0 and not dreaming:
        content_img = None  # pure texture synthesis: no content, square canvas, noise init
    if not style_imgs and content_img is None and not dreaming:
        raise ParamartError("nothing to optimise for: give style=... and/or content=...")
    if cfg.style_masks is not None and len(cfg.style_masks) != len(style_imgs):
        raise ParamartError(
            f"style_masks has {len(cfg.style_masks)} masks for {len(style_imgs)} style images; give one per style"
        )
    # the smallest longest side that keeps the shorter one at VGG's 16 px
    aspect = 1.0 if content_img is None else max(content_img.size) / min(content_img.size)
    schedule = stages(cfg.size, cfg.steps, cfg.schedule.scales, cfg.schedule.shares, min_longest=math.ceil(16 * aspect))
    canvas = canvas_size(content_img, cfg.size)
    for s in style_imgs:
        check_style_at_every_scale(cfg, s, [longest for longest, _ in schedule], aspect)
    check_masks(cfg.style_masks, canvas, cfg.max_input_pixels)
    resume = load_resume(cfg, canvas)  # a bad checkpoint fails before any model is loaded
    if check_zoom(cfg.zoom.levels, cfg.zoom.weight, get_class(cfg.param._target_).tileable, cfg.param._target_):
        check_zoom_untiled(cfg, canvas, layers)
    if cfg.param.get("init") == "content" and content_img is None:
        raise ParamartError("param.init=content needs a content image (and a content weight); use param.init=auto")
    if resume is not None and len(schedule) > 1:
        raise ParamartError("resume= does not combine with schedule.scales; resume with schedule.scales=null")
    return Plan(cfg, content_img, style_imgs, canvas, tuple(schedule), resume, resolve_device(cfg.device),
                deepest(layers) if layers else "conv1_1")
