"""What a run tells the world as it goes: immutable records, and the observers that get them.

The run loop calls every observer's hooks in order; an observer only reads. The time-lapse
is an observer, and so is anything else that watches a run (a live preview page, a
notebook cell). ``seconds`` always count from the start of the first run (a resumed run's
time included), across every stage of a multi-scale schedule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class Progress:
    """One logged step: the weighted loss of each term and the seconds since the run began."""

    step: int  #: steps finished, counted from the start of the first run
    total: float  #: the sum of the weighted term losses (unitless)
    terms: Mapping[str, float] = field(default_factory=dict)  #: {term name: weighted loss}
    seconds: float = 0.0  #: seconds since the run began (a resumed run's earlier time included)

    def row(self, names: list[str]) -> dict[str, float]:
        """The ``losses.csv`` row: ``{"step", "total", each of names (0.0 when missing), "seconds"}`` in that order."""
        return {"step": self.step, "total": self.total, **{n: self.terms.get(n, 0.0) for n in names},
                "seconds": self.seconds}


@dataclass(frozen=True)
class StageInfo:
    """One scale of a run: its index and count, canvas size, first step and step budget."""

    index: int  #: 0 for the first (coarsest) stage
    count: int  #: how many stages the run has (1 without a multi-scale schedule)
    size: tuple[int, int]  #: (height, width) of this stage's canvas, px
    start_step: int  #: the run's step count when this stage begins
    steps: int  #: steps this stage may take
    terms: tuple[str, ...]  #: the loss columns this stage reports (term names, ``zoom``)


class Observer:
    """Base class: every hook does nothing."""

    def on_stage(self, stage: StageInfo) -> None:
        """A stage (scale) begins."""

    def on_log(self, progress: Progress) -> None:
        """A logged step."""

    def wants_frame(self, step: int, seconds: float) -> bool:
        """Should the canvas be rendered for :meth:`on_frame` after this step?"""
        return False

    def on_frame(self, step: int, image: torch.Tensor, final: bool = False) -> None:
        """The canvas as it will be saved ((1, 3, H, W) in [0, 1], on the CPU)."""

    def on_clip_frame(self, index: int, count: int, total: int, first_step: int = 0) -> None:
        """A video run (content= a clip, :mod:`paramart.video`) works on frame ``index`` of ``count``
        next; ``total`` is every step the clip is planned to take. The frames method restarts its
        step count at each frame: ``first_step`` is the clip's steps before this frame, to add to
        the frame's own (0 where the steps are the clip's already, ``video.method=field``)."""

    def on_end(self, status: str) -> None:
        """The run ended: ``done``, ``stopped`` (a signal, saved) or ``failed``."""
