"""Short-term temporal consistency for video (Ruder, Dosovitskiy & Brox 2016, eq. 6): the
canvas must match the previous frame's result, warped along the optical flow, wherever the
flow is reliable,

    L_temporal = (1 / D) * sum_i c_i * (x_i - w_i)^2,

with ``x`` the canvas in [0, 1], ``w`` the warped previous result (``inputs.guides['previous']``),
``c`` the reliability weight in {0, 1} (``inputs.guides['previous_weight']``: 0 where
disoccluded or on a motion boundary, :mod:`paramart.video.flow`) and ``D = 3 * H * W``.

The term is active only for a video frame that has a previous frame to follow (not the first
frame, not after a scene cut); it reads the canvas, not VGG. Its weight comes from
``video.temporal.weight`` (the video driver places it as ``objective.temporal``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paramart.objectives.term import Inputs, Stats, Term, TermConfig, register


@dataclass
class TemporalConfig(TermConfig):
    _target_: str = "paramart.objectives.terms.temporal.Temporal"


register("temporal", TemporalConfig)


class Temporal(Term):
    # The target is a whole-canvas image; tiles would each need its crop (not built: video
    # frames are small enough to score whole).
    decomposable = False
    reads_vgg = False  # it compares the canvas itself

    def active(self, inputs: Inputs) -> bool:
        return self.weight > 0 and "previous" in inputs.guides

    def build(self, inputs: Inputs) -> None:
        previous = inputs.guides["previous"].detach().float()
        weight = inputs.guides.get("previous_weight")
        weight = torch.ones_like(previous[:, :1]) if weight is None else weight.detach().float()
        self.register_buffer("previous", previous)
        self.register_buffer("reliable", weight.expand_as(previous).contiguous())

    def statistics(self, feats, image, window=None) -> Stats:
        diff = image.float() - self.previous
        return {"sse": (self.reliable * diff.pow(2)).sum(),
                "n": torch.tensor(float(diff.numel()), device=image.device)}

    def value(self, stats: Stats) -> torch.Tensor:
        return stats["sse"] / stats["n"]
