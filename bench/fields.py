"""Coordinate images against pixels (issue 13): judged on the saved PNGs at equal time.

Every variant runs texture synthesis of The Starry Night and style transfer of the cat photo
(The Starry Night's style) with Adam at its learning rate, and ``final.png`` is scored by the
independent :class:`paramart.model.judge.GatysScore` (Caffe VGG-19 Gram and content losses;
lower is better), never by the run's own loss.

Equal time on a shared CPU: this machine's 2 cores were shared by several agents (load 10-17,
a VGG step 20-40x slower than on the idle machine), so wall-clock budgets (``max_seconds``)
measured the neighbours more than the methods. Each variant instead gets ``seconds`` of its
own *CPU time* (``time.process_time``, both threads counted, which the neighbours disturb
less): first one VGG step and every parameterization's forward+backward are timed (the
fastest of 5 interleaved rounds), then each run's steps are ``(seconds - prefit cost) / (VGG step + param step)``,
the VGG step counted twice with zoom training. The pre-fit of a coordinate network to the
photo (style transfer) is paid from the same budget.

    python bench/fields.py --size 128 --seconds 60      # rows -> bench/results/fields.jsonl
    python bench/fields.py --report                     # the table -> docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from hydra.utils import instantiate

import paramart
from paramart.api import compose
from paramart.model.judge import GatysScore
from paramart.model.vgg import VGG19

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "images"
RESULTS = REPO / "bench" / "results"
RUNS = REPO / "outputs" / "bench_fields"  # run folders (scratch, not committed)
STYLE = str(SHARED / "starry_night.jpg")
CONTENT = str(SHARED / "chelsea_cat.png")
#: name -> (param group, Adam learning rate, overrides). "faithful" variants are the papers'.
VARIANTS = {
    "pixel": ("pixel", 0.03, []),
    "fft": ("fft", 0.05, []),
    "cppn": ("cppn", 0.01, ["param.init=none"]),
    "fourier_cppn": ("fourier_cppn", 0.005, ["param.init=none"]),
    "cppn+prefit": ("cppn", 0.01, []),
    "cppn+ff": ("cppn", 0.01, ["param.fourier_features=128", "param.fourier_sigma=10"]),
    "hashgrid": ("hashgrid", 0.01, []),
}
OBJECTIVES = {"texture": ["objective=texture"], "transfer": []}
PREFIT_STEPS = 100
NOTES = """
Reproduce: `python bench/fields.py --size 256 --seconds 180`, `python bench/fields.py --size 128
--seconds 180 --objectives texture --variants pixel,hashgrid`, `python bench/fields_zoom.py
--size 128 --seconds 180 --zoom-seconds 180` (raw rows: `bench/results/fields*.jsonl`; run
folders in `outputs/bench_fields/`; the gallery's `fields/` page shows them). Every run gets the
same **CPU-time** budget of its own calibrated cost (fastest of 5 interleaved timings of a VGG
step and of each parameterization's forward+backward, see the module docstring), so the step
counts, and so the scores, do not depend on what else the machine was doing; at 256 px a VGG
step costs 1.24 CPU-s, a hash grid 0.50, a CPPN with Fourier features 0.59, the Fourier-CPPN
1.96. The **128 px / 60 s** tables were measured on 2026-11-23 with the 2-core CPU shared by
five agents (load 15-22, calibrated VGG step 0.79 CPU-s); the **128 px / 180 s** and **256 px /
180 s** tables the same day on the idle machine (VGG step 0.31 and 1.24 CPU-s). Scores are the
independent judge's (`GatysScore`, Caffe VGG-19, lower is better) on each run's saved
`final.png`; style target The Starry Night at the run's size; content target the cat. Adam
learning rates: pixel 0.03, fft 0.05, cppn 0.01, fourier_cppn 0.005, hashgrid 0.01. With a
content photo, coordinate networks other than the faithful ones are first fitted to it (100
Adam steps, MSE, no VGG), paid from the same budget.
"""


def calibrate(variants: list[str], size: int, rounds: int = 5) -> dict[str, float]:
    """CPU seconds of one VGG step ("vgg") and of each variant's forward+backward: the
    fastest of ``rounds`` interleaved rounds (the least disturbed by the neighbours)."""
    vgg = VGG19("caffe", last_layer="relu5_1")
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"]
    params = {v: instantiate(compose([f"param={VARIANTS[v][0]}", *VARIANTS[v][2]]).param, size=(size, size),
                             init_image=None) for v in variants}
    image = torch.rand(1, 3, size, size, requires_grad=True)
    jobs = {"vgg": lambda: sum(f.mean() for f in vgg(image, layers).values()).backward(),
            **{v: (lambda p=p: p().mean().backward()) for v, p in params.items()}}
    best = {k: float("inf") for k in jobs}
    for _ in range(rounds):
        for k, fn in jobs.items():
            t = time.process_time()
            fn()
            best[k] = min(best[k], time.process_time() - t)
    return best


def one_run(objective: str, variant: str, size: int, seconds: float, costs: dict, extra=()) -> dict:
    group, lr, overrides = VARIANTS[variant]
    t_vgg, t_param = costs["vgg"], costs[variant]
    zoom = any(o.startswith("zoom.levels") for o in extra)
    prefit = objective == "transfer" and group != "pixel" and group != "fft" and "param.init=none" not in overrides
    budget = seconds - (PREFIT_STEPS * t_param if prefit else 0.0)
    steps = max(1, int(budget / ((2 if zoom else 1) * t_vgg + t_param)))
    name = f"{objective}_{variant}{'_zoom' if zoom else ''}_{size}px_{seconds:g}s"
    out = RUNS / name
    t0 = time.perf_counter()
    paramart.stylize(content=CONTENT, style=STYLE, param=group, optim="adam", size=size, steps=steps, seed=0,
                     progress=False, device="cpu", out_dir=out,
                     overrides=[*OBJECTIVES[objective], f"optim.lr={lr}", *overrides,
                                f"param.prefit.steps={PREFIT_STEPS}" if prefit else "log_every=10",
                                "timelapse.frames=24", *extra])
    row = dict(name=name, objective=objective, variant=variant, size=size, seconds=seconds, steps=steps,
               t_vgg=t_vgg, t_param=t_param, wall=time.perf_counter() - t0, zoom=zoom,
               prefit=PREFIT_STEPS if prefit else 0, png=str(out / "final.png"))
    return row


def judge(row: dict, judges: dict) -> dict:
    key = row["size"]
    if key not in judges:
        judges[key] = GatysScore(CONTENT, STYLE, style_size=key)
    score = judges[key](row["png"])
    return {**row, "style": score["style"], "content": score["content"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--objectives", default="texture,transfer")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--zoom", default=None, help="zoom levels for an extra zoom-trained run, e.g. 1,2,4,8")
    ap.add_argument("--report", action="store_true", help="only write docs/benchmarks.md from the results")
    ap.add_argument("--costs", default=None, help="JSON of step costs from an earlier run (skips calibration)")
    ap.add_argument("--runs", default=None, help="objective:variant,... to run instead of every pair")
    args = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"bench/fields.py needs the shared images in {SHARED}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = RESULTS / "fields.jsonl"
    if not args.report:
        costs = json.loads(args.costs) if args.costs else calibrate(args.variants.split(","), args.size)
        print(json.dumps({"costs": costs}), flush=True)
        judges: dict = {}
        pairs = ([tuple(p.split(":")) for p in args.runs.split(",")] if args.runs else
                 [(o, v) for o in args.objectives.split(",") for v in args.variants.split(",")
                  if not (o == "texture" and v == "cppn+prefit")])  # no photo: the same as cppn
        extra = [f"zoom.levels=[{args.zoom}]"] if args.zoom else []
        for objective, variant in pairs:
            row = judge(one_run(objective, variant, args.size, args.seconds, costs, extra), judges)
            print(json.dumps(row), flush=True)
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
    from fields_report import write_report

    write_report(log, REPO / "docs" / "benchmarks.md", NOTES)


if __name__ == "__main__":
    main()
