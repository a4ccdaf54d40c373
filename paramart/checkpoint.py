"""``checkpoint.pt``: a parameterization's config and learned state, safe to load.

Everything in it is a tensor, number, string, list or dict, so it loads with
``torch.load(..., weights_only=True)``, which never runs code from the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate

from paramart.errors import ParamartError
from paramart.images import atomic_write
from paramart.params.base import Parameterization

FORMAT = 1


def save_checkpoint(
    path: str | Path,
    param: Parameterization,
    param_config: dict[str, Any],
    *,
    step: int,
    optimizer: torch.optim.Optimizer | None = None,
) -> None:
    state = {
        "format": FORMAT,
        "param_config": param_config,
        "size": list(param.size),
        "state": {k: v.detach().cpu() for k, v in param.state_dict().items()},
        "step": int(step),
    }
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise ParamartError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ParamartError(f"cannot load checkpoint {path}: {first}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ParamartError(f"{path} is not a paramart checkpoint (format {FORMAT})")
    return ckpt


def param_from_checkpoint(ckpt: dict[str, Any] | str | Path) -> Parameterization:
    """Rebuild the parameterization of a finished run, with its learned state."""
    if not isinstance(ckpt, dict):
        ckpt = load_checkpoint(ckpt)
    size = tuple(ckpt["size"])
    # Any init image will do: the learned state replaces what the constructor made.
    param = instantiate(ckpt["param_config"], size=size, init_image=torch.zeros(1, 3, *size))
    param.load_state_dict(ckpt["state"])
    return param
