"""Watching one run: the preview page (``preview.enabled=true``) and the notebook cell
(``paramart.stylize(..., preview=True)``), fed by the run as an observer.

:class:`Watch` is an observer of the whole run whose ``on_end`` :func:`paramart.api.run`
calls however the run ends, so the server stops when it is finished, stopped (Ctrl-C or
the page's Stop button) or crashed; a page
that is watching gets one more refresh (at most 2 s, while the run writes its last
files) to show which.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import torch
from jinja2 import Environment, PackageLoader, select_autoescape
from omegaconf import DictConfig, OmegaConf

from paramart.outputs.live import LiveRun
from paramart.outputs.notebook import NotebookCell
from paramart.outputs.preview import PreviewServer, reserve
from paramart.runner.events import Observer, Progress, StageInfo
from paramart.runner.plan import Plan
from paramart.runner.signals import STOP, request_stop

log = logging.getLogger("paramart.preview")


def _request_stop() -> bool:
    return request_stop("SIGINT")


def announce(message: str) -> None:
    """To the run's log (under Hydra: the console and the job's ``.log`` file), else stderr."""
    if logging.getLogger().handlers:
        log.info(message)
    else:
        print(f"paramart: {message}", file=sys.stderr, flush=True)


def _flat(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        if value.get("weight", 1) == 0:  # a term that is off
            return []
        return [kv for k, v in value.items() if not str(k).startswith("_") for kv in _flat(f"{prefix}.{k}", v)]
    if value is None:
        return []
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    return [(prefix, str(value))]


def settings(cfg: DictConfig) -> list[tuple[str, str]]:
    """The key settings the page lists (every objective key, as configured)."""
    target = str(cfg.param._target_)
    items: list[tuple[str, Any]] = [
        ("content", cfg.content), ("style", OmegaConf.to_container(cfg.style) if not isinstance(
            cfg.style, str | None) else cfg.style),
        ("param", target.split(".")[-2] if target.startswith("paramart.params.") else target),
        ("optim", f"{str(cfg.optim._target_).rsplit('.', 1)[-1]}, lr {cfg.optim.lr}"),
        ("size", cfg.size), ("steps", cfg.steps), ("seed", cfg.seed), ("device", cfg.device),
        ("model.precision", cfg.model.precision), ("max_seconds", cfg.get("max_seconds")),
        ("resume", cfg.get("resume")), ("preserve_color", cfg.get("preserve_color")),
    ]
    out = [kv for k, v in items for kv in _flat(k, v)]
    out += _flat("schedule", OmegaConf.to_container(cfg.schedule, resolve=True))
    out += _flat("objective", OmegaConf.to_container(cfg.objective, resolve=True))
    return out


def render_page(live: LiveRun, cfg: DictConfig, title: str) -> str:
    """The preview page's HTML (``templates/preview.html``, autoescaped): the title, the run folder,
    the inputs' names and the settings; the page then polls the server for the run's state."""
    env = Environment(loader=PackageLoader("paramart.outputs", "templates"), autoescape=select_autoescape())
    return env.get_template("preview.html").render(
        title=title, run_dir=live.out_dir or "", steps=cfg.steps, refresh=live.refresh,
        inputs=[name for name, _ in live.inputs], settings=live.settings)


class Watch(Observer):
    """The run's observer for the page and the notebook cell; inactive (and left out) when neither is on.

    The server starts with the first stage (the model is loaded by then) and stops in
    :meth:`on_end`, which the run calls however it ends: done, stopped or failed.
    """

    def __init__(self, plan: Plan, out_dir: str | Path | None, *, notebook: bool = False):
        self.cfg = cfg = plan.cfg
        self.enabled = bool(cfg.preview.enabled)
        self.live: LiveRun | None = None
        self.server: PreviewServer | None = None
        self.cell: NotebookCell | None = None
        self._stopped_by_us = False
        self._offset = 0  # a clip's frames each count steps from 0: shown one after another
        self._notebook = notebook = notebook and NotebookCell.available()  # elsewhere: a no-op
        #: the preview's socket, listening from now on (busy ports refused before the model loads)
        self._bound = reserve(str(cfg.preview.host), int(cfg.preview.port)) if self.enabled else None
        if not (self.enabled or notebook):
            return
        styles = plan.styles
        inputs = ([("content", plan.content)] if plan.content is not None else []) + [
            (f"style {i + 1}" if len(styles) > 1 else "style", s) for i, s in enumerate(styles)]
        self.live = LiveRun(total=cfg.steps, settings=settings(cfg), inputs=inputs, refresh=cfg.preview.refresh,
                            max_size=cfg.preview.max_size, out_dir=str(out_dir) if out_dir is not None else None)

    def release(self) -> None:
        """Stop listening when the run ends before the page was served."""
        if self.server is None and self._bound is not None:
            self._bound[0].server_close()
            self._bound = None

    @property
    def active(self) -> bool:
        """True when the preview page or the notebook cell is on (the run then calls this observer)."""
        return self.live is not None

    def _open(self) -> None:
        if self.enabled:
            p, live = self.cfg.preview, self.live
            title = Path(live.out_dir).name if live.out_dir else "run"
            self.server = PreviewServer(live, render_page(live, self.cfg, title), host=str(p.host), port=int(p.port),
                                        allow_remote=bool(p.allow_remote), bound=self._bound,
                                        run_dir=Path(live.out_dir) if live.out_dir else None, on_stop=self._stop)
            announce(f"preview: {self.server.note}watch at {self.server.url} (Stop and save there = Ctrl-C)")
        if self._notebook:
            self.cell = NotebookCell(self.live)

    def _stop(self) -> None:
        """The page's Stop and save: what Ctrl-C does (called from a server thread)."""
        if _request_stop():
            self._stopped_by_us = True
            sys.stderr.write("\nparamart: Stop and save pressed on the preview page: saving after this step\n")
            sys.stderr.flush()
            self.live.finish("stopping", "stopping: finishing this step, then saving final.png and checkpoint.pt")

    # -- the run's hooks (main thread)

    def on_stage(self, stage: StageInfo) -> None:
        """The first stage opens the server and/or the cell (the model has loaded); every stage updates the view.
        (A clip's every frame is a run of its own: the server opens at the first.)"""
        if stage.index == 0 and self.server is None and self.cell is None:
            self._open()
            self.live.start(stage.start_step)
        self.live.stage(stage.index, stage.count, stage.size, stage.steps)

    def on_clip_frame(self, index: int, count: int, total: int, first_step: int = 0) -> None:
        """A clip's frame ``index`` of ``count`` is being styled: shown on the page; its steps
        count on from ``first_step``."""
        self._offset = first_step
        self.live.clip(index, count, total)

    def _step(self, step: int) -> int:
        return step + self._offset

    def on_log(self, progress: Progress) -> None:
        """A logged step's losses and seconds to the live view."""
        self.live.progress(self._step(progress.step), progress.total, dict(progress.terms), progress.seconds)

    def wants_frame(self, step: int, seconds: float) -> bool:
        """Record ``step``; ask for a frame when ``preview.refresh`` seconds have passed since the last one."""
        self.live.step(self._step(step))
        return self.live.frame_due()

    def on_frame(self, step: int, image: torch.Tensor, final: bool = False) -> None:
        """A new canvas for the page (thumbnailed to ``preview.max_size`` px) and the cell
        (redrawn at once when ``final``)."""
        self.live.frame(self._step(step), image)
        if self.cell is not None:
            self.cell.update(force=final)

    def on_end(self, status: str) -> None:
        """``done``, ``stopped`` or ``failed``; never raises (the run's own error matters more)."""
        try:
            if self.live is not None:
                self.live.finish(status, "stopped and saved" if status == "stopped" else "")
            if self.cell is not None:
                self.cell.update(force=True)
        finally:
            self.release()
            if self.server is not None:  # a watching page gets one more refresh to fetch this status
                self.server.close_when_told(grace=self.live.refresh + 0.5)
            if self._stopped_by_us:
                STOP.clear()  # a Python caller's next run must not stop at once
