"""Coarse-to-fine schedules: optimise a small canvas first, then carry the
parameterization up to larger ones (as in image pyramids for style transfer: the coarse
scales settle the large structures cheaply, the fine ones only add detail).

``schedule.scales`` are canvas sizes as fractions of ``size`` (ascending, ending at 1) and
``schedule.shares`` the fractions of ``steps`` spent at each (normalised; null = equal).
So ``size=512 steps=300 schedule.scales=[0.25,0.5,1] schedule.shares=[0.5,0.3,0.2]``
runs 150 steps at 128 px, 90 at 256 px and 60 at 512 px, and quick overrides such as
``size=64 steps=10`` shrink the whole schedule with them.

Between scales the parameterization is rescaled (:meth:`Parameterization.rescale`) and
the optimizer is made afresh: for raw pixels the parameter tensor changes shape, so
Adam's moments or L-BFGS's curvature pairs from the coarse scale no longer describe it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from paramart.errors import ParamartError
from paramart.io.images import to_tensor
from paramart.model.vgg import VGG19
from paramart.objectives.color import ColorPreservation
from paramart.objectives.masks import style_masks
from paramart.objectives.objective import Objective, build_objective, needed_layers
from paramart.objectives.term import Inputs
from paramart.objectives.transforms import RandomWarp
from paramart.tiling import setup as tiling

if TYPE_CHECKING:
    from paramart.runner.plan import Plan


def stages(size: int, steps: int, scales: Sequence[float] | None, shares: Sequence[float] | None,
           min_longest: int = 16) -> list[tuple[int, int]]:
    """[(longest side in px, steps)] for each scale; one stage when ``scales`` is null.

    Coarse scales are kept at ``min_longest`` px or more (VGG-19 needs 16 px on the
    shorter side to reach conv5_1; the caller knows the aspect ratio)."""
    if not scales:
        if shares:
            raise ParamartError("schedule.shares needs schedule.scales")
        return [(size, steps)]
    scales = [float(s) for s in scales]
    if any(s <= 0 or s > 1 for s in scales) or scales != sorted(scales) or scales[-1] != 1:
        raise ParamartError(
            f"schedule.scales={scales} must be fractions of size in (0, 1], ascending and ending at 1, "
            "e.g. [0.25,0.5,1]"
        )
    if shares is None or len(shares) == 0:
        shares = [1.0] * len(scales)
    if len(shares) != len(scales):
        raise ParamartError(f"schedule.shares has {len(shares)} entries but schedule.scales has {len(scales)}")
    if any(s < 0 for s in shares) or sum(shares) <= 0:
        raise ParamartError("schedule.shares must be non-negative and not all zero")
    total = float(sum(shares))
    # largest-remainder rounding, so the steps add up to exactly ``steps``
    exact = [steps * s / total for s in shares]
    counts = [int(e) for e in exact]
    for i in sorted(range(len(exact)), key=lambda i: exact[i] - counts[i], reverse=True)[: steps - sum(counts)]:
        counts[i] += 1
    return [(min(size, max(min_longest, round(size * s))), n) for s, n in zip(scales, counts)]


@dataclass
class Stage:
    """Targets and objective at one canvas size (one scale of a schedule)."""

    size: tuple[int, int]
    content: torch.Tensor | None  #: the content photo at this size, in colour (for init and colour)
    objective: Objective
    steps: int  #: the steps planned for this stage
    color: ColorPreservation | None = None  #: the run's colour preservation (None: none)

    def finish(self, canvas: torch.Tensor) -> torch.Tensor:
        """The image as saved, (1, 3, H, W) in [0, 1] on the CPU, from a rendered ``canvas``.

        The one finishing function: every ``final.png`` (the end, ``checkpoint_every``, Ctrl-C,
        a NaN or out-of-memory stop, ``max_seconds``), every time-lapse and preview frame goes
        through it, so an early save looks like a finished run at that step (for
        ``preserve_color=luminance`` the content's chroma is put back here)."""
        image = canvas if self.color is None else self.color.finish(canvas, self.content)
        return image.detach().cpu()


def build_stage(plan: Plan, vgg: VGG19, longest: int, steps: int, color: ColorPreservation,
                warp: RandomWarp) -> Stage:
    """The stage at canvas side ``longest``: inputs resized, targets computed once."""
    from paramart.runner.plan import canvas_size, fit, style_fix

    cfg, device = plan.cfg, plan.device
    size = canvas_size(plan.content, longest)
    style_longest = max(16, round(longest * cfg.objective.style_scale))
    content = to_tensor(plan.content, size).to(device) if plan.content is not None else None
    styles = [to_tensor(s, fit(s, style_longest, "style image", style_fix(cfg))).to(device) for s in plan.styles]
    styles = [color.style(s, content) for s in styles]
    masks = None
    if cfg.style_masks is not None:
        masks = [m.to(device) for m in style_masks(list(cfg.style_masks), size, cfg.mask_feather,
                                                   cfg.max_input_pixels)]
    inputs = Inputs(vgg, size, color.content(content), styles, cfg.style_blend, masks)
    before_vgg = [t for t in (color.transform(), warp if warp.active else None) if t is not None]
    transform = torch.nn.Sequential(*before_vgg) if before_vgg else None
    tiles = tiling.decide(cfg, size, device, vgg.precision, needed_layers(cfg.objective))  # print sizes
    with tiling.targets_in_tiles(vgg, tiles):
        objective = build_objective(cfg.objective, inputs, transform)
    tiling.attach(objective, tiles, size)
    return Stage(size, content, objective, steps, color)
