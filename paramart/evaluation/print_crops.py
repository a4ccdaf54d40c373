"""Print-scale training of a coordinate image: brush strokes at the print's own resolution.

A coordinate network (hash grid, CPPN) learned on a 256 px canvas can be rendered at 8192
px, but nothing asked it what to put between the canvas's pixels. The print stage trains
the same field, after the canvas stages, on random crops of its print-size render
(``param.region``: only the crop's pixels are evaluated, so a step costs the same for a
4096 and a 16384 px print). Each crop is ``print.crop`` px of a render at one of
``print.levels`` zoom levels spaced geometrically from the canvas to the print (the last
level is the print itself), and is scored with

* the objective's **style** terms against the painting at that level's scale: its long side
  goes geometrically from the canvas's style size (``size x objective.style_scale``) to
  ``print.style_size`` at the print (default: the style file's own size, so the print shows
  the painting's strokes at their own size in pixels). A zoom animation and a walk up to the
  print pass through every level, so every level has the painting's statistics at its scale;
* the **anchor**, which keeps the subject where the canvas put it: the crop averaged down to
  the canvas's pixels (an area average over each canvas pixel's footprint) must equal the
  canvas rendered at the end of the canvas stages (mean squared error in [0, 1] units, weight
  ``print.anchor``). The photo has no detail beyond its own pixels, so a content term on the
  crop would pull it towards an enlarged, blurred photo; the anchor constrains only what the
  photo (through the canvas) does know, the print's low frequencies, and leaves the detail to
  the style. It is also what keeps the crops consistent with each other and with the canvas:
  the print downsampled is the canvas.

Unlike zoom training (:mod:`paramart.evaluation.zoom_training`), where every zoomed crop
is compared with the *whole* painting (an 8K render becomes a painting of paintings), a
crop here is compared with the painting at the scale it shows: strokes, not pictures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from paramart.errors import ParamartError
from paramart.evaluation.base import Losses, Strategy

#: the most zoom levels and crops per step a print stage takes (each level holds its own style targets)
MAX_LEVELS, MAX_CROPS = 16, 64
#: the crops of the final measurement (the saved field's own loss) are drawn with this seed
MEASURE_SEED = 0


def geometric(start: float, end: float, count: int) -> list[int]:
    """``count`` whole numbers spaced geometrically after ``start`` up to ``end`` (the last is
    ``end``): the long sides of the zoom levels (or of the painting at them)."""
    return [round(start * (end / start) ** (k / count)) for k in range(1, count + 1)]


def check_print(p, size: int, renders_regions: bool, param_name: str, adam: bool, max_pixels: int) -> None:
    """Refuse a print stage that cannot run, with one line naming the key (before any model loads):
    ``p`` is the ``print`` config (``size`` None: no print stage), ``size`` the canvas's long side.

    Raises :class:`ParamartError` for a print no larger than the canvas or over ``max_pixels``,
    a crop smaller than 32 px or larger than the canvas, counts under 1, a negative anchor,
    a parameterization that cannot render regions, or an optimiser other than Adam."""
    if p["size"] is None:
        return
    for key, high in (("size", None), ("steps", None), ("crop", None), ("crops", MAX_CROPS), ("levels", MAX_LEVELS)):
        value = p[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1 or (high and value > high):
            span = f"from 1 to {high}" if high else "at least 1"
            raise ParamartError(f"print.{key}={value} must be a whole number {span}")
    if p["size"] <= size:
        raise ParamartError(f"print.size={p['size']} must be larger than the canvas (size={size}); "
                            "a print stage adds the detail above the canvas's pixels")
    if p["size"] ** 2 > max_pixels:
        raise ParamartError(f"print.size={p['size']} would make a print of up to {p['size']}x{p['size']} px, over "
                            f"max_input_pixels={max_pixels}; use a smaller print.size= or raise max_input_pixels=")
    if not 32 <= p["crop"] <= size:
        raise ParamartError(f"print.crop={p['crop']} must be from 32 px (VGG's deepest style layer needs it) "
                            f"to the canvas's size={size}")
    anchor = p["anchor"]
    if not (isinstance(anchor, int | float) and not isinstance(anchor, bool) and math.isfinite(anchor)
            and anchor >= 0):
        raise ParamartError(f"print.anchor={anchor} must be a number of at least 0")
    style_size = p["style_size"]
    if style_size is not None and (not isinstance(style_size, int) or isinstance(style_size, bool)
                                   or style_size < p["crop"]):
        raise ParamartError(f"print.style_size={style_size} must be a whole number of px, at least "
                            f"print.crop={p['crop']} (a crop must not show more than the whole painting), or null")
    if not renders_regions:
        raise ParamartError(f"print.size needs a coordinate parameterization that renders regions (hashgrid, "
                            f"cppn, fourier_cppn); {param_name} cannot, so use experiment=print for pixels")
    if not adam:
        raise ParamartError("print.size needs optim=adam: each step scores other random crops, which "
                            "L-BFGS's line search cannot follow")


def print_style_size(style_size: int | None, style_sides: list[int], crop: int) -> int:
    """The painting's long side at print scale: ``style_size``, or the smallest style file's own
    long side (of ``style_sides``) when None. Raises :class:`ParamartError` when it is larger than
    a style file (the strokes would be enlarged, blurred) or smaller than the crop."""
    native = min(style_sides)
    if style_size is None:
        if native < crop:
            raise ParamartError(f"print.style_size: the style image is {native} px on its long side, under "
                                f"print.crop={crop}; give a larger style file or a smaller print.crop=")
        return native
    if style_size > native:
        raise ParamartError(f"print.style_size={style_size} is larger than the style file ({native} px on its "
                            "long side): its strokes would be enlarged and blurred; give at most that, or null")
    return style_size


@dataclass(frozen=True)
class PrintLevel:
    """One zoom level of the print stage: the whole render's size and the style terms there."""

    size: tuple[int, int]  #: (height, width) of the whole render at this level, px
    style_side: int  #: the painting's long side at this level, px
    objective: torch.nn.Module  #: the style terms with targets at this level (an Objective)


class PrintCrops(Strategy):
    """Each evaluation: ``crops`` random ``crop`` px crops, each of a random level's render
    (uniformly), scored by that level's style terms and by ``anchor`` times the anchor (see the
    module docstring); the terms are averaged over the crops. ``canvas`` is the (1, 3, h, w)
    render in [0, 1] the anchor keeps (the field at the end of the canvas stages)."""

    def __init__(self, levels: list[PrintLevel], canvas: torch.Tensor, crop: int, crops: int, anchor: float):
        self.levels = list(levels)
        self.canvas = canvas.detach()
        self.crop, self.crops, self.anchor = int(crop), int(crops), float(anchor)

    @property
    def names(self) -> list[str]:
        """The style terms' names (as in the objective) and ``anchor``."""
        return [*self.levels[0].objective.names, "anchor"]

    def place(self, level: PrintLevel) -> tuple[int, int, int, int]:
        """(top, left, height, width) of a uniformly placed crop of ``level``'s render, px."""
        h, w = level.size
        ch, cw = min(self.crop, h), min(self.crop, w)
        top = int(torch.randint(0, h - ch + 1, (1,)))
        left = int(torch.randint(0, w - cw + 1, (1,)))
        return top, left, ch, cw

    def anchor_loss(self, crop: torch.Tensor, size: tuple[int, int], top: int, left: int) -> torch.Tensor:
        """Mean squared difference between ``crop`` (1, 3, ch, cw) of a ``size`` render at (``top``,
        ``left``), averaged over each canvas pixel's footprint, and the canvas sampled there."""
        h, w = self.canvas.shape[-2:]
        ch, cw = crop.shape[-2:]
        sy, sx = h / size[0], w / size[1]  # canvas px per render px
        mh, mw = max(1, round(ch * sy)), max(1, round(cw * sx))
        pooled = F.adaptive_avg_pool2d(crop, (mh, mw))
        # the pooled cells' centres, in canvas px, then in grid_sample's [-1, 1] (align_corners=False)
        ys = (top + (torch.arange(mh, dtype=torch.float32) + 0.5) * ch / mh) * sy
        xs = (left + (torch.arange(mw, dtype=torch.float32) + 0.5) * cw / mw) * sx
        grid = torch.stack(torch.meshgrid(xs / w * 2 - 1, ys / h * 2 - 1, indexing="xy"), -1)
        target = F.grid_sample(self.canvas, grid[None].to(crop), mode="bilinear", padding_mode="border",
                               align_corners=False)
        return (pooled - target).pow(2).mean()

    def losses(self, param) -> Losses:
        """The crops' style terms and anchor, each averaged over the crops; autograd backward."""
        sums: dict[str, torch.Tensor] = {}
        for _ in range(self.crops):
            level = self.levels[int(torch.randint(0, len(self.levels), (1,)))]
            top, left, ch, cw = self.place(level)
            crop = param.region(level.size, top, left, ch, cw)
            terms = dict(level.objective(crop))
            terms["anchor"] = self.anchor * self.anchor_loss(crop, level.size, top, left)
            for name, value in terms.items():
                sums[name] = value / self.crops if name not in sums else sums[name] + value / self.crops
        total = sum(sums.values())
        return Losses(sums, total, total.backward)

    def measure_losses(self, param) -> Losses:
        """:meth:`losses` on crops drawn with a fixed seed (:data:`MEASURE_SEED`), the run's random
        state left as it was: the saved field's loss is the same however often it is measured."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(MEASURE_SEED)
            return self.losses(param)
