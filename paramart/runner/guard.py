"""Checks Hydra cannot make for us: they must run before Hydra writes the run folder.

:class:`RunDirGuard` is a Hydra callback (registered in ``conf/config.yaml``). Before a
run, Hydra creates ``hydra.run.dir`` and writes ``.hydra/config.yaml`` and
``overrides.yaml`` into it, so two mistakes would otherwise cost a traceback or data:

- a folder that cannot be created or written (a read-only disk, no permission);
- ``resume=D`` with ``hydra.run.dir=D``: Hydra would overwrite the settings being resumed.

Each is one line on stderr and exit code 2, with nothing written.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from paramart.runner.resume import resumes_into_itself


def _fail(message: str) -> NoReturn:
    print(f"paramart: error: {message}", file=sys.stderr)
    sys.exit(2)


def check_writable(folder: Path, key: str) -> None:
    """``folder`` exists or can be made, and files can be created in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"cannot create {key}={folder}: {exc.strerror or exc}; give a folder you can write to")
    if not os.access(folder, os.W_OK | os.X_OK):
        _fail(f"cannot write into {key}={folder}: permission denied; give a folder you can write to")


class RunDirGuard(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_dir = Path(str(config.hydra.run.dir)).expanduser()
        spec = config.get("resume")
        if resumes_into_itself(spec, run_dir):
            _fail(f"resume={spec} would write into the run it resumes and overwrite its settings; "
                  "leave out hydra.run.dir= or give another folder")
        check_writable(run_dir, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_writable(Path(str(config.hydra.sweep.dir)).expanduser(), "hydra.sweep.dir")
