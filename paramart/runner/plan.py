"""The plan: everything a run needs, resolved and checked before any model loads.

Bad input (a missing image, a size VGG-19 cannot see, a checkpoint that does not fit,
an impossible setting) fails here, in seconds, with one line, before the network loads.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from PIL import Image

from paramart.device import resolve_device
from paramart.errors import ParamartError
from paramart.evaluation.choose import tiling
from paramart.evaluation.print_crops import print_style_size
from paramart.geometry import canvas_size, fit_size
from paramart.io.images import load_image
from paramart.model.layers import deepest
from paramart.model.vgg import resolve_precision
from paramart.objectives.objective import check_terms, needed_layers, weighted_term_classes
from paramart.params.base import check_param_config
from paramart.runner.resume import Resume, load_resume
from paramart.runner.schedule import schedule as make_schedule
from paramart.runner.validate import check_masks, validate

#: an image as Python may pass it: a path or sample:NAME, a PIL image, or pixels (:func:`image_input`)
ImageInput = str | os.PathLike | Image.Image | np.ndarray | torch.Tensor


@dataclass(frozen=True)
class Plan:
    """A checked run: the config, the opened input images (8-bit RGB, no larger than
    ``max_input_pixels``) and what follows from them; made by :func:`make_plan` before any model loads."""

    cfg: DictConfig  #: the run's config, validated (:func:`paramart.runner.validate.validate`)
    content: Image.Image | None  #: None for texture synthesis
    styles: tuple[Image.Image, ...]  #: the style images, in config order; () for none
    canvas: tuple[int, int]  #: (height, width) at full size
    schedule: tuple[tuple[int, int], ...]  #: (longest side, steps) of each stage
    resume: Resume | None  #: the checkpoint to continue (``resume=``), checked; None for a new run
    device: torch.device  #: where the run computes (``device=auto`` resolved)
    last_layer: str  #: the deepest VGG layer any term reads (the network is cut there)
    #: what the canvas starts from instead of the content photo, (1, 3, H, W) in [0, 1]: a video
    #: frame's warped previous result (paramart.video); None: the content photo, as for stills
    init: torch.Tensor | None = None
    #: per-run images for terms (paramart.objectives.term.Inputs.guides), at the canvas size
    guides: tuple[tuple[str, torch.Tensor], ...] = ()
    #: (height, width) of ``print.png`` when the run has a print stage (``print.size``); None: none
    print_size: tuple[int, int] | None = None
    #: the painting's long side at print scale (``print.style_size`` resolved), px; None: no print stage
    print_style: int | None = None
    content_name: str | None = None  #: the content's path or sample name as run.json records it
    style_names: tuple[str, ...] = ()  #: the same for each style


def image_input(value: Any, key: str) -> str | Image.Image:
    """An image given from Python as it is passed on: a path (``str`` or ``os.PathLike``) or
    ``sample:NAME`` as text, a PIL image, or pixels (an (H, W, 3) array or a (3, H, W) /
    (1, 3, H, W) tensor, 8-bit or in [0, 1]) as a PIL image; anything else is one line naming ``key``."""
    if isinstance(value, str | Image.Image):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, torch.Tensor | np.ndarray):
        array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        if array.ndim == 4 and array.shape[0] == 1:
            array = array[0]
        if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
            array = array.transpose(1, 2, 0)  # channels first, as torch keeps images
        if array.ndim == 2:
            array = array[..., None]
        if array.ndim != 3 or array.shape[-1] not in (1, 3) or min(array.shape[:2]) < 1 or array.size > 2**28:
            raise ParamartError(f"{key}: an array of shape {tuple(value.shape)} is not an image; give (H, W, 3) "
                                "pixels or a (3, H, W) tensor")
        if array.dtype != np.uint8:
            array = array.astype(np.float64)
            if not np.isfinite(array).all():
                raise ParamartError(f"{key}: the array holds NaN or infinite values")
            array = (np.clip(array, 0, 1) * 255).round().astype(np.uint8)
        return Image.fromarray(np.repeat(array, 3, axis=-1) if array.shape[-1] == 1 else array, "RGB")
    raise ParamartError(f"{key}: give a file path, sample:NAME, a PIL image or an array of pixels, "
                        f"not a {type(value).__name__}")


def as_list(value: Any, key: str = "style") -> list:
    """``value`` as a list of images (:func:`image_input`): [] for None, one for a single path,
    image or array, else one per entry; :class:`ParamartError` naming ``key`` for anything else."""
    if value is None:
        return []
    if isinstance(value, str | os.PathLike | Image.Image | torch.Tensor | np.ndarray):
        return [image_input(value, key)]
    if not isinstance(value, Sequence):
        raise ParamartError(f"{key}: give an image or a list of images, not a {type(value).__name__}")
    return [image_input(v, f"{key}[{i}]") for i, v in enumerate(value)]


def input_name(image: ImageInput | None) -> str | None:
    """What ``run.json`` says an input was: its path or sample name, or that Python passed the pixels."""
    if image is None:
        return None
    return image if isinstance(image, str) else "(pixels passed from Python)"


def open_input(image: ImageInput, max_pixels: int) -> Image.Image:
    """A PIL image as RGB, or the image file or sample at ``image`` loaded as 8-bit RGB. Raises
    :class:`ParamartError` for a missing, unreadable or larger than ``max_pixels`` file."""
    return image.convert("RGB") if isinstance(image, Image.Image) else load_image(image, max_pixels)


def style_fix(cfg: DictConfig) -> str:
    """What to change when a style image is too small: ``style_scale`` when it is the cause."""
    scale = cfg.objective.style_scale
    return "raise size=" if scale >= 1 else f"raise objective.style_scale= (now {scale}) or size="


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
        where = f", for the schedule's {longest} px scale," if scales and longest != stage_sides[-1] else ""
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
        sides = [side for side, _ in make_schedule(size, max(cfg.steps, len(cfg.schedule.scales or [1])),
                                             cfg.schedule.scales, cfg.schedule.shares,
                                             min_longest=math.ceil(16 * aspect))]
        if all(min(fit_size(image.width, image.height, style_longest(cfg, s))) >= 16 for s in sides):
            return size
    return None


def check_zoom_untiled(cfg: DictConfig, canvas: tuple[int, int], layers: list[str]) -> None:
    """Zoom training scores whole canvases: refuse an explicit ``model.tile=N``, and a canvas
    that ``model.tile=auto`` would tile (it does not fit ``model.memory_budget``)."""
    setting = cfg.model.get("tile")
    if setting is None:
        return
    device = resolve_device(cfg.device)
    tiles = None if setting == "auto" else setting
    if setting == "auto":
        tiles = tiling(cfg, canvas, device, resolve_precision(cfg.model.precision, device), layers).tile
    if tiles is not None:
        why = "model.tile=auto would tile this canvas (it does not fit model.memory_budget)" if setting == "auto" \
            else f"model.tile={setting} tiles the canvas"
        raise ParamartError(f"zoom.levels does not combine with a tiled canvas: {why}; use model.tile=null or "
                            "a smaller size= (zoom training is for coordinate networks learned at small sizes)")


def make_plan(cfg: DictConfig, content: ImageInput | None = None,
              style: ImageInput | Sequence[ImageInput] | None = None) -> Plan:
    """Resolve and check ``cfg`` (``content``/``style`` may pass images directly)."""
    validate(cfg)  # every value that reaches the math (paramart/runner/validate.py)
    check_terms(cfg.objective, masks=cfg.style_masks is not None, blend=cfg.style_blend is not None)
    layers = needed_layers(cfg.objective)  # known layer names: validate() checked them
    # Inputs first: bad paths fail before any model is loaded.
    content_spec = image_input(content, "content") if content is not None else cfg.content
    content_img = open_input(content_spec, cfg.max_input_pixels) if content_spec is not None else None
    style_specs = as_list(style if style is not None else cfg.style)
    style_imgs = tuple(open_input(s, cfg.max_input_pixels) for s in style_specs)
    terms = weighted_term_classes(cfg.objective).values()
    alone = any(t.stands_alone for t in terms)
    if not alone and not any("content" in t.needs for t in terms):
        content_img = None  # pure texture synthesis: no content, square canvas, noise init
    if not style_imgs and content_img is None and not alone:
        raise ParamartError("nothing to optimise for: give style=... and/or content=...")
    if cfg.style_masks is not None and len(cfg.style_masks) != len(style_imgs):
        raise ParamartError(
            f"style_masks has {len(cfg.style_masks)} masks for {len(style_imgs)} style images; give one per style"
        )
    # the smallest longest side that keeps the shorter one at VGG's 16 px
    aspect = 1.0 if content_img is None else max(content_img.size) / min(content_img.size)
    schedule = make_schedule(cfg.size, cfg.steps, cfg.schedule.scales, cfg.schedule.shares,
                             min_longest=math.ceil(16 * aspect))
    canvas = canvas_size(content_img, cfg.size)
    for s in style_imgs:
        check_style_at_every_scale(cfg, s, [longest for longest, _ in schedule], aspect)
    check_masks(cfg.style_masks, canvas, cfg.max_input_pixels)
    coordinates = check_param_config(cfg.param)[0].renders_regions
    # a coordinate image is the same field at every scale: it may resume from any of them
    sizes = [canvas_size(content_img, longest) for longest, _ in schedule] if coordinates else []
    resume = load_resume(cfg, canvas, sizes)  # a bad checkpoint fails before any model is loaded
    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.model.precision, device)
    for longest, _ in schedule:  # a canvas no tiling of model.memory_budget fits: refused now, not at its scale
        tiling(cfg, canvas_size(content_img, longest), device, precision, layers)
    if cfg.zoom.levels and any(float(z) > 1 for z in cfg.zoom.levels):
        check_zoom_untiled(cfg, canvas, layers)
    if cfg.param.get("init") == "content" and content_img is None:
        raise ParamartError("param.init=content needs a content image (and a content weight); use param.init=auto")
    print_size, print_style = None, None
    if cfg.print.size is not None:
        if not style_imgs:
            raise ParamartError("print.size needs a style image: the print's crops are scored against it")
        # the canvas magnified (its own aspect, not the photo's, which rounding changes): the print's
        # footprints of the canvas's pixels are then the same on both axes
        print_size = fit_size(canvas[1], canvas[0], cfg.print.size)
        print_style = print_style_size(cfg.print.style_size, [max(s.size) for s in style_imgs], cfg.print.crop)
    if resume is not None and len(schedule) > 1 and not coordinates:
        # a coordinate field is the same at every scale; a pixel grid's checkpoint has one scale's shape
        raise ParamartError("resume= does not combine with schedule.scales for this param; resume with "
                            "schedule.scales=null")
    return Plan(cfg, content_img, style_imgs, canvas, tuple(schedule), resume, device,
                deepest(layers) if layers else "conv1_1", print_size=print_size, print_style=print_style,
                content_name=input_name(content_spec) if content_img is not None else None,
                style_names=tuple(input_name(s) for s in style_specs))
