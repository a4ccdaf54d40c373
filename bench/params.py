"""Compare the parameterizations on the same objectives: which converges fastest?

Every parameterization runs the same two objectives with Adam (its own learning rate, the
one its conf/param/*.yaml recommends) at the same size and seed:

- texture synthesis from a painting (Gram matrices only, start from noise or grey);
- style transfer of a photo (content + style; pixels and FFT start from the photo, the
  CPPNs from grey, which is what ``paramart param=X`` does).

Loss is recorded against steps and against seconds; the script writes a markdown table and a
plot and replaces the "Parameterizations" section of docs/benchmarks.md.

    python bench/params.py                      # 128 px, 100 steps, 1 repeat (a few minutes on 2 cores)
    python bench/params.py --repeats 3 --size 256 --steps 200
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

import paramart

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "images"
#: Adam learning rates per parameterization (see each conf/param/*.yaml).
LR = {"pixel": 0.03, "fft": 0.05, "cppn": 0.01, "fourier_cppn": 0.005}


def image(name: str, fallback: str) -> str:
    path = SHARED / name
    return str(path) if path.is_file() else fallback


OBJECTIVES = {
    "texture": dict(content=None, style=image("starry_night.jpg", "sample:hubble_deep_field"),
                    overrides=["objective=texture"]),
    "style transfer": dict(content=image("chelsea_cat.png", "sample:chelsea"),
                           style=image("great_wave_off_kanagawa.jpg", "sample:hubble_deep_field"), overrides=[]),
}


def one_run(objective: dict, param: str, size: int, steps: int, log_every: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps, losses, seconds) of one run, one row per logged step."""
    result = paramart.stylize(content=objective["content"], style=objective["style"], param=param, optim="adam",
                              size=size, steps=steps, seed=0, log_every=log_every, progress=False, device="cpu",
                              overrides=[*objective["overrides"], f"optim.lr={LR[param]}"])
    rows = result.history.rows
    return np.array([r.step for r in rows]), np.array([r.total for r in rows]), np.array([r.seconds for r in rows])


def loss_at_seconds(seconds: np.ndarray, losses: np.ndarray, t: float) -> float | None:
    """Best loss reached within ``t`` seconds; None when the run had not logged by then."""
    done = losses[seconds <= t]
    return float(done.min()) if done.size else None


def fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3g}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--params", default="pixel,fft,cppn,fourier_cppn")
    ap.add_argument("--out", default=str(REPO / "docs"))
    args = ap.parse_args()
    params = args.params.split(",")
    log_every = max(1, args.steps // 20)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    results: dict[tuple[str, str], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for obj_name, objective in OBJECTIVES.items():
        for param in params:
            runs = [one_run(objective, param, args.size, args.steps, log_every) for _ in range(args.repeats)]
            steps = runs[0][0]
            # medians over repeats, per logged step (the same seed: losses agree, times vary)
            losses = np.median(np.stack([r[1] for r in runs]), axis=0)
            seconds = np.median(np.stack([r[2] for r in runs]), axis=0)
            results[(obj_name, param)] = (steps, losses, seconds)
            print(f"{obj_name:15s} {param:13s} loss {losses[0]:.4g} -> {losses[-1]:.4g} in {seconds[-1]:.1f} s",
                  file=sys.stderr)

    write_plot(results, params, out / "bench_params.png")
    write_markdown(results, params, args, out / "benchmarks.md")


def write_plot(results, params, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    for row, obj_name in enumerate(OBJECTIVES):
        for param in params:
            steps, losses, seconds = results[(obj_name, param)]
            axes[row, 0].plot(steps, losses, label=param)
            axes[row, 1].plot(seconds, losses, label=param)
        for col, (xlabel, what) in enumerate((("Adam steps", "steps"), ("seconds (2-core CPU)", "seconds"))):
            ax = axes[row, col]
            ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel("total loss")
            ax.set_title(f"{obj_name}: loss vs {what}")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def write_markdown(results, params, args, path: Path) -> None:
    cpu = platform.processor() or platform.machine()
    command = "python bench/params.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    checkpoints = sorted({args.steps // 4, args.steps // 2, args.steps})
    # time marks every run reaches: half and all of the fastest run's time, rounded
    fastest = min(seconds[-1] for _, _, seconds in results.values())
    marks = sorted({max(1, round(fastest / 2)), max(1, int(fastest))})
    lines = [
        "## Parameterizations",
        "",
        f"Machine: {os.cpu_count()} CPU cores ({cpu}, {platform.system()}), torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads, no GPU; shared with other jobs while measured, so seconds are noisy"
        + (f" (medians of {args.repeats} repeats)." if args.repeats > 1 else " (one run each)."),
        "",
        f"Command: `{command.strip()}` ({args.size} px, {args.steps} Adam steps, seed 0, the caffe VGG-19 "
        f"and the default objective weights). Learning rates: "
        + ", ".join(f"{p} {LR[p]}" for p in params) + ".",
        "",
        "Texture: Gram matrices of *The Starry Night* from noise (pixel, FFT) or grey (CPPNs). Style transfer: "
        "*Chelsea the cat* in the style of *The Great Wave*; pixels and FFT start from the photo, CPPNs from grey.",
        "",
        "| objective | param | " + " | ".join(f"loss @ {s} steps" for s in checkpoints)
        + " | s / step | " + " | ".join(f"best loss in {t} s" for t in marks) + " |",
        "|---|---|" + "---|" * (len(checkpoints) + 1 + len(marks)),
    ]
    for (obj_name, param), (steps, losses, seconds) in results.items():
        at_steps = [fmt(float(losses[steps == s][0])) if (steps == s).any() else "—" for s in checkpoints]
        per_step = statistics.median(np.diff(np.concatenate([[0.0], seconds])) / np.diff(np.concatenate([[0], steps])))
        lines.append(f"| {obj_name} | {param} | " + " | ".join(at_steps)
                     + f" | {per_step:.2f} | "
                     + " | ".join(fmt(loss_at_seconds(seconds, losses, t)) for t in marks) + " |")
    lines += ["", "![loss against steps and seconds](bench_params.png)", ""]
    section = "\n".join(lines)

    header = "# Benchmarks\n\nMeasured figures and the commands that reproduce them.\n"
    text = path.read_text() if path.exists() else header
    pattern = re.compile(r"^## Parameterizations\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    path.write_text(text.rstrip() + "\n")


if __name__ == "__main__":
    main()
