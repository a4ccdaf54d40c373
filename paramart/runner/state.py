"""What makes a long run safe to leave alone: saving, resuming, stopping.

:class:`RunState` sits beside the optimisation loop. It writes ``losses.csv`` row by
row, keeps a copy of the last good parameters (a NaN inside an L-BFGS line search leaves
the parameters at a trial point), saves ``final.png`` and ``checkpoint.pt`` together
every ``checkpoint_every`` steps, at the end, and when the run stops early (Ctrl-C,
SIGTERM, a NaN loss, out of memory), and restores all of it for ``resume=RUN_DIR``
(found and checked by :mod:`paramart.runner.resume`).

:func:`stop_on_signals` turns SIGINT and SIGTERM into "stop after this step and save";
the CLI wraps each run in it.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from paramart.errors import ParamartError, WriteError
from paramart.io.images import atomic_write, save_image, write_error
from paramart.params.base import Parameterization
from paramart.runner.checkpoint import rng_state, save_checkpoint, set_rng_state
from paramart.runner.loop import NonFiniteLoss, Progress
from paramart.runner.resume import Resume, previous_rows

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
IMAGE = "final.png"
LOSSES = "losses.csv"


# --------------------------------------------------------------------------- signals

class Interrupted(KeyboardInterrupt):
    """The run stopped on a signal; ``saved`` says whether its state was written to ``out_dir``."""

    def __init__(self, signal_name: str, step: int, out_dir: Path | None, saved: bool):
        super().__init__(signal_name)
        self.signal_name, self.step, self.out_dir, self.saved = signal_name, step, out_dir, saved

    @property
    def exit_code(self) -> int:
        # The shell's convention for "killed by signal N": 128 + N (130 for Ctrl-C).
        return 128 + getattr(signal, self.signal_name, signal.SIGINT)

    def message(self) -> str:
        where = f"at step {self.step}"
        if self.saved and self.out_dir is not None:
            return (f"{self.signal_name} {where}: saved {IMAGE} and {CHECKPOINT} in {self.out_dir}; "
                    f"continue with: paramart resume={self.out_dir}")
        return f"{self.signal_name} {where}: nothing was saved"


_stop = {"signal": None}


def stop_requested() -> str | None:
    """The name of the signal that asked the current run to stop, or None."""
    return _stop["signal"]


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
        if _stop["signal"] is None:
            _stop["signal"] = name
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
        _stop["signal"] = None


# --------------------------------------------------------------------------- out of memory

def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError | torch.cuda.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and any(
        s in text for s in ("out of memory", "can't allocate memory", "not enough memory", "alloc_failed"))


def out_of_memory_message(cfg: DictConfig, exc: BaseException, saved: str = "") -> str:
    gpu = isinstance(exc, torch.cuda.OutOfMemoryError) or "cuda" in str(exc).lower()
    style_scale = float(cfg.objective.get("style_scale", 1.0))
    style = f" with style images at {round(cfg.size * style_scale)} px" if style_scale != 1.0 else ""
    if style_scale > 1:
        return (f"out of {'GPU' if gpu else 'CPU'} memory at size={cfg.size}{style}; try a smaller "
                f"objective.style_scale= (now {style_scale:g}) or size={max(16, cfg.size * 3 // 4)}{saved}")
    return (f"out of {'GPU' if gpu else 'CPU'} memory at size={cfg.size}{style}; try a smaller size= "
            f"(e.g. size={max(16, cfg.size * 3 // 4)}) or the multi-scale schedule, which does most steps "
            f"at a smaller size{saved}")


def explain_out_of_memory(run: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate ``run(cfg, ...)`` so an out-of-memory error anywhere becomes a one-line message."""

    @functools.wraps(run)
    def wrapper(cfg: DictConfig, *args: Any, **kwargs: Any) -> Any:
        try:
            return run(cfg, *args, **kwargs)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            raise ParamartError(out_of_memory_message(cfg, exc)) from None

    return wrapper


# --------------------------------------------------------------------------- the run's state

def _copy_state(param: Parameterization) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in param.state_dict().items()}


class RunState:
    """Saving and restoring one run in ``out_dir`` (nothing is written when it is None).

    Used by :func:`paramart.api.run`::

        state = RunState(cfg, out_dir, param, optimizer, columns)
        start = state.begin(resume)
        with state.guard():
            optimize(..., start_step=start, on_log=state.on_log, on_step=state.on_step)
        state.finish(image)
    """

    def __init__(self, cfg: DictConfig, out_dir: Path | None, param: Parameterization,
                 optimizer: torch.optim.Optimizer, columns: list[str]):
        self.cfg, self.out, self.param, self.optimizer, self.columns = cfg, out_dir, param, optimizer, columns
        self.param_config = OmegaConf.to_container(cfg.param, resolve=True)
        self.run_config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
        self.checkpoint_every = int(cfg.get("checkpoint_every", 0) or 0)
        self.step = 0  #: steps finished, counted from the start of the first run
        self.saved_step: int | None = None  #: the step of the last checkpoint written
        self._seconds_before = 0.0
        self._t0 = time.perf_counter()
        self._good = _copy_state(param)

    @property
    def seconds(self) -> float:
        return self._seconds_before + time.perf_counter() - self._t0

    # -- start

    def begin(self, resume: Resume | None = None) -> int:
        """Start ``losses.csv`` (continuing the resumed run's) and load the checkpoint's
        state; return the step to start from."""
        rows = previous_rows(resume, self.columns) if resume is not None else []
        if self.out is not None:
            try:
                self.out.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WriteError(write_error(self.out, exc)) from None
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows([self.columns, *rows])
            atomic_write(self.out / LOSSES, lambda tmp: Path(tmp).write_text(text.getvalue()))
        if resume is not None:
            self._restore(resume)
            self.saved_step = self.step if resume.run_dir == self.out else None
        self._good = _copy_state(self.param)
        self._t0 = time.perf_counter()
        if stop_requested():
            raise Interrupted(stop_requested(), self.step, self.out, saved=False)
        return self.step

    def _restore(self, resume: Resume) -> None:
        ckpt = resume.checkpoint
        self.param.load_state_dict(ckpt["state"])
        self.step = resume.step
        self._seconds_before = float(ckpt.get("seconds", 0.0))
        saved_optim = (ckpt.get("config") or {}).get("optim", {}).get("_target_")
        if "optimizer" not in ckpt:
            log.info("%s has no optimiser state (it stopped on an error); the optimiser starts afresh", resume.run_dir)
        elif saved_optim not in (None, self.cfg.optim._target_):
            log.info("%s used %s; the %s optimiser starts afresh", resume.run_dir, saved_optim, self.cfg.optim._target_)
        else:
            # The running state (moments, L-BFGS history) from the checkpoint; the settings
            # (lr, betas ...) from this run's config, so that resume=... optim.lr=... works.
            settings = [{k: v for k, v in g.items() if k != "params"} for g in self.optimizer.param_groups]
            try:
                self.optimizer.load_state_dict(ckpt["optimizer"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ParamartError(f"resume={self.cfg.resume}: the optimiser state does not fit ({exc})") from None
            for group, mine in zip(self.optimizer.param_groups, settings):
                group.update(mine)
        if "rng" in ckpt:
            set_rng_state(ckpt["rng"])
        log.info("resuming %s from step %d", resume.run_dir, self.step)

    def next_stage(self, optimizer: torch.optim.Optimizer) -> None:
        """A multi-scale run moved to its next scale: a new optimizer over the rescaled parameters."""
        self.optimizer = optimizer
        self._good = _copy_state(self.param)

    # -- during the loop

    def on_log(self, entry: Progress) -> None:
        entry.seconds += self._seconds_before
        if self.out is None:
            return
        values = entry.row(self.columns[2:-1])
        line = ",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in values.values()) + "\n"
        try:
            # One short write per row: a crash can cut at most the last line, which resume drops.
            with open(self.out / LOSSES, "a") as f:
                f.write(line)
        except OSError as exc:
            raise WriteError(write_error(self.out / LOSSES, exc)) from None

    def on_step(self, step: int) -> None:
        self.step = step
        self._good = _copy_state(self.param)
        if self.checkpoint_every > 0 and step % self.checkpoint_every == 0 and step < self.cfg.steps:
            self.save("periodic")
        name = stop_requested()
        if name:
            self.save("interrupted")
            raise Interrupted(name, step, self.out, saved=self.out is not None)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Around the loop: a NaN loss, a second Ctrl-C or running out of memory saves the
        last finished step (without the optimiser state, which may be half-updated)."""
        try:
            yield
        except Interrupted:
            raise
        except NonFiniteLoss as exc:
            raise ParamartError(f"{exc}{self._save_last_good('non-finite loss')}") from None
        except WriteError as exc:
            # A full disk: the last good step if it still fits, else the last checkpoint written survives.
            try:
                kept = self._save_last_good("write error")
            except WriteError:
                kept = self._kept()
            raise WriteError(f"{exc}{kept}") from None
        except KeyboardInterrupt as exc:
            name = str(exc) or stop_requested() or "SIGINT"
            self._save_last_good("interrupted")
            raise Interrupted(name, self.step, self.out, saved=self.out is not None) from None
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            try:
                saved = self._save_last_good("out of memory")
            except Exception:  # rendering the image may need the memory that ran out
                saved = ""
            raise ParamartError(out_of_memory_message(self.cfg, exc, saved)) from None

    def _kept(self) -> str:
        if self.out is None or self.saved_step is None:
            return "; no checkpoint could be saved"
        return f"; the checkpoint of step {self.saved_step} in {self.out} is kept"

    def _save_last_good(self, reason: str) -> str:
        if self.out is None:
            return ""
        self.param.load_state_dict(self._good)
        self.save(reason, with_optimizer=False)
        return f"; kept the image and checkpoint of step {self.step} in {self.out}"

    # -- saving

    def save(self, reason: str, *, with_optimizer: bool = True, image: torch.Tensor | None = None) -> None:
        """``checkpoint.pt`` then ``final.png``, each atomically, both of step ``self.step``."""
        if self.out is None:
            return
        save_checkpoint(
            self.out / CHECKPOINT, self.param, self.param_config, step=self.step,
            optimizer=self.optimizer if with_optimizer else None,
            rng=rng_state(), config=self.run_config, seconds=self.seconds, reason=reason,
        )
        self.saved_step = self.step
        save_image(self.param.render().cpu() if image is None else image, self.out / IMAGE)

    def finish(self, image: torch.Tensor) -> None:
        self.save("done", image=image)
