"""``paramart-gallery``: a static, offline gallery site from finished run directories.

Each piece shows the final image, its time-lapse, the loss plot, the inputs as
thumbnails, the key settings and the time it took. Every text taken from configs or file
names is HTML-escaped; asset file names are sanitised.
"""

from __future__ import annotations

import html
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf
from PIL import Image

from paramart.errors import ParamartError
from paramart.io.images import atomic_write, safe_name

ASSETS = ("final.png", "timelapse.gif", "losses.png")


@dataclass
class Piece:
    run_dir: Path
    slug: str
    facts: dict
    overrides: list[str]
    inputs: list[Path]
    renders: list[Path]


def find_runs(paths: list[str | Path]) -> list[Path]:
    """Run directories (holding ``final.png``) under the given paths, sweeps in job order."""
    found: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise ParamartError(f"no such run or sweep directory: {p}")
        if (p / "final.png").is_file():
            found.append(p)
            continue
        runs = [f.parent for f in p.rglob("final.png")]
        found.extend(sorted(runs, key=lambda run, root=p: _natural(run.relative_to(root))))
    if not found:
        raise ParamartError(f"no finished runs (directories with final.png) under {', '.join(map(str, paths))}")
    return found


def _natural(path: Path) -> list:
    """Sort key putting sweep job 10 after job 9."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in path.parts]


def _load_piece(run: Path, index: int) -> Piece:
    facts = {}
    if (run / "run.json").is_file():
        facts = json.loads((run / "run.json").read_text())
    overrides: list[str] = []
    if (run / ".hydra" / "overrides.yaml").is_file():
        overrides = [str(o) for o in OmegaConf.load(run / ".hydra" / "overrides.yaml")]
    inputs = sorted((run / "inputs").glob("*.jpg")) if (run / "inputs").is_dir() else []
    renders = sorted(run.glob("render_*.png"))
    piece = Piece(run, "", facts, overrides, inputs, renders)
    piece.slug = f"{index:03d}-{safe_name(_title(piece).lower(), max_length=60, default='piece')}"
    return piece


def _title(p: Piece) -> str:
    f = p.facts
    styles = f.get("style") or []
    styles = [styles] if isinstance(styles, str) else styles
    names = [Path(str(s).removeprefix("sample:")).stem for s in styles]
    what = " + ".join(names) or "untitled"
    content = f.get("content")
    if content:
        what += f" on {Path(str(content).removeprefix('sample:')).stem}"
    # the overrides that say what kind of piece this is (a dream, a grain size ...)
    kind = [o for o in p.overrides if o.split("=")[0] in ("experiment", "param.grain", "preserve_color")]
    if not styles and not content and any("dream" in k for k in kind):
        what = "dream"
    return " · ".join([what, str(f.get("param", "?")), *kind])


def _settings(p: Piece) -> list[tuple[str, str]]:
    f = p.facts
    rows = [(k, f[k]) for k in ("param", "optimizer", "size", "steps", "seed") if k in f]
    terms = f.get("terms")
    if isinstance(terms, dict):  # the objective's terms and their weights, as run.json records them
        rows += [(f"{name} ({t.get('kind', '?')})", f"weight {t.get('weight')}") for name, t in terms.items()
                 if isinstance(t, dict) and t.get("weight")]
    if "seconds" in f:
        rows.append(("time", f"{f['seconds']:.1f} s on {f.get('device', '?')}"))
    if p.overrides:
        rows.append(("overrides", " ".join(p.overrides)))
    return [(k, str(v)) for k, v in rows]


CSS = """
:root { color-scheme: light dark; --bg: #f6f4ef; --fg: #1d1d1f; --card: #fff; --muted: #666; }
@media (prefers-color-scheme: dark) { :root { --bg: #151515; --fg: #eee; --card: #222; --muted: #aaa; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg);
       color: var(--fg); }
header { padding: 1.5rem 1rem 0.5rem; max-width: 1400px; margin: auto; }
h1 { margin: 0 0 .25rem; font-size: 1.6rem; }
header p { margin: 0; color: var(--muted); }
main { display: grid; gap: 1rem; padding: 1rem; max-width: 1400px; margin: auto;
       grid-template-columns: repeat(auto-fill, minmax(min(100%, 420px), 1fr)); }
article { background: var(--card); border-radius: 10px; padding: .75rem; box-shadow: 0 1px 4px #0002; }
article h2 { font-size: 1rem; margin: .1rem 0 .5rem; overflow-wrap: anywhere; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: .4rem; }
.pair figure, .inputs figure { margin: 0; }
img { width: 100%; height: auto; display: block; border-radius: 4px; background: #8882; }
figcaption { font-size: .75rem; color: var(--muted); }
.inputs { display: flex; gap: .4rem; margin: .5rem 0; }
.inputs figure { width: 72px; }
table { font-size: .8rem; border-collapse: collapse; width: 100%; }
td { padding: .1rem .3rem; vertical-align: top; overflow-wrap: anywhere; }
td:first-child { color: var(--muted); white-space: nowrap; width: 1%; }
details summary { cursor: pointer; font-size: .8rem; color: var(--muted); margin-top: .3rem; }
"""


def _img(src: str, alt: str, caption: str | None = None, extra: str = "") -> str:
    e = html.escape
    cap = f"<figcaption>{e(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{e(src)}" alt="{e(alt)}"{extra}>{cap}</figure>'


def _render_assets(render: Path, dest: Path, slug: str) -> dict[str, str]:
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
    return {f"render:{label} (preview)": f"pieces/{slug}/{stem}-preview.jpg",
            f"render:{label} (centre crop at full size)": f"pieces/{slug}/{stem}-crop.png"}


def _article(p: Piece, assets: dict[str, str]) -> str:
    e = html.escape
    title = _title(p)
    final = _img(assets["final.png"], f"final image: {title}", "final") if "final.png" in assets else ""
    lapse = _img(assets["timelapse.gif"], f"time-lapse: {title}", "time-lapse") if "timelapse.gif" in assets else ""
    inputs = "".join(_img(src, f"input: {name[3:]}", name[3:]) for name, src in assets.items()
                     if name.startswith("in:"))
    renders = "".join(_img(src, f"render {name[7:]}", f"render {name[7:]}") for name, src in assets.items()
                      if name.startswith("render:"))
    renders = f'<div class="pair">{renders}</div>' if renders else ""
    rows = "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in _settings(p))
    plot = (f"<details><summary>loss curves</summary>{_img(assets['losses.png'], f'loss curves: {title}')}"
            f"</details>" if "losses.png" in assets else "")
    return (f'<article id="{e(p.slug)}"><h2>{e(title)}</h2><div class="pair">{final}{lapse}</div>'
            f'{renders}<div class="inputs">{inputs}</div><table>{rows}</table>{plot}</article>')


def build_gallery(runs: list[str | Path], out_dir: str | Path, title: str = "paramart gallery",
                  intro: str = "") -> Path:
    """Copy each run's assets under ``out_dir/pieces/`` and write ``out_dir/index.html``."""
    out = Path(out_dir)
    pieces = [_load_piece(run, i) for i, run in enumerate(find_runs(runs))]
    (out / "pieces").mkdir(parents=True, exist_ok=True)
    articles = []
    for p in pieces:
        dest = out / "pieces" / p.slug
        dest.mkdir(exist_ok=True)
        assets: dict[str, str] = {}
        for name in ASSETS:
            if (p.run_dir / name).is_file():
                shutil.copyfile(p.run_dir / name, dest / name)
                assets[name] = f"pieces/{p.slug}/{name}"
        for src in p.inputs:
            name = safe_name(src.stem) + ".jpg"
            shutil.copyfile(src, dest / name)
            label = "content" if src.stem == "content" else src.stem.replace("_", " ")
            assets[f"in:{label}"] = f"pieces/{p.slug}/{name}"
        for render in p.renders:
            assets.update(_render_assets(render, dest, p.slug))
        articles.append(_article(p, assets))
    e = html.escape
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<link rel="icon" href="data:,">
<style>{CSS}</style></head>
<body><header><h1>{e(title)}</h1><p>{e(intro or f"{len(pieces)} pieces made with paramart")}</p></header>
<main>
{chr(10).join(articles)}
</main></body></html>
"""
    index = out / "index.html"
    atomic_write(index, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    return index
