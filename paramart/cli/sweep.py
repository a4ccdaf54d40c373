"""Sweeps (``paramart -m ...``): a failed job is recorded in its own directory and the
sweep goes on; at the end a report lists what failed, whichever launcher ran the jobs
(basic, joblib, submitit local or SLURM: the job directories are the shared record)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from paramart.io.runfolder import FAILED, FINAL


def record_failure(job_dir: str | Path, job_num: int, overrides: list[str], message: str) -> None:
    """A failed sweep job: ``FAILED.json`` (``{"job", "overrides", "error"}``) in ``job_dir`` for the
    end-of-sweep report, and one line on stderr. A folder that cannot be written is reported on
    stderr, not raised (the sweep goes on)."""
    job_dir = Path(job_dir)
    try:
        job_dir.mkdir(parents=True, exist_ok=True)
        (job_dir / FAILED).write_text(json.dumps({"job": job_num, "overrides": overrides, "error": message}))
    except OSError as exc:  # a full disk: the message below is then the only record
        print(f"paramart: cannot write {job_dir / FAILED}: {exc.strerror}", file=sys.stderr)
    print(f"paramart: error: job {job_num} ({' '.join(overrides)}): {message}", file=sys.stderr)


def sweep_status(sweep_dir: str | Path) -> tuple[list[Path], list[dict[str, Any]]]:
    """(finished job directories, failure records) found under a sweep directory."""
    root = Path(sweep_dir)
    done = sorted({p.parent for p in root.rglob(FINAL)})
    failed = [json.loads(p.read_text()) for p in root.rglob(FAILED)]
    return done, sorted(failed, key=lambda f: f["job"])


class SweepReport(Callback):
    """Registered in conf/config.yaml under ``hydra.callbacks``."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Print how many jobs finished and failed (each failure's overrides and error) on stderr;
        exit 1 if any failed."""
        sweep_dir = config.hydra.sweep.dir
        done, failed = sweep_status(sweep_dir)
        print(f"paramart: sweep {sweep_dir}: {len(done)} finished, {len(failed)} failed", file=sys.stderr)
        for f in failed:
            print(f"  job {f['job']} ({' '.join(f['overrides'])}): {f['error']}", file=sys.stderr)
        if failed:
            sys.exit(1)
