"""Video style transfer (issue #20): temporal coherence, judged quality and time per frame.

Each variant styles the same part of the shared city clip through ``paramart.api.run`` (the
path ``paramart content=CLIP`` runs), and is measured on the saved ``frames/*.png``:

- ``E_warp`` (Lai et al. 2018, "Learning Blind Video Temporal Consistency", eq. 7): for each
  pair of consecutive frames in one shot, the squared RGB difference (summed over channels, in
  [0, 1] units) between output frame k and output frame k-1 warped by the *input's* flow,
  averaged over the pixels the input's flow finds reliable (Ruder et al.'s forward-backward
  mask), then averaged over pairs. Pairs across the scene cut are left out. Lower = steadier.
- GatysScore style and content (:class:`paramart.model.judge.GatysScore`) of every saved frame
  against its own input frame and the painting; medians over frames. Lower is better.
- wall seconds of each frame (``losses.csv``), the first frame against the later ones.

Variants: ``independent`` (each frame from its own content frame, no temporal term, ``steps``
each), ``warm`` (warm start from the warped previous result, no temporal term),
``temporal`` (warm start + temporal term: the default), ``temporal_equal`` (the default
with ``steps`` on every frame, to compare with ``independent`` at the same steps per frame),
and ``field`` (``video.method=field``: one hash grid over (x, y, t), Adam, trained with
``max_seconds`` equal to the total seconds of the ``temporal`` run measured before it in the
same invocation, or ``--field-seconds``: equal total time).

    python bench/video.py --size 128 --start 4.2 --frames 16 --steps 40 --variants temporal independent warm
    python bench/video.py --size 128 --start 4.2 --frames 16 --steps 40 --variants temporal_equal \
        --out bench/results/video_128_equal.json
    python bench/video.py --report bench/results/video_128.json bench/results/video_128_equal.json  # the table
    python bench/video.py --size 128 --start 4.2 --frames 16 --steps 40 --variants temporal field independent \
        --tag _f --extra video.side_by_side=true --out bench/results/video_128_field.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

import paramart
from paramart.io.images import load_image
from paramart.io.video import read_clip
from paramart.model.judge import GatysScore
from paramart.video.flow import motion, warp

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CLIP = SHARED / "videos" / "city_night.mpg"
STYLE = SHARED / "images" / "starry_night.jpg"
RUNS = REPO / "outputs" / "bench_video"  # run folders (scratch, not committed)

VARIANTS = {
    "independent": lambda steps: ["video.warm_start=false", "video.temporal.weight=0", f"video.later_steps={steps}"],
    "warm": lambda steps: ["video.temporal.weight=0"],
    "temporal": lambda steps: [],
    # Ruder et al.'s multi-pass: then backward and forward again, video.pass_steps (later_steps // 2) a frame each
    "multipass": lambda steps: ["video.passes=3"],
    "temporal_equal": lambda steps: [f"video.later_steps={steps}"],
    # one (x, y, t) hash grid for the clip, trained for as long as `temporal` took (--field-seconds)
    "field": lambda steps: ["video.method=field", "param=hashgrid", "optim=adam", "optim.lr=0.01", "steps=100000"],
}


def frames_of(run: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB"), dtype=np.float32) / 255.0
            for p in sorted((run / "frames").glob("*.png"))]


def input_frames(args, canvas: tuple[int, int]) -> list[np.ndarray]:
    clip = read_clip(str(args.clip), start=args.start, frames=args.frames)
    return [np.asarray(f.resize((canvas[1], canvas[0]), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
            for f in clip.frames]


def warping_error(outputs: list[np.ndarray], inputs: list[np.ndarray]) -> tuple[float, list[int]]:
    """Mean E_warp over the pairs within a shot, and the cut frames (Lai et al. eq. 7)."""
    errors, cuts = [], []
    for k in range(1, len(inputs)):
        move = motion(inputs[k - 1], inputs[k])
        if move.cut:
            cuts.append(k)
            continue
        warped = warp(outputs[k - 1], move.backward)
        m = move.weight
        errors.append(float((m * ((outputs[k] - warped) ** 2).sum(-1)).sum() / max(m.sum(), 1.0)))
    return float(np.mean(errors)), cuts


def judge(outputs_dir: Path, clip_frames: list[Image.Image], scorer: GatysScore) -> list[dict[str, float]]:
    scores = []
    for path, frame in zip(sorted((outputs_dir / "frames").glob("*.png")), clip_frames):
        # the judge's content target is its content image at the scored size: this frame's input
        scorer.content_image, scorer._content = frame, {}
        scores.append(scorer(load_image(str(path))))
    return scores


def run_variant(name: str, args, budget: float | None = None) -> dict:
    run = RUNS / f"{args.size}_{name}{args.tag}"
    overrides = [f"content={args.clip}", f"style={args.style}", f"size={args.size}", f"steps={args.steps}",
                 f"video.start={args.start}", f"video.frames={args.frames}", "progress=false", "overwrite=true",
                 *([f"video.temporal.weight={args.weight}"] if args.weight is not None else []),
                 *VARIANTS[name](args.steps), *args.extra]
    if name == "field":
        overrides += args.field_extra
    if name == "field" and args.field_steps is not None:  # equal VGG evaluations, whatever the machine's load
        overrides.append(f"steps={args.field_steps}")
    elif name == "field":
        if budget is None:
            raise SystemExit("the field variant needs --field-steps, --field-seconds or a temporal run before it")
        overrides.append(f"max_seconds={budget:.1f}")
    cfg = paramart.compose(overrides)
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = paramart.api.run(cfg, run)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"variant": name, "run": str(run), "overrides": overrides, "wall": wall, "cpu_seconds": cpu,
            "seconds": result.video.seconds, "cuts": result.video.cuts}


def finished_run(path: Path, name: str) -> dict:
    """A row for a video run made elsewhere (``--score RUN NAME``): its seconds from run.json
    (a field's total spread over its frames) or losses.csv (the frames method's per frame)."""
    facts = json.loads((path / "run.json").read_text())
    if facts.get("method") == "field":
        seconds = [facts["seconds"] / facts["frames"]] * facts["frames"]
    else:
        seconds = [float(line.split(",")[-1]) for line in (path / "losses.csv").read_text().splitlines()[1:]]
    return {"variant": name, "run": str(path), "overrides": [], "wall": sum(seconds), "seconds": seconds,
            "cuts": facts.get("cuts", [])}


def measure(args) -> None:
    rows = []
    scorer = None
    clip = read_clip(str(args.clip), start=args.start, frames=args.frames)
    budget = args.field_seconds
    todo = [(name, None) for name in args.variants] + [(name, Path(path)) for path, name in args.score or []]
    for name, done in todo:
        row = run_variant(name, args, budget) if done is None else finished_run(done, name)
        if name == "temporal" and budget is None:
            budget = sum(row["seconds"])
        run = Path(row["run"])
        outputs = frames_of(run)
        inputs = input_frames(args, outputs[0].shape[:2])
        row["e_warp"], row["flow_cuts"] = warping_error(outputs, inputs)
        if scorer is None:
            first = str(run / "frames" / "00000.png")  # any image: replaced per frame in judge()
            scorer = GatysScore(first, str(args.style), args.size)
        sized = [f.resize((outputs[0].shape[1], outputs[0].shape[0]), Image.Resampling.LANCZOS) for f in clip.frames]
        scores = judge(run, sized, scorer)
        row["style"] = statistics.median(s["style"] for s in scores)
        row["content"] = statistics.median(s["content"] for s in scores)
        row["scores"] = scores
        later = [s for i, s in enumerate(row["seconds"]) if i > 0 and i not in row["cuts"]]
        row["first_seconds"] = row["seconds"][0]
        row["later_seconds"] = statistics.median(later) if later else None
        row["seconds_per_frame"] = sum(row["seconds"]) / len(clip.frames)  # total time over the input's frames
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k not in ("scores", "seconds", "overrides")}), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                        "input_e_warp": warping_error(inputs, inputs)[0], "rows": rows}, indent=1))


def report(paths: list[Path]) -> None:
    data = json.loads(paths[0].read_text())
    rows = {r["variant"]: r for path in paths for r in json.loads(path.read_text())["rows"]}
    base = rows.get("independent")
    print(f"input clip's own E_warp: {data['input_e_warp']:.5f}\n")
    print("| variant | E_warp | x independent | style (median) | x indep. | content (median) | x indep. "
          "| first frame s | later frame s (median) | later / first | total s / frame |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        def ratio(key: str, r=r) -> str:
            return f"{r[key] / base[key]:.2f}" if base else "-"
        later, per = r["later_seconds"], r.get("seconds_per_frame", sum(r["seconds"]) / len(r["seconds"]))
        timing = "- | - | -" if name.startswith("field") else \
            f"{r['first_seconds']:.1f} | {later:.1f} | {later / r['first_seconds']:.2f}"
        print(f"| {name} | {r['e_warp']:.5f} | {ratio('e_warp')} | {r['style']:.4g} | {ratio('style')} | "
              f"{r['content']:.4g} | {ratio('content')} | {timing} | {per:.1f} |")


def strip(paths: list[Path], out: Path, columns: list[int]) -> None:
    """A figure: the input frames and each variant's, one row each, at ``columns``."""
    data = json.loads(paths[0].read_text())
    args = data["args"]
    variants = [r for path in paths for r in json.loads(path.read_text())["rows"]]
    rows = [Path(r["run"]) for r in variants]
    first = Image.open(rows[0] / "frames" / "00000.png")
    w, h = first.size
    clip = read_clip(args["clip"], start=float(args["start"]), frames=int(args["frames"]))
    inputs = [f.resize((w, h), Image.Resampling.LANCZOS) for f in clip.frames]
    sheet = Image.new("RGB", (w * len(columns), h * (len(rows) + 1)), "white")
    for j, k in enumerate(columns):
        sheet.paste(inputs[k], (j * w, 0))
        for i, run in enumerate(rows):
            sheet.paste(Image.open(run / "frames" / f"{k:05d}.png").convert("RGB"), (j * w, (i + 1) * h))
    sheet.save(out)
    print("rows: input, " + ", ".join(r["variant"] for r in variants) + f"; frames {columns}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clip", type=Path, default=CLIP)
    p.add_argument("--style", type=Path, default=STYLE)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--start", type=float, default=4.0)
    p.add_argument("--frames", type=int, default=20)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--weight", type=float, default=None,
                   help="video.temporal.weight where the variant uses it (default: the method's own, 100 / 1000)")
    p.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--score", nargs=2, action="append", metavar=("RUN", "NAME"),
                   help="also measure a finished video run of the same clip and settings, as the row NAME")
    p.add_argument("--extra", nargs="*", default=[], help="more overrides for every variant")
    p.add_argument("--field-extra", nargs="*", default=[], help="more overrides for the field variant only")
    p.add_argument("--tag", default="", help="suffix of the run folders (outputs/bench_video/SIZE_VARIANT_TAG)")
    p.add_argument("--field-steps", type=int, default=None,
                   help="the field's Adam steps (x video.field.batch = its VGG evaluations) instead of a time budget")
    p.add_argument("--field-seconds", type=float, default=None,
                   help="the field's training time (default: the total of the temporal run measured before it)")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--report", type=Path, nargs="+", default=None, help="result files to tabulate together")
    p.add_argument("--strip", type=Path, default=None, help="with --report: write a figure of frames")
    p.add_argument("--columns", type=int, nargs="+", default=[8, 9, 10, 11, 12])
    args = p.parse_args()
    if args.report and args.strip:
        strip(args.report, args.strip, args.columns)
        return
    if args.report:
        report(args.report)
        return
    args.out = args.out or REPO / "bench" / "results" / f"video_{args.size}.json"
    measure(args)


if __name__ == "__main__":
    main()
