"""Which device a run computes on, from the ``device=`` setting."""

from __future__ import annotations

import torch

from paramart.errors import ParamartError


def resolve_device(name: str) -> torch.device:
    """The :class:`torch.device` for ``device=NAME``: ``auto`` (CUDA when there is a GPU,
    else the CPU), ``cpu``, ``cuda`` or ``cuda:N``.

    Raises :class:`ParamartError` for a name torch cannot parse, a device type paramart
    does not run on, a GPU number that does not exist, or CUDA asked for without a GPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise ParamartError(f"device={name!r} is not a device; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise ParamartError(f"device={name} is not one paramart runs on; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and device.index is not None and device.index >= max(1, torch.cuda.device_count()):
        raise ParamartError(f"device={name}: there is no GPU number {device.index}; use device=cuda or auto")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ParamartError(f"device={name} was asked for but no CUDA GPU is available; use device=auto or cpu")
    return device
