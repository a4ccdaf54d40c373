"""The print stage, built: after the canvas stages, the same coordinate field trained on random
crops of its print-size render (:class:`paramart.evaluation.print_crops.PrintCrops`), one
zoom level's style targets per level, anchored to the canvas the canvas stages made.
"""

from __future__ import annotations

import torch

from paramart.errors import ParamartError
from paramart.evaluation.print_crops import PrintCrops, PrintLevel, geometric, zoom_areas
from paramart.evaluation.targets import TiledTargets
from paramart.geometry import fit, fit_size
from paramart.io.images import to_tensor
from paramart.model.vgg import VGG19
from paramart.objectives.objective import Objective, build_terms, term_configs, weighted_term_classes
from paramart.objectives.term import Inputs
from paramart.params.base import Parameterization
from paramart.runner.plan import Plan, style_fix
from paramart.runner.stage import Stage

#: the checkpoint's key for the canvas a print stage is anchored to, (1, 3, H, W) in [0, 1]
ANCHOR = "print_anchor"
#: the share of the print steps that train the field through its anchor surface (the last ones)
THROUGH = 1 / 3
#: style targets of a painting larger than this (long side, px) are computed in tiles
TARGET_TILE = 512


def print_parts(steps: int) -> tuple[int, int]:
    """The print stage's ``steps`` in two parts: before the field is anchored exactly, and after
    (trained through its anchor surface, :data:`THROUGH` of them, which is then solved again)."""
    through = int(steps * THROUGH)
    return steps - through, through


def style_spec(objective) -> dict:
    """The objective config's weighted style terms (those that read the style images), by name."""
    styled = {name for name, cls in weighted_term_classes(objective).items() if "style" in cls.needs}
    return {name: node for name, node in term_configs(objective).items() if name in styled}


def print_levels(plan: Plan, vgg: VGG19, stage: Stage) -> list[PrintLevel]:
    """The print stage's zoom levels: ``print.levels`` render sizes from above the canvas
    (``stage``, the last canvas stage) to the print, each with the style terms' targets computed
    from the painting at that level's size (geometric from the canvas's style size to
    ``plan.print_style``); then, with ``print.zoom.to``, the zoom path's windows past the print
    (:func:`paramart.evaluation.print_crops.zoom_areas`), with the print's targets."""
    cfg = plan.cfg
    longest = max(stage.size)
    canvas_style = max(16, round(longest * cfg.objective.style_scale))
    sides = geometric(longest, cfg.print.size, cfg.print.levels)
    style_sides = geometric(canvas_style, plan.print_style, cfg.print.levels)
    spec = style_spec(cfg.objective)
    transform = stage.objective.transform
    levels = []
    for side, style_side in zip(sides, style_sides):
        styles = [to_tensor(s, fit(s, style_side, "style image", style_fix(cfg))).to(plan.device) for s in plan.styles]
        styles = [stage.color.style(s, stage.content) if stage.color is not None else s for s in styles]
        tiles = TiledTargets(vgg, TARGET_TILE) if style_side > TARGET_TILE else None
        crop = (cfg.print.crop, cfg.print.crop)
        inputs = Inputs(vgg, crop, None, styles, cfg.style_blend, None, tiles)
        objective = Objective(vgg, build_terms(spec, inputs), transform)
        levels.append(PrintLevel(fit_size(stage.size[1], stage.size[0], side), style_side, objective))
    zoom = cfg.print.zoom
    if zoom.to is not None:  # the zoom path past the print: windows of renders up to frame x to, the painting
        # at its print-scale size in each (strokes at their own size in every frame, however deep the zoom)
        last = levels[-1]
        for size, window in zoom_areas(stage.size, last.size, float(zoom.to), int(zoom.frame),
                                       tuple(zoom.center), cfg.print.crop):
            levels.append(PrintLevel(size, last.style_side, last.objective, window))
    return levels


def build_print(plan: Plan, vgg: VGG19, stage: Stage, param: Parameterization,
                saved: torch.Tensor | None = None, done: int = 0) -> PrintCrops:
    """The print stage's evaluation for ``param`` after the last canvas ``stage``: its levels, and
    the anchor: ``saved`` (a resumed print stage's, from its checkpoint's :data:`ANCHOR`) or the
    canvas ``param`` renders now; ``done`` print steps already taken (a resumed run's), so its
    crops go on where they stopped. Raises :class:`ParamartError` for a saved anchor that is not a
    finite (1, 3, H, W) image of the stage's size in [0, 1]."""
    if saved is None:
        with torch.no_grad():
            canvas = param.render(stage.size)
    else:
        canvas = saved
        if (not isinstance(saved, torch.Tensor) or tuple(saved.shape) != (1, 3, *stage.size)
                or not bool(torch.isfinite(saved).all()) or saved.min() < 0 or saved.max() > 1):
            raise ParamartError(f"resume={plan.cfg.resume}: its {ANCHOR} is not a {stage.size[1]}x{stage.size[0]} "
                                "image in [0, 1]; the checkpoint is damaged")
    p = plan.cfg.print
    return PrintCrops(print_levels(plan, vgg, stage), canvas.to(plan.device), p.crop, p.crops, p.anchor,
                      plan.cfg.seed, done * p.crops)
