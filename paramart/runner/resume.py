"""``resume=RUN_DIR``, the run's half: the checkpoint and the log it continues.

- :func:`load_resume`: the checkpoint, checked against this run before any model loads.
- :func:`previous_rows`: the resumed run's ``losses.csv``, so the new log reads as one run.

The command line's half (the stored overrides composed into this run's config, a run that
would resume into its own folder) is :mod:`paramart.cli.resume`.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from paramart.errors import ParamartError
from paramart.io.runfolder import LOSSES
from paramart.runner.checkpoint import check_checkpoint, load_checkpoint

log = logging.getLogger(__name__)

@dataclass
class Resume:
    """A checkpoint being resumed: the folder it came from and its contents
    (:func:`paramart.runner.checkpoint.load_checkpoint`)."""

    run_dir: Path  #: the folder the checkpoint came from (its losses.csv continues)
    checkpoint: dict[str, Any]  #: the checked checkpoint: state, step, seconds, optimizer, rng, config ...

    @property
    def step(self) -> int:
        """The checkpoint's step: steps finished since the start of the first run (>= 0)."""
        return int(self.checkpoint["step"])



def run_dir_of(spec: str) -> Path:
    """The run folder ``resume=SPEC`` names: SPEC itself, or the folder of a checkpoint file."""
    path = Path(str(spec)).expanduser()
    return path.parent if path.is_file() else path


# --------------------------------------------------------------------------- the checkpoint

def load_resume(cfg: DictConfig, size: tuple[int, int], stage_sizes=()) -> Resume | None:
    """The checkpoint named by ``resume=``, checked against this run before any compute: its
    canvas is ``size`` or, for a coordinate image stopped at an earlier scale, one of ``stage_sizes``."""
    spec = cfg.get("resume")
    if not spec:
        return None
    path = Path(str(spec)).expanduser()
    ckpt = load_checkpoint(path)
    here = OmegaConf.to_container(cfg.param, resolve=True)
    there = ckpt["param_config"]
    if there != here:
        keys = sorted(k for k in set(here) | set(there) if here.get(k) != there.get(k))
        diff = ", ".join(f"param.{k}={there.get(k)!r} there but {here.get(k)!r} here" for k in keys)
        raise ParamartError(
            f"resume={spec}: the parameterization differs ({diff}); resume with the same param settings"
        )
    if list(ckpt["size"]) != list(size) and tuple(ckpt["size"]) not in {tuple(s) for s in stage_sizes}:
        h, w = ckpt["size"]
        raise ParamartError(
            f"resume={spec}: its canvas is {h}x{w} px but this run's is {size[0]}x{size[1]}; "
            "use the same content image and size= as the run you resume"
        )
    step = int(ckpt["step"])
    total = cfg.steps + (cfg.print.steps if cfg.print.size is not None else 0)
    if total < step:
        more = " (with print.steps)" if cfg.print.size is not None else ""
        raise ParamartError(
            f"resume={spec} is already at step {step}; steps= counts from the start of the first run, "
            f"so give steps={more} of {step} or more"
        )
    check_checkpoint(ckpt, path, for_resume=True)
    return Resume(run_dir_of(str(spec)), ckpt)


#: the longest line of a losses.csv (a step, the total, some dozen terms, the seconds)
MAX_ROW = 4096


def previous_rows(resume: Resume, columns: list[str]) -> list[list[str]]:
    """The resumed run's losses.csv rows up to its checkpoint, so the log reads as one run.

    Rows after the checkpoint (a periodic save, then a crash) and a cut-off last line are dropped.
    The file is read line by line and no further than the checkpoint's step (at most one row
    a step, each at most :data:`MAX_ROW` bytes): a folder's huge log costs nothing.
    """
    path = resume.run_dir / LOSSES
    rows: list[list[str]] = []
    try:
        with open(path, encoding="utf-8", newline="") as f:
            for line in f:
                if len(line) > MAX_ROW:
                    break
                row = next(csv.reader([line]), [])
                rows.append(row)
                if len(rows) > resume.step + 2 or (len(rows) > 1 and row and row[0].isascii() and row[0].isdigit()
                                                   and int(row[0][:18]) > resume.step):
                    break
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    if not rows or rows[0] != columns:
        if rows:
            log.warning("%s has other columns than this run; it is not continued", path)
        return []
    kept = []
    for row in rows[1:]:
        try:
            if len(row) == len(columns) and int(row[0]) <= resume.step:
                [float(v) for v in row[1:]]
                kept.append(row)
        except ValueError:
            continue
    return kept

