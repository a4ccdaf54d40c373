"""What the live preview adds to a run's wall time (target: at most 5 %).

    python bench/preview_overhead.py [--pairs 3] [--size 256] [--steps 20] [--out bench/results/preview.json]
    python bench/preview_overhead.py --interleaved [--blocks 20] [--block-steps 3] [--size 256]

Interleaved (the figure to trust on a shared machine): one process, one run, whose steps
alternate in blocks between the preview off and on (ABBA order), so that both see the same
load; on means frames go to the server every ``preview.refresh`` s and a client polls as
the page does. Reports the median seconds per step of each and the ratio.

Whole runs: the ``paramart`` command in fresh processes, alternating without and with
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


def look(base: str, frame: int, counts: dict) -> int:
    """One look by the page: state.json, and frame.png when it changed; the frame now shown."""
    try:
        state = json.loads(urllib.request.urlopen(base + "state.json", timeout=5).read())
        counts["polls"] += 1
        if state["frame"] != frame:
            frame = state["frame"]
            urllib.request.urlopen(f"{base}frame.png?v={frame}", timeout=5).read()
            counts["frames"] += 1
    except OSError:
        pass
    return frame


def poll(lines: list[str], proc: subprocess.Popen, refresh: float, counts: dict) -> None:
    """What the page does: state.json and, when it changed, frame.png, every ``refresh`` s."""
    while proc.poll() is None and not any(URL.search(x) for x in lines):
        time.sleep(0.05)
    urls = [URL.search(x).group(1) for x in lines if URL.search(x)]
    if not urls:
        return
    base, frame = urls[0], -1
    while proc.poll() is None:
        frame = look(base, frame, counts)
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
    """Milliseconds of each piece of work the preview adds, per frame / per page update."""
    from paramart.outputs.live import LiveRun
    from paramart.params.pixel import Pixel

    def ms(fn, n: int = 20) -> float:
        fn()
        t = time.perf_counter()
        for _ in range(n):
            fn()
        return round((time.perf_counter() - t) / n * 1e3, 2)

    live = LiveRun(total=300, settings=[], inputs=[])
    h = size * 2 // 3
    param = Pixel(size=(h, size), init_image=torch.rand(1, 3, h, size))
    image = param.render().detach()
    for step in range(30):  # a run's worth of logged steps in the page's state
        live.progress(step * 10, 10.0 - step * 0.1, {"content": 0.6, "style": 9.0}, step * 1.0)

    def encode() -> None:
        live._png = None
        live.frame_png()

    return {
        "render_ms": ms(lambda: param.render().detach().cpu()),  # the run renders the canvas (on the run's thread)
        "to_8bit_ms": ms(lambda: live.frame(0, image)),  # LiveRun.frame (run's thread)
        "png_encode_ms": ms(encode),  # frame.png, once per frame (a server thread)
        "state_json_ms": ms(lambda: json.dumps(live.snapshot(0))),  # state.json, once per refresh (server)
    }


def interleaved(size: int, blocks: int, block_steps: int) -> dict:
    """Blocks of steps of one run, alternately without and with the preview (see the docstring)."""
    from hydra.utils import instantiate

    from paramart.api import compose, load_model
    from paramart.objectives.color import ColorPreservation
    from paramart.objectives.transforms import RandomWarp
    from paramart.outputs.watch import Watch
    from paramart.runner.events import StageInfo
    from paramart.runner.loop import make_optimizer, optimize
    from paramart.runner.plan import make_plan
    from paramart.runner.stage import build_stage

    cfg = compose([f"size={size}", "preview.enabled=true", "preview.port=0", "progress=false"])
    plan = make_plan(cfg)
    vgg = load_model(plan)
    color = ColorPreservation(cfg.preserve_color, plan.content is not None)
    warp = RandomWarp(cfg.transforms.jitter, cfg.transforms.scale, cfg.transforms.rotate)
    stage = build_stage(plan, vgg, size, blocks * block_steps, color, warp)
    param = instantiate(cfg.param, size=stage.size, init_image=stage.content).to(plan.device)
    optimizer = make_optimizer(instantiate(cfg.optim), param)
    watch = Watch(plan, None)
    watch.on_stage(StageInfo(0, 1, stage.size, 0, blocks * block_steps, tuple(stage.objective.names)))
    on = threading.Event()
    counts = {"polls": 0, "frames": 0}

    def client() -> None:  # the page: state.json, and frame.png when it changed, every refresh s
        frame = -1
        while watch.server is not None:
            if on.is_set():
                frame = look(watch.server.url, frame, counts)
            time.sleep(cfg.preview.refresh)

    watch.on_frame(0, color.finish(param.render(), stage.content).cpu())
    threading.Thread(target=client, daemon=True).start()
    per_step: dict[bool, list[float]] = {False: [], True: []}
    done = 0
    for block in range(blocks):
        preview = block % 4 in (1, 2)  # ABBA ABBA ...
        on.set() if preview else on.clear()

        def on_step(step: int, preview: bool = preview) -> None:
            if preview and watch.wants_frame(step, 0.0):
                watch.on_frame(step, color.finish(param.render(), stage.content).cpu())

        t = time.perf_counter()
        optimize(param, stage.objective, optimizer, block_steps, start_step=done, log_every=1, progress=False,
                 on_log=watch.on_log if preview else None, on_step=on_step)
        per_step[preview].append((time.perf_counter() - t) / block_steps)
        done += block_steps
    on.clear()
    watch.on_end("done")
    off, with_preview = statistics.median(per_step[False]), statistics.median(per_step[True])
    return {"command": " ".join(sys.argv), "size": size, "blocks": blocks, "block_steps": block_steps,
            "seconds_per_step_off": [round(v, 4) for v in per_step[False]],
            "seconds_per_step_on": [round(v, 4) for v in per_step[True]],
            "median_off": round(off, 4), "median_on": round(with_preview, 4),
            "ratio": round(with_preview / off, 4), **counts, "frame_costs": frame_costs(size)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--interleaved", action="store_true")
    ap.add_argument("--costs", action="store_true", help="only the per-frame costs")
    ap.add_argument("--blocks", type=int, default=20)
    ap.add_argument("--block-steps", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--work", type=Path, default=Path("/tmp/preview_overhead"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/preview.json"))
    args = ap.parse_args()
    if args.costs:
        print(json.dumps(frame_costs(args.size)))
        return
    if args.interleaved:
        result = interleaved(args.size, args.blocks, args.block_steps)
        out = args.out.with_name(args.out.stem + "_interleaved.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        return
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
