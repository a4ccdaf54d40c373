"""One run, one folder: a run folder is claimed atomically before anything is written into it.

A folder *holds a run* when it has a run's result (``final.png``, ``checkpoint.pt``,
``losses.csv``, ``run.json``) or the claim marker :data:`MARKER`. :func:`claim` refuses
such a folder (one line naming the key) unless ``overwrite=true`` was asked for, and
creates the marker with ``O_CREAT | O_EXCL``: of two runs started into one folder at the
same moment, exactly one gets it. :func:`claim_fresh` is for a folder name paramart chose
itself (the default ``outputs/DATE/TIME``): when it is taken, the next free
``TIME-1``, ``TIME-2`` ... is claimed instead, so nothing is refused and nothing shared.

A process remembers what it claimed (the command claims before Hydra writes ``.hydra/``,
the run itself checks again), and :func:`release` gives a folder back when the run stopped
before writing any result (a value refused by the plan), so the corrected command can use it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from paramart.errors import ParamartError
from paramart.io.runfolder import CHECKPOINT, FINAL, LOSS_PLOT, LOSSES, RUN_JSON, TIMELAPSE_GIF, TIMELAPSE_MP4

MARKER = ".paramart-run"
#: the files whose presence means a folder holds a run's result
RESULTS = (FINAL, CHECKPOINT, LOSSES, RUN_JSON)
#: files of a run that paramart-render must never replace (besides RESULTS)
RUN_FILES = (*RESULTS, LOSS_PLOT, TIMELAPSE_GIF, TIMELAPSE_MP4, MARKER)

_mine: set[Path] = set()


def _key(folder: Path) -> Path:
    try:
        return folder.expanduser().resolve()
    except (OSError, RuntimeError):
        return folder.expanduser().absolute()


def holds_run(folder: Path) -> bool:
    """Whether ``folder`` has a run's result or a claim marker."""
    return any((folder / name).exists() or (folder / name).is_symlink() for name in (*RESULTS, MARKER))


def claim(folder: str | Path, *, overwrite: bool = False, key: str = "hydra.run.dir") -> Path:
    """Make ``folder`` this process's run folder; :class:`ParamartError` (naming ``key``) when
    it already holds a run and ``overwrite`` is false, or another run claimed it first."""
    folder = Path(folder).expanduser()
    if _key(folder) in _mine:
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParamartError(f"cannot create {key}={folder}: {exc.strerror or exc}; "
                            "give a folder you can write to") from None
    if not overwrite and holds_run(folder):
        found = [n for n in (*RESULTS, MARKER) if (folder / n).exists() or (folder / n).is_symlink()]
        raise ParamartError(f"{key}={folder} already holds a run ({', '.join(found)}); give another folder, "
                            "or add overwrite=true to replace it")
    try:
        fd = os.open(folder / MARKER, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        if not overwrite:
            raise ParamartError(f"{key}={folder} was just claimed by another paramart run; give another folder, "
                                "or add overwrite=true to replace it") from None
        fd = os.open(folder / MARKER, os.O_WRONLY | os.O_TRUNC)
    except OSError as exc:
        raise ParamartError(f"cannot write into {key}={folder}: {exc.strerror or exc}; "
                            "give a folder you can write to") from None
    try:
        os.write(fd, f"pid {os.getpid()} at {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
    finally:
        os.close(fd)
    _mine.add(_key(folder))
    return folder


def claim_fresh(folder: str | Path, *, key: str = "hydra.run.dir", tries: int = 1000) -> Path:
    """Claim ``folder``, or when it holds a run the first free ``folder-1``, ``folder-2`` ..."""
    folder = Path(folder).expanduser()
    for n in range(tries):
        candidate = folder if n == 0 else folder.with_name(f"{folder.name}-{n}")
        try:
            return claim(candidate, key=key)
        except ParamartError:
            if not holds_run(candidate):  # not taken but unusable (permissions): say so
                raise
    raise ParamartError(f"{key}={folder}: {tries} folders of that name hold runs already; give another folder")


def release(folder: str | Path) -> None:
    """Give back a folder this process claimed when no result was written into it."""
    folder = Path(folder).expanduser()
    if _key(folder) not in _mine:
        return
    _mine.discard(_key(folder))
    if not any((folder / n).exists() for n in RESULTS):
        try:
            (folder / MARKER).unlink()
        except OSError:
            pass


def own_file(path: str | Path) -> Path | None:
    """The run folder whose own file ``path`` would replace (its result, log, settings or
    inputs; ``paramart-render``'s ``render_*``/``zoom_*`` files excepted), or None."""
    path = _key(Path(path))
    if path.name.startswith(("render_", "zoom_")) and path.parent.name not in ("inputs", ".hydra"):
        return None
    for folder in (path.parent, path.parent.parent):
        if holds_run(folder) and (path.exists() or path.name in RUN_FILES):
            return folder
    return None


def is_claimed(folder: str | Path) -> bool:
    """Whether this process claimed ``folder``."""
    return _key(Path(folder)) in _mine
