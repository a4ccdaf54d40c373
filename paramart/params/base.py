"""The parameterization seam: every image source is a small ``nn.Module``.

A parameterization owns learnable parameters and renders them, differentiably, to an RGB
image in [0, 1] at any requested (height, width). Its learned state is its ``state_dict``.
Constructors take the training canvas ``size`` and an optional ``init_image`` (the
content photo at that size, or None), plus their own config keys.

To add one: a file in ``paramart/params/`` defining a subclass and a schema dataclass
registered with :func:`register`, and a ``conf/param/NAME.yaml`` whose defaults list
starts with ``NAME_schema``. Nothing else changes.

Rendering at another size is each parameterization's business, and it says how in
``resampling`` (``paramart-render`` prints it). Coordinate-based ones (CPPNs) set
``tileable = True`` and override :meth:`Parameterization.render_region` to evaluate only the
requested pixels, so an image of any size can be rendered tile by tile in bounded memory.

Multi-scale seam (``schedule.scales``, see :mod:`paramart.runner.stages`): between scales
the runner calls ``param.rescale((height, width))`` once, then builds a fresh optimizer
over ``param.parameters()`` and expects ``param()`` to render at the new size. The
default below only updates ``self.size``, which is right for resolution-free
parameterizations that render at ``self.size`` (a CPPN evaluated on a coordinate grid).
Grid-based ones override it and replace their parameters with resampled ones (``Pixel``
resamples its canvas; a Fourier parameterization can zero-pad or crop its spectrum),
calling ``super().rescale(size)`` first. Random starting noise should come from
:func:`paramart.params.noise.grain_noise` so that ``param.grain`` means the same everywhere.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from torch import nn

from paramart.errors import ParamartError
from paramart.trust import plain_arguments


@dataclass
class ParamConfig:
    """Schema shared by all parameterizations: which class to build."""

    _target_: str = MISSING


#: class path (the schema's ``_target_``) -> (name, schema): the only classes ever built
_REGISTERED: dict[str, tuple[str, type]] = {}


def register(name: str, schema: type) -> None:
    """Make ``schema`` available to ``conf/param/NAME.yaml`` as ``NAME_schema``, and its
    class (the schema's ``_target_``) one that :func:`build_param` may build."""
    ConfigStore.instance().store(group="param", name=f"{name}_schema", node=schema)
    _REGISTERED[schema._target_] = (name, schema)


def registered() -> dict[str, tuple[str, type]]:
    """{class path: (name, schema)} of every registered parameterization."""
    return dict(_REGISTERED)


def check_param_config(config: Mapping[str, Any], where: str = "param") -> tuple[type, dict[str, Any]]:
    """(class, keyword arguments) for a parameterization config, from a run or a checkpoint.

    Only a registered class is accepted, only its schema's keys, each a plain value of the
    schema's type: a config read from a file can name no other code (no nested ``_target_``).
    """
    if not isinstance(config, Mapping):
        raise ParamartError(f"{where}: expected the parameterization's settings, found {type(config).__name__}")
    target = config.get("_target_")
    if target not in _REGISTERED:
        known = ", ".join(sorted(name for name, _ in _REGISTERED.values()))
        raise ParamartError(f"{where}: {target!r} is not a registered parameterization ({known})")
    name, schema = _REGISTERED[target]
    fields = {f.name for f in dataclasses.fields(schema)} - {"_target_"}
    values = plain_arguments(config, f"{where} ({name})", fields)
    try:
        node = OmegaConf.merge(OmegaConf.structured(schema), values)
        kwargs = OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as exc:
        first = str(exc).strip().splitlines()[0]
        key = getattr(exc, "full_key", None) or getattr(exc, "key", None)
        raise ParamartError(f"{where} ({name}): {'param.' + str(key) + ': ' if key else ''}{first}") from None
    kwargs.pop("_target_", None)
    module, _, cls = target.rpartition(".")
    cls = getattr(importlib.import_module(module), cls)
    for key, limit in getattr(cls, "limits", {}).items():
        value = kwargs.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > limit:
            raise ParamartError(f"{where}.{key}={value} must be at most {limit} (param={name}: larger ones "
                                "take more memory or time than any machine has)")
    return cls, kwargs


def build_param(config: Mapping[str, Any], size: tuple[int, int], init_image: torch.Tensor | None) -> Parameterization:
    """The parameterization ``config`` describes, checked by :func:`check_param_config`.

    A bad value the constructor finds (``param.depth=0``) is a one-line :class:`ParamartError`."""
    if OmegaConf.is_config(config):
        config = OmegaConf.to_container(config, resolve=True)
    cls, kwargs = check_param_config(config)
    try:
        return cls(size, init_image=init_image, **kwargs)
    except ParamartError:
        raise
    except (ValueError, TypeError, RuntimeError, ZeroDivisionError) as exc:
        if "memory" in str(exc).lower():
            raise  # out of memory: explained with the size that failed, by the caller
        name = _REGISTERED[config["_target_"]][0]
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        settings = " ".join(f"param.{k}={v}" for k, v in kwargs.items())
        raise ParamartError(f"param={name} cannot be built with {settings}: {first}") from None


class Parameterization(nn.Module):
    """Base class: learnable parameters -> image of shape (1, 3, H, W) in [0, 1]."""

    #: True when :meth:`render_region` evaluates only the pixels asked for (no full image
    #: is ever built), so a render can be assembled from tiles.
    tileable: bool = False
    #: The largest value of each size setting (``param.KEY``): checked with the config, before
    #: anything is allocated, so an absurd one is one line rather than hours or an out-of-memory.
    limits: dict[str, int] = {}
    #: How a render at another size than the training canvas is made, for users' eyes.
    resampling: str = "resized with bicubic interpolation; no detail is added"

    def __init__(self, size: tuple[int, int]):
        super().__init__()
        self.size = (int(size[0]), int(size[1]))

    def forward(self, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Render at ``size`` (height, width); the training canvas size when None."""
        raise NotImplementedError

    @torch.no_grad()
    def rescale(self, size: tuple[int, int]) -> None:
        """Move to a new training canvas ``size``, keeping what was learned (multi-scale).

        Default: resolution-free, only ``self.size`` changes. Parameterizations that store
        a grid of the canvas size must override this and resample that grid; parameters
        may be replaced (the runner makes a new optimizer after every rescale).
        """
        self.size = (int(size[0]), int(size[1]))

    @torch.no_grad()
    def render(self, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Render without building a graph (for saving and previews)."""
        return self(size)

    @torch.no_grad()
    def render_region(self, size: tuple[int, int], top: int, left: int, height: int, width: int) -> torch.Tensor:
        """Pixels ``[top:top+height, left:left+width]`` of ``render(size)``, shape (1, 3, height, width).

        The default renders the whole image and crops it; tileable parameterizations
        override this to evaluate the region alone."""
        return self.render(size)[..., top : top + height, left : left + width]
