"""Zoom training against a plain render and a bicubic upscale, at 7680x4320 (issue 13).

A hash-grid texture of The Starry Night is trained with ``zoom.levels`` (a CPU-time budget
as in bench/fields.py, a zoom step costing two VGG passes; ``--seconds`` names the
bench/fields.py runs it is compared with), rendered at 7680x4320 by
``paramart-render`` under ``/usr/bin/time -v`` (wall time and peak RSS), and canvas-sized
crops of the render at full resolution are scored by the independent judge next to: the
training-size image, the same crops of a hash grid trained without zoom, and of the pixel
result upscaled bicubically (the baseline: all a pixel canvas can do).

    python bench/fields_zoom.py --size 128 --seconds 60 --zoom-seconds 60 --levels 1,2,4,8,16,32,64
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

import fields
import torch
from PIL import Image

from paramart.io.images import to_tensor
from paramart.model.judge import GatysScore
from paramart.runner.checkpoint import param_from_checkpoint

Image.MAX_IMAGE_PIXELS = None
W8K, H8K = 7680, 4320


def render_8k(run: Path, out: Path) -> dict:
    exe = str(Path(sys.executable).with_name("paramart-render"))
    r = subprocess.run(["/usr/bin/time", "-v", exe, f"run={run}", f"width={W8K}", f"height={H8K}", f"out={out}",
                        "progress=false"], capture_output=True, text=True, check=True)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", r.stderr)
    h, m, s = (float(g) if g else 0.0 for g in wall.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", r.stderr))
    return {"render_wall_s": 3600 * h + 60 * m + s, "render_cpu_s": cpu, "peak_rss_mb": rss / 1024}


def sample_8k(run: Path, tiles: int) -> dict:
    """CPU seconds of ``tiles`` 256 px tiles of the 8K render, extrapolated to all of them."""
    import time

    param = param_from_checkpoint(run).eval()
    t = time.process_time()
    for i in range(tiles):
        param.render_region((H8K, W8K), 256 * (i % 16), 256 * i, 256, 256)
    per_tile = (time.process_time() - t) / tiles
    count = -(-H8K // 256) * -(-W8K // 256)
    return {"render_cpu_s": per_tile * count, "render_sampled_tiles": tiles, "render_tiles": count}


def bicubic_8k(png: str, out: Path) -> None:
    """The pixel result enlarged bicubically to the render's pixel pitch, its centred 16:9 part."""
    with Image.open(png) as im:
        big = im.convert("RGB").resize((W8K, W8K), Image.Resampling.BICUBIC)
    top = (W8K - H8K) // 2
    big.crop((0, top, W8K, top + H8K)).save(out)


def crop_windows(size: int, count: int, seed: int = 0) -> list[tuple[int, int]]:
    """(top, left) of ``count`` random ``size`` x ``size`` crops of a 7680x4320 image."""
    g = torch.Generator().manual_seed(seed)
    return [(int(torch.randint(0, H8K - size, (1,), generator=g)), int(torch.randint(0, W8K - size, (1,), generator=g)))
            for _ in range(count)]


def crop_scores(source, size: int, judge: GatysScore, count: int) -> list[float]:
    """Style scores of the crops, cut from an image file or rendered from a run's checkpoint
    (``render_region``: exactly the pixels the 8K render has there, without rendering it all)."""
    scores = []
    if isinstance(source, Path) and source.suffix == ".png":
        with Image.open(source) as im:
            im = im.convert("RGB")
            for top, left in crop_windows(size, count):
                scores.append(judge(to_tensor(im.crop((left, top, left + size, top + size))))["style"])
        return scores
    param = param_from_checkpoint(source).eval()
    for top, left in crop_windows(size, count):
        crop = param.render_region((H8K, W8K), top, left, size, size)
        scores.append(judge(crop.mul(255).round().div(255))["style"])  # as saved in 8 bits
    return scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--zoom-seconds", type=float, default=60.0, help="the zoom run's CPU budget (a step: 2 VGG)")
    ap.add_argument("--levels", default="1,2,4,8,16,32,64")
    ap.add_argument("--finest", type=int, default=8192)
    ap.add_argument("--crops", type=int, default=8)
    ap.add_argument("--reuse", action="store_true", help="score the finished zoom run again (no training)")
    ap.add_argument("--extra", default="", help="more overrides for the zoom run, comma-separated "
                                                  "(e.g. param.antialias=true)")
    ap.add_argument("--sample-tiles", type=int, default=0,
                    help="instead of the whole 8K render, time this many 256 px tiles of it and extrapolate")
    args = ap.parse_args()
    fields.VARIANTS["hashgrid+zoom"] = ("hashgrid", 0.01, [f"param.finest={args.finest}"])
    if args.reuse:
        name = f"texture_hashgrid+zoom_zoom_{args.size}px_{args.zoom_seconds:g}s"
        steps = int((fields.RUNS / name / "losses.csv").read_text().splitlines()[-1].split(",")[0])
        row = {"name": name, "steps": steps, "png": str(fields.RUNS / name / "final.png")}
    else:
        costs = fields.calibrate(["hashgrid+zoom"], args.size)
        row = fields.one_run("texture", "hashgrid+zoom", args.size, args.zoom_seconds, costs,
                             [f"zoom.levels=[{args.levels}]", *filter(None, args.extra.split(","))])
    judge = GatysScore(fields.CONTENT, fields.STYLE, style_size=args.size)
    runs = fields.RUNS
    tag = f"texture_{{}}_{args.size}px_{args.seconds:g}s"
    plain = runs / tag.format("hashgrid")
    pixel = runs / tag.format("pixel") / "final.png"
    result = {"zoom_run": row["name"], "levels": args.levels, "finest": args.finest, "extra": args.extra,
              "steps": row["steps"],
              "train_score": judge(row["png"])["style"]}
    zoom_run = Path(row["png"]).parent
    if args.sample_tiles:
        result.update(sample_8k(zoom_run, args.sample_tiles))
        result["crops_zoom"] = statistics.median(crop_scores(zoom_run, args.size, judge, args.crops))
    else:
        big = runs / f"{row['name']}_8k.png"
        result.update(render_8k(zoom_run, big))
        result["crops_zoom"] = statistics.median(crop_scores(big, args.size, judge, args.crops))
    if (plain / "checkpoint.pt").is_file():
        result["train_score_nozoom"] = judge(plain / "final.png")["style"]
        result["crops_nozoom"] = statistics.median(crop_scores(plain, args.size, judge, args.crops))
    if pixel.is_file():
        bicubic = runs / "pixel_bicubic_8k.png"
        bicubic_8k(str(pixel), bicubic)
        result["train_score_pixel"] = judge(pixel)["style"]
        result["crops_bicubic"] = statistics.median(crop_scores(bicubic, args.size, judge, args.crops))
    print(json.dumps(result), flush=True)
    with (fields.RESULTS / "fields_zoom.jsonl").open("a") as f:
        f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
