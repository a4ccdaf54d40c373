"""paramart against the pastiche CLI, side by side on one machine in one run.

Both tools run as command-line programs in fresh processes, with the same content and style
images, canvas size, style size, VGG-19 (the caffe weights pastiche ships), layers, loss
weights (paramart gets ``GatysScore.matched_overrides``: its objective then *is* pastiche's
loss), initialisation (the content photo) and optimiser (L-BFGS, lr 1, one iteration per step).

Parts (each optional):

* ``--speed``: seconds per L-BFGS step and peak memory (max RSS of the process) at each
  ``--sizes``, repeated ``--repeats`` times in turn (pastiche, paramart, pastiche ...).
  Rows: pastiche; paramart with pastiche's optimiser settings (no line search, one
  evaluation per step) in float32 and in paramart's default precision; paramart's default
  L-BFGS (strong-Wolfe line search, several evaluations per step).
* ``--series SIZE:STEPS`` or ``SIZE:SECONDS s``: loss against wall-clock time. pastiche runs
  STEPS steps (or until SECONDS) saving a snapshot every ``--snapshot-every`` steps;
  paramart's variants then get the same wall time (``max_seconds``) and save time-lapse
  frames. Every snapshot is scored afterwards by one judge (paramart/model/judge.py) and
  stamped with its file's time since its process started.

Writes ``--out`` (JSON) and, with ``--plot``, a loss-against-time figure. Run it on a quiet
machine; docs/benchmarks.md has the commands and the results.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paramart.geometry import canvas_size, fit_size  # noqa: E402
from paramart.io.images import load_image, resolve  # noqa: E402
from paramart.model.judge import GatysScore  # noqa: E402

BIN = Path(sys.executable).parent


def _wait_then_reap(p: subprocess.Popen, timeout: float | None):
    """Popen.wait reaps the child, losing its rusage: poll instead, then wait4."""
    deadline = None if timeout is None else time.time() + timeout
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            return status, usage, False
        if deadline is not None and time.time() > deadline:
            p.send_signal(signal.SIGKILL)
            _, status, usage = os.wait4(p.pid, 0)
            return status, usage, True
        time.sleep(0.05)


def run_process(cmd: list[str], log: Path, timeout: float | None = None) -> dict:
    with open(log, "w") as out:
        t0 = time.time()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
        status, usage, killed = _wait_then_reap(p, timeout)
        wall = time.time() - t0
    p.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from reaping again
    if p.returncode != 0 and not killed:
        raise RuntimeError(f"{cmd[0]} failed ({p.returncode}); see {log}:\n{log.read_text()[-2000:]}")
    return {"wall": wall, "peak_mib": usage.ru_maxrss / 1024, "start": t0, "killed": killed}


# -- the two command lines ----------------------------------------------------------------

def presized(a, size: int, work: Path) -> tuple[str, str]:
    """The content and style images resized once (Lanczos) to the canvas and style size.

    Each tool would otherwise resize them its own way (pastiche: bilinear without
    antialiasing; paramart: Lanczos), which gives different Gram targets: each tool would
    then be judged against targets it did not optimise for. Given images at the final
    size, neither tool resamples (both resize to the size they already have, a copy)."""
    folder = work / f"inputs_{size}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, src in (("content", a.content_path), ("style", a.style_path)):
        image = load_image(src)
        h, w = fit_size(image.width, image.height, size)
        path = folder / f"{name}.png"
        image.resize((w, h), Image.Resampling.LANCZOS).save(path)
        paths.append(str(path))
    return paths[0], paths[1]


def pastiche_cmd(a, size: int, steps: int, out: Path, workspace: Path | None = None, every: int = 1) -> list[str]:
    content, style = a.inputs[size]
    cmd = [str(BIN / "pastiche"), "--content", content, "--styles", style,
           "--size", str(size), "--style-size", str(size), "--num-steps", str(steps),
           "--optimizer", "lbfgs", "--device", a.device, "--seed", "0", "--info-step", "1",
           "--output", str(out)]
    if workspace is not None:
        cmd += ["--workspace", str(workspace), "--workspace-step", str(every)]
    return cmd


def paramart_cmd(a, size: int, steps: int, run_dir: Path, extra: list[str], scorer: GatysScore) -> list[str]:
    hw = canvas_size(scorer.content_image, size)
    content, style = a.inputs[size]
    return [str(BIN / "paramart"), f"content={content}", f"style={style}", f"size={size}",
            f"steps={steps}", "seed=0", f"device={a.device}", "progress=false", "log_every=1",
            "timelapse.enabled=false", f"hydra.run.dir={run_dir}", *scorer.matched_overrides(hw), *extra]


def pastiche_log(log: Path) -> dict[int, tuple[float, float]]:
    """pastiche prints ``step elapsed loss`` lines (elapsed since its main() began; the loss
    is the one evaluated at the start of that step, i.e. of the image after the step before)."""
    rows = {}
    for line in log.read_text().splitlines():
        m = re.match(r"^(\d+)\s+([\d.]+)\s+([\d.eE+-]+)\s*$", line)
        if m:
            rows[int(m.group(1))] = (float(m.group(2)), float(m.group(3)))
    return rows


def pastiche_step_times(log: Path) -> dict[int, float]:
    return {step: elapsed for step, (elapsed, _) in pastiche_log(log).items()}


def paramart_step_times(run_dir: Path) -> dict[int, float]:
    with open(run_dir / "losses.csv") as f:
        return {int(r["step"]): float(r["seconds"]) for r in csv.DictReader(f)}


def per_step(times: dict[int, float], warmup: int) -> float:
    last = max(times)
    return (times[last] - times[warmup]) / (last - warmup)


# -- parts -----------------------------------------------------------------------------------

PARAMART_SPEED_ROWS = {
    # name: overrides (all matched to pastiche's objective). paramart's default L-BFGS has
    # pastiche's settings (no line search) since 2026-11-21; strong Wolfe was the default before.
    "paramart, pastiche's L-BFGS settings, fp32": ["optim.line_search_fn=null", "model.precision=fp32"],
    "paramart, pastiche's L-BFGS settings, default precision": ["optim.line_search_fn=null"],
    "paramart, L-BFGS strong Wolfe, default precision": ["optim.line_search_fn=strong_wolfe"],
}


def speed(a, scorer_for, work: Path) -> list[dict]:
    results = []
    for size in a.sizes:
        scorer = scorer_for(size)
        samples: dict[str, list[dict]] = {}
        for rep in range(a.repeats):
            log = work / f"pastiche_{size}_{rep}.log"
            proc = run_process(pastiche_cmd(a, size, a.steps, work / f"pastiche_{size}_{rep}.png"), log)
            proc["s_per_step"] = per_step(pastiche_step_times(log), a.warmup)
            proc["evals_per_step"] = 1.0
            samples.setdefault("pastiche", []).append(proc)
            print(f"{size}px pastiche rep {rep}: {proc['s_per_step']:.3f} s/step, {proc['peak_mib']:.0f} MiB",
                  flush=True)
            for name, extra in PARAMART_SPEED_ROWS.items():
                run_dir = work / f"paramart_{size}_{rep}_{len(samples)}"
                proc = run_process(paramart_cmd(a, size, a.steps, run_dir, extra, scorer), work / f"{run_dir.name}.log")
                times = paramart_step_times(run_dir)
                proc["s_per_step"] = per_step(times, a.warmup)
                proc["evals_per_step"] = _evals_per_step(run_dir)
                samples.setdefault(name, []).append(proc)
                print(f"{size}px {name} rep {rep}: {proc['s_per_step']:.3f} s/step, {proc['peak_mib']:.0f} MiB",
                      flush=True)
        base = statistics.median(s["s_per_step"] for s in samples["pastiche"])
        for name, runs in samples.items():
            sps = statistics.median(r["s_per_step"] for r in runs)
            results.append({
                "size": size, "tool": name, "s_per_step": sps,
                "s_per_step_runs": [r["s_per_step"] for r in runs],
                "evals_per_step": statistics.median(r["evals_per_step"] for r in runs),
                "peak_mib": statistics.median(r["peak_mib"] for r in runs),
                # pastiche logs elapsed time to 0.1 s: too few or too short steps read as 0
                "ratio_to_pastiche": sps / base if base > 0 else None,
            })
    return results


def _evals_per_step(run_dir: Path) -> float:
    """Objective evaluations per step (forward + backward passes), from run.json."""
    info = json.loads((run_dir / "run.json").read_text())
    return float(info["evaluations_per_step"])


PARAMART_SERIES_ROWS = {
    # key: (name, overrides)
    "default": ("paramart (default: pixel, L-BFGS without line search, default precision)", []),
    "strong_wolfe": ("paramart, L-BFGS strong Wolfe, default precision", ["optim.line_search_fn=strong_wolfe"]),
    "fp32": ("paramart, L-BFGS strong Wolfe, fp32", ["optim.line_search_fn=strong_wolfe", "model.precision=fp32"]),
    # with a time budget each scale gets its share of the time: little at the cheap scales
    "multiscale": ("paramart + coarse-to-fine [0.25, 0.5, 1], time shares [0.1, 0.2, 0.7], strong Wolfe",
                   ["schedule.scales=[0.25,0.5,1]", "schedule.shares=[0.1,0.2,0.7]",
                    "optim.line_search_fn=strong_wolfe"]),
    "multiscale_short": ("paramart + coarse-to-fine [0.25, 0.5, 1], time shares [0.03, 0.07, 0.9], strong Wolfe",
                         ["schedule.scales=[0.25,0.5,1]", "schedule.shares=[0.03,0.07,0.9]",
                          "optim.line_search_fn=strong_wolfe"]),
}


def snapshots(folder: Path, start: float) -> list[tuple[float, Path]]:
    return sorted((p.stat().st_mtime - start, p) for p in folder.glob("*.png"))


def series(a, scorer, work: Path, spec: str) -> dict:
    size_s, _, amount = spec.partition(":")
    size = int(size_s)
    timed = amount.endswith("s")
    work = work / f"series_{size}"
    work.mkdir(parents=True, exist_ok=True)
    ws = work / "pastiche_ws"
    steps = 10**6 if timed else int(amount)
    budget = float(amount[:-1]) if timed else None
    proc = run_process(pastiche_cmd(a, size, steps, work / "pastiche.png", ws, a.snapshot_every),
                       work / "pastiche.log", timeout=budget)
    shots = snapshots(ws, proc["start"])
    if not timed:
        shots.append((proc["wall"], work / "pastiche.png"))
    budget = proc["wall"] if budget is None else budget
    print(f"series {size}px: pastiche ran {proc['wall']:.1f} s, {len(shots)} snapshots", flush=True)
    curves = {"pastiche": [(t, str(p)) for t, p in shots]}
    walls = {"pastiche": proc["wall"]}
    for key in a.variants:
        name, extra = PARAMART_SERIES_ROWS[key]
        run_dir = work / f"paramart_{len(curves)}"
        overrides = [f"max_seconds={budget:.1f}", "timelapse.enabled=true", f"timelapse.every={a.frame_every}",
                     f"timelapse.max_size={size}", "timelapse.mp4=false", "timelapse.keep_frames=true", *extra]
        proc = run_process(paramart_cmd(a, size, 10**6, run_dir, overrides, scorer), work / f"{run_dir.name}.log")
        shots = snapshots(run_dir / "frames", proc["start"])
        curves[name] = [(t, str(p)) for t, p in shots]
        walls[name] = proc["wall"]
        print(f"series {size}px: {name} ran {proc['wall']:.1f} s, {len(shots)} frames", flush=True)
    # score everything once the timed runs are over
    scored = {}
    for name, curve in curves.items():
        scored[name] = [{"seconds": t, **scorer(p)} for t, p in curve]
    # the judge against pastiche's own loss: its snapshot after step k is what it evaluates
    # at step k + 1 (the snapshot is rounded to 8 bits and clipped to 0-255; pastiche's
    # float canvas is not)
    printed = pastiche_log(work / "pastiche.log")
    check = []
    for (_, path), score in zip(curves["pastiche"], scored["pastiche"]):
        step = int(Path(path).stem) if Path(path).parent == ws else None
        if step is not None and step + 1 in printed and step % (10 * a.snapshot_every) == 0:
            check.append({"step": step, "judge": score["total"], "pastiche_own": printed[step + 1][1]})
    # pastiche's own loss against time; its clock starts at main(), after the imports: align
    # its step 0 with the step-0 snapshot's file time
    offset = curves["pastiche"][0][0] - printed[0][0] if 0 in printed else 0.0
    own = [{"seconds": elapsed + offset, "total": loss} for _, (elapsed, loss) in sorted(printed.items())]
    return {"size": size, "budget_s": budget, "pastiche_steps": None if timed else steps,
            "walls": walls, "curves": scored, "judge_vs_pastiche_own_loss": check, "pastiche_own_curve": own}


def summarise(series_result: dict) -> list[dict]:
    curves = series_result["curves"]
    ref = curves["pastiche"]
    ref_final = ref[-1]
    own = series_result.get("pastiche_own_curve")
    own_final = own[-1]["total"] if own else None
    rows = []
    for name, curve in curves.items():
        within = [c for c in curve if c["seconds"] <= series_result["budget_s"] + 1e-6] or curve[:1]
        reach = next((c["seconds"] for c in curve if c["total"] <= ref_final["total"]), None)
        reach_own = None if own_final is None else next(
            (c["seconds"] for c in curve if c["total"] <= own_final), None)
        rows.append({
            "tool": name, "loss_at_budget": within[-1]["total"], "content": within[-1]["content"],
            "style": within[-1]["style"], "seconds": within[-1]["seconds"],
            "time_to_pastiche_final": reach,
            "fraction_of_pastiche_time": None if reach is None else reach / ref_final["seconds"],
            # against pastiche's own last loss (its float canvas, unclipped): the stricter bar
            "pastiche_own_final": own_final, "time_to_pastiche_own_final": reach_own,
            "fraction_of_pastiche_time_own": None if reach_own is None else reach_own / ref_final["seconds"],
        })
    return rows


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["series"]
    fig, axes = plt.subplots(1, len(runs), figsize=(6 * len(runs), 4.2), squeeze=False)
    for ax, s in zip(axes[0], runs):
        for name, curve in s["curves"].items():
            ax.plot([c["seconds"] for c in curve], [c["total"] for c in curve], label=name,
                    lw=2 if name == "pastiche" else 1.4)
        if s.get("pastiche_own_curve"):
            own = s["pastiche_own_curve"]
            ax.plot([c["seconds"] for c in own], [c["total"] for c in own], ":", color="C0", lw=1.2,
                    label="pastiche's own loss (its float canvas, before clipping to 0-255 and saving)")
        final = s["curves"]["pastiche"][-1]["total"]
        ax.axhline(final, color="C0", lw=0.8, ls="--")
        ax.set_yscale("log")
        low = min(c["total"] for curve in s["curves"].values() for c in curve)
        ax.set_ylim(0.8 * low, 30 * final)  # the start (10-100x higher) is off the top
        ax.set_xlabel("wall-clock seconds since the process started")
        ax.set_ylabel("Gatys loss (pastiche's units, caffe VGG-19)")
        ax.set_title(f"{s['size']} px, {results['machine']['device']}")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def machine(device: str) -> dict:
    info = {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "device": device}
    try:
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if
                           line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--content", default="sample:chelsea")
    p.add_argument("--style", default="sample:coffee")
    p.add_argument("--device", default="cpu")
    p.add_argument("--speed", action="store_true")
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--series", nargs="*", default=[], help="SIZE:STEPS (pastiche steps) or SIZE:SECONDSs")
    p.add_argument("--variants", nargs="+", default=list(PARAMART_SERIES_ROWS), choices=list(PARAMART_SERIES_ROWS))
    p.add_argument("--snapshot-every", type=int, default=5, help="pastiche workspace snapshot interval (steps)")
    p.add_argument("--frame-every", type=int, default=3, help="paramart time-lapse frame interval (steps)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "vs_pastiche.json")
    p.add_argument("--plot", type=Path, default=None)
    p.add_argument("--work", type=Path, default=None, help="keep the runs here (default: a temporary folder)")
    p.add_argument("--replot", type=Path, help="only redraw --plot from this results file")
    a = p.parse_args()
    if a.replot:
        plot(json.loads(a.replot.read_text()), a.plot)
        return
    # absolute: each tool runs in its own working folder
    a.content_path, a.style_path = str(resolve(a.content).resolve()), str(resolve(a.style).resolve())
    work = a.work or Path(tempfile.mkdtemp(prefix="paramart_vs_pastiche_"))
    work.mkdir(parents=True, exist_ok=True)
    scorers: dict[int, GatysScore] = {}
    a.inputs = {}

    def scorer_for(size: int) -> GatysScore:
        """The judge at this canvas size; the style target at the size both tools use."""
        if size not in scorers:
            a.inputs[size] = presized(a, size, work)
            scorers[size] = GatysScore(*a.inputs[size], size)
        return scorers[size]

    results = {"machine": machine(a.device), "content": a.content, "style": a.style,
               "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "speed": [], "series": []}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    if a.speed:
        results["speed"] = speed(a, scorer_for, work)
        a.out.write_text(json.dumps(results, indent=1))  # kept should a later part fail
    for spec in a.series:
        s = series(a, scorer_for(int(spec.split(":")[0])), work, spec)
        s["summary"] = summarise(s)
        results["series"].append(s)
        a.out.write_text(json.dumps(results, indent=1))
    if a.plot and results["series"]:
        plot(results, a.plot)
    print(json.dumps({"speed": results["speed"], "summaries": [s["summary"] for s in results["series"]]}, indent=1))


if __name__ == "__main__":
    main()
