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
from omegaconf import DictConfig
from PIL import Image

from paramart.device import resolve_device
from paramart.errors import ParamartError
from paramart.geometry import canvas_size, fit
from paramart.io.images import load_image
from paramart.model.layers import deepest
from paramart.objectives.objective import needed_layers, weighted_term_classes
from paramart.runner.resume import Resume, load_resume
from paramart.runner.schedule import schedule as make_schedule
from paramart.runner.validate import check_masks, validate

ImageInput = str | Image.Image


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


def as_list(value: Any) -> list:
    """``value`` as a list: [] for None, ``[value]`` for one path or image, else ``list(value)``."""
    if value is None:
        return []
    if isinstance(value, str | Image.Image):
        return [value]
    return list(value)


def open_input(image: ImageInput, max_pixels: int) -> Image.Image:
    """A PIL image as RGB, or the image file or sample at ``image`` loaded as 8-bit RGB. Raises
    :class:`ParamartError` for a missing, unreadable or larger than ``max_pixels`` file."""
    return image.convert("RGB") if isinstance(image, Image.Image) else load_image(image, max_pixels)


def style_fix(cfg: DictConfig) -> str:
    """What to change when a style image is too small: ``style_scale`` when it is the cause."""
    scale = cfg.objective.style_scale
    return "raise size=" if scale >= 1 else f"raise objective.style_scale= (now {scale}) or size="


def make_plan(cfg: DictConfig, content: ImageInput | None = None,
              style: ImageInput | Sequence[ImageInput] | None = None) -> Plan:
    """Resolve and check ``cfg`` (``content``/``style`` may pass images directly)."""
    validate(cfg)  # every value that reaches the math (paramart/runner/validate.py)
    layers = needed_layers(cfg.objective)  # known layer names: validate() checked them
    # Inputs first: bad paths fail before any model is loaded.
    content_spec = content if content is not None else cfg.content
    content_img = open_input(content_spec, cfg.max_input_pixels) if content_spec is not None else None
    style_imgs = tuple(open_input(s, cfg.max_input_pixels) for s in as_list(style if style is not None else cfg.style))
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
        fit(s, max(16, round(cfg.size * cfg.objective.style_scale)), "style image", style_fix(cfg))
    check_masks(cfg.style_masks, canvas, cfg.max_input_pixels)
    resume = load_resume(cfg, canvas)  # a bad checkpoint fails before any model is loaded
    if cfg.param.get("init") == "content" and content_img is None:
        raise ParamartError("param.init=content needs a content image (and a content weight); use param.init=auto")
    if resume is not None and len(schedule) > 1:
        raise ParamartError("resume= does not combine with schedule.scales; resume with schedule.scales=null")
    return Plan(cfg, content_img, style_imgs, canvas, tuple(schedule), resume, resolve_device(cfg.device),
                deepest(layers) if layers else "conv1_1")
