"""Feature visualisation ("dream"): minus the mean activation of some channels of a layer.

Minimising it raises those channels (the whole layer's when ``channels`` is null). It is
divided by the layer's root-mean-square activation on the first canvas it sees (the
starting canvas), so it starts near -1 as the other terms start near 1, and its weight
trades against theirs the same way at every layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paramart.errors import ParamartError
from paramart.model.layers import channel_count
from paramart.objectives.term import Stats, Term, TermConfig, register


@dataclass
class DreamConfig(TermConfig):
    """Schema of ``conf/term/dream.yaml``: the shared term keys plus ``channels``."""

    _target_: str = "paramart.objectives.terms.dream.Dream"
    #: channels of the layer(s) to raise; null = all of them
    channels: list[int] | None = None


register("dream", DreamConfig)


class Dream(Term):
    """Minus the mean activation of ``channels`` (all when None) of each of ``layers``,
    divided by that layer's RMS activation on the first canvas seen (Mordvintsev et al.,
    "Inceptionism", 2015). Statistics per layer: ``sum``/``n`` of the chosen activations,
    ``sq``/``nsq`` of all of them (for the scale). Raises :class:`ParamartError` for a
    channel the layer does not have."""

    stands_alone = True

    @classmethod
    def check_settings(cls, node, prefix) -> None:
        """Refuses ``channels`` that is empty, holds a non-integer, or names a channel at or above the
        smallest channel count of ``layers`` (64-512); :class:`ParamartError` naming ``PREFIX.channels``."""
        channels, layers = node.get("channels"), node.get("layers") or []
        if channels is None:
            return
        top = min((channel_count(layer) for layer in layers), default=512)
        if not channels or any(not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < top for c in channels):
            raise ParamartError(f"{prefix}channels={channels} must name channels of {', '.join(layers)}, "
                                f"which have channels 0-{top - 1}")

    def __init__(self, weight: float, layers=(), layer_weights=None, channels=None):
        super().__init__(weight, layers, layer_weights)
        self.channels = None if not channels else [int(c) for c in channels]
        self.register_buffer("scale", torch.zeros(len(self.layers)))

    def statistics(self, feats, image, window=None) -> Stats:
        """Per layer ``L``: ``L.sum`` (sum of the chosen channels' activations over the window's
        positions), ``L.n`` (their count), ``L.sq`` (sum of squares of all channels, detached: the
        scale takes no gradient) and ``L.nsq`` (its count). Raises :class:`ParamartError` when a
        chosen channel is not in the layer (a config the plan could not check)."""
        stats = {}
        for layer in self.layers:
            f = feats[layer].float()
            if self.channels and not all(0 <= c < f.shape[1] for c in self.channels):
                raise ParamartError(
                    f"dream channels {self.channels} do not all exist: {layer} has channels 0-{f.shape[1] - 1}")
            chosen = f if self.channels is None else f[:, self.channels]
            count = torch.tensor(float(chosen.numel()), device=f.device)
            stats[f"{layer}.sum"], stats[f"{layer}.n"] = chosen.sum(), count
            stats[f"{layer}.sq"] = f.detach().pow(2).sum()
            stats[f"{layer}.nsq"] = torch.tensor(float(f.numel()), device=f.device)
        return stats

    def value(self, stats: Stats) -> torch.Tensor:
        """``-sum_L w_L * mean_L / rms_L``: negative, about -1 on the first canvas. The first call
        fixes each layer's ``rms_L`` (the ``scale`` buffer, floored at 1e-8) from that canvas."""
        total = 0.0
        for i, (layer, w) in enumerate(zip(self.layers, self.layer_weights)):
            if float(self.scale[i]) == 0.0:  # the first canvas seen sets the scale
                rms = (stats[f"{layer}.sq"] / stats[f"{layer}.nsq"]).sqrt().clamp_min(1e-8)
                self.scale[i] = rms.detach().item()
            total = total - w * (stats[f"{layer}.sum"] / stats[f"{layer}.n"]) / self.scale[i]
        return total
