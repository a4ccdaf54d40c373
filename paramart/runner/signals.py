"""Stopping a run cleanly: SIGINT (Ctrl-C), SIGTERM, SIGUSR1 and SIGUSR2 (what SLURM sends
before a time limit), or a request from elsewhere in the process (the preview page's Stop
button), all ask the run to stop after the current step and save.

The request lives in one :class:`StopFlag`, :data:`STOP`: signal handlers are
process-wide, so the flag is too; it is thread-safe, so a server thread may set it.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from paramart.io.runfolder import CHECKPOINT, FINAL


class StopFlag:
    """Which signal (by name) asked the current run to stop, if any."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._name: str | None = None

    def request(self, name: str = "SIGINT") -> bool:
        """Ask the run to stop after this step, as signal ``name`` would; False if already asked."""
        with self._lock:
            if self._name is not None:
                return False
            self._name = name
            return True

    @property
    def requested(self) -> str | None:
        """The name of the signal that asked to stop (``SIGINT`` ...), or None."""
        return self._name

    def clear(self) -> None:
        """Forget the request (a new run starts)."""
        with self._lock:
            self._name = None


STOP = StopFlag()


def stop_requested() -> str | None:
    """The name of the signal that asked the current run to stop, or None."""
    return STOP.requested


def request_stop(name: str = "SIGINT") -> bool:
    """Stop the current run after its step and save, exactly as Ctrl-C (``SIGINT``) does."""
    return STOP.request(name)


class Interrupted(KeyboardInterrupt):
    """The run stopped on a signal; ``saved`` says whether its state was written to ``out_dir``."""

    def __init__(self, signal_name: str, step: int, out_dir: Path | None, saved: bool):
        super().__init__(signal_name)
        self.signal_name, self.step, self.out_dir, self.saved = signal_name, step, out_dir, saved

    @property
    def exit_code(self) -> int:
        """The exit status for the command line: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM)."""
        # The shell's convention for "killed by signal N": 128 + N (130 for Ctrl-C).
        return 128 + getattr(signal, self.signal_name, signal.SIGINT)

    def message(self) -> str:
        """One line for stderr: which signal, at which step, and what was saved (with the ``resume=`` command)."""
        where = f"at step {self.step}"
        if self.saved and self.out_dir is not None:
            return (f"{self.signal_name} {where}: saved {FINAL} and {CHECKPOINT} in {self.out_dir}; "
                    f"continue with: paramart resume={self.out_dir}")
        return f"{self.signal_name} {where}: nothing was saved"


# SIGUSR1/SIGUSR2: what SLURM sends before a job's time limit or on preemption
# (submitit's default is SIGUSR2, `--signal=USR1@120` a common sbatch choice).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)


@contextmanager
def stop_on_signals(signals: tuple[signal.Signals, ...] = STOP_SIGNALS) -> Iterator[None]:
    """Within this block, the first SIGINT/SIGTERM/SIGUSR1/SIGUSR2 asks the run to stop after the current
    step and save (so the checkpoint resumes exactly); a second one stops at once, saving
    the last finished step. The previous handlers come back afterwards.

    Signal handlers can only be set in the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if STOP.request(name):
            # os.write, not print: a handler can fire inside a print (tqdm's), and a
            # buffered stream refuses to be re-entered.
            os.write(2, f"\nparamart: {name}: saving after this step (send it again to stop at once)\n".encode())
        else:
            raise KeyboardInterrupt(name)

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        STOP.clear()


