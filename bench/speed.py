"""Seconds per optimisation step and peak memory, for each parameterization x optimiser x size.

Each configuration runs in a fresh process (so peak memory is its own) through the Python
API with paramart's default objective, and reports:

* ``s_per_step``: median wall seconds of a step after ``--warmup`` steps (an L-BFGS step
  may evaluate the objective several times: ``evals_per_step``), and ``steps_per_s``;
* ``peak_mib``: on CUDA the peak of ``torch.cuda.max_memory_allocated``; on the CPU the
  process's peak resident set (``ru_maxrss``) minus its size just before the run
  (``base_mib``: Python, torch and the loaded libraries).

Examples (docs/benchmarks.md has the results)::

    python bench/speed.py --sizes 256 512                          # the table
    python bench/speed.py --sizes 512 1024 2048 4096 --params pixel --optims adam \\
        --steps 6 --out bench/results/memory.json                  # memory against pixel count
    python bench/speed.py --device cuda --sizes 512 --params pixel --optims adam --steps 200 \\
        --extra model.compile=max-autotune                         # GPU steps per second
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PARAMS = ["pixel", "fft", "cppn", "fourier_cppn"]
OPTIMS = ["adam", "lbfgs"]


def worker(spec: dict) -> dict:
    import torch

    from paramart.api import compose, run
    from paramart.device import resolve_device
    from paramart.model.vgg import resolve_precision

    overrides = [f"param={spec['param']}", f"optim={spec['optim']}", f"size={spec['size']}",
                 f"steps={spec['steps']}", f"device={spec['device']}", f"content={spec['content']}",
                 f"style={spec['style']}", "progress=false", "log_every=1", "timelapse.enabled=false",
                 *spec["extra"]]
    cfg = compose(overrides)
    cuda = resolve_device(cfg.device).type == "cuda"
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    result = run(cfg)
    seconds = [r.seconds for r in result.history.rows]
    per_step = [b - a for a, b in zip(seconds[spec["warmup"]:], seconds[spec["warmup"] + 1:])]
    s = statistics.median(per_step)
    out = {**spec, "s_per_step": s, "steps_per_s": 1 / s,
           "evals_per_step": result.history.evaluations / max(1, result.history.steps),
           "canvas": list(result.image.shape[-2:])}
    if cuda:
        out["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
        out["gpu"] = torch.cuda.get_device_name()
    else:
        out["base_mib"] = base
        out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
    out["precision"] = resolve_precision(cfg.model.precision, resolve_device(cfg.device))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    p.add_argument("--params", nargs="+", default=PARAMS)
    p.add_argument("--optims", nargs="+", default=OPTIMS)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--content", default="sample:chelsea")
    p.add_argument("--style", default="sample:coffee")
    p.add_argument("--extra", nargs="*", default=[], help="more overrides for every run")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "speed.json")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        print("RESULT " + json.dumps(worker(json.loads(a.worker))), flush=True)
        return
    rows = []
    for size in a.sizes:
        for param in a.params:
            for optim in a.optims:
                spec = {"param": param, "optim": optim, "size": size, "steps": a.steps, "warmup": a.warmup,
                        "device": a.device, "content": a.content, "style": a.style, "extra": a.extra}
                proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                                      capture_output=True, text=True)
                line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
                if proc.returncode != 0 or line is None:
                    err = (proc.stderr.strip().splitlines() or ["?"])[-1]
                    print(f"{size}px {param} {optim}: failed: {err}", flush=True)
                    rows.append({**spec, "error": err})
                    continue
                row = json.loads(line[len("RESULT "):])
                rows.append(row)
                print(f"{size}px {param:13s} {optim:5s} {row['s_per_step']:.3f} s/step "
                      f"({row['evals_per_step']:.2f} evals/step) peak {row['peak_mib']:.0f} MiB", flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"command": " ".join(["bench/speed.py", *sys.argv[1:]]), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
