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
  the style. It is also what keeps the crops consistent with each other and with the canvas.
  It is a penalty: during the stage the print downsampled stays near the canvas, not equal to
  it (the style terms of the coarse levels pull on the same pixels). After the last step the
  field is anchored exactly (:mod:`paramart.params.anchored`: a smooth surface, one B-spline
  coefficient per canvas pixel, makes the print's footprint averages the canvas).

The crops **cover** the levels: an epoch is every level's render cut into ``crop`` px tiles
(a fresh random offset and order each epoch, from the run's seed), so every pixel of every
level is trained once an epoch and a level is drawn as often as its area needs. Random
placement alone leaves most of an 8192 px print unvisited after a few hundred steps (a hash
grid's fine levels there keep their initial noise: grain up close).

Unlike zoom training (:mod:`paramart.evaluation.zoom_training`), where every zoomed crop
is compared with the *whole* painting (an 8K render becomes a painting of paintings), a
crop here is compared with the painting at the scale it shows: strokes, not pictures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from paramart.errors import ParamartError
from paramart.evaluation.base import Losses, Strategy
from paramart.params.anchored import footprints

#: the most zoom levels and crops per step a print stage takes (each level holds its own style targets)
MAX_LEVELS, MAX_CROPS = 16, 64
#: the crops of the final measurement (the saved field's own loss) are drawn with this seed
MEASURE_SEED = 0


def geometric(start: float, end: float, count: int) -> list[int]:
    """``count`` whole numbers spaced geometrically after ``start`` up to ``end`` (the last is
    ``end``): the long sides of the zoom levels (or of the painting at them)."""
    return [round(start * (end / start) ** (k / count)) for k in range(1, count + 1)]


def check_print(p, size: int, renders_regions: bool, param_name: str, adam: bool, max_pixels: int,
                finest: int | None = None) -> None:
    """Refuse a print stage that cannot run, with one line naming the key (before any model loads):
    ``p`` is the ``print`` config (``size`` None: no print stage), ``size`` the canvas's long side.

    Raises :class:`ParamartError` for a print no larger than the canvas or over ``max_pixels``,
    a crop smaller than 32 px or larger than the canvas, counts under 1, a negative anchor,
    a parameterization that cannot render regions, an optimiser other than Adam, or a zoom path
    (``print.zoom``) with bad keys or past what the hash grid's ``finest`` level resolves."""
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
    zoom = p.get("zoom") or {}
    to = zoom.get("to")
    if to is not None:
        if not (isinstance(to, int | float) and not isinstance(to, bool) and math.isfinite(to) and 1 <= to <= 4096):
            raise ParamartError(f"print.zoom.to={to} must be a magnification from 1 to 4096, or null")
        frame = zoom.get("frame")
        if not isinstance(frame, int) or isinstance(frame, bool) or frame < p["crop"]:
            raise ParamartError(f"print.zoom.frame={frame} must be a whole number of px, at least "
                                f"print.crop={p['crop']}")
        center = zoom.get("center")
        if (not isinstance(center, list | tuple) or len(center) != 2
                or not all(isinstance(c, int | float) and not isinstance(c, bool) and 0 <= c <= 1 for c in center)):
            raise ParamartError(f"print.zoom.center={center} must be two fractions of the width and height in "
                                "[0, 1], e.g. [0.5,0.5]")
        if finest is not None and finest < frame * to:
            raise ParamartError(f"print.zoom.to={to:g} at {frame} px frames renders {round(frame * to)} px across; "
                                f"param.finest={finest} resolves {finest}: raise param.finest= to at least that")
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
    #: (top, left, height, width) of the render the crops cover, px; None: all of it (a zoom path's
    #: level past the print covers only the window its frames show)
    window: tuple[int, int, int, int] | None = None

    @property
    def area(self) -> tuple[int, int, int, int]:
        """(top, left, height, width) of the render the crops cover, px."""
        return self.window if self.window is not None else (0, 0, *self.size)


def tiles_along(n: int, crop: int) -> int:
    """Tiles of ``crop`` px along a side of ``n`` px in an epoch of :func:`cover`."""
    return 1 if n <= crop else n // crop + 1


def _area(a: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(top, left, height, width) of an area given as (height, width) (a whole render) or as itself."""
    return (0, 0, *a) if len(a) == 2 else tuple(a)


def epoch_length(areas: list[tuple[int, ...]], crop: int) -> int:
    """Crops in one epoch of :func:`cover` (the same for every epoch)."""
    return sum(tiles_along(h, crop) * tiles_along(w, crop) for _, _, h, w in map(_area, areas))


def cover(areas: list[tuple[int, ...]], crop: int, generator: torch.Generator) -> list[tuple[int, int, int]]:
    """One epoch of crops that covers every level: (level index, top, left) of ``crop`` px tiles
    of each level's area ((height, width) of a whole render, or (top, left, height, width) of a
    window of it), all levels' tiles in a random order. Along a side of ``n`` px an area has
    ``n // crop + 1`` tiles (one when ``n <= crop``), ``crop`` apart from a random offset of up
    to their slack, the first and last clamped into the area: every pixel is covered, the seams
    move from epoch to epoch, and every epoch has as many tiles."""

    def starts(n: int, c: int) -> list[int]:
        count = tiles_along(n, c)
        if count == 1:
            return [0]
        shift = int(torch.randint(0, count * c - n + 1, (1,), generator=generator))
        return [min(max(0, k * c - shift), n - c) for k in range(count)]

    tiles = []
    for index, (top0, left0, h, w) in enumerate(map(_area, areas)):
        ch, cw = min(crop, h), min(crop, w)
        tiles += [(index, top0 + top, left0 + left) for top in starts(h, ch) for left in starts(w, cw)]
    order = torch.randperm(len(tiles), generator=generator).tolist()
    return [tiles[k] for k in order]


def zoom_areas(canvas: tuple[int, int], print_size: tuple[int, int], to: float, frame: int,
               center: tuple[float, float], crop: int) -> list[tuple[tuple[int, int], tuple[int, int, int, int]]]:
    """The zoom path's levels past the print: [(render size, window)] for a zoom animation of
    ``frame`` px wide frames of a ``canvas`` (h, w) image magnified up to ``to`` times around
    ``center`` (fractions of width and height), as ``paramart-render zoom.to=TO`` draws it: a frame
    at magnification z is a window of a render ``frame x z`` px wide. Levels double from past the
    ``print_size`` render to ``frame x to``; each window is the frame's size plus half a frame each
    side (the frames between two levels), clamped into the render. [] when the print already
    covers the zoom."""
    h, w = canvas
    end = frame * to
    if end <= print_size[1]:
        return []
    count = math.ceil(math.log2(end / print_size[1]))
    fh = max(crop, round(frame * h / w))
    out = []
    for k in range(1, count + 1):
        width = round(print_size[1] * (end / print_size[1]) ** (k / count))
        size = (max(1, round(h * width / w)), width)
        wh, ww = min(size[0], 2 * fh), min(size[1], 2 * max(crop, frame))
        top = min(max(0, round(center[1] * size[0] - wh / 2)), size[0] - wh)
        left = min(max(0, round(center[0] * size[1] - ww / 2)), size[1] - ww)
        out.append((size, (top, left, wh, ww)))
    return out


class PrintCrops(Strategy):
    """Each evaluation: the next ``crops`` crops of the epoch (:func:`cover`; ``crop`` px, each of
    one level's render), scored by that level's style terms and by ``anchor`` times the anchor
    (see the module docstring); the terms are averaged over the crops. ``canvas`` is the (1, 3,
    h, w) render in [0, 1] the anchor keeps (the field at the end of the canvas stages). The
    epochs follow from ``seed`` alone and ``drawn`` counts the crops already taken, so a resumed
    print stage (``drawn`` = its steps done x ``crops``) draws what an unstopped one would."""

    def __init__(self, levels: list[PrintLevel], canvas: torch.Tensor, crop: int, crops: int, anchor: float,
                 seed: int = 0, drawn: int = 0):
        self.levels = list(levels)
        self.canvas = canvas.detach()
        self.crop, self.crops, self.anchor = int(crop), int(crops), float(anchor)
        self.seed, self.drawn = int(seed), int(drawn)
        self._epoch: tuple[int, list[tuple[int, int, int]]] | None = None
        self._length = epoch_length([level.area for level in self.levels], self.crop)

    @property
    def names(self) -> list[str]:
        """The style terms' names (as in the objective) and ``anchor``."""
        return [*self.levels[0].objective.names, "anchor"]

    def tiles(self, epoch: int) -> list[tuple[int, int, int]]:
        """Epoch ``epoch``'s crops (:func:`cover`), drawn from ``seed`` and ``epoch`` alone."""
        if self._epoch is None or self._epoch[0] != epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch = (epoch, cover([level.area for level in self.levels], self.crop, generator))
        return self._epoch[1]

    def next_crop(self) -> tuple[PrintLevel, int, int, int, int]:
        """The next crop of the epochs: its level and (top, left, height, width), px."""
        index, top, left = self.tiles(self.drawn // self._length)[self.drawn % self._length]
        self.drawn += 1
        level = self.levels[index]
        return level, top, left, min(self.crop, level.area[2]), min(self.crop, level.area[3])

    def place(self, level: PrintLevel) -> tuple[int, int, int, int]:
        """(top, left, height, width) of a uniformly placed crop of ``level``'s area, px."""
        top0, left0, h, w = level.area
        ch, cw = min(self.crop, h), min(self.crop, w)
        top = top0 + int(torch.randint(0, h - ch + 1, (1,)))
        left = left0 + int(torch.randint(0, w - cw + 1, (1,)))
        return top, left, ch, cw

    def anchor_loss(self, crop: torch.Tensor, size: tuple[int, int], top: int, left: int) -> torch.Tensor:
        """Mean squared difference between ``crop`` (1, 3, ch, cw) of a ``size`` render at (``top``,
        ``left``), averaged over the footprint of each canvas pixel that lies wholly inside it (the
        exact box average, fractional render pixels weighted by their share), and those canvas
        pixels; 0 when the crop holds no whole footprint. Only whole footprints: the average over
        a window straddling two canvas pixels depends on where the detail sits inside them, and a
        penalty there would flatten the very detail the style terms paint."""
        h, w = self.canvas.shape[-2:]
        ch, cw = crop.shape[-2:]
        rows, k0, k1 = footprints(top, ch, h / size[0])
        cols, j0, j1 = footprints(left, cw, w / size[1])
        if rows is None or cols is None:
            return crop.sum() * 0
        pooled = rows.to(crop) @ crop @ cols.to(crop).T
        return (pooled - self.canvas[..., k0:k1, j0:j1].to(crop)).pow(2).mean()

    def score(self, param, crops: list[tuple[PrintLevel, int, int, int, int]]) -> Losses:
        """The style terms and anchor of ``crops`` ((level, top, left, height, width) each), each
        averaged over them; autograd backward."""
        sums: dict[str, torch.Tensor] = {}
        for level, top, left, ch, cw in crops:
            crop = param.region(level.size, top, left, ch, cw)
            terms = dict(level.objective(crop))
            terms["anchor"] = self.anchor * self.anchor_loss(crop, level.size, top, left)
            for name, value in terms.items():
                sums[name] = value / len(crops) if name not in sums else sums[name] + value / len(crops)
        total = sum(sums.values())
        return Losses(sums, total, total.backward)

    def losses(self, param) -> Losses:
        """The next ``crops`` crops of the epochs (:meth:`next_crop`), scored (:meth:`score`)."""
        return self.score(param, [self.next_crop() for _ in range(self.crops)])

    def measure_losses(self, param) -> Losses:
        """:meth:`score` of ``crops`` uniformly placed crops of uniformly drawn levels, drawn with a
        fixed seed (:data:`MEASURE_SEED`), the run's random state and the epochs left as they
        were: the saved field's loss is the same however often it is measured."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(MEASURE_SEED)
            crops = []
            for _ in range(self.crops):
                level = self.levels[int(torch.randint(0, len(self.levels), (1,)))]
                crops.append((level, *self.place(level)))
            return self.score(param, crops)
