"""Reading a finished run folder as data, for the gallery: ``run.json``, ``overrides.yaml``,
the images. A run folder may come from anyone, so everything is checked and nothing in it
is ever instantiated or followed out of the folder:

- ``run.json`` must be a JSON object; the facts the gallery shows must be plain values of
  the right type (text, finite numbers), else the run is :class:`Damaged`;
- ``.hydra/overrides.yaml`` must be a list of text lines; they are shown, never applied;
- an image or file that is a symlink pointing out of the run folder is left out;
- ``final.png`` must open as an image; a video run's (``run.json`` kind ``video``) ``final.gif``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from paramart.errors import ParamartError
from paramart.io.runfolder import CLIP_GIF, FINAL, INPUTS, LOSS_PLOT, RUN_JSON, SIDE_BY_SIDE_GIF, TIMELAPSE_GIF
from paramart.trust import load_yaml_data

#: facts shown as text, and facts that must be finite numbers
TEXT = ("param", "optimizer", "device", "content", "kind", "method")
NUMBERS = ("size", "steps", "seed", "content_weight", "style_weight", "tv_weight", "seconds", "frames", "fps")
MAX_BYTES = 1_000_000  # run.json and overrides.yaml are small; a huge one is not a run's


class Damaged(Exception):
    """A run folder the gallery cannot show; the message says why."""


@dataclass
class RunFiles:
    """What :func:`read_run` found in one run folder: its checked facts and the files the gallery may copy."""

    run_dir: Path  #: the run folder
    #: ``run.json``, checked (text where text belongs, finite numbers, ``style`` a list); {} when absent
    facts: dict[str, Any] = field(default_factory=dict)
    #: the run's command-line overrides (``.hydra/overrides.yaml``), as text
    overrides: list[str] = field(default_factory=list)
    assets: dict[str, Path] = field(default_factory=dict)  #: final.png, timelapse.gif, losses.png
    inputs: list[Path] = field(default_factory=list)  #: thumbnails of the inputs (``inputs/*.jpg``)
    renders: list[Path] = field(default_factory=list)  #: ``paramart-render`` outputs (``render_*.png``)
    #: zoom animations made by ``paramart-render zoom.to=...`` (zoom_*.gif)
    animations: list[Path] = field(default_factory=list)


def contained(path: Path, root: Path) -> bool:
    """``path`` is a regular file whose real location lies inside ``root`` (symlinks resolved)."""
    try:
        return path.is_file() and path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


def _read_text(path: Path) -> str:
    if path.stat().st_size > MAX_BYTES:
        raise Damaged(f"{path.name} is {path.stat().st_size} bytes, too large for a run's")
    return path.read_text(encoding="utf-8")


def _facts(run: Path) -> dict[str, Any]:
    path = run / RUN_JSON
    if not path.exists():
        return {}
    if not contained(path, run):
        raise Damaged("run.json is not a file inside the run folder")
    try:
        facts = json.loads(_read_text(path))
    except RecursionError:
        raise Damaged("run.json is nested too deeply to be a run's") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise Damaged(f"run.json cannot be read ({str(exc)[:60]})") from None
    if not isinstance(facts, dict):
        raise Damaged("run.json is not a JSON object")
    for key in TEXT:
        if facts.get(key) is not None and not isinstance(facts[key], str):
            raise Damaged(f"run.json: {key} is not text")
    for key in NUMBERS:
        value = facts.get(key)
        if not _number_or_none(value):
            raise Damaged(f"run.json: {key} is {str(value)[:40]!r}, not a number")
    style = facts.get("style")
    style = [style] if isinstance(style, str) else style or []
    if not isinstance(style, list) or not all(isinstance(s, str) for s in style):
        raise Damaged("run.json: style is not text or a list of text")
    facts["style"] = style
    terms = facts.get("terms", {})
    if not isinstance(terms, dict) or not all(
            isinstance(t, dict) and isinstance(t.get("kind", ""), str) and _number_or_none(t.get("weight"))
            for t in terms.values()):
        raise Damaged("run.json: terms is not a mapping of terms with numeric weights")
    return facts


def _number_or_none(value: Any) -> bool:
    return value is None or (not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value))


def _overrides(run: Path) -> list[str]:
    path = run / ".hydra" / "overrides.yaml"
    if not path.exists():
        return []
    if not contained(path, run):
        raise Damaged(".hydra/overrides.yaml is not a file inside the run folder")
    try:
        # data only, no aliases, bounded nesting: builds no objects and cannot blow up
        lines = load_yaml_data(_read_text(path), ".hydra/overrides.yaml")
    except ParamartError as exc:
        raise Damaged(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Damaged(f".hydra/overrides.yaml cannot be read ({str(exc).splitlines()[0][:60]})") from None
    if lines is None:
        return []
    if not isinstance(lines, list) or not all(isinstance(o, str | int | float | bool) for o in lines):
        raise Damaged(".hydra/overrides.yaml is not a list of overrides")
    return [str(o) for o in lines]


def _image_ok(path: Path) -> bool:
    try:
        with Image.open(path) as im:
            im.verify()
        return True
    except Exception:  # Pillow raises many types for damaged files
        return False


def read_run(run: Path, assets: tuple[str, ...] = (FINAL, TIMELAPSE_GIF, LOSS_PLOT)) -> RunFiles:
    """The run's facts and the files the gallery may copy, all inside ``run``; :class:`Damaged` if unusable."""
    files = RunFiles(run, _facts(run), _overrides(run))
    if files.facts.get("kind") == "video":  # a clip: final.gif (and side_by_side.gif), no final.png
        if not contained(run / CLIP_GIF, run) or not _image_ok(run / CLIP_GIF):
            raise Damaged("final.gif is not an image inside the video run's folder")
        assets = (CLIP_GIF, SIDE_BY_SIDE_GIF)
    elif not contained(run / "final.png", run) or not _image_ok(run / FINAL):
        raise Damaged("final.png is not an image inside the run folder")
    files.assets = {name: run / name for name in assets if contained(run / name, run)}
    if (run / INPUTS).is_dir() and not (run / INPUTS).is_symlink():
        files.inputs = sorted(p for p in (run / INPUTS).glob("*.jpg") if contained(p, run))
    files.renders = sorted(p for p in run.glob("render_*.png") if contained(p, run))
    files.animations = sorted(p for p in run.glob("zoom_*.gif") if contained(p, run))
    return files
