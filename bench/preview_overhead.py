"""What the live preview adds to a run's wall time (target: at most 5 %).

    python bench/preview_overhead.py [--pairs 3] [--size 256] [--steps 20] [--out bench/results/preview.json]

Runs the ``paramart`` command in fresh processes, alternating without and with
``preview.enabled=true`` (ABAB..., so a machine whose load drifts hurts both alike). With
the preview on, a client thread polls ``state.json`` and ``frame.png`` every
``preview.refresh`` seconds, as the page does. Reports, per mode, the median of the
process's wall time (launch to exit) and of the loop's own seconds (paramart's summary
line), and their ratios. It also times the run-side cost of one preview frame (render
to 8-bit, kept) and the server-side PNG encoding, which happens off the run's thread.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import torch

SUMMARY = re.compile(r"after (\d+) steps in ([\d.]+) s")
URL = re.compile(r"watch at (http://\S+)")


def poll(lines: list[str], proc: subprocess.Popen, refresh: float, counts: dict) -> None:
    """What the page does: state.json and, when it changed, frame.png, every ``refresh`` s."""
    while proc.poll() is None and not any(URL.search(x) for x in lines):
        time.sleep(0.05)
    urls = [URL.search(x).group(1) for x in lines if URL.search(x)]
    if not urls:
        return
    base, frame = urls[0], -1
    while proc.poll() is None:
        try:
            state = json.loads(urllib.request.urlopen(base + "state.json", timeout=5).read())
            counts["polls"] += 1
            if state["frame"] != frame:
                frame = state["frame"]
                urllib.request.urlopen(f"{base}frame.png?v={frame}", timeout=5).read()
                counts["frames"] += 1
        except OSError:
            pass
        time.sleep(refresh)


def one(run_dir: Path, preview: bool, size: int, steps: int) -> dict:
    exe = str(Path(sys.executable).with_name("paramart"))
    cmd = [exe, f"size={size}", f"steps={steps}", "progress=false", f"hydra.run.dir={run_dir}",
           f"preview.enabled={str(preview).lower()}", "preview.port=0"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    counts = {"polls": 0, "frames": 0}
    client = threading.Thread(target=poll, args=(lines, proc, 1.0, counts), daemon=True)
    if preview:
        client.start()
    proc.wait()
    wall = time.perf_counter() - t0
    reader.join(5)
    text = "".join(lines)
    m = SUMMARY.search(text)
    if proc.returncode != 0 or not m:
        raise SystemExit(f"run failed ({proc.returncode}):\n{text}")
    return {"preview": preview, "wall": round(wall, 2), "loop": float(m.group(2)), **counts}


def frame_costs(size: int) -> dict:
    from paramart.outputs.live import LiveRun

    live = LiveRun(total=1, settings=[], inputs=[])
    image = torch.rand(1, 3, size * 2 // 3, size)
    t = time.perf_counter()
    for _ in range(20):
        live.frame(0, image)
    run_side = (time.perf_counter() - t) / 20
    t = time.perf_counter()
    for _ in range(20):
        live._png = None
        live.frame_png()
    return {"run_side_ms": round(run_side * 1e3, 2), "png_encode_ms": round((time.perf_counter() - t) / 20 * 1e3, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--work", type=Path, default=Path("/tmp/preview_overhead"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/preview.json"))
    args = ap.parse_args()
    runs = []
    for i in range(args.pairs):
        for preview in (False, True) if i % 2 == 0 else (True, False):
            r = one(args.work / f"{i}_{int(preview)}", preview, args.size, args.steps)
            print(r, flush=True)
            runs.append(r)
    med = {mode: {k: statistics.median(r[k] for r in runs if r["preview"] == mode) for k in ("wall", "loop")}
           for mode in (False, True)}
    result = {
        "command": " ".join(sys.argv), "size": args.size, "steps": args.steps, "runs": runs,
        "median_off": med[False], "median_on": med[True],
        "ratio_wall": round(med[True]["wall"] / med[False]["wall"], 4),
        "ratio_loop": round(med[True]["loop"] / med[False]["loop"], 4),
        "frame_costs": frame_costs(args.size),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
