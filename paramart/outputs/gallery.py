"""``paramart-gallery``: a static, offline gallery site from finished run directories.

Each piece shows the final image, its time-lapse, the loss plot, the inputs as
thumbnails, the key settings and the time it took. The page comes from a Jinja2 template
(``templates/gallery.html``) with autoescaping, so no text from a run can become markup.

Run folders may come from anyone (:mod:`paramart.outputs.runfiles` reads them as data):
a damaged run is skipped with a warning and listed at the end, a symlink pointing out of
its run folder is never followed, and the site's own folder is never taken for a run.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from PIL import Image

from paramart.errors import ParamartError, WriteError
from paramart.io.atomic import atomic_write, write_error
from paramart.io.images import safe_name
from paramart.io.runfolder import CLIP_GIF, FINAL, LOSS_PLOT, RUN_JSON, SIDE_BY_SIDE_GIF, TIMELAPSE_GIF
from paramart.outputs.runfiles import Damaged, RunFiles, read_run

log = logging.getLogger(__name__)

ASSETS = (FINAL, TIMELAPSE_GIF, LOSS_PLOT)


@dataclass
class Figure:
    """One image on a gallery page: its path inside the site, its alt text and an optional caption (plain text)."""

    src: str  #: the image's path inside the site (``pieces/SLUG/NAME``)
    alt: str  #: its alt text
    caption: str | None = None  #: shown under it; None for none


@dataclass
class PieceView:
    """What the template shows of one run: paths inside the site, and plain text."""

    slug: str  #: the piece's folder name under ``pieces/`` (a safe file name)
    title: str  #: its heading, from the run's inputs
    main: list[Figure] = field(default_factory=list)  #: final.png and the time-lapse
    renders: list[Figure] = field(default_factory=list)  #: paramart-render outputs and zoom animations
    inputs: list[Figure] = field(default_factory=list)  #: the content and style thumbnails
    settings: list[tuple[str, str]] = field(default_factory=list)  #: (name, value) rows of the run's facts
    plot: Figure | None = None  #: the loss plot, when the run has one


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a symlink loop
        return False


def _natural_under(root: Path, run: Path):
    return _natural(run.relative_to(root))


def find_runs(paths: list[str | Path], exclude: Path | None = None) -> list[Path]:
    """Run directories (holding ``final.png``) under the given paths, sweeps in job order.

    Symlinked folders are not entered, and nothing under ``exclude`` (the site being built) is a run."""
    found: list[Path] = []
    skip = exclude.resolve() if exclude is not None else None
    for p in map(Path, paths):
        if not p.exists():
            raise ParamartError(f"no such run or sweep directory: {p}")
        if (p / FINAL).is_file() or ((p / CLIP_GIF).is_file() and (p / RUN_JSON).is_file()):
            runs = [p]
        else:
            runs = []
            for folder, dirs, files in os.walk(p, followlinks=False):
                dirs.sort()
                if FINAL in files or (CLIP_GIF in files and RUN_JSON in files):  # a still, or a clip
                    runs.append(Path(folder))
            runs.sort(key=functools.partial(_natural_under, p))
        found.extend(r for r in runs if skip is None or not _inside(r, skip))
    if not found:
        raise ParamartError("no finished runs (directories with final.png, or a clip's final.gif) under "
                            f"{', '.join(map(str, paths))}")
    return found


def _natural(path: Path) -> list:
    """Sort key putting sweep job 10 after job 9."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in path.parts]


def _title(r: RunFiles) -> str:
    f = r.facts
    names = [Path(s.removeprefix("sample:")).stem for s in f.get("style", [])]
    what = " + ".join(names) or "untitled"
    if f.get("content"):
        what += f" on {Path(f['content'].removeprefix('sample:')).stem}"
    # the overrides that say what kind of piece this is (a dream, a grain size ...)
    kind = [o for o in r.overrides if o.split("=")[0] in ("experiment", "param.grain", "preserve_color")]
    if f.get("kind") == "video":
        kind.append(f"video, {f.get('frames', '?')} frames, method {f.get('method', '?')}")
    if not f.get("style") and not f.get("content") and any("dream" in k for k in kind):
        what = "dream"
    return " · ".join([what, str(f.get("param", "?")), *kind])


def _settings(r: RunFiles) -> list[tuple[str, str]]:
    f = r.facts
    rows = [(k, f[k]) for k in ("param", "method", "frames", "fps", "optimizer", "size", "steps", "seed",
                                "content_weight", "style_weight",
                                "tv_weight") if k in f]  # the *_weight keys: runs made before terms
    # the objective's terms and their weights, as run.json records them (checked by runfiles)
    rows += [(f"{name} ({t.get('kind', '?')})", f"weight {t['weight']}") for name, t in f.get("terms", {}).items()
             if t.get("weight")]
    if "seconds" in f:
        rows.append(("time", f"{f['seconds']:.1f} s on {f.get('device', '?')}"))
    if r.overrides:
        rows.append(("overrides", " ".join(r.overrides)))
    return [(k, str(v)) for k, v in rows]


def _copy(src: Path, dest: Path) -> None:
    try:
        shutil.copyfile(src, dest, follow_symlinks=True)  # src is checked to lie inside its run
    except OSError as exc:
        raise WriteError(write_error(dest, exc)) from None


def _render_assets(render: Path, dest: Path, slug: str) -> list[Figure]:
    """A high-resolution render enters the page as a 1024 px preview and a 512 px crop at
    full resolution (its centre), so the page stays light and the detail stays visible."""
    with Image.open(render) as im:
        im = im.convert("RGB")
        w, h = im.size
        stem = safe_name(render.stem, default="render")
        crop = im.crop(((w - 512) // 2, (h - 512) // 2, (w + 512) // 2, (h + 512) // 2)) if min(w, h) > 512 else im
        crop.save(dest / f"{stem}-crop.png")
        im.thumbnail((1024, 1024), Image.Resampling.LANCZOS)
        im.save(dest / f"{stem}-preview.jpg", quality=88)
    label = f"{w}x{h}"
    return [Figure(f"pieces/{slug}/{stem}-preview.jpg", f"render {label} (preview)", f"render {label} (preview)"),
            Figure(f"pieces/{slug}/{stem}-crop.png", f"render {label} (centre crop at full size)",
                   f"render {label} (centre crop at full size)")]


def _piece(r: RunFiles, slug: str, out: Path, warn: Callable[[str], None]) -> PieceView:
    dest = out / "pieces" / slug
    dest.mkdir(parents=True, exist_ok=True)
    title = _title(r)
    view = PieceView(slug, title, settings=_settings(r))
    for name, caption in ((FINAL, "final"), (TIMELAPSE_GIF, "time-lapse"), (LOSS_PLOT, None),
                          (SIDE_BY_SIDE_GIF, "input | result"), (CLIP_GIF, "the styled clip")):
        if name in r.assets:
            _copy(r.assets[name], dest / name)
            figure = Figure(f"pieces/{slug}/{name}", f"{caption or 'loss curves'}: {title}", caption)
            if caption:
                view.main.append(figure)
            else:
                view.plot = figure
    for src in r.inputs:
        name = safe_name(src.stem) + ".jpg"
        _copy(src, dest / name)
        label = "content" if src.stem == "content" else src.stem.replace("_", " ")
        view.inputs.append(Figure(f"pieces/{slug}/{name}", f"input: {label}", label))
    for render in r.renders:
        try:
            view.renders += _render_assets(render, dest, slug)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            warn(f"{render}: not shown ({type(exc).__name__}: {str(exc)[:80]})")
    for anim in r.animations:
        name = safe_name(anim.stem) + ".gif"
        _copy(anim, dest / name)
        label = f"zoom animation {anim.stem[5:]}"
        view.renders.append(Figure(f"pieces/{slug}/{name}", f"{label}: {title}", label))
    return view


def _template():
    env = Environment(loader=PackageLoader("paramart.outputs", "templates"),
                      autoescape=select_autoescape(["html"], default=True), trim_blocks=False)
    return env.get_template("gallery.html")


def build_gallery(runs: list[str | Path], out_dir: str | Path, title: str = "paramart gallery",
                  intro: str = "", warn: Callable[[str], None] | None = None) -> Path:
    """Copy each run's assets under ``out_dir/pieces/`` and write ``out_dir/index.html``.

    A damaged run is skipped: ``warn`` (default: the log) gets one line for it, and the
    skipped runs are listed again at the end."""
    warn = warn or log.warning
    out = Path(out_dir)
    pieces: list[PieceView] = []
    skipped: list[str] = []
    for index, run in enumerate(find_runs(runs, exclude=out)):
        try:
            files = read_run(run)
            slug = f"{index:03d}-{safe_name(_title(files).lower(), max_length=60, default='piece')}"
            pieces.append(_piece(files, slug, out, warn))
        except Damaged as exc:
            warn(f"skipped {run}: {exc}")
            skipped.append(f"{run} ({exc})")
    if not pieces:
        raise ParamartError(f"no run could be shown: {len(skipped)} skipped as damaged")
    page = _template().render(title=title, intro=intro, pieces=pieces)
    index_path = out / "index.html"
    atomic_write(index_path, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    if skipped:
        warn(f"{len(skipped)} damaged run(s) skipped: " + "; ".join(skipped))
    return index_path
