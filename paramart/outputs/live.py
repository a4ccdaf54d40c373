"""What a run shows while it paints: progress, loss history, stage and the latest canvas.

:class:`LiveRun` is written by the run (main thread) and read by the preview server's
threads, so every field changes under one lock and readers get copies. The run only
converts a frame to an 8-bit PIL image; PNG encoding happens on the reader's side, once
per frame, outside the run's thread (Pillow releases the GIL while it compresses).
"""

from __future__ import annotations

import io
import math
import threading
import time
from typing import Any

import numpy as np
import torch
from PIL import Image

from paramart.geometry import fit_size


class LiveRun:
    """The shared, thread-safe view of one run for the preview page and the notebook cell."""

    def __init__(self, *, total: int, settings: list[tuple[str, str]], inputs: list[tuple[str, Image.Image]],
                 refresh: float = 1.0, max_size: int = 1024, out_dir: str | None = None):
        self._lock = threading.Lock()
        self.refresh = float(refresh)
        self.max_size = int(max_size)
        self.settings = settings
        self.out_dir = out_dir
        self.inputs = [(name, _jpeg(_thumb(image, 256))) for name, image in inputs]
        self._state: dict[str, Any] = {
            "status": "loading", "step": 0, "start_step": 0, "total": int(total), "seconds": 0.0,
            "eta": None, "terms": {}, "loss": None, "stage": None, "frame": 0, "frame_step": None,
            "stage_starts": [], "clip": None,
            "message": "loading the model",
        }
        self._rows: list[list[float]] = []  # [step, seconds, total, *terms in self._columns]
        self._columns: list[str] = []
        self._frame: Image.Image | None = None
        self._png: tuple[int, bytes] | None = None  # (frame version, encoded)
        self._last_frame_at = -math.inf
        self._running_since = time.perf_counter()
        self._seconds_at_log = (0.0, self._running_since)  # (run seconds at the last log, when)

    # -- written by the run

    def start(self, start_step: int) -> None:
        """The run's first stage begins at ``start_step`` (0, or a resumed run's step): status ``running``."""
        with self._lock:
            self._state.update(status="running", step=start_step, start_step=start_step, message="")
            self._running_since = time.perf_counter()
            self._seconds_at_log = (0.0, self._running_since)

    def stage(self, index: int, count: int, size: tuple[int, int], steps: int) -> None:
        """Stage ``index`` of ``count`` begins: canvas ``size`` (height, width) px, ``steps`` steps; a
        stage after the first is marked on the loss plot at the current step."""
        with self._lock:
            self._state["stage"] = {"index": index, "count": count, "height": size[0], "width": size[1],
                                    "steps": steps}
            if index > 0:  # where the loss plot marks a new scale
                self._state["stage_starts"] = [*self._state["stage_starts"], self._state["step"]]

    def clip(self, index: int, count: int, total: int) -> None:
        """A video run: frame ``index`` of ``count`` is the one being styled; ``total`` steps in all."""
        with self._lock:
            self._state.update(clip={"frame": index, "frames": count}, total=int(total))

    def step(self, step: int) -> None:
        """The run finished ``step`` (shown between logged steps)."""
        with self._lock:
            self._state["step"] = step

    def progress(self, step: int, total: float, terms: dict[str, float], seconds: float) -> None:
        """A logged step: ``seconds`` since the run's start (a resumed run's earlier time included)."""
        with self._lock:
            for name in terms:
                if name not in self._columns:
                    self._columns.append(name)
                    for row in self._rows:
                        row.append(math.nan)
            self._rows.append([step, seconds, total, *(terms.get(c, math.nan) for c in self._columns)])
            self._seconds_at_log = (seconds, time.perf_counter())
            s = self._state
            s.update(step=step, loss=total, terms=dict(terms), seconds=seconds)
            done = step - s["start_step"]  # steps taken in this process (a resumed run counts from there)
            rate = (time.perf_counter() - self._running_since) / done if done > 0 else None
            s["eta"] = rate * (s["total"] - step) if rate is not None else None

    def frame_due(self) -> bool:
        """Whether ``refresh`` seconds have passed since the last frame (the run then renders one)."""
        return time.perf_counter() - self._last_frame_at >= self.refresh

    def frame(self, step: int, image: torch.Tensor | Image.Image) -> None:
        """A new canvas (a (1, 3, H, W) tensor in [0, 1] or a PIL image)."""
        pil = image if isinstance(image, Image.Image) else _to_pil(image)
        pil = _thumb(pil, self.max_size)
        with self._lock:
            self._frame = pil
            self._state["frame"] += 1
            self._state["frame_step"] = step
            self._last_frame_at = time.perf_counter()

    def finish(self, status: str, message: str = "") -> None:
        """``status``: done | stopping | stopped | failed."""
        with self._lock:
            if self._state["status"] in ("running", "stopping") and status != "stopping":
                at, when = self._seconds_at_log  # the clock stops here
                self._state["seconds"] = at + time.perf_counter() - when
            self._state.update(status=status, message=message)

    # -- read by the server / notebook

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        """The state, with the loss rows from index ``since`` on (so a page fetches each row once)."""
        with self._lock:
            s = dict(self._state)
            s["terms"] = dict(s["terms"])
            s["columns"] = ["step", "seconds", "total", *self._columns]
            since = max(0, min(int(since), len(self._rows)))
            s["rows"] = [[None if isinstance(v, float) and not math.isfinite(v) else v for v in row]
                         for row in self._rows[since:]]
            s["row_count"] = len(self._rows)
            if s["status"] in ("running", "stopping"):  # elapsed keeps ticking between logged steps
                at, when = self._seconds_at_log
                s["elapsed"] = at + time.perf_counter() - when
            else:
                s["elapsed"] = s["seconds"]
            return s

    def frame_png(self) -> tuple[int, bytes] | None:
        """(version, PNG bytes) of the latest frame, encoded once per version."""
        with self._lock:
            version, frame, cached = self._state["frame"], self._frame, self._png
        if frame is None:
            return None
        if cached is not None and cached[0] == version:
            return cached
        buf = io.BytesIO()
        frame.save(buf, format="PNG", compress_level=1)  # fast: it is replaced within seconds
        png = (version, buf.getvalue())
        with self._lock:
            if self._png is None or self._png[0] < version:
                self._png = png
        return png


def _to_pil(image: torch.Tensor) -> Image.Image:
    """8-bit RGB in numpy, not torch: torch's threads, on a busy machine, took 80 ms for what
    numpy does in 2 ms (a 256 px frame on 2 shared cores; bench/preview_overhead.py)."""
    array = image.detach()[0].float().cpu().numpy().transpose(1, 2, 0)
    return Image.fromarray(np.clip(array * 255 + 0.5, 0, 255).astype(np.uint8))


def _thumb(image: Image.Image, longest: int) -> Image.Image:
    if max(image.size) <= longest:
        return image
    h, w = fit_size(image.width, image.height, longest)
    return image.resize((w, h), Image.Resampling.LANCZOS)


def _jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=88)
    return buf.getvalue()
