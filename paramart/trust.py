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
from pathlib import Path
from typing import Any

import yaml

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


#: the largest settings file read from a run folder (``overrides.yaml``, ``run.json``)
MAX_SETTINGS_BYTES = 1_000_000
#: the deepest nesting of lists and mappings read from such a file
MAX_DEPTH = 32


def read_bounded(path: Path, limit: int = MAX_SETTINGS_BYTES) -> str:
    """The text of ``path``, refused (:class:`ParamartError`) above ``limit`` bytes, read no further."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ParamartError(f"{path} is over {limit} bytes, more than such a file ever holds")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ParamartError(f"{path} is not UTF-8 text") from None


def load_yaml_data(text: str, where: str) -> Any:
    """YAML as plain data, with no aliases or anchors (a 'billion laughs' file expands into
    gigabytes when loaded), no tags and at most :data:`MAX_DEPTH` levels of nesting (deeper
    ones exhaust the recursion of any loader): checked on the event stream, before loading."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise ParamartError(f"{where} uses YAML anchors or aliases (&, *); settings files never do")
            if getattr(event, "tag", None) is not None and not getattr(event, "implicit", True):
                raise ParamartError(f"{where} uses a YAML tag (!...); settings files never do")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ParamartError(f"{where} is nested over {MAX_DEPTH} levels deep; settings files never are")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = (str(exc).strip().splitlines() or ["not YAML"])[0]
        raise ParamartError(f"{where} cannot be read as YAML ({first[:80]})") from None


def finite(value: Any) -> bool:
    """True for an int or float (not a bool) that is neither NaN nor infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
