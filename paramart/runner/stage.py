"""A stage: one entry of the schedule (:mod:`paramart.runner.schedule`), built. Coarse to
fine, a small canvas is optimised first and the parameterization carried up to larger ones
(as in image pyramids for style transfer: the coarse scales settle the large structures
cheaply, the fine ones only add detail).

Between scales the parameterization is rescaled (:meth:`Parameterization.rescale`) and
the optimizer is made afresh: for raw pixels the parameter tensor changes shape, so
Adam's moments or L-BFGS's curvature pairs from the coarse scale no longer describe it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paramart.evaluation.choose import Tiling, tiling
from paramart.geometry import canvas_size, fit
from paramart.io.images import resize, to_tensor
from paramart.model.vgg import VGG19
from paramart.objectives.color import ColorPreservation
from paramart.objectives.masks import style_masks
from paramart.objectives.objective import Objective, build_objective, needed_layers
from paramart.objectives.term import Inputs
from paramart.objectives.transforms import RandomWarp
from paramart.runner.plan import Plan, style_fix


@dataclass
class Stage:
    """Targets and objective at one canvas size (one scale of a schedule)."""

    size: tuple[int, int]  #: (height, width) of the canvas, px
    content: torch.Tensor | None  #: the content photo at this size, (1, 3, H, W) in [0, 1], in colour
    objective: Objective  #: the active terms with their targets at this size
    steps: int  #: the steps planned for this stage
    tiling: Tiling  #: whether (and how) the canvas is scored in tiles
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
    """The stage at canvas side ``longest`` px: inputs resized, targets computed once (in
    tiles when the canvas is a print size)."""
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
    tiles = tiling(cfg, size, device, vgg.precision, needed_layers(cfg.objective))  # print sizes
    guides = {name: resize(image, size).to(device) for name, image in plan.guides}  # video frames' guides
    inputs = Inputs(vgg, size, color.content(content), styles, cfg.style_blend, masks, tiles.targets(vgg), guides)
    before_vgg = [t for t in (color.transform(), warp if warp.active else None) if t is not None]
    transform = torch.nn.Sequential(*before_vgg) if before_vgg else None
    objective = build_objective(cfg.objective, inputs, transform)
    return Stage(size, content, objective, steps, tiles, color)
