"""``paramart.stylize(..., preview=True)`` in Jupyter: one output cell, updated in place
with the canvas, the step and the losses. Outside IPython (or in a terminal IPython,
which cannot redraw a cell) it does nothing."""

from __future__ import annotations

import base64
import html
import time
from typing import Any

from paramart.outputs.live import LiveRun


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or "Terminal" in type(shell).__name__:
        return None
    return shell


def _sparkline(values: list[float], width: int = 240, height: int = 40) -> str:
    values = [v for v in values if v is not None]
    if len(values) < 2:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    pts = " ".join(f"{width * i / (len(values) - 1):.1f},{height - 2 - (height - 4) * (v - lo) / span:.1f}"
                   for i, v in enumerate(values))
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<polyline points="{pts}" fill="none" stroke="#c77d2e" stroke-width="1.5"/></svg>')


class NotebookCell:
    """Redraws one output cell from a :class:`LiveRun`, at most every ``live.refresh`` seconds."""

    def __init__(self, live: LiveRun):
        from IPython.display import HTML, display

        self.live, self._HTML = live, HTML
        self._handle = display(HTML("<p>paramart: loading the model…</p>"), display_id=True)
        self._last = 0.0

    @staticmethod
    def available() -> bool:
        """Whether a notebook (an IPython shell that can redraw a cell) is running."""
        return _shell() is not None

    def update(self, force: bool = False) -> None:
        """Redraw the cell from the live view, at most once per ``refresh`` seconds unless ``force``."""
        now = time.perf_counter()
        if not force and now - self._last < self.live.refresh:
            return
        self._last = now
        self._handle.update(self._HTML(self.render()))

    def render(self) -> str:
        """The cell's HTML: the latest frame (a PNG data URL), loss and its terms, ETA, stage, status; text escaped."""
        s = self.live.snapshot()
        png = self.live.frame_png()
        image = (f'<img src="data:image/png;base64,{base64.b64encode(png[1]).decode()}" '
                 f'style="max-width:100%" alt="canvas at step {s["frame_step"]}">') if png else ""
        terms = " · ".join(f"{html.escape(k)} {v:.4g}" for k, v in s["terms"].items())
        loss = f" · loss {s['loss']:.4g} ({terms})" if s["loss"] is not None else ""
        eta = f" · about {s['eta']:.0f} s left" if s["status"] == "running" and s["eta"] is not None else ""
        stage = ""
        if s["stage"] and s["stage"]["count"] > 1:
            st = s["stage"]
            stage = f" · scale {st['index'] + 1}/{st['count']} ({st['width']}x{st['height']} px)"
        line = (f"<b>{html.escape(s['status'])}</b> · step {s['step']}/{s['total']} · {s['elapsed']:.0f} s"
                f"{eta}{stage}{loss}")
        totals = [row[2] for row in s["rows"]]
        return f'<div>{image}<div style="font-family:monospace">{line}</div>{_sparkline(totals)}</div>'
