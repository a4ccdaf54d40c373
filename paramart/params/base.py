"""The parameterization seam: every image source is a small ``nn.Module``.

A parameterization owns learnable parameters and renders them, differentiably, to an RGB
image in [0, 1] at any requested (height, width). Its learned state is its ``state_dict``.
Constructors take the training canvas ``size`` and an optional ``init_image`` (the
content photo at that size, or None), plus their own config keys.

To add one: a file in ``paramart/params/`` defining a subclass and a schema dataclass
registered with :func:`register`, and a ``conf/param/NAME.yaml`` whose defaults list
starts with ``NAME_schema``. Nothing else changes.

Rendering at another size is each parameterization's business, and it says how in
``resampling`` (``paramart-render`` prints it). Coordinate-based ones (CPPNs, hash grids)
subclass :class:`paramart.params.coordinates.CoordinateParameterization`, which sets
``renders_regions = True`` and gives :meth:`Parameterization.region` (only the requested
pixels, with gradients), so an image of any size can be rendered tile by tile in bounded memory.

Multi-scale seam (``schedule.scales``, see :mod:`paramart.runner.schedule`): between scales
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

from collections.abc import Mapping
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import nn

from paramart.errors import ParamartError
from paramart.registry import Registry

#: the parameterizations a config may build: the allow-list for files read back from disk too
PARAMS = Registry("param", "parameterization")


def register(name: str, schema: type) -> None:
    """Make ``schema`` available to ``conf/param/NAME.yaml`` as ``NAME_schema``, and its
    class (the schema's ``_target_``) one that :func:`build_param` may build."""
    PARAMS.register(name, schema)


def check_param_config(config: Mapping[str, Any], where: str = "param") -> tuple[type, dict[str, Any]]:
    """(class, keyword arguments) for a parameterization config, from a run or a checkpoint.

    Only a registered class is accepted, only its schema's keys, each a plain value of the
    schema's type: a config read from a file can name no other code (no nested ``_target_``).
    Raises :class:`ParamartError` naming ``where`` otherwise."""
    cls, kwargs = PARAMS.build_args(config, where)
    name = getattr(cls, "__name__", "param")
    for key, limit in getattr(cls, "limits", {}).items():
        value = kwargs.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > limit:
            raise ParamartError(f"{where}.{key}={value} must be at most {limit} ({name}: larger ones "
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
        name = PARAMS.entry(config, "param").name
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        settings = " ".join(f"param.{k}={v}" for k, v in kwargs.items())
        raise ParamartError(f"param={name} cannot be built with {settings}: {first}") from None


class Parameterization(nn.Module):
    """Base class: learnable parameters -> image of shape (1, 3, H, W) in [0, 1]."""

    #: True when :meth:`render_region` evaluates only the pixels asked for (no full image
    #: is ever built), so a render can be assembled from tiles.
    renders_regions: bool = False
    #: The largest value of each size setting (``param.KEY``): checked with the config, before
    #: anything is allocated, so an absurd one is one line rather than hours or an out-of-memory.
    limits: dict[str, int] = {}
    #: How a render at another size than the training canvas is made, for users' eyes.
    resampling: str = "resized with bicubic interpolation; no detail is added"

    def __init__(self, size: tuple[int, int]):
        super().__init__()
        self.size = (int(size[0]), int(size[1]))
        #: the canvas size the parameterization was built at (a multi-scale run's first stage):
        #: the shapes of a coordinate image's learned tensors follow it, not ``size``
        self.built_size = self.size

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

    def region(self, size: tuple[int, int], top: int, left: int, height: int, width: int) -> torch.Tensor:
        """Pixels ``[top:top+height, left:left+width]`` of a ``size`` render, (1, 3, height,
        width) in [0, 1], *with* gradients, evaluating only those pixels: what tiled
        evaluation, zoom training and large renders need. Only parameterizations with
        ``renders_regions = True`` have it (:class:`paramart.params.coordinates.CoordinateParameterization`);
        others raise ``NotImplementedError``."""
        raise NotImplementedError(f"{type(self).__name__} cannot render a region alone")

    @torch.no_grad()
    def render_region(self, size: tuple[int, int], top: int, left: int, height: int, width: int) -> torch.Tensor:
        """Pixels ``[top:top+height, left:left+width]`` of ``render(size)``, shape (1, 3, height, width).

        The default renders the whole image and crops it; parameterizations that render regions
        override this to evaluate the region alone."""
        return self.render(size)[..., top : top + height, left : left + width]
