"""Writing outputs atomically: a temporary file next to the target, synced, then renamed.

Readers never see half a file, a power cut leaves the old file or the new one, and any
failure (a full disk, a read-only folder, ``torch.save``'s ``RuntimeError``) removes the
temporary file and becomes one line: :class:`~paramart.errors.WriteError`.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from paramart.errors import WriteError


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def atomic_write(path: str | Path, write: Callable[[str], object]) -> None:
    """Call ``write(tmp_path)`` then rename into place, so readers never see half a file.

    The temporary file sits next to ``path`` (a rename is only atomic within one file
    system) and is synced before the rename, so even a power cut leaves the old file or
    the new one. A full disk or a read-only folder becomes a one-line :class:`WriteError`
    and the temporary file is removed: whatever ``write`` raised (``torch.save`` raises
    ``RuntimeError``, not ``OSError``, when the disk fills).
    """
    path = Path(path)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
        os.close(fd)
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except OSError as exc:
        _discard(tmp)
        raise WriteError(write_error(path, exc)) from None
    except Exception as exc:
        _discard(tmp)
        if not _is_write_failure(exc, path):
            raise
        raise WriteError(write_error(path, exc)) from None
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: str | None) -> None:
    if tmp is not None:
        try:
            Path(tmp).unlink(missing_ok=True)
        except OSError:
            pass


def _is_write_failure(exc: BaseException, path: Path) -> bool:
    """A non-``OSError`` that means the file could not be written (torch's stream writer, an
    encoder's pipe): its message says so, or the disk has no room left."""
    text = str(exc).lower()
    return ("write" in text and "fail" in text) or "no space" in text or _disk_full(path)


def _disk_full(path: str | Path) -> bool:
    try:
        st = os.statvfs(Path(path).parent)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024  # less than 64 KiB left


def write_error(path: str | Path, exc: BaseException) -> str:
    """The one-line message for an output that could not be written."""
    errno_ = getattr(exc, "errno", None)
    if errno_ in (errno.ENOSPC, errno.EDQUOT) or _disk_full(path):
        why = getattr(exc, "strerror", None) or "No space left on device"
        return (f"cannot write {path}: the disk is full ({why}); free some space or write the "
                "outputs elsewhere (hydra.run.dir=...)")
    return f"cannot write {path}: {_first_line(exc)}; check that the folder exists and is writable"
