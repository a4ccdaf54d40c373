"""paramart's optimisation step against pastiche's, side by side in ONE process.

Both tools are built once (paramart through its own runner: plan, model, stage, parameterization,
optimizer, the loop's closure; pastiche through ``PasticheArtist``), then their steps are
timed in alternating blocks (``--block`` steps of paramart, the same of pastiche, ...), so a
slow spell of a shared machine hits both alike. Medians of the per-step times of the blocks
are reported, with their ratio.

    python bench/step_vs_pastiche.py --size 256 --optim adam --blocks 8 --block 4
    # an AVX2-only CPU, emulated on a newer one (oneDNN and ATen kernels capped at AVX2):
    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 python bench/step_vs_pastiche.py ...

Each paramart ``--variant`` (``NAME=override,override``) is another paramart set up the same
way with those overrides; ``default`` (no overrides) is always there. The per-step cost of
the loop's own bookkeeping (progress bar, logging, time-lapse frames) is not in these
numbers; ``bench/vs_pastiche.py`` times whole command-line runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paramart.api import compose, load_model, seed_everything  # noqa: E402
from paramart.evaluation.choose import fit_optimizer, strategy  # noqa: E402
from paramart.model.isa import cpu_isa  # noqa: E402
from paramart.objectives.color import ColorPreservation  # noqa: E402
from paramart.objectives.transforms import RandomWarp  # noqa: E402
from paramart.params.base import build_param  # noqa: E402
from paramart.runner.loop import Closure, make_optimizer  # noqa: E402
from paramart.runner.optimizers import optimizer_factory  # noqa: E402
from paramart.runner.plan import make_plan  # noqa: E402
from paramart.runner.stage import build_stage  # noqa: E402

SHARED = REPO.parent / "shared" / "images"


class ParamartStepper:
    """paramart's stage as ``paramart`` builds it; ``step()`` is one optimizer step."""

    def __init__(self, overrides: list[str]):
        seed_everything(0)
        cfg = compose(overrides)
        plan = make_plan(cfg)
        self.vgg = load_model(plan)
        stage = build_stage(plan, self.vgg, plan.schedule[0][0], plan.schedule[0][1],
                            ColorPreservation(None, True), RandomWarp(0, 0.0, 0.0))
        self.param = build_param(cfg.param, stage.size, stage.content).to(plan.device)
        evaluation = strategy(stage.objective, stage.tiling, stage.size, self.param, cfg.zoom)
        self.optimizer = make_optimizer(fit_optimizer(optimizer_factory(cfg.optim), stage.tiling), self.param)
        self.closure = Closure(self.param, evaluation, self.optimizer)
        self.size = stage.size

    def step(self) -> None:
        self.optimizer.step(self.closure)


class PasticheStepper:
    def __init__(self, content: str, style: str, size: int, optim: str):
        from pastiche.pastiche import PasticheArtist

        torch.manual_seed(0)
        self.artist = PasticheArtist(content, [style], optimizer=optim, device="cpu",
                                     **_pastiche_sizes(content, size))

    def step(self) -> None:
        self.artist.draw()


def _pastiche_sizes(content: str, size: int) -> dict:
    """pastiche's ``size``/``style_size`` as an int: the longest side, as paramart's ``size`` (the
    style image too: paramart's ``objective.style_scale`` is 1)."""
    return {"size": size, "style_size": size}


def machine() -> dict:
    info = {"cpu": _model_name(), "threads": torch.get_num_threads(), "torch": torch.__version__,
            "isa": cpu_isa().describe(), "ONEDNN_MAX_CPU_ISA": os.environ.get("ONEDNN_MAX_CPU_ISA"),
            "ATEN_CPU_CAPABILITY": os.environ.get("ATEN_CPU_CAPABILITY"),
            "aten_capability": torch.backends.cpu.get_cpu_capability(), "loadavg_start": os.getloadavg()}
    return info


def _model_name() -> str:
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return "?"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--content", default=str(SHARED / "chelsea_cat.png"))
    p.add_argument("--style", default=str(SHARED / "starry_night.jpg"))
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--optim", default="adam", choices=["adam", "lbfgs"])
    p.add_argument("--blocks", type=int, default=6)
    p.add_argument("--block", type=int, default=4, help="steps per block")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps of each first")
    p.add_argument("--variant", action="append", default=[], help="NAME=override,override (paramart)")
    p.add_argument("--no-pastiche", action="store_true")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's, one per core)")
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    info = machine()
    base = [f"content={a.content}", f"style={a.style}", f"size={a.size}", f"optim={a.optim}", "progress=false"]
    runners: dict[str, object] = {"paramart default": ParamartStepper(base)}
    for spec in a.variant:
        name, _, over = spec.partition("=")
        runners[f"paramart {name}"] = ParamartStepper(base + [o for o in over.split(",") if o])
    if not a.no_pastiche:
        # pastiche's images: the same files; it resizes them itself (bilinear), which changes
        # the targets a little but not the cost of a step
        runners["pastiche"] = PasticheStepper(a.content, a.style, a.size, a.optim)
    for r in runners.values():
        for _ in range(a.warmup):
            r.step()
    times: dict[str, list[float]] = {k: [] for k in runners}
    cpu: dict[str, list[float]] = {k: [] for k in runners}
    for _ in range(a.blocks):
        for name, r in runners.items():
            t, c = time.perf_counter(), time.process_time()
            for _ in range(a.block):
                r.step()
            times[name].append((time.perf_counter() - t) / a.block)
            cpu[name].append((time.process_time() - c) / a.block)
    ref = "pastiche" if "pastiche" in times else "paramart default"
    base_s = statistics.median(times[ref])
    info["loadavg_end"] = os.getloadavg()
    rows = []
    for name, ts in times.items():
        med = statistics.median(ts)
        # each block against the reference's block of the same round (a slow spell hits both)
        paired = statistics.median(t / r for t, r in zip(ts, times[ref]))
        # CPU seconds the process used per step: on a shared machine, the work a step takes
        # (with one thread, waiting for a core does not count)
        cpu_med = statistics.median(cpu[name])
        cpu_ratio = cpu_med / statistics.median(cpu[ref])
        rows.append({"tool": name, "s_per_step": med, "blocks": ts, "ratio": med / base_s, "paired_ratio": paired,
                     "cpu_s_per_step": cpu_med, "cpu_blocks": cpu[name], "cpu_ratio": cpu_ratio})
        print(f"{a.size}px {a.optim} {name:40s} {med:.3f} s/step  x{med / base_s:.2f} of {ref} "
              f"(paired x{paired:.2f}); CPU {cpu_med:.3f} s x{cpu_ratio:.2f}  "
              f"[{', '.join(f'{t:.3f}' for t in ts)}]", flush=True)
    print(json.dumps(info))
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps({"machine": info, "size": a.size, "optim": a.optim,
                                     "command": " ".join(sys.argv), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
