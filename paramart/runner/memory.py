"""Running out of memory (GPU or CPU) becomes a one-line message that names the size that
failed and what to try instead."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from omegaconf import DictConfig

from paramart.errors import ParamartError


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a :class:`MemoryError`, a CUDA out-of-memory error, or a :class:`RuntimeError` whose
    message says an allocation failed (PyTorch's CPU allocator, oneDNN)."""
    if isinstance(exc, MemoryError | torch.cuda.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        s in text for s in ("out of memory", "can't allocate memory", "not enough memory", "alloc_failed"))


def out_of_memory_message(cfg: DictConfig, exc: BaseException, saved: str = "") -> str:
    """The one-line message for running out of (GPU or CPU) memory at ``cfg.size``: it suggests a
    smaller ``objective.style_scale`` when that is above 1, else a size 3/4 as large (at least
    16 px) or the multi-scale schedule; ``saved`` is appended (what was kept, e.g. "; kept ...")."""
    gpu = isinstance(exc, torch.cuda.OutOfMemoryError) or "cuda" in str(exc).lower()
    style_scale = float(cfg.objective.get("style_scale", 1.0))
    style = f" with style images at {round(cfg.size * style_scale)} px" if style_scale != 1.0 else ""
    if style_scale > 1:
        return (f"out of {'GPU' if gpu else 'CPU'} memory at size={cfg.size}{style}; try a smaller "
                f"objective.style_scale= (now {style_scale:g}) or size={max(16, cfg.size * 3 // 4)}{saved}")
    return (f"out of {'GPU' if gpu else 'CPU'} memory at size={cfg.size}{style}; try a smaller size= "
            f"(e.g. size={max(16, cfg.size * 3 // 4)}) or the multi-scale schedule, which does most steps "
            f"at a smaller size{saved}")


def explain_out_of_memory(run: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate ``run(cfg, ...)`` so an out-of-memory error anywhere becomes a one-line message."""

    @functools.wraps(run)
    def wrapper(cfg: DictConfig, *args: Any, **kwargs: Any) -> Any:
        try:
            return run(cfg, *args, **kwargs)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            raise ParamartError(out_of_memory_message(cfg, exc)) from None

    return wrapper


