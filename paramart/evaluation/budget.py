"""Memory arithmetic for print-size canvases: what a step costs, what the device has, and
the tile that fits (``model.tile=auto``, ``model.memory_budget``).

A step's memory is (a) VGG-19's activations for whatever it sees at once (the canvas, or
one tile with its halo), kept for the backward pass, and (b) canvas-sized float32
buffers: the rendered image and its gradient, the parameters, their gradient, and the
optimiser's state (Adam: 2 copies; L-BFGS: 2 per history pair plus about 4).

(a) is counted layer by layer: every layer's output up to the deepest one in use is
saved for backward (channels / stride^2 values per canvas pixel: 608 up to conv5_1),
times the element size (2 bytes under bf16 autocast, 4 in float32), times
:data:`OVERHEAD` for what backward holds besides (gradients of the two largest layers,
max-pooling indices). Measured on the CPU (docs/benchmarks.md): 1.8-2 GiB per megapixel
at bf16 up to conv5_1, which this reproduces.
"""

from __future__ import annotations

import math

import torch

from paramart.errors import ParamartError
from paramart.evaluation.layout import alignment, halo
from paramart.model.layers import _CHANNELS, LAYER_NAMES

#: backward's working memory beyond the saved activations (fitted to measured peaks)
OVERHEAD = 1.6
#: float32 canvas-sized buffers besides the optimiser's: image, its gradient, parameters,
#: their gradient, the render's graph (sigmoid output), the tiled image gradient
CANVAS_COPIES = 6
GiB = 1024**3


def values_per_pixel(deepest: str | None) -> float:
    """Activation values per canvas pixel that VGG-19 keeps for backward up to ``deepest``."""
    if deepest is None:
        return 0.0
    total, j = 0.0, 1
    for name in LAYER_NAMES[: LAYER_NAMES.index(deepest) + 1]:
        if name.startswith("pool"):
            j *= 2
        block = int(name[4])
        total += _CHANNELS[block] / (j * j)
    return total


def activation_bytes(pixels: float, deepest: str | None, precision: str) -> float:
    """Bytes VGG-19 holds for a forward + backward over ``pixels`` pixels."""
    elem = 2 if precision == "bf16" else 4
    return OVERHEAD * values_per_pixel(deepest) * elem * pixels


def optimizer_copies(optim_cfg) -> int:
    """Canvas-sized float32 copies an optimiser keeps (its state)."""
    target = str(optim_cfg.get("_target_", ""))
    if target.endswith("LBFGS"):
        return 2 * int(optim_cfg.get("history_size", 100)) + 4
    if target.endswith("Adam") or target.endswith("AdamW"):
        return 2
    return 1


def canvas_bytes(size: tuple[int, int], copies: int) -> float:
    """Bytes of ``copies`` float32 RGB buffers of a ``size`` (height, width) canvas: 12 bytes per px per copy."""
    return 4 * 3 * size[0] * size[1] * copies


def free_memory(device: torch.device) -> int:
    """Bytes free now on ``device`` (CUDA: the driver's figure; CPU: MemAvailable)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 8 * GiB


#: model.memory_budget's range in GiB: below 16 MiB not even VGG-19's weights fit
MIN_BUDGET_GIB, MAX_BUDGET_GIB = 0.016, 1 << 20


def resolve_budget(value, device: torch.device) -> float:
    """``model.memory_budget`` in bytes: ``auto`` = 80% of the device's free memory now,
    else GiB."""
    if value in (None, "auto"):
        return 0.8 * free_memory(device)
    try:
        gib = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        gib = math.nan
    if not math.isfinite(gib):
        raise ParamartError(f"model.memory_budget must be auto or a number of GiB, not {value!r}")
    if not MIN_BUDGET_GIB <= gib <= MAX_BUDGET_GIB:
        raise ParamartError(f"model.memory_budget={value} must be from {MIN_BUDGET_GIB} to {MAX_BUDGET_GIB} GiB "
                            "(or auto)")
    return gib * GiB


def check_tile(value) -> int | str | None:
    """``model.tile``: null, auto or a positive int (px), refused otherwise."""
    if value is None or value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParamartError(f"model.tile must be null, auto or a positive number of px, not {value!r}")
    return value


def step_bytes(size: tuple[int, int], tile: int | None, deepest: str | None, precision: str,
               copies: int) -> float:
    """Estimated peak bytes of one step: untiled (``tile=None``) or with ``tile`` px cores."""
    h, w = size
    if tile is None:
        pixels = h * w
    else:
        pad = halo(deepest)
        pixels = min(h, tile + 2 * pad) * min(w, tile + 2 * pad)
    return activation_bytes(pixels, deepest, precision) + canvas_bytes(size, copies)


def auto_tile(size: tuple[int, int], deepest: str | None, precision: str, copies: int, budget: float) -> int | None:
    """None when the whole canvas fits ``budget``; else the largest core (a multiple of the
    deepest layer's stride) whose tile fits; refused when not even the buffers fit."""
    if step_bytes(size, None, deepest, precision, copies) <= budget:
        return None
    j = alignment(deepest)
    left = budget - canvas_bytes(size, copies)
    per_px = activation_bytes(1, deepest, precision)
    side = math.isqrt(int(max(0.0, left) / per_px)) if per_px > 0 else max(size)
    core = (side - 2 * halo(deepest)) // j * j
    if core < max(j, 64):
        need = step_bytes(size, 64, deepest, precision, copies) / GiB
        raise ParamartError(
            f"a {size[1]}x{size[0]} canvas needs about {need:.3g} GiB even in 64 px tiles, more than "
            f"model.memory_budget ({budget / GiB:.3g} GiB); raise it, use a smaller size= or optim=adam"
        )
    return core


def choose_tile(size: tuple[int, int], deepest: str | None, precision: str, optim_cfg, budget: float,
                tile) -> tuple[int | None, int | None]:
    """(tile core px or None, L-BFGS history or None to keep the configured one).

    ``tile``: null never tiles; N tiles in N px cores; auto tiles when the untiled step
    (optimiser state included) would exceed ``budget``, with the largest tile that leaves
    room for at least :data:`MIN_PAIRS` L-BFGS pairs. When tiled, an L-BFGS history is cut
    to what fits the budget next to the tile."""
    tile = check_tile(tile)
    full = CANVAS_COPIES + optimizer_copies(optim_cfg)
    if tile is None:
        return None, None
    if tile == "auto":
        if step_bytes(size, None, deepest, precision, full) <= budget:
            return None, None
        reserve = CANVAS_COPIES + min(full - CANVAS_COPIES, optimizer_copies({**_plain(optim_cfg),
                                                                            "history_size": MIN_PAIRS}))
        tile = auto_tile(size, deepest, precision, reserve, budget)  # None: fits untiled with fewer pairs
    history = None
    if str(optim_cfg.get("_target_", "")).endswith("LBFGS"):
        configured = int(optim_cfg.get("history_size", 100))
        fixed = step_bytes(size, tile, deepest, precision, CANVAS_COPIES + 4)
        history = int(max(1, min(configured, (budget - fixed) // canvas_bytes(size, 2))))
    return tile, history


#: L-BFGS pairs an automatic tile size leaves room for
MIN_PAIRS = 5


def _plain(cfg) -> dict:
    return {k: cfg.get(k) for k in ("_target_", "history_size")}
