"""Print sizes: peak memory and seconds per step, tiled against untiled (paramart/evaluation/tiled.py).

Each configuration runs in a fresh process under ``/usr/bin/time -v`` (so the peak RSS
is the whole process's: Python, torch, VGG-19, targets, canvas, optimiser, activations)
through the Python API, with L-BFGS at a history of ``--history`` pairs (what the print
path cuts it to) and reports the median wall seconds of a step after the first.

    python bench/print.py --sizes 512 1024 2048 --tile 1024 --steps 3 --out bench/results/print.json
    python bench/print.py --exactness --out bench/results/print_exactness.json   # tiled vs untiled
    python bench/print.py --from-run RUN --time-log TIME.txt --out ...           # a finished print's
        last scale (s/step from its losses.csv, peak RSS from its /usr/bin/time -v output)
    python bench/print.py --plot docs/bench_print.png --out bench/results/print.json

Timing on a shared machine: run under ``nice`` and compare only rows of one run.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CONTENT = str(REPO.parent / "shared" / "images" / "chelsea_cat.png")
STYLE = str(REPO.parent / "shared" / "images" / "starry_night.jpg")


def worker(spec: dict) -> dict:
    from paramart.api import compose, run

    overrides = [f"size={spec['size']}", f"steps={spec['steps']}", f"content={spec['content']}",
                 f"style={spec['style']}", "progress=false", "log_every=1", "timelapse.enabled=false",
                 f"optim.history_size={spec['history']}", f"model.tile={spec['tile'] or 'null'}"]
    result = run(compose(overrides))
    seconds = [r.seconds for r in result.history.rows]
    per_step = [b - a for a, b in zip(seconds, seconds[1:])]
    return {**spec, "canvas": list(result.image.shape[-2:]), "step_seconds": per_step,
            "s_per_step": statistics.median(per_step), "loss": result.history.rows[-1].total}


def peak_rss_mib(time_log: str) -> float:
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_log)
    return int(m.group(1)) / 1024 if m else float("nan")


def measure(spec: dict) -> dict:
    cmd = ["/usr/bin/time", "-v", sys.executable, __file__, "--worker", json.dumps(spec)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return {**spec, "error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "failed"}
    row = json.loads(p.stdout.strip().splitlines()[-1])
    row["peak_rss_mib"] = peak_rss_mib(p.stderr)
    return row


def add_estimates(row: dict) -> dict:
    from paramart.evaluation import budget as B

    if "canvas" in row:
        h, w = row["canvas"]
        row["megapixels"] = h * w / 1e6
        row["s_per_megapixel"] = row["s_per_step"] / row["megapixels"]
        est = B.step_bytes((h, w), row["tile"], "conv5_1", "bf16", B.CANVAS_COPIES + 2 * row["history"] + 4)
        row["estimate_mib"] = est / 2**20
    return row


def from_run(run: Path, time_log: Path, tile: int | None, history: int) -> dict:
    """The last scale of a finished print run: its last step's seconds, the run's peak RSS."""
    from PIL import Image

    with open(run / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    w, h = Image.open(run / "final.png").size
    step = float(rows[-1]["seconds"]) - float(rows[-2]["seconds"])
    row = {"size": max(w, h), "tile": tile, "history": history, "canvas": [h, w], "steps": len(rows),
           "step_seconds": [step], "s_per_step": step, "loss": float(rows[-1]["total"]),
           "peak_rss_mib": peak_rss_mib(time_log.read_text()), "source": str(run)}
    return add_estimates(row)


def exactness(sizes_tiles: list[tuple[int, int]], precision: str) -> list[dict]:
    """Loss and gradient, untiled against tiled, with the default objective on the cat."""
    import torch

    from paramart.api import compose
    from paramart.evaluation.tiled import Tiled
    from paramart.model.vgg import VGG19
    from paramart.objectives.color import ColorPreservation
    from paramart.objectives.transforms import RandomWarp
    from paramart.params.pixel import Pixel
    from paramart.runner.plan import make_plan
    from paramart.runner.stage import build_stage

    out = []
    vgg = VGG19("caffe", last_layer="conv5_1").configure(precision)
    for size, tile in sizes_tiles:
        plan = make_plan(compose([f"size={size}", "model.tile=null", f"content={CONTENT}", f"style={STYLE}"]))
        stage = build_stage(plan, vgg, size, 1, ColorPreservation(None, True), RandomWarp())
        torch.manual_seed(0)
        param = Pixel(stage.size, init_image=(stage.content * 0.8 + 0.1 + 0.05 * torch.randn_like(stage.content)))
        terms = stage.objective(param())
        total = sum(terms.values()).detach()
        sum(terms.values()).backward()
        g0 = param.logits.grad.clone()
        param.zero_grad()
        reference = None
        if precision == "bf16":  # bf16's own rounding, for scale: the same gradient in float32
            vgg.precision = "fp32"
            param.zero_grad()
            sum(stage.objective(param()).values()).backward()
            reference = float((param.logits.grad - g0).norm() / param.logits.grad.norm())
            vgg.precision = precision
            param.zero_grad()
        tiled = Tiled(stage.objective, stage.size, tile)
        losses = tiled.losses(param)
        losses.backward()
        t1 = float(losses.total)
        g1 = param.logits.grad
        out.append({"size": size, "canvas": list(stage.size), "tile": tile, "tiles": len(tiled.tiles),
                    "precision": precision, "loss_untiled": float(total), "loss_tiled": t1,
                    "loss_rel": abs(t1 - float(total)) / abs(float(total)),
                    "grad_rel": float((g1 - g0).norm() / g0.norm()), "grad_rel_bf16_vs_fp32": reference})
        print(json.dumps(out[-1]), flush=True)
    return out


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for tiled, label, style in ((False, "untiled", "o-"), (True, "tiled", "s-")):
        pts = sorted((r["megapixels"], r["peak_rss_mib"] / 1024, r["s_per_step"]) for r in rows
                     if "megapixels" in r and bool(r["tile"]) == tiled)
        if pts:
            a.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label)
            b.plot([p[0] for p in pts], [p[2] for p in pts], style, label=label)
    a.set(xlabel="canvas megapixels", ylabel="peak RSS (GiB)", title="memory")
    b.set(xlabel="canvas megapixels", ylabel="seconds per L-BFGS step", title="time (shared 2-core CPU)")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker")
    ap.add_argument("--sizes", type=int, nargs="*", default=[])
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--untiled-max", type=int, default=2048, help="largest size also run untiled")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--history", type=int, default=5)
    ap.add_argument("--content", default=CONTENT)
    ap.add_argument("--style", default=STYLE)
    ap.add_argument("--exactness", action="store_true")
    ap.add_argument("--from-run", type=Path)
    ap.add_argument("--time-log", type=Path)
    ap.add_argument("--plot")
    ap.add_argument("--out", required=False)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    path = Path(args.out) if args.out else None
    data = json.loads(path.read_text()) if path and path.exists() else {"rows": [], "exactness": []}
    if args.exactness:
        data["exactness"] = exactness([(256, 128), (512, 128)], "bf16") + exactness([(256, 128), (512, 128)], "fp32")
    for size in args.sizes:
        for tile in ([None] if size <= args.untiled_max else []) + [args.tile]:
            spec = {"size": size, "tile": tile, "steps": args.steps, "history": args.history,
                    "content": args.content, "style": args.style}
            row = add_estimates(measure(spec))
            print(json.dumps(row), flush=True)
            data["rows"] = [r for r in data["rows"] if (r["size"], r["tile"]) != (size, tile)] + [row]
    if args.from_run:
        row = from_run(args.from_run, args.time_log, args.tile, args.history)
        print(json.dumps(row))
        data["rows"] = [r for r in data["rows"] if (r["size"], r["tile"]) != (row["size"], row["tile"])] + [row]
    data["command"] = " ".join(["bench/print.py", *sys.argv[1:]])
    if path:
        path.write_text(json.dumps(data, indent=1) + "\n")
    if args.plot:
        plot(data["rows"], args.plot)


if __name__ == "__main__":
    main()
