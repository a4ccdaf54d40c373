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

from dataclasses import dataclass

import torch
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING
from torch import nn


@dataclass
class ParamConfig:
    """Schema shared by all parameterizations: which class to build."""

    _target_: str = MISSING


def register(name: str, schema: type) -> None:
    """Make ``schema`` available to ``conf/param/NAME.yaml`` as ``NAME_schema``."""
    ConfigStore.instance().store(group="param", name=f"{name}_schema", node=schema)


class Parameterization(nn.Module):
    """Base class: learnable parameters -> image of shape (1, 3, H, W) in [0, 1]."""

    #: True when :meth:`render_region` evaluates only the pixels asked for (no full image
    #: is ever built), so a render can be assembled from tiles.
    tileable: bool = False
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
