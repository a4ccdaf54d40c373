"""The W2 (mean and covariance) style term against the Gram term, at equal wall time.

For each painting, the two runs go side by side, as two processes started together, so
they share the machine equally (this 2-core CPU is often shared), each with the same
time budget (``max_seconds``). The saved PNGs are then scored by the independent judge
(:class:`paramart.model.judge.GatysScore`, a Gram-matrix loss, so it favours the Gram
term by construction) and by a colour figure the judge does not see: the 2-Wasserstein
distance between the RGB distributions (as Gaussians) of the output and the painting.

    python bench/w2_vs_gram.py --seconds 90 --size 256 \\
        --styles ../shared/images/starry_night.jpg ../shared/images/great_wave_off_kanagawa.jpg

Writes docs/w2_vs_gram.png (a contact sheet) and bench/results/w2_vs_gram.json, and
prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from paramart.geometry import fit_size
from paramart.io.images import load_image, to_tensor
from paramart.model.judge import GatysScore

ROOT = Path(__file__).resolve().parents[1]
TERMS = ("gram", "w2")


def rgb_w2(image: Image.Image, style: Image.Image) -> float:
    """W2 distance between the two images' RGB pixel distributions seen as Gaussians (0-1 units)."""
    def moments(im: Image.Image) -> tuple[torch.Tensor, torch.Tensor]:
        x = to_tensor(im).double().flatten(2)[0]
        return x.mean(1), torch.cov(x, correction=0)

    def sqrtm(m: torch.Tensor) -> torch.Tensor:
        vals, vecs = torch.linalg.eigh(m)
        return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T

    (m1, c1), (m2, c2) = moments(image), moments(style)
    root = sqrtm(c2)
    cross = sqrtm(root @ c1 @ root).trace()
    return float(((m1 - m2).pow(2).sum() + c1.trace() + c2.trace() - 2 * cross).clamp_min(0).sqrt())


def launch(term: str, style: str, args: argparse.Namespace, out: Path) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("paramart")
    cmd = [str(exe), f"content={args.content}", f"style={style}", f"term@objective.style={term}",
           f"size={args.size}", "steps=100000", f"max_seconds={args.seconds}", "progress=false",
           "timelapse.enabled=false", f"hydra.run.dir={out}"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--styles", nargs="+", required=True)
    ap.add_argument("--content", default="sample:chelsea")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=90)
    ap.add_argument("--work", default="/tmp/w2_vs_gram")
    args = ap.parse_args()
    rows, tiles = [], []
    for style in args.styles:
        name = Path(style).stem
        outs = {t: Path(args.work) / f"{name}_{t}" for t in TERMS}
        procs = {t: launch(t, style, args, outs[t]) for t in TERMS}  # side by side
        for t, p in procs.items():
            _, err = p.communicate()
            if p.returncode != 0:
                raise SystemExit(f"{t} on {name} failed: {err.strip().splitlines()[-1]}")
        judge = GatysScore(args.content, style, args.size)
        style_img = load_image(style)
        style_img = style_img.resize(fit_size(style_img.width, style_img.height, args.size)[::-1])
        for t in TERMS:
            facts = json.loads((outs[t] / "run.json").read_text())
            with Image.open(outs[t] / "final.png") as im:
                image = im.convert("RGB")
            score = judge(image)
            rows.append({"style": name, "term": t, "steps": facts["steps"], "seconds": facts["seconds"],
                         "judged_style": score["style"], "judged_content": score["content"],
                         "rgb_w2": rgb_w2(image, style_img)})
            tiles.append((f"{name} · {t}", image))
        tiles.append((f"{name} (painting)", style_img))
    sheet(tiles, ROOT / "docs" / "w2_vs_gram.png", columns=len(TERMS) + 1)
    (ROOT / "bench" / "results" / "w2_vs_gram.json").write_text(json.dumps(
        {"size": args.size, "seconds": args.seconds, "content": args.content, "rows": rows}, indent=2))
    print("| painting | style term | steps | judged style | judged content | RGB W2 to the painting |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['style']} | {r['term']} | {r['steps']} | {r['judged_style']:.4g} | "
              f"{r['judged_content']:.4g} | {r['rgb_w2']:.4f} |")


def sheet(tiles: list[tuple[str, Image.Image]], path: Path, columns: int, cell: int = 256) -> None:
    rows = (len(tiles) + columns - 1) // columns
    out = Image.new("RGB", (columns * cell, rows * (cell + 18)), "white")
    draw = ImageDraw.Draw(out)
    for i, (label, im) in enumerate(tiles):
        im = im.copy()
        im.thumbnail((cell, cell))
        x, y = (i % columns) * cell, (i // columns) * (cell + 18)
        out.paste(im, (x, y + 18))
        draw.text((x + 4, y + 3), label, fill="black")
    out.save(path)


if __name__ == "__main__":
    main()
