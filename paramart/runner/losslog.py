"""``losses.csv``: one row per logged step, ``step,total,<term names>,seconds``. The term
names are the objective's (its config's names), so a new term gets its column with no
change here. Each row is one short append: a crash can cut at most the last line.

The row of step ``k`` holds the weighted losses of the image after ``k`` steps, the image
a save at step ``k`` writes (row 0: the starting image); the last row is the saved
``final.png``'s own loss, measured once after the last step (or when the run was
stopped). ``seconds`` count from the start of the first run."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from paramart.errors import WriteError
from paramart.io.atomic import atomic_write, write_error
from paramart.io.runfolder import LOSSES
from paramart.runner.events import Progress


def columns(names: list[str]) -> list[str]:
    """The ``losses.csv`` header for the term ``names``: ``step, total, *names, seconds``."""
    return ["step", "total", *names, "seconds"]


class LossLog:
    """``losses.csv`` in ``out_dir`` for the terms ``names`` (nothing is written when ``out_dir`` is None)."""

    def __init__(self, out_dir: Path | None, names: list[str]):
        self.path = None if out_dir is None else Path(out_dir) / LOSSES
        self.names = list(names)
        self.columns = columns(self.names)
        self.last_step: int | None = None  #: the step of the last row written

    def start(self, previous_rows: list[list[str]] = ()) -> None:
        """Write the header and the rows carried over from a resumed run."""
        if self.path is None:
            return
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows([self.columns, *previous_rows])
        atomic_write(self.path, lambda tmp: Path(tmp).write_text(text.getvalue()))
        self.last_step = int(previous_rows[-1][0]) if previous_rows else None

    def append(self, entry: Progress) -> None:
        """Append ``entry``'s row (floats as ``%.6g``) as one line; a row for a step already logged
        (a resumed run's first measurement of the image its predecessor saved and measured) is
        left out. Raises :class:`WriteError` (one line) when the file cannot be written."""
        if self.path is None or (self.last_step is not None and entry.step <= self.last_step):
            return
        self.last_step = entry.step
        values = entry.row(self.names)
        line = ",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in values.values()) + "\n"
        try:
            with open(self.path, "a") as f:
                f.write(line)
        except OSError as exc:
            raise WriteError(write_error(self.path, exc)) from None
