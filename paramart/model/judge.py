"""One judge for stylised images from any tool: Gatys et al.'s loss, written out plainly.

The score is the loss that the ``pastiche`` CLI minimises with its defaults, in its units:
the Caffe VGG-19 (max pooling, float32), content ``0.01 x MSE`` of ``relu4_2`` features,
and for each of ``relu1_1 ... relu5_1`` ``10 / C^2 x MSE`` of Gram matrices divided by
H*W, on BGR 0-255 mean-subtracted input. It is computed here independently of
paramart's loss modules, so that paramart's and pastiche's outputs are scored by the same
few lines (bench/vs_pastiche.py). Lower is better; the content target is the photo at
the scored image's own size, the style target the painting at ``style_size``.

:meth:`GatysScore.matched_overrides` gives the paramart overrides whose objective is
exactly this score (paramart's losses are relative; the per-layer weights undo that).
"""

from __future__ import annotations

from pathlib import Path

import torch

from paramart.geometry import fit_size
from paramart.io.images import load_image, to_tensor
from paramart.model.vgg import VGG19

CONTENT_LAYER = "relu4_2"
CONTENT_WEIGHT = 0.01
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def _gram(features: torch.Tensor) -> torch.Tensor:
    _, c, h, w = features.shape
    f = features.reshape(c, h * w).double()
    return f @ f.T / (h * w)


class GatysScore:
    """``score(image)`` -> ``{"content": ..., "style": ..., "total": ...}`` for a (1, 3, H, W)
    RGB tensor in [0, 1], a PIL image or an image path."""

    def __init__(self, content: str, style: str, style_size: int, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.vgg = VGG19("caffe", pooling="max", last_layer="relu5_1").to(self.device)
        self.content_image = load_image(content)
        style_img = load_image(style)
        size = fit_size(style_img.width, style_img.height, style_size)
        with torch.no_grad():
            feats = self.vgg(to_tensor(style_img, size).to(self.device), STYLE_LAYERS)
        self.style_grams = {k: _gram(v) for k, v in feats.items()}
        self._content: dict[tuple[int, int], torch.Tensor] = {}

    def content_target(self, size: tuple[int, int]) -> torch.Tensor:
        """The content photo's ``relu4_2`` features at ``size`` (height, width) in px, (1, 512, H/8, W/8)
        float64; cached per size."""
        if size not in self._content:
            with torch.no_grad():
                image = to_tensor(self.content_image, size).to(self.device)
                self._content[size] = self.vgg(image, [CONTENT_LAYER])[CONTENT_LAYER].double()
        return self._content[size]

    @torch.no_grad()
    def __call__(self, image) -> dict[str, float]:
        if isinstance(image, str | Path):
            image = load_image(str(image))
        if not isinstance(image, torch.Tensor):
            image = to_tensor(image)
        image = image.to(self.device, torch.float32)
        feats = self.vgg(image, (CONTENT_LAYER, *STYLE_LAYERS))
        target = self.content_target(tuple(image.shape[-2:]))
        content = CONTENT_WEIGHT * (feats[CONTENT_LAYER].double() - target).pow(2).mean()
        style = sum(
            10.0 / self.style_grams[layer].shape[0] ** 2 * (_gram(feats[layer]) - self.style_grams[layer]).pow(2).mean()
            for layer in STYLE_LAYERS
        )
        return {"content": float(content), "style": float(style), "total": float(content + style)}

    def matched_overrides(self, size: tuple[int, int]) -> list[str]:
        """paramart overrides whose objective equals this score at canvas ``size`` (H, W),
        up to float32 rounding: the same layers, and per-layer weights that turn paramart's
        relative errors (MSE / mean square of the target) back into these absolute ones."""
        content_scale = float(self.content_target(size).pow(2).mean())
        style = [10.0 / g.shape[0] ** 2 * float(g.pow(2).mean()) for g in
                 (self.style_grams[layer] for layer in STYLE_LAYERS)]
        return [
            "objective.content.weight=1", "objective.style.weight=1", "objective.tv.weight=0",
            f"objective.content.layers=[{CONTENT_LAYER}]",
            f"objective.content.layer_weights=[{CONTENT_WEIGHT * content_scale!r}]",
            f"objective.style.layers=[{','.join(STYLE_LAYERS)}]",
            f"objective.style.layer_weights=[{','.join(repr(w) for w in style)}]",
        ]


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int = 128, seed: int = 0) -> float:
    """The sliced 2-Wasserstein distance (squared) between two clouds of feature vectors.

    ``a`` (1, C, H, W) and ``b`` (1, C, H', W') are one layer's features of two images; each
    position is a point in R^C. Both clouds are projected on ``projections`` random unit
    directions (drawn with ``seed``, the same for every call), each projection sorted, the
    larger cloud's sorted values sampled at the smaller one's quantiles, and the mean squared
    difference returned (Heitz, Vanhoey, Chambon & Belcour 2021, "A Sliced Wasserstein Loss
    for Neural Texture Synthesis", eq. 4). Unlike a Gram matrix it compares the whole
    distribution of the features, not their second moments: a grainy image with the
    painting's average colours and correlations does not score as the painting. Non-negative,
    in the features' units squared; 0 for identical distributions."""
    c = a.shape[1]
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(c, projections, generator=generator, dtype=torch.float64)
    directions /= directions.norm(dim=0, keepdim=True)
    pa = (a.reshape(c, -1).T.double() @ directions.to(a.device)).sort(dim=0).values
    pb = (b.reshape(c, -1).T.double() @ directions.to(b.device)).sort(dim=0).values
    if len(pa) > len(pb):
        pa, pb = pb, pa
    at = ((torch.arange(len(pa), dtype=torch.float64) + 0.5) / len(pa) * len(pb)).long().clamp(max=len(pb) - 1)
    return float((pa - pb[at.to(pb.device)]).pow(2).mean())
