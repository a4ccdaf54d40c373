"""Style as Gaussians (the "W2" loss): at each layer the canvas's features, seen as a
Gaussian with their mean and covariance over positions, must be close to the style's in
the 2-Wasserstein (optimal transport) distance:

    W2^2 = |mu - mu_s|^2 + tr(C) + tr(C_s) - 2 tr( (C_s^1/2 C C_s^1/2)^1/2 )

Unlike the Gram matrix, which mixes mean and spread, it matches both separately, which
tends to give cleaner colours (crowsonkb's style-transfer-pytorch uses it for that). The
trace of the matrix square root is the sum of the square roots of the eigenvalues of a
symmetric matrix, whose gradient is stable. That eigendecomposition costs O(C^3) per
layer whatever the image size (C = 512 at conv4_1 and conv5_1), so on a CPU this term is
slower per step than the Gram term at small canvases (docs/benchmarks.md). Each layer's distance is divided by the
style's total second moment (|mu_s|^2 + tr(C_s)), so it starts near 1 like the others.

Mean and covariance come from sums over positions (sum of features, sum of their outer
products, count), so the term is decomposable. Several styles: the target is the Gaussian
of their blend-weighted mixture. It does not take ``style_masks`` (use ``gram`` there).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paramart.errors import ParamartError
from paramart.objectives.term import Inputs, Stats, Term, TermConfig, register
from paramart.objectives.terms.gram import blend_weights, gram_sum


@dataclass
class W2Config(TermConfig):
    """Schema of ``conf/term/w2.yaml``: the shared term keys plus ``eps``."""

    _target_: str = "paramart.objectives.terms.w2.W2Style"
    #: added to the eigenvalues before the square root (numerical floor, relative to the scale)
    eps: float = 1e-6


register("w2", W2Config)


def _moments(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(sum of features (C,), sum of outer products (C, C), count) over positions, float32."""
    f = features.float()
    return f.sum(dim=(0, 2, 3)), gram_sum(f).sum(0), torch.tensor(float(f.shape[0] * f.shape[2] * f.shape[3]),
                                                                   device=f.device)


def _sqrtm_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


class W2Style(Term):
    """Style loss as the squared 2-Wasserstein distance between Gaussians fitted to the canvas's
    and the style's features at each layer (the formula in the module docstring), divided by
    the style's total second moment and summed with the layer weights; computed in float64.
    Needs at least one style image; does not take ``style_masks``.

    Statistics keys, per layer ``L`` (sums over the window's positions, float32):
    ``L.sum``, the (C,) sum of the features; ``L.outer``, the (C, C) sum of their outer
    products; ``L.n``, the number of positions."""

    needs = ("style",)

    @classmethod
    def check_settings(cls, node, prefix) -> None:
        """Refuses an ``eps`` that is not a number in (0, 1) (:class:`ParamartError` naming ``PREFIX.eps``)."""
        eps = node.get("eps")
        if not isinstance(eps, int | float) or isinstance(eps, bool) or not 0 < eps < 1:
            raise ParamartError(f"{prefix}eps={eps} must be a small positive number below 1, e.g. 1e-6")

    def __init__(self, weight: float, layers=(), layer_weights=None, eps: float = 1e-6):
        super().__init__(weight, layers, layer_weights)
        self.eps = float(eps)

    def build(self, inputs: Inputs) -> None:
        """Each layer's target mean (C,), covariance (C, C), its square root and the scale
        ``|mu_s|^2 + tr(C_s)``, float64, of the blend-weighted mixture of the styles. Raises
        :class:`ParamartError` when ``style_masks`` are given, or for a bad ``style_blend``."""
        if inputs.masks is not None:
            raise ParamartError(
                "the w2 style term does not take style_masks; use the gram term (term@objective.style=gram)")
        blend = blend_weights(len(inputs.styles), inputs.blend)
        for i, layer in enumerate(self.layers):
            mean, second = 0.0, 0.0
            for style, b in zip(inputs.styles, blend):
                s1, s2, n = _moments(inputs.features(style, [layer])[layer])
                mean, second = mean + b * s1 / n, second + b * s2 / n
            cov = second - torch.outer(mean, mean)
            cov = (cov + cov.T) / 2
            self.register_buffer(f"mean{i}", mean.double())
            self.register_buffer(f"cov{i}", cov.double())
            self.register_buffer(f"root{i}", _sqrtm_psd(cov.double()))
            self.register_buffer(f"scale{i}", (mean.double().pow(2).sum() + cov.double().trace()).clamp_min(1e-8))

    def statistics(self, feats, image, window=None) -> Stats:
        """``L.sum``, ``L.outer`` and ``L.n`` per layer (see the class)."""
        stats = {}
        for layer in self.layers:
            s1, s2, n = _moments(feats[layer])
            stats[f"{layer}.sum"], stats[f"{layer}.outer"], stats[f"{layer}.n"] = s1, s2, n
        return stats

    def _distance(self, i: int, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
        t_mean, t_cov, root = (getattr(self, f"{k}{i}") for k in ("mean", "cov", "root"))
        scale = getattr(self, f"scale{i}")
        cross = root @ cov @ root
        cross = (cross + cross.T) / 2
        eigs = torch.linalg.eigvalsh(cross)  # float64: float32 leaves errors of ~1e-3 at the target
        floor = self.eps * scale
        cross_trace = (eigs.clamp_min(0) + floor).sqrt().sum() - floor.sqrt() * eigs.numel()
        w2 = (mean - t_mean).pow(2).sum() + cov.trace() + t_cov.trace() - 2 * cross_trace
        return w2 / scale

    def value(self, stats: Stats) -> torch.Tensor:
        """Sum over layers of weight x W2^2 / scale, from the mean and covariance the sums give;
        a 0-d float32 tensor."""
        total = 0.0
        for i, (layer, w) in enumerate(zip(self.layers, self.layer_weights)):
            n = stats[f"{layer}.n"].double()
            mean = stats[f"{layer}.sum"].double() / n
            cov = stats[f"{layer}.outer"].double() / n - torch.outer(mean, mean)
            total = total + w * self._distance(i, mean, (cov + cov.T) / 2)
        return total.float()
