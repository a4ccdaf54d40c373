"""``resume=RUN_DIR``, the command line's half: the stored settings and the run folder.

- :func:`resumed_config`: the resumed run's stored command-line overrides, each checked
  (:func:`check_stored_overrides`: only known keys with plain values, no ``_target_``, no
  interpolation, no Hydra settings), then this run's; the config is composed afresh.
- :func:`resumes_into_itself`: ``hydra.run.dir=D resume=D``, refused by
  :class:`paramart.cli.guard.RunDirGuard` before Hydra writes anything into ``D/.hydra``
  (which would destroy the settings being resumed).

The checkpoint itself is checked and loaded by :mod:`paramart.runner.resume`.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import Any

import hydra
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import OverrideType
from omegaconf import DictConfig, ListConfig, OmegaConf

from paramart.errors import ParamartError
from paramart.io.atomic import atomic_write
from paramart.runner.resume import run_dir_of
from paramart.trust import HYDRA_KEYS, is_plain, load_yaml_data, read_bounded


def _write_text(text: str, path: str) -> None:
    Path(path).write_text(text)


def _override_key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def check_stored_overrides(lines: Any, source: Path) -> list[str]:
    """The lines of a resumed run's ``overrides.yaml``, each refused unless it only sets a
    config key or picks a config group, to a plain value. Known keys are checked again
    once the config is composed (:func:`_check_known`)."""
    if not isinstance(lines, ListConfig | list):
        raise ParamartError(f"{source} is not a list of overrides; repeat that run's options by hand")
    parser = OverridesParser.create()
    out = []
    for line in lines:
        def refuse(why: str, line: Any = line) -> ParamartError:
            return ParamartError(f"resume: {source} holds {str(line)[:80]!r}, which {why}, so nothing was run; "
                                 "remove that line if you did not write it, or repeat that run's options by hand")
        if not isinstance(line, str):
            raise refuse("is not an override")
        try:
            (override,) = parser.parse_overrides([line])
        except Exception:
            raise refuse("cannot be parsed") from None
        if override.type != OverrideType.CHANGE:
            raise refuse("adds or deletes a config key")
        if override.package is not None and not (override.key_or_group == "term"
                                                 and re.fullmatch(r"objective\.[A-Za-z0-9_]+", override.package)):
            raise refuse("places a config somewhere other than a term of the objective")
        if override.is_sweep_override():
            raise refuse("is a sweep")
        parts = override.key_or_group.replace("/", ".").split(".")
        if parts[0] == "hydra" or parts[0] == "resume" and len(parts) > 1 or any(p in HYDRA_KEYS for p in parts):
            raise refuse("sets Hydra's or instantiate's own keys")
        if not is_plain(override.value()):
            raise refuse("is not a plain value (a nested mapping or an interpolation)")
        group = _group_options(override.key_or_group)
        if group and override.value() not in group:
            raise refuse(f"names no {override.key_or_group} config ({', '.join(group)})")
        out.append(line)
    return out


#: what only the person at the keyboard decides, never a run folder: its network exposure,
#: the machine's resources and the run's own bookkeeping (a stored value is left out) ...
PERSONS_OWN = ("preview", "device", "progress", "overwrite", "max_input_pixels", "model.memory_budget")
#: ... and which files are read and which weights run (a stored value must be repeated)
FILES_READ = ("content", "style", "style_masks", "model.weights")


def _under(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def keyboard_only(lines: list[str], source: Path) -> list[str]:
    """The stored overrides a run folder may carry into a resume: the optimisation's own
    settings. Settings of :data:`PERSONS_OWN` are left out (logged); a stored file to read
    (:data:`FILES_READ`) is refused unless it is a packaged ``sample:NAME``, a built-in mask
    name or the packaged ``caffe`` weights, so a folder from someone else cannot make this
    run read a file or load weights."""
    from paramart.objectives.masks import BUILTINS

    kept = []
    for line in lines:
        key = _override_key(line).split("@")[0]
        if _under(key, PERSONS_OWN):
            log.info("resume: left out %r from %s (only the command line sets it)", line[:80], source)
            continue
        if _under(key, FILES_READ):
            value = line.split("=", 1)[1] if "=" in line else ""
            names = [v.strip(" '\"") for v in value.strip("[]").split(",") if v.strip()]
            packaged = ("caffe",) if key == "model.weights" else BUILTINS
            if not all((n.startswith("sample:") and key != "model.weights") or n in packaged or n == "null"
                       for n in names):
                raise ParamartError(f"resume: {source} names {key}={value[:80]}; a run folder cannot choose which "
                                    f"files are read or which weights run, so repeat {key}=... on the command line")
        kept.append(line)
    return kept


def _group_options(key: str) -> list[str]:
    loader = GlobalHydra.instance().config_loader() if GlobalHydra.instance().is_initialized() else None
    if loader is None or "." in key or key not in loader.list_groups(""):
        return []
    return [o for o in loader.get_group_options(key) if not o.endswith("_schema")]


def _check_known(cfg: DictConfig, lines: list[str], source: Path) -> None:
    for line in lines:
        key = _override_key(line).split("@")[0]
        if _group_options(key):
            continue
        if OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False) is _ABSENT:
            raise ParamartError(f"resume: {source} sets {key}, which is no paramart option, so nothing was run; "
                                "remove that line, or repeat that run's options by hand")


_ABSENT = object()
log = logging.getLogger(__name__)


def resumed_config(cfg: DictConfig, overrides: list[str], out_dir: str | Path) -> DictConfig:
    """For ``resume=RUN_DIR``: the resumed run's command-line overrides, then this one's.

    So ``paramart resume=outputs/DAY/TIME steps=400`` needs no repeat of the content,
    style or size. The new run folder's ``.hydra/config.yaml`` and ``overrides.yaml`` are
    rewritten to what actually ran, so it can be resumed in turn. A run made from Python
    has no ``.hydra`` folder: then this run's config must repeat its settings.
    """
    saved = run_dir_of(cfg.resume) / ".hydra" / "overrides.yaml"
    if not saved.is_file():
        return cfg
    try:
        old = load_yaml_data(read_bounded(saved), f"resume={cfg.resume}: {saved}")
    except OSError:
        raise ParamartError(f"resume={cfg.resume}: cannot read {saved}; repeat that run's options by hand") from None
    mine = {_override_key(o) for o in overrides}
    kept = [o for o in check_stored_overrides(old, saved) if _override_key(o) not in mine | {"resume"}]
    kept = keyboard_only(kept, saved)
    merged = kept + list(overrides)
    try:
        cfg = hydra.compose(config_name="config", overrides=merged)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ParamartError(f"resume={cfg.resume}: its options no longer apply ({first})") from None
    _check_known(cfg, kept, saved)
    hydra_dir = HydraConfig.get().output_subdir
    if hydra_dir is not None:
        for name, node in (("config.yaml", cfg), ("overrides.yaml", OmegaConf.create(merged))):
            atomic_write(Path(out_dir) / hydra_dir / name, functools.partial(_write_text, OmegaConf.to_yaml(node)))
    return cfg


def resumes_into_itself(spec: Any, run_dir: Any) -> bool:
    """Whether ``resume=spec`` names the folder this run would write into (its settings would be lost)."""
    if not spec:
        return False
    try:
        return run_dir_of(str(spec)).resolve() == Path(str(run_dir)).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return False  # an unreadable path is reported, in words, by load_resume
