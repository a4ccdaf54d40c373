"""One validation pass over a composed config, before any model loads.

Every key that reaches the math is checked here, so a bad value is one line
(:class:`ParamartError`, exit 2, ``FAILED.json`` in a sweep) instead of a traceback, a
silent no-op or a result that means nothing. The rules, in order:

- every number anywhere in the config is finite (NaN slips through ``x < 0`` checks);
- the objective, term by term: a registered ``_target_``; ``weight`` at least 0; ``layers``
  known VGG-19 layers, not empty where the weight is positive and the term reads VGG;
  ``layer_weights`` one per layer, at least 0, not all 0; then the term's own settings
  (:meth:`paramart.objectives.term.Term.check_settings`: ``channels`` inside the layer ...);
- resize targets (``size``, the style size ``size * objective.style_scale``, time-lapse
  frames) within ``max_input_pixels`` as a square and at least VGG-19's 16 px;
- the optimiser (:func:`paramart.runner.optimizers.check_optim`), the run's counts
  (steps, seed in 64 bits, log/checkpoint intervals, time budget), the time-lapse, the
  schedule, the transforms, the device name, the model's settings;
- the tiling settings (``model.tile``, ``model.memory_budget``) and zoom training's levels;
- the parameterization, built once at 16 px: its own constructor's errors are found here.

:func:`check_masks` checks style masks against the canvas once its size is known.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import torch
from omegaconf import DictConfig, ListConfig, OmegaConf

from paramart.device import resolve_device
from paramart.errors import ParamartError
from paramart.evaluation.budget import resolve_budget
from paramart.evaluation.choose import check as check_tiling
from paramart.evaluation.print_crops import check_print
from paramart.evaluation.zoom_training import check_zoom
from paramart.model.layers import LAYER_NAMES
from paramart.model.vgg import check_speed_settings
from paramart.objectives.masks import BUILTINS, open_mask
from paramart.objectives.term import TERMS
from paramart.params.base import build_param
from paramart.runner.optimizers import check_optim, optimizer_class
from paramart.runner.preview_settings import check_preview
from paramart.runner.schedule import schedule
from paramart.trust import finite

#: a resize target's longest side, whatever max_input_pixels says
MAX_SIDE = 32768


def _fail(key: str, value: Any, rule: str) -> ParamartError:
    return ParamartError(f"{key}={_show(value)} {rule}")


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(_show(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # as typed: timelapse.fps=0, not 0.0
    return "null" if value is None else str(value)


def _whole(key: str, value: Any, low: int, high: int | None = None) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise _fail(key, value, f"must be a whole number {span}")


def _number(key: str, value: Any, low: float = 0.0, *, strict: bool = False) -> None:
    if not finite(value) or value < low or (strict and value <= low):
        raise _fail(key, value, f"must be a number {'above' if strict else 'of at least'} {low:g}")


#: where a ``_target_`` may stand: the parameterization, the optimiser, the objective's terms
_TARGETS = re.compile(r"^(param|optim|objective\.[A-Za-z0-9_]+)\._target_$")


def _walk(node: Any, prefix: str) -> None:
    """Every float in the config is finite; ``_target_`` only where paramart builds from it
    (from allow-lists: registered parameterizations, known optimisers, loss terms)."""
    if isinstance(node, Mapping):
        for k, v in node.items():
            if k == "_target_" and not _TARGETS.match(f"{prefix}{k}"):
                raise _fail(f"{prefix}{k}", v, "is not allowed here: paramart builds nothing from this key")
            _walk(v, f"{prefix}{k}.")
    elif isinstance(node, list):
        if any(isinstance(v, float) and not math.isfinite(v) for v in node):
            raise _fail(prefix.rstrip("."), node, "must hold finite numbers only")
        for v in node:
            _walk(v, prefix)
    elif isinstance(node, float) and not math.isfinite(node):
        raise _fail(prefix.rstrip("."), node, "must be a finite number")


def validate(cfg: DictConfig) -> None:
    """Refuse, with one line naming the key, any value a run cannot use. Loads nothing."""
    plain = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    plain.pop("hydra", None)
    _walk(plain, "")
    _inputs(plain)
    _counts(plain)
    _objective(plain.get("objective") or {})
    _sizes(plain)
    check_optim(cfg.optim)
    _timelapse(plain["timelapse"])
    schedule(plain["size"], plain["steps"], plain["schedule"]["scales"], plain["schedule"]["shares"])
    _transforms(plain["transforms"])
    resolve_device(plain["device"])
    _model(plain["model"])
    check_tiling(cfg)
    check_preview(cfg.preview)
    param = _param(cfg)
    _param_memory(cfg, param)
    check_print(plain["print"], plain["size"], param.renders_regions, cfg.param._target_,
                optimizer_class(cfg.optim) is torch.optim.Adam, plain["max_input_pixels"],
                plain["param"].get("finest"))
    if plain["print"]["size"] is not None and cfg.preserve_color is not None:
        raise ParamartError("print.size does not combine with preserve_color yet (print.png would need the "
                            "photo's colours at print size); give preserve_color=null")
    if plain["print"]["size"] is not None and cfg.style_masks is not None:
        raise ParamartError("print.size does not combine with style_masks (a crop is scored against the style "
                            "images, not their regions); use one or the other")
    zooms = check_zoom(cfg.zoom.levels, cfg.zoom.weight, param.renders_regions, cfg.param._target_)
    if zooms and cfg.zoom.weight > 0 and cfg.style_masks is not None:
        # a zoomed crop lies somewhere in the canvas: the masks' layout of the whole canvas is not its own
        raise ParamartError("zoom.levels does not combine with style_masks (a zoomed crop is scored against "
                            "the style images, not their regions); use one or the other")


#: bytes a learned float32 value takes with its gradient and Adam's two moments
BYTES_PER_PARAMETER = 4 * 4


def _param_memory(cfg: DictConfig, param) -> None:
    """Refuse a parameterization whose own state would not fit ``model.memory_budget`` (a hash
    grid's tables, with their gradient and optimiser state), naming the key to lower; measured
    on the 16 px test build, whose tables have their full size (their cells do not depend on
    the canvas). Pixel-sized state grows with the canvas and is the tiling's business."""
    if not param.renders_regions:
        return
    need = sum(p.numel() for p in param.parameters()) * BYTES_PER_PARAMETER
    budget = resolve_budget(cfg.model.get("memory_budget", "auto"), resolve_device(cfg.device))
    if need > budget:
        key = "param.log2_table" if "log2_table" in cfg.param else "param"
        raise ParamartError(f"{key}: the parameterization's tables need {need / 2**30:.1f} GiB with their gradients "
                            f"and Adam's state, over model.memory_budget ({budget / 2**30:.1f} GiB); use a smaller "
                            f"{key}")


def _inputs(c: dict) -> None:
    """``content`` a path or null; ``style`` a path or a list of them; ``style_masks`` names or paths."""
    if c["content"] is not None and (not isinstance(c["content"], str) or not c["content"].strip()):
        raise _fail("content", c["content"], "must be an image file, sample:NAME or null")
    style = c["style"]
    styles = [style] if isinstance(style, str) else style
    if style is not None and (not isinstance(styles, list) or not all(isinstance(s, str) and s.strip()
                                                                       for s in styles)):
        raise _fail("style", style, "must be an image file or sample:NAME, or a list of them")
    masks = c.get("style_masks")
    if masks is not None and not all(isinstance(m, str) and m.strip() for m in masks):
        raise _fail("style_masks", masks, "must be a list of mask names or image files, one per style")


def _counts(c: dict) -> None:
    _whole("steps", c["steps"], 0)
    _whole("seed", c["seed"], -(2**63), 2**64 - 1)
    _whole("log_every", c["log_every"], 1)
    _whole("checkpoint_every", c["checkpoint_every"], 0)
    _whole("max_input_pixels", c["max_input_pixels"], 1)
    if c.get("max_seconds") is not None:
        _number("max_seconds", c["max_seconds"], 0, strict=True)
    _number("mask_feather", c["mask_feather"], 0)
    if c.get("style_blend") is not None:
        blend = c["style_blend"]
        if not blend or any(not finite(b) or b < 0 for b in blend) or sum(blend) <= 0:
            raise _fail("style_blend", blend, "must be weights of at least 0, not all 0, one per style")


def _objective(node: dict) -> None:
    """``objective.style_scale``, and every term node (a child with a ``_target_``) by its schema."""
    for key, value in node.items():
        if key == "style_scale":
            _number("objective.style_scale", value, 0, strict=True)
        elif isinstance(value, dict):
            if "_target_" not in value:
                raise _fail(f"objective.{key}", "{...}", "is no loss term (it has no _target_); "
                            f"add one with +term@objective.{key}=KIND ({', '.join(TERMS.names())})")
            _term(value, f"objective.{key}.")


def _term(node: dict, prefix: str) -> None:
    """The keys every term has (``weight``, ``layers``, ``layer_weights``), then the term's own
    (:meth:`paramart.objectives.term.Term.check_settings`)."""
    entry = TERMS.entries().get(node["_target_"])
    if entry is None:
        raise _fail(f"{prefix}_target_", node["_target_"], f"is not a paramart loss term ({', '.join(TERMS.names())})")
    cls = entry.cls()
    weight = node.get("weight", 0.0)
    _number(f"{prefix}weight", weight, 0)
    layers = node.get("layers", [])
    if not isinstance(layers, list) or any(name not in LAYER_NAMES for name in layers):
        raise _fail(f"{prefix}layers", layers, "must be a list of VGG-19 layers, like [conv4_2] or [relu3_1]")
    if not layers and weight > 0 and cls.reads_vgg:
        raise _fail(f"{prefix}layers", layers, f"is empty, so {prefix}weight={_show(weight)} would do nothing; "
                    "give at least one layer or set the weight to 0")
    layer_weights = node.get("layer_weights")
    if layer_weights is not None:
        if (len(layer_weights) != len(layers) or any(not finite(w) or w < 0 for w in layer_weights)
                or (layers and sum(layer_weights) <= 0)):
            raise _fail(f"{prefix}layer_weights", layer_weights,
                        f"must be {len(layers)} weights of at least 0, not all 0 (one per layer of {prefix}layers)")
    cls.check_settings(node, prefix)


def _sizes(c: dict) -> None:
    _whole("size", c["size"], 16, MAX_SIDE)
    limit = c["max_input_pixels"]
    if c["size"] ** 2 > limit:
        raise _fail("size", c["size"], f"would make a canvas of up to {c['size']}x{c['size']} px, over "
                    f"max_input_pixels={limit}; use a smaller size= or raise max_input_pixels=")
    scale = (c.get("objective") or {}).get("style_scale", 1.0)
    longest = max(16, round(c["size"] * scale))
    if longest > MAX_SIDE or longest**2 > limit:
        raise _fail("objective.style_scale", scale, f"would resize the style images to {longest} px on their "
                    f"longest side (size={c['size']} x {scale}), over max_input_pixels={limit}; "
                    "use a smaller objective.style_scale=")


def _timelapse(t: dict) -> None:
    if not t["enabled"]:
        return
    _number("timelapse.fps", t["fps"], 0, strict=True)
    if t["fps"] > 100:
        raise _fail("timelapse.fps", t["fps"], "must be at most 100 (GIF frames last at least 10 ms)")
    _whole("timelapse.frames", t["frames"], 1)
    if t["every"] is not None:
        _whole("timelapse.every", t["every"], 1)
    _number("timelapse.hold_seconds", t["hold_seconds"], 0)
    _whole("timelapse.max_size", t["max_size"], 16, 4096)


def _transforms(t: dict) -> None:
    _number("transforms.jitter", t["jitter"], 0)
    _number("transforms.rotate", t["rotate"], 0)
    if t["rotate"] > 180:
        raise _fail("transforms.rotate", t["rotate"], "must be at most 180 (degrees either way)")
    if not finite(t["scale"]) or not 0 <= t["scale"] < 1:
        raise _fail("transforms.scale", t["scale"], "must be in [0, 1) (a fraction either way)")


def _model(m: dict) -> None:
    check_speed_settings(m["precision"], m["channels_last"], m["compile"])
    if m["preprocess"] not in ("auto", "caffe", "imagenet"):
        raise _fail("model.preprocess", m["preprocess"], "must be auto, caffe or imagenet")
    if m["pooling"] not in ("max", "avg"):
        raise _fail("model.pooling", m["pooling"], "must be max or avg")


def _param(cfg: DictConfig):
    """Build the parameterization once at 16 px (cheap), so its constructor's own errors
    (``param.depth=0``, ``param.init=nope``) come before any model loads; returns it."""

    param = build_param(cfg.param, (16, 16), torch.full((1, 3, 16, 16), 0.5) if cfg.content is not None else None)
    with torch.no_grad():
        finite_render = bool(torch.isfinite(param.render()).all())
    if not finite_render:
        given = OmegaConf.to_container(cfg.param, resolve=True)
        keys = " ".join(f"param.{k}={_show(v)}" for k, v in given.items() if k != "_target_" and finite(v))
        raise ParamartError(f"param: a 16 px test render is not finite with {keys}; bring the one you changed "
                            "back towards its default")
    return param


def check_masks(specs: ListConfig | list | None, canvas: tuple[int, int], max_pixels: int) -> None:
    """Each style mask file fits the canvas (its aspect ratio, ``max_input_pixels``), before
    any model loads. Built-in names always fit."""
    for spec in specs or []:
        if str(spec) not in BUILTINS:
            open_mask(str(spec), canvas, max_pixels)
