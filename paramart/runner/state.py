"""A run's saved state: what makes a long run safe to leave alone.

:class:`RunState` sits beside the optimisation loop. It logs ``losses.csv`` row by row
(:mod:`paramart.runner.losslog`), keeps a copy of the last good parameters (a NaN inside an L-BFGS line search leaves
the parameters at a trial point), saves ``final.png`` and ``checkpoint.pt`` together
every ``checkpoint_every`` steps, at the end, and when the run stops early (Ctrl-C,
SIGTERM, a NaN loss, out of memory), and restores all of it for ``resume=RUN_DIR``
(found and checked by :mod:`paramart.runner.resume`).

Signals are :mod:`paramart.runner.signals`; running out of memory
:mod:`paramart.runner.memory`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from paramart.errors import ParamartError, WriteError
from paramart.io.atomic import write_error
from paramart.io.images import save_image
from paramart.io.runfolder import CHECKPOINT, FINAL
from paramart.params.base import Parameterization
from paramart.runner.checkpoint import check_optimizer_state, rng_state, save_checkpoint, set_rng_state
from paramart.runner.events import Progress
from paramart.runner.loop import NonFiniteLoss
from paramart.runner.losslog import LossLog
from paramart.runner.memory import is_out_of_memory, out_of_memory_message
from paramart.runner.resume import Resume, previous_rows
from paramart.runner.signals import Interrupted, stop_requested

log = logging.getLogger(__name__)

__all__ = ["Interrupted", "RunState"]


# --------------------------------------------------------------------------- the run's state

def _copy_state(param: Parameterization) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in param.state_dict().items()}


class RunState:
    """Saving and restoring one run in ``out_dir`` (nothing is written when it is None).

    It writes ``losses.csv`` (:class:`~paramart.runner.losslog.LossLog`, one column per
    term in ``names``), keeps a copy of the last good parameters, saves ``final.png`` and
    ``checkpoint.pt`` together periodically, at the end and when the run stops early, and
    restores a checkpoint for ``resume=``. Used by :mod:`paramart.runner.session`.
    """

    def __init__(self, cfg: DictConfig, out_dir: Path | None, param: Parameterization,
                 optimizer: torch.optim.Optimizer, names: list[str],
                 finish: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 measure: Callable[[], dict[str, float]] | None = None):
        self.cfg, self.out, self.param, self.optimizer = cfg, out_dir, param, optimizer
        #: the stage's finishing function (:meth:`paramart.runner.stages.Stage.finish`): every
        #: final.png this state writes goes through it, whatever the reason for the save
        self.finish_image = finish or (lambda canvas: canvas.detach().cpu())
        #: the losses of the parameters as they are now (:meth:`paramart.runner.loop.Evaluation.measure`)
        self.measure = measure
        self.log = LossLog(out_dir, names)
        self.columns = self.log.columns
        self.param_config = OmegaConf.to_container(cfg.param, resolve=True)
        self.run_config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
        self.checkpoint_every = int(cfg.get("checkpoint_every", 0) or 0)
        printing = cfg.get("print") is not None and cfg.print.get("size") is not None
        #: the run's last step (steps=, and print.steps after it when there is a print stage)
        self.last_step = int(cfg.steps) + (int(cfg.print.steps) if printing else 0)
        self.step = 0  #: steps finished, counted from the start of the first run
        self.saved_step: int | None = None  #: the step of the last checkpoint written
        self._seconds_before = 0.0
        self._t0 = time.perf_counter()
        self._good = _copy_state(param)
        #: more tensors every checkpoint carries (the print stage's anchor canvas, ``print_anchor``)
        self.extra: dict[str, torch.Tensor] = {}
        #: what ``final.png`` renders when it is not ``param`` (a print run's anchored field, whose
        #: learned state is ``param``'s)
        self.view: Parameterization | None = None

    @property
    def seconds(self) -> float:
        """Seconds of optimisation since the start of the first run (a resumed run's earlier time included)."""
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
            self.log.start(rows)
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
        if "rng" in ckpt:
            set_rng_state(ckpt["rng"])
        log.info("resuming %s from step %d", resume.run_dir, self.step)

    def restore_optimizer(self, resume: Resume) -> None:
        """Load the checkpoint's optimiser state into the current optimiser (the one of the stage
        the resumed run stopped in: a later stage starts its own afresh, as an unstopped run does)."""
        ckpt = resume.checkpoint
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
                check_optimizer_state(ckpt["optimizer"], self.optimizer, f"resume={self.cfg.resume}")
                self.optimizer.load_state_dict(ckpt["optimizer"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ParamartError(f"resume={self.cfg.resume}: the optimiser state does not fit ({exc})") from None
            for group, mine in zip(self.optimizer.param_groups, settings):
                group.update(mine)

    def next_stage(self, optimizer: torch.optim.Optimizer,
                   finish: Callable[[torch.Tensor], torch.Tensor] | None = None,
                   measure: Callable[[], dict[str, float]] | None = None) -> None:
        """A multi-scale run moved to its next scale: a new optimizer over the rescaled
        parameters, and that scale's finishing function and objective."""
        self.optimizer = optimizer
        if finish is not None:
            self.finish_image = finish
        if measure is not None:
            self.measure = measure
        self._good = _copy_state(self.param)

    # -- during the loop

    def on_log(self, entry: Progress) -> None:
        """Append ``entry`` to ``losses.csv``."""
        self.log.append(entry)

    def on_step(self, step: int) -> None:
        """After ``step``: remember the parameters as the last good ones, write the periodic
        checkpoint every ``checkpoint_every`` steps (not at the last), and on a stop request save
        and raise :class:`Interrupted`."""
        self.step = step
        self._good = _copy_state(self.param)
        if self.checkpoint_every > 0 and step % self.checkpoint_every == 0 and step < self.last_step:
            self.save("periodic")
        self.stop_if_requested()

    def after_prefit(self) -> None:
        """The photo pre-fit ended (in full, or early on Ctrl-C): its result is the last good
        state, and a stop asked for during it saves now, as after any step."""
        self._good = _copy_state(self.param)
        self.stop_if_requested()

    def stop_if_requested(self) -> None:
        """Ctrl-C (or SIGTERM, the page's Stop) was asked for: measure, save, raise :class:`Interrupted`."""
        name = stop_requested()
        if name:
            try:
                self.measured()  # one forward and backward: the saved image's loss is the log's last row
            except ParamartError:
                pass  # a non-finite loss of the last step's image: saved all the same, the log ends before it
            self.save("interrupted")
            raise Interrupted(name, self.step, self.out, saved=self.out is not None)

    def measured(self) -> Progress | None:
        """Measure the current parameters' losses (the image a save writes now) and log them
        as the row of step ``self.step``; None when this state has nothing to measure with."""
        if self.measure is None:
            return None
        seconds = self.seconds  # when the image was made (the measurement itself is not the run's time)
        values = dict(self.measure())
        entry = Progress(self.step, values.pop("total"), values, seconds)
        self.log.append(entry)
        return entry

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
        """``checkpoint.pt`` then ``final.png``, each atomically, both of step ``self.step``.
        ``final.png`` is the parameters' render through the stage's finishing function
        (``image``, when given, is one it already made)."""
        if self.out is None:
            return
        save_checkpoint(
            self.out / CHECKPOINT, self.param, self.param_config, step=self.step,
            optimizer=self.optimizer if with_optimizer else None,
            rng=rng_state(), config=self.run_config, seconds=self.seconds, reason=reason, **self.extra,
        )
        self.saved_step = self.step
        if image is None:
            with torch.no_grad():
                image = self.finish_image((self.view if self.view is not None else self.param).render())
        save_image(image, self.out / FINAL)

    def finish(self, image: torch.Tensor) -> None:
        """Save the finished run: ``checkpoint.pt`` and ``image`` ((1, 3, H, W) in [0, 1]) as ``final.png``."""
        self.save("done", image=image)
