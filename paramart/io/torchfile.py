"""Loading ``.pt`` files (checkpoints, weights) without running code, in paramart's words.

Everything goes through ``torch.load(..., weights_only=True)``, which builds only
tensors and plain containers. Its errors are turned into one line that says what is wrong
with the file and what to do; PyTorch's advice to retry with ``weights_only=False`` (which
would run whatever the file holds) is never passed on.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from paramart.errors import ParamartError


def load_pt(path: str | Path, what: str) -> Any:
    """``torch.load`` a file of tensors on the CPU; ``what`` names it in messages ("checkpoint")."""
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except PermissionError:
        raise ParamartError(f"cannot read {what} {path}: permission denied; check the file's permissions") from None
    except MemoryError:
        raise ParamartError(f"cannot load {what} {path}: not enough memory for it") from None
    except pickle.UnpicklingError as exc:
        if "weights only" in str(exc).lower():
            raise ParamartError(
                f"{what} {path} holds objects other than tensors and plain values; paramart never loads such "
                "a file, because it could run code. Use only files written by paramart (or plain state dicts)"
            ) from None
        raise ParamartError(_damaged(path, what)) from None
    except Exception:  # zip errors, EOF, "[Errno 22]" on a cut-off file, KeyError on a text file
        raise ParamartError(_damaged(path, what)) from None


def _damaged(path: Path, what: str) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        size = -1
    return (f"cannot load {what} {path} ({size} bytes): it is damaged, cut off or not a PyTorch file; "
            "copy it again from where it was made")
