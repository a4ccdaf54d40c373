"""Start a coordinate network from the content photo: a pixel-space pre-fit.

A CPPN or a hash grid has no closed-form inverse, so ``param.init=content`` (the default,
``auto``, when there is a content photo) fits it to the photo first, by Adam on the mean
squared error of the rendered canvas, with no VGG: cheap, and the style objective then
starts from an image of the subject, as pixel and FFT runs do. ``param.prefit.steps`` caps
the fit and ``param.prefit.seconds`` (when set) ends it earlier.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from omegaconf import MISSING

from paramart.errors import ParamartError

#: the pre-fit's largest learning rate: Adam moves each weight by about lr a step, and past
#: this the fit diverges at once
MAX_LR = 10.0


@dataclass
class PrefitConfig:
    """``param.prefit``: what a coordinate parameterization asks of the run before the style
    objective (a pixel-space fit to the photo)."""

    #: Adam steps of the pixel-space fit (a cap when ``seconds`` is set)
    steps: int = MISSING
    #: time budget of the fit in seconds; null = steps only
    seconds: float | None = None
    #: Adam learning rate of the fit
    lr: float = MISSING


def content_init(init: str, init_image: torch.Tensor | None, prefit) -> PrefitConfig | None:
    """Resolve ``param.init`` (auto | content | none) for a coordinate parameterization: the
    pre-fit's settings, or None when it starts without one. ``init_image`` is the photo,
    (1, 3, H, W) in [0, 1], or None. Raises :class:`ParamartError` for an unknown ``init``,
    ``init=content`` without a photo, or pre-fit settings out of range."""
    if init not in ("auto", "content", "none"):
        raise ParamartError(f"param.init must be auto, content or none, not {init!r}")
    if init == "content" and init_image is None:
        raise ParamartError("param.init=content needs a content image; use param.init=none")
    if init == "none" or init_image is None:
        return None
    prefit = dict(prefit or {})
    steps, seconds, lr = int(prefit.get("steps", 200)), prefit.get("seconds"), float(prefit.get("lr", 0.01))
    if steps < 0:
        raise ParamartError(f"param.prefit.steps={steps} must be at least 0")
    if not 0 < lr <= MAX_LR:
        raise ParamartError(f"param.prefit.lr={lr:g} must be above 0 and at most {MAX_LR:g} (Adam's step size)")
    if seconds is not None and not seconds > 0:
        raise ParamartError(f"param.prefit.seconds={seconds} must be above 0 (or null)")
    return PrefitConfig(steps, None if seconds is None else float(seconds), lr)


def fit_to_image(param: torch.nn.Module, image: torch.Tensor, steps: int, lr: float, seconds: float | None = None,
                 on_step: Callable[[int, int], None] | None = None,
                 should_stop: Callable[[], object] | None = None) -> list[float]:
    """Adam on ``mse(param(), image)``; returns the loss before each step. ``on_step(step, steps)``
    runs after each step (time-lapse frames); the fit ends early when ``should_stop()`` is
    true after a step (Ctrl-C: the run then saves, as in any other phase).

    Raises :class:`ParamartError` when the loss is not finite (a learning rate far too high),
    before the step that would spread it into the parameters."""
    # fused: one kernel over all parameters, 30x faster on a CPU than the per-tensor loop for a
    # print-size hash grid's tables (22 M values: 0.9 s a step, most of the pre-fit's time)
    optimizer = torch.optim.Adam([p for p in param.parameters() if p.requires_grad], lr=lr, fused=True)
    end = None if seconds is None else time.perf_counter() + seconds
    losses = []
    for step in range(steps):
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(param(), image)
        value = loss.item()
        if not math.isfinite(value):
            raise ParamartError(f"the photo pre-fit's loss became {value} at its step {step + 1}; lower "
                                f"param.prefit.lr (now {lr:g}), or use param.init=none")
        loss.backward()
        optimizer.step()
        losses.append(value)
        if on_step is not None:
            on_step(step + 1, steps)
        if (end is not None and time.perf_counter() >= end) or (should_stop is not None and should_stop()):
            break
    if not all(bool(torch.isfinite(p).all()) for p in param.parameters()):
        raise ParamartError(f"the photo pre-fit made the parameters non-finite; lower param.prefit.lr (now {lr:g}), "
                            "or use param.init=none")
    return losses


def prefit_to_content(param: torch.nn.Module, content: torch.Tensor | None, observers=(),
                      frames: int = 8, should_stop: Callable[[], object] | None = None) -> list[float]:
    """The run's pre-fit: fit ``param`` to ``content`` when its ``param.init`` asked for it.

    ``observers`` (:class:`paramart.runner.events.Observer`: the time-lapse, a preview) get
    about ``frames`` frames of the fit, numbered below zero so that the style phase's step 0
    follows them."""
    plan = getattr(param, "prefit", None)
    if plan is None or content is None or plan.steps == 0:
        return []
    every = max(1, plan.steps // frames)

    def on_step(step: int, steps: int) -> None:
        if observers and step % every == 0:
            image = param.render().cpu()
            for o in observers:
                o.on_frame(step - steps - 1, image, False)

    return fit_to_image(param, content, plan.steps, plan.lr, plan.seconds, on_step, should_stop)
