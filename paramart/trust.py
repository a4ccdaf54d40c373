"""What is read back from disk is data, never code.

Checkpoints, run folders (``.hydra/overrides.yaml``, ``run.json``) and gallery inputs come
from other people. Nothing in them is ever passed to Hydra's ``instantiate``: classes are
picked from allow-lists (the registered parameterizations, the known optimisers) and
their arguments must be plain values, checked here. A plain value is a bool, a number, a
string without ``${`` (no interpolation, so no resolver runs) or None, a list of them, or
one level of settings made of them (no ``_target_`` there either).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from paramart.errors import ParamartError

#: Hydra's instantiate keys: never accepted from a file
HYDRA_KEYS = frozenset({"_target_", "_partial_", "_args_", "_recursive_", "_convert_"})


def is_plain(value: Any, depth: int = 0) -> bool:
    """A scalar or a (short, flat) list of scalars, with no interpolation in any string, or
    a small mapping of such values (a settings group such as ``param.prefit``) whose keys
    are plain names, none of Hydra's ``_target_`` family."""
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        return True  # NaN and infinities are the validator's business, not a safety issue
    if isinstance(value, str):
        return "${" not in value
    if isinstance(value, list | tuple) and depth == 0:
        return len(value) <= 10_000 and all(is_plain(v, 1) for v in value)
    if isinstance(value, Mapping) and depth == 0:
        return len(value) <= 100 and all(isinstance(k, str) and k not in HYDRA_KEYS and is_plain(v, 1)
                                         for k, v in value.items())
    return False


def plain_arguments(values: Mapping[str, Any], where: str, allowed: set[str] | frozenset[str]) -> dict[str, Any]:
    """``values`` without ``_target_``, checked: only ``allowed`` keys, each a plain value."""
    if not isinstance(values, Mapping):
        raise ParamartError(f"{where}: expected a mapping of settings, found {type(values).__name__}")
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key == "_target_":
            continue
        if not isinstance(key, str) or key in HYDRA_KEYS or key not in allowed:
            raise ParamartError(f"{where}: unknown setting {key!r}; known: {', '.join(sorted(allowed)) or 'none'}")
        if not is_plain(value):
            raise ParamartError(f"{where}: {key} must be a plain value (number, text, true/false, null or a list "
                                f"of them), not {_describe(value)}")
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return "an interpolation (${...})"
    if isinstance(value, Mapping):
        return "a nested mapping" + (" with _target_" if "_target_" in value else "")
    return f"a {type(value).__name__}"


def finite(value: Any) -> bool:
    """True for an int or float (not a bool) that is neither NaN nor infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
