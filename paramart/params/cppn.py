"""A compositional pattern-producing network (Stanley 2007) over pixel coordinates, as in
Mordvintsev et al., "Differentiable Image Parameterizations" (Distill 2018): a small MLP
maps each pixel's (x, y, r[, z]) to its colour, so the image is a continuous function of
position and renders at any resolution, crisply.

Coordinates are those of :mod:`paramart.params.coordinates` (the longer side spans
+-sqrt(3)), so a render at any size samples the same image.

Layers are 1x1 "convolutions" (``nn.Linear`` on each pixel), weights N(0, 1/fan_in), biases
zero; the output layer is zero-initialised so the first image is uniform grey and the
optimisation, not the random init, decides the pattern. Activations: ``composite`` (the
notebook's ``concat(atan(a)/0.67, atan(a)^2/0.6)``, which doubles the width), ``tanh`` or
``sin``. The optional latent ``z`` is a fixed random vector appended to every pixel's input
(saved with the checkpoint); changing it gives a related but different pattern.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from omegaconf import MISSING
from torch import nn

from paramart.config import ParamConfig
from paramart.errors import ParamartError
from paramart.params.base import register
from paramart.params.color import color_matrix
from paramart.params.coordinates import CoordinateParameterization, extent
from paramart.params.encoding import CoordinateEncoding
from paramart.params.prefit import PrefitConfig, content_init


def composite(a: torch.Tensor) -> torch.Tensor:
    """The Distill notebook's composite activation: (..., n) -> (..., 2n), ``[atan(a) / 0.67,
    atan(a)^2 / 0.6]``, each half of about unit RMS for a ~ N(0, 1)."""
    # rms of atan(a) and atan(a)^2 for a ~ N(0, 1) are 0.67 and 0.6: unit-scale outputs.
    a = torch.atan(a)
    return torch.cat([a / 0.67, (a * a) / 0.6], dim=-1)


ACTIVATIONS = {"composite": (composite, 2), "tanh": (torch.tanh, 1), "sin": (torch.sin, 1)}


@dataclass
class CPPNConfig(ParamConfig):
    """Schema of ``conf/param/cppn.yaml`` (:class:`CPPN`)."""

    _target_: str = "paramart.params.cppn.CPPN"
    #: hidden layers
    depth: int = MISSING
    #: units per hidden layer
    width: int = MISSING
    #: composite (atan and atan^2, Distill) | tanh | sin
    activation: str = MISSING
    #: size of the fixed random latent vector appended to (x, y, r); 0 = none
    latent_dim: int = MISSING
    #: Fourier features of the coordinates (Tancik et al. 2020): how many frequencies; 0 = none
    fourier_features: int = 0
    #: their scale: std (gaussian) or highest frequency (positional), cycles per canvas side
    fourier_sigma: float = 10.0
    #: gaussian (random frequencies) | positional (axis-aligned, geometric)
    fourier_kind: str = "gaussian"
    #: open the frequencies coarse to fine over this many training renders; 0 = all at once
    fourier_anneal: int = 0
    #: torus coordinates: the image tiles with no seam
    periodic: bool = False
    #: mix the outputs by ImageNet's colour correlation before the sigmoid (params/color.py)
    decorrelate: bool = False
    #: auto (pre-fit to the content photo when there is one) | content | none
    init: str = "auto"
    #: the pre-fit to the content photo (steps, seconds, lr) when ``init`` asks for it
    prefit: PrefitConfig = field(default_factory=PrefitConfig)


register("cppn", CPPNConfig)


class CPPN(CoordinateParameterization):
    """An MLP from pixel coordinates to colour. Renders any region at any resolution."""

    resampling = "the network is evaluated at every pixel of the new size (tile by tile)"
    limits = {"depth": 256, "width": 4096, "latent_dim": 4096, "fourier_features": 65536,
              "fourier_anneal": 10**9, "fourier_sigma": 1e6}
    #: values each pixel's network produces before ``head`` turns them into RGB logits
    outputs_per_pixel = 3

    def __init__(self, size, init_image: torch.Tensor | None = None, depth: int = 8, width: int = 24,
                 activation: str = "composite", latent_dim: int = 0, fourier_features: int = 0,
                 fourier_sigma: float = 10.0, fourier_kind: str = "gaussian", fourier_anneal: int = 0,
                 periodic: bool = False, decorrelate: bool = False, init: str = "auto", prefit=None):
        # A CPPN has no closed-form inverse: it starts from grey, and with a content photo
        # (init=auto/content) the run pre-fits it to the photo (paramart.params.prefit).
        super().__init__(size)
        # a photo does not tile: a periodic image starts from grey, not from a pre-fit
        self.prefit = None if periodic else content_init(init, init_image, prefit)
        if activation not in ACTIVATIONS:
            raise ParamartError(f"param.activation must be one of {', '.join(ACTIVATIONS)}, not {activation!r}")
        if depth < 1 or width < 1 or latent_dim < 0:
            raise ParamartError("param.depth and param.width must be at least 1 and param.latent_dim at least 0")
        self.activation = activation
        self.periodic = bool(periodic)
        self.encoding = CoordinateEncoding(extent(self.size), fourier_features, fourier_sigma, fourier_kind,
                                           fourier_anneal, periodic)
        self.register_buffer("z", torch.randn(latent_dim))
        self.register_buffer("color", color_matrix(decorrelate), persistent=False)
        act, widen = ACTIVATIONS[activation]
        layers: list[nn.Linear] = []
        fan_in = self.encoding.width + latent_dim
        for _ in range(depth):
            layer = nn.Linear(fan_in, width)
            nn.init.normal_(layer.weight, 0.0, math.sqrt(1.0 / fan_in))
            nn.init.zeros_(layer.bias)
            layers.append(layer)
            fan_in = width * widen
        self.hidden = nn.ModuleList(layers)
        self.out = nn.Linear(fan_in, self.outputs_per_pixel)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def features(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(height*width, encoding width + latent_dim) network inputs for the grid ``y`` x ``x``:
        (x, y, r) or torus coordinates, then any Fourier features (params/encoding.py)."""
        coords = self.encoding(y, x)
        if self.z.numel():
            coords = torch.cat([coords, self.z.expand(coords.shape[0], -1)], dim=-1)
        return coords

    def head(self, hidden: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(N, last hidden width) activations of the grid ``y`` x ``x`` -> (N, 3) RGB logits:
        the plain CPPN's output layer."""
        return self.out(hidden)

    def body(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """(len(y) * len(x), last hidden width) activations at the grid ``y`` x ``x`` (canvas units):
        the encoded coordinates through the hidden layers."""
        act, _ = ACTIVATIONS[self.activation]
        a = self.features(y, x)
        for layer in self.hidden:
            a = act(layer(a))
        return a

    def logits(self, y: torch.Tensor, x: torch.Tensor, step: float) -> torch.Tensor:
        """(len(y) * len(x), 3) RGB logits at the grid ``y`` x ``x``: :meth:`body`, then :meth:`head`
        (the output layer). ``step`` (canvas units per pixel) is unused."""
        return self.head(self.body(y, x), y, x)
