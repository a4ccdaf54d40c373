"""Each loss term as sums over positions (``statistics``) and a function of those sums
(``value``), so that it can be evaluated tile by tile (see :mod:`paramart.tiling.evaluate`).

``statistics(term, feats, image, window)`` returns a dict of tensors that are sums over
the window's positions (additive over disjoint windows); ``value(term, stats)`` the term's
unweighted loss from the sums over the whole canvas. ``value(statistics(..., None))``
equals the term's ordinary forward pass.

Every current term decomposes:

* content: the sum of squared differences to the target, and the count;
* Gram style: the un-normalised Gram matrix sum_p f_p f_p^T and the count of positions;
* guided style: the same of the mask-weighted features, and the mask's energy;
* total variation: the squared neighbour differences of each axis and their counts;
* dream: the sum of the chosen activations, their count, and (for its scale, taken once
  on the starting canvas) the sum of all squared activations.
"""

from __future__ import annotations

import torch

from paramart.errors import ParamartError
from paramart.objectives.losses import ActivationLoss, ContentLoss, GuidedStyleLoss, StyleLoss, TVLoss
from paramart.tiling.window import Window, core_size, crop, region


def _count(value: int, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(float(value), device=like.device)


def _gram_sum(f: torch.Tensor) -> torch.Tensor:
    n, c = f.shape[:2]
    f = f.reshape(n, c, -1).float()
    return torch.bmm(f, f.transpose(1, 2))


def statistics(term, feats: dict[str, torch.Tensor], image: torch.Tensor, layer: str | None,
               window: Window | None) -> dict[str, torch.Tensor]:
    if isinstance(term, ContentLoss):
        f = crop(window, feats[layer], layer).float()
        d = f - region(window, term.target, layer)
        return {"sse": d.pow(2).sum(), "n": _count(d.numel(), d)}
    if isinstance(term, GuidedStyleLoss):
        from paramart.objectives.masks import fit_to

        full = tuple(feats[layer].shape[-2:]) if window is None else window.layer_size(layer)
        mask = region(window, fit_to(term.mask.to(feats[layer].device), full), layer)
        f = crop(window, feats[layer], layer).float() * mask
        return {"gram": _gram_sum(f), "energy": mask.pow(2).sum()}
    if isinstance(term, StyleLoss):
        f = crop(window, feats[layer], layer)
        h, w = core_size(window, feats[layer], layer)
        return {"gram": _gram_sum(f), "n": _count(h * w, f)}
    if isinstance(term, TVLoss):
        x = crop(window, image, None, after=1)
        h, w = core_size(window, image)
        dx = x[..., :h, 1:] - x[..., :h, :-1]
        dy = x[..., 1:, :w] - x[..., :-1, :w]
        return {"dx": dx.pow(2).sum(), "nx": _count(dx.numel(), x), "dy": dy.pow(2).sum(), "ny": _count(dy.numel(), x)}
    if isinstance(term, ActivationLoss):
        f = crop(window, feats[layer], layer)
        if term.channels and not all(0 <= c < f.shape[1] for c in term.channels):
            raise ParamartError(
                f"dream_channels {term.channels} do not all exist: this layer has channels 0-{f.shape[1] - 1}"
            )
        chosen = (f if term.channels is None else f[:, term.channels]).float()
        return {"sum": chosen.sum(), "n": _count(chosen.numel(), f),
                "sq": f.detach().float().pow(2).sum(), "n_all": _count(f.numel(), f)}
    raise ParamartError(f"{type(term).__name__} cannot be evaluated in tiles")


def value(term, stats: dict[str, torch.Tensor]) -> torch.Tensor:
    if isinstance(term, ContentLoss):
        return stats["sse"] / stats["n"] / term.scale
    if isinstance(term, StyleLoss):  # GuidedStyleLoss too
        gram = stats["gram"] / (stats["n"] if "n" in stats else stats["energy"].clamp_min(1e-8))
        return (gram - term.target.expand_as(gram)).pow(2).mean() / term.scale
    if isinstance(term, TVLoss):
        return stats["dx"] / stats["nx"] + stats["dy"] / stats["ny"]
    if isinstance(term, ActivationLoss):
        if float(term.scale) == 0.0:
            rms = (stats["sq"].detach() / stats["n_all"]).sqrt().clamp_min(1e-8)
            term.scale.fill_(rms.item())
        return -stats["sum"] / stats["n"] / term.scale
    raise ParamartError(f"{type(term).__name__} cannot be evaluated in tiles")


def decomposable(term) -> bool:
    return isinstance(term, ContentLoss | StyleLoss | TVLoss | ActivationLoss)
