"""The run folder's start-up: checks Hydra cannot make for us, and Hydra's own writes made safe.

:class:`RunDirGuard` is a Hydra callback (registered in ``conf/config.yaml``). Before a
run, Hydra creates ``hydra.run.dir`` and writes ``.hydra/config.yaml``, ``hydra.yaml``
and ``overrides.yaml`` into it, so three mistakes would otherwise cost a traceback or data:

- a folder that cannot be created or written (a read-only disk, no permission, a full disk);
- ``resume=D`` with ``hydra.run.dir=D``: Hydra would overwrite the settings being resumed;
- a folder that already holds a run (it would be overwritten): refused unless ``overwrite=true``;
  the default ``outputs/DATE/TIME`` folder is made afresh (``TIME-1`` ...) instead, claimed
  atomically (:mod:`paramart.io.claim`) so two runs started in the same second never share one;
- a disk that fills while Hydra writes ``.hydra/``: :func:`write_settings_atomically`
  (installed by :func:`paramart.cli.main`) writes each file atomically and, when one cannot
  be written, removes what this start-up wrote.

Each is one line on stderr and exit code 2, with nothing half-written left behind.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any

import hydra.core.utils
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from paramart.cli.exits import fail
from paramart.cli.resume import resumes_into_itself
from paramart.errors import ParamartError, WriteError
from paramart.io import claim
from paramart.io.atomic import atomic_write

FULL = (errno.ENOSPC, errno.EDQUOT)
_made: list[Path] = []  #: folders check_writable made, leaf first (removed again if left empty)


def check_writable(folder: Path, key: str, need: int = 0) -> None:
    """``folder`` exists or can be made, a file can be written in it (a byte, synced: a full
    disk is found here too) and ``need`` bytes are free. On failure a folder made here is
    removed again."""
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # leaf first
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_empty(*made)  # the levels made before the one that failed
        fail(f"cannot create {key}={folder}: {_why(exc)}")
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".paramart-probe-") as probe:
            probe.write(b"\0")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        _remove_empty(*made)
        fail(f"cannot write into {key}={folder}: {_why(exc)}")
    st = os.statvfs(folder)
    if st.f_bavail * st.f_frsize < need:
        _remove_empty(*made)
        fail(f"cannot write into {key}={folder}: the disk is full ({st.f_bavail * st.f_frsize // 1024} KiB "
              "free); free some space or give another folder")
    _made.extend(made)


def _why(exc: OSError) -> str:
    """The errno's own words (read-only, permission denied, ...) and what to do."""
    if exc.errno in FULL:
        return f"the disk is full ({exc.strerror}); free some space or give another folder"
    return f"{exc.strerror or exc}; give a folder you can write to"


def _remove_empty(*folders: Path) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            pass


class RunDirGuard(Callback):
    """Hydra callback (``hydra.callbacks.run_dir_guard``): the run or sweep folder is
    writable and has room, and ``resume=D`` does not write into ``D``; else exit 2."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Before a single run: exit 2 when ``resume=`` names the run folder itself, or when
        ``hydra.run.dir`` cannot be made, is not writable or has no room."""
        run_dir = Path(str(config.hydra.run.dir)).expanduser()
        spec = config.get("resume")
        if resumes_into_itself(spec, run_dir):
            fail(f"resume={spec} would write into the run it resumes and overwrite its settings; "
                  "leave out hydra.run.dir= or give another folder")
        check_writable(run_dir, "hydra.run.dir")
        config.hydra.run.dir = str(_claim(config, run_dir, "hydra.run.dir"))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Before a sweep: exit 2 when ``hydra.sweep.dir`` is not writable or lacks room
        for ``multirun.yaml`` (+16 KiB)."""
        # Hydra's sweeper writes multirun.yaml next, by itself: room for it is checked here
        sweep_dir = Path(str(config.hydra.sweep.dir)).expanduser()
        check_writable(sweep_dir, "hydra.sweep.dir", need=len(OmegaConf.to_yaml(config).encode()) + 16 * 1024)
        if (sweep_dir / "multirun.yaml").exists() and not config.get("overwrite") and _explicit(config, "sweep"):
            fail(f"hydra.sweep.dir={sweep_dir} already holds a sweep (multirun.yaml); give another folder, "
                  "or add overwrite=true to replace it")
        config.hydra.sweep.dir = str(_claim(config, sweep_dir, "hydra.sweep.dir"))


def _explicit(config: DictConfig, which: str) -> bool:
    """Whether the person chose ``hydra.{which}.dir`` (else it is paramart's dated default);
    a config without Hydra's record of the overrides counts as chosen (refused, not moved)."""
    given = OmegaConf.select(config, "hydra.overrides.hydra", default=None)
    if given is None:
        return True
    return any(str(o).split("=", 1)[0].lstrip("+") == f"hydra.{which}.dir" for o in given)


def _claim(config: DictConfig, folder: Path, key: str) -> Path:
    """Claim the run (or sweep) folder before Hydra writes into it: a folder the person named
    is refused when it holds a run (unless overwrite=true); the dated default is made afresh."""
    try:
        if _explicit(config, key.split(".")[1]):
            return claim.claim(folder, overwrite=bool(config.get("overwrite")), key=key)
        return claim.claim_fresh(folder, key=key)
    except ParamartError as exc:
        fail(str(exc))


# --------------------------------------------------------------------------- Hydra's .hydra/ files

_created: list[Path] = []  #: settings files this process created (removed again if one fails)


def _save_config(cfg: Any, filename: str, output_dir: Path) -> None:
    """Hydra's ``_save_config``, atomic; a file that cannot be written is one line and exit 2."""
    path = Path(output_dir) / filename
    new = not path.exists()
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: Path(tmp).write_text(OmegaConf.to_yaml(cfg), encoding="utf-8"))
    except (OSError, WriteError) as exc:
        message = str(exc) if isinstance(exc, WriteError) else f"cannot write {path}: {exc.strerror or exc}"
        _undo_start(Path(output_dir))
        fail(f"{message}; nothing was run")
    if new:
        _created.append(path)


def _undo_start(settings_dir: Path) -> None:
    """Remove what this start-up created: settings files (a file it replaced stays, complete),
    an empty log, folders left empty."""
    try:
        run_dir = Path(HydraConfig.get().runtime.output_dir)
        log = run_dir / f"{HydraConfig.get().job.name}.log"
    except Exception:
        run_dir, log = settings_dir.parent, None
    mine = [p for p in _created if p.parent == settings_dir]
    for path in [*mine, log]:
        try:
            if path is not None and path.is_file() and (path in mine or path.stat().st_size == 0):
                path.unlink()
        except OSError:
            pass
    claim.release(run_dir)
    _remove_empty(settings_dir, run_dir, *_made)


def write_settings_atomically() -> None:
    """Have Hydra write ``.hydra/*.yaml`` through :func:`_save_config` (this process only)."""
    if callable(getattr(hydra.core.utils, "_save_config", None)):
        hydra.core.utils._save_config = _save_config
