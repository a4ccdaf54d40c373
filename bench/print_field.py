"""Prints of learned images (issue #23): the print stage against what there was before.

For one photo and painting (or a texture: ``--content none``) it makes, each in a fresh
process under ``/usr/bin/time -v`` (wall time, peak RSS):

* ``field_print@P``: ``paramart experiment=field_print print.size=P`` (the hash grid learned on
  the canvas, then at print scale; ``print.png``);
* ``zoom@P``: today's zoom-trained hash grid (``param=hashgrid zoom.levels=...``), rendered at
  P by ``paramart-render``;
* ``bicubic@P``: the field_print canvas (``final.png``) enlarged bicubically to P;
* ``pixel_print@S``: ``experiment=print size=S`` under a time budget (the exact pixel print).

and judges every image with the independent judge (:class:`paramart.model.judge.GatysScore`):

* far view: the image averaged down to the canvas size, content and style (painting at the
  canvas's style size);
* close view: the median over 16 random 256 px crops at full resolution (a fixed seed), style
  by Gram against the painting at ``print.style_size`` (its own size by default) and by the
  sliced Wasserstein distance of the VGG-19 features (Heitz et al. 2021);
* the floor: the same close view of 16 random 256 px crops of the painting itself.

    python bench/print_field.py run --prints 4096 8192 --out bench/results/print_field
    python bench/print_field.py judge --out bench/results/print_field
    python bench/print_field.py gallery --prints 8192 --out bench/results/print_field   # gallery/field_print_*
    python bench/print_field.py anchor --run OLD_RUN --out DIR    # a print made before the exact anchor, anchored

Timing on a shared machine: compare rows of one invocation, and name the CPU.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
SHARED = REPO.parent / "shared" / "images"
CONTENT = str(SHARED / "chelsea_cat.png")
STYLE = str(SHARED / "starry_night.jpg")
LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CROP, CROPS = 256, 16


def timed(cmd: list[str], log: Path) -> dict:
    """Run ``cmd`` under /usr/bin/time -v: wall seconds and peak RSS (MB); its output to ``log``."""
    r = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    log.write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}); see {log}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", r.stderr)
    h, m, s = (float(g) if g else 0.0 for g in wall.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    return {"wall_s": round(3600 * h + 60 * m + s, 1), "peak_rss_mb": round(rss / 1024)}


def exe(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def inputs(a) -> list[str]:
    content = [] if a.content == "none" else [f"content={a.content}"]
    objective = ["objective=texture"] if a.content == "none" else []
    return [*content, f"style={a.style}", *objective]


def run_all(a) -> None:
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    results = json.loads((out / "runs.json").read_text()) if (out / "runs.json").exists() else {}
    common = [*inputs(a), f"size={a.size}", "progress=false", "overwrite=true"]
    for p in a.prints:
        name = f"field_print@{p}"
        if name in a.skip:
            continue
        run = out / name
        results[name] = {**timed([exe("paramart"), "experiment=field_print", *common, f"steps={a.steps}",
                                  f"print.size={p}", f"print.steps={a.print_steps}", f"hydra.run.dir={run}",
                                  *a.extra], out / f"{name}.log"),
                         "image": str(run / "print.png"), "canvas": str(run / "final.png"), "print": p}
        (out / "runs.json").write_text(json.dumps(results, indent=1))
    first = out / f"field_print@{a.prints[0]}"
    for p in a.prints:
        if (first / "final.png").exists() and f"bicubic@{p}" not in a.skip:
            from PIL import Image

            source = first / "canvas.png" if (first / "canvas.png").exists() else first / "final.png"
            canvas = Image.open(source).convert("RGB")
            w, h = canvas.size
            path = out / f"bicubic_{p}.png"
            canvas.resize((round(w * p / max(w, h)), round(h * p / max(w, h))), Image.BICUBIC).save(path)
            # its far view is against the final.png it enlarges (judge: "canvas_far")
            results[f"bicubic@{p}"] = {"image": str(path), "canvas": str(source), "print": p,
                                       "enlarges": True,
                                       "wall_s": None, "peak_rss_mb": None}
    if "zoom" not in a.skip:
        run = out / "zoom"
        train = timed([exe("paramart"), "param=hashgrid", "optim=adam", "optim.lr=0.01", "schedule=multiscale",
                       f"zoom.levels=[1,2,4,8,16,{a.prints[-1] // a.size}]", *common, f"steps={a.zoom_steps}",
                       f"hydra.run.dir={run}"], out / "zoom.log")
        for p in a.prints:
            img = out / f"zoom_{p}.png"
            r = timed([exe("paramart-render"), f"run={run}", f"width={p}", f"out={img}", "overwrite=true"],
                      out / f"zoom_render_{p}.log")
            results[f"zoom@{p}"] = {"wall_s": train["wall_s"] + r["wall_s"], "train_s": train["wall_s"],
                                    "render_s": r["wall_s"], "peak_rss_mb": max(train["peak_rss_mb"],
                                                                                r["peak_rss_mb"]),
                                    "image": str(img), "canvas": str(run / "final.png"), "print": p}
        (out / "runs.json").write_text(json.dumps(results, indent=1))
    if a.pixel_size and "pixel" not in a.skip:
        run = out / "pixel_print"
        name = f"pixel_print@{a.pixel_size}"
        results[name] = {**timed([exe("paramart"), "experiment=print", *inputs(a), f"size={a.pixel_size}",
                                  f"max_seconds={a.pixel_seconds}", "progress=false", "overwrite=true",
                                  f"hydra.run.dir={run}"], out / "pixel_print.log"),
                         "image": str(run / "final.png"), "canvas": None, "print": a.pixel_size}
    (out / "runs.json").write_text(json.dumps(results, indent=1))


class Judge:
    """Far and close views of print-size images (see the module docstring)."""

    def __init__(self, content: str | None, style: str, canvas_side: int, style_size: int):
        import torch

        from paramart.io.images import load_image, to_tensor
        from paramart.model.judge import GatysScore, sorted_projections
        from paramart.model.vgg import VGG19

        self.torch, self.to_tensor = torch, to_tensor
        self.content = content
        self.far = GatysScore(content or style, style, canvas_side)
        self.near = GatysScore(content or style, style, style_size)
        self.vgg = VGG19("caffe", pooling="max", last_layer="relu5_1")
        painting = load_image(style)
        w, h = painting.size
        self.painting = to_tensor(painting, (round(h * style_size / max(w, h)), round(w * style_size / max(w, h))))
        with torch.no_grad():
            feats = self.vgg(self.painting, LAYERS)
        self.painting_sorted = {k: sorted_projections(v) for k, v in feats.items()}  # once, not per crop

    def crops(self, image, seed: int = 0, count: int = CROPS):
        gen = self.torch.Generator().manual_seed(seed)
        _, _, h, w = image.shape
        for _ in range(count):
            top = int(self.torch.randint(0, h - CROP + 1, (1,), generator=gen))
            left = int(self.torch.randint(0, w - CROP + 1, (1,), generator=gen))
            yield image[..., top:top + CROP, left:left + CROP]

    def close(self, image) -> dict:
        from paramart.model.judge import sliced_wasserstein

        grams, sws = [], []
        for crop in self.crops(image):
            grams.append(self.near(crop)["style"])
            with self.torch.no_grad():
                feats = self.vgg(crop, LAYERS)
            sws.append(sum(sliced_wasserstein(feats[k], self.painting_sorted[k]) for k in LAYERS))
        return {"close_gram": statistics.median(grams), "close_sw": statistics.median(sws)}

    def far_view(self, image, canvas_size) -> dict:
        """The image averaged down to ``canvas_size``: exactly over each canvas pixel's footprint
        (fractional print pixels weighted by their share: the area average), and by torch's
        ``area`` interpolation (whole-pixel bins, which straddle footprints when the print is not
        a whole multiple of the canvas: a second, harsher downsampler)."""
        from paramart.params.anchored import box_rows

        (h, w), (big_h, big_w) = canvas_size, image.shape[-2:]
        exact = box_rows(h, big_h).to(image) @ image @ box_rows(w, big_w).to(image).T
        bins = self.torch.nn.functional.interpolate(image, size=canvas_size, mode="area")
        score, binned = self.far(exact), self.far(bins)
        return {"far_style": score["style"], "far_content": score["content"] if self.content else None,
                "far_style_bins": binned["style"], "far_content_bins": binned["content"] if self.content else None}


def canvas_run(final_png: str, judge):
    """The canvas run's image a print's far view is compared with: the canvas as the canvas
    stages left it (the checkpoint's ``print_anchor``, what the print is anchored to), or
    ``final_png`` where there is none. A print run's own ``final.png`` is the field at canvas
    size *after* the print stage, which the print stage has changed too."""
    import torch

    checkpoint = Path(final_png).with_name("checkpoint.pt")
    if checkpoint.exists():
        anchor = torch.load(checkpoint, weights_only=True, map_location="cpu").get("print_anchor")
        if anchor is not None:
            return anchor.float()
    from paramart.io.images import load_image

    return judge.to_tensor(load_image(final_png))


def judge_all(a) -> None:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
    from paramart.io.images import load_image

    out = Path(a.out)
    results = json.loads((out / "runs.json").read_text())
    style_side = a.style_size or max(Image.open(a.style).size)
    judge = Judge(None if a.content == "none" else a.content, a.style, a.size, style_side)
    canvas_png = next((r["canvas"] for r in results.values() if r.get("canvas")), None)
    canvas = judge.to_tensor(load_image(canvas_png))
    canvas_size = tuple(canvas.shape[-2:])
    if a.only:  # the other rows as an earlier judge left them
        rows = json.loads((out / "judged.json").read_text())
    else:
        rows = {"painting (floor)": {**judge.close(judge.painting), "image": a.style}}
        rows["canvas (final.png)"] = {**judge.far_view(canvas, canvas_size), "image": canvas_png}
        rows["canvas run (print_anchor)"] = {**judge.far_view(canvas_run(canvas_png, judge), canvas_size),
                                             "image": canvas_png.replace("final.png", "checkpoint.pt")}
    own = {}  # each run's own canvas's far view: the ratio of its far view is to that
    for name, r in results.items():
        if a.only and name not in a.only:
            continue
        image = judge.to_tensor(load_image(r["image"]))
        rows[name] = {**r, **judge.far_view(image, canvas_size), **judge.close(image)}
        if r.get("canvas"):
            if r["canvas"] not in own:
                own[r["canvas"]] = judge.far_view(canvas_run(r["canvas"], judge), canvas_size)
            rows[name]["canvas_far"] = own[r["canvas"]]
            if r.get("enlarges"):  # an enlargement of final.png: against final.png
                rows[name]["canvas_far"] = judge.far_view(judge.to_tensor(load_image(r["canvas"])), canvas_size)
        print(name, {k: v for k, v in rows[name].items() if k.startswith(("far", "close"))}, flush=True)
    if a.pixel_crops:
        # an earlier pixel print kept only as a preview and full-resolution crops (gallery/print_4096_*):
        # the far view from the preview, the close view from 256 px crops of its crops
        crops = [judge.to_tensor(load_image(c)) for c in a.pixel_crops]
        per = [judge.close(c) for c in crops]
        preview = judge.to_tensor(load_image(a.pixel_preview)) if a.pixel_preview else None
        rows["pixel_print@4096 (gallery)"] = {
            "image": a.pixel_crops, "wall_s": a.pixel_wall, "peak_rss_mb": a.pixel_rss,
            **(judge.far_view(preview, canvas_size) if preview is not None else {}),
            "close_gram": statistics.median(p["close_gram"] for p in per),
            "close_sw": statistics.median(p["close_sw"] for p in per)}
        print(rows["pixel_print@4096 (gallery)"], flush=True)
    (out / "judged.json").write_text(json.dumps(rows, indent=1))
    print(table(rows))


def gallery(a) -> None:
    """The gallery's print: the whole at screen size, three full-resolution crops, a zoom GIF."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None
    run = Path(a.out) / f"field_print@{a.prints[-1]}"
    dest, name = Path(a.gallery), a.gallery_name
    image = Image.open(run / "print.png").convert("RGB")
    w, h = image.size
    image.resize((1280, round(1280 * h / w)), Image.LANCZOS).save(dest / f"{name}_preview.jpg", quality=90)
    for fx, fy in ((0.35, 0.4), (0.6, 0.55), (0.15, 0.8)):  # an eye, the nose, the fur (the cat photo)
        x, y = round(fx * w) - 256, round(fy * h) - 256
        image.crop((x, y, x + 512, y + 512)).save(dest / f"{name}_crop512_at_{x + 256}_{y + 256}.png")
    subprocess.run([exe("paramart-render"), f"run={run}", "width=480", f"zoom.to={a.zoom_to}", "zoom.frames=24",
                    "zoom.fps=12", "zoom.center=[0.35,0.4]", f"out={dest / f'{name}_zoom.gif'}", "overwrite=true"],
                   check=True)


def anchor_afterwards(a) -> None:
    """Anchor the field of a print run made before the exact anchor (``--run``) and write its
    anchored print.png (and a copy of its checkpoint and final.png) into ``--out``/NAME, to judge
    the same field with and without the anchor."""
    import shutil as sh

    from PIL import Image

    from paramart.outputs.drawing import write_print
    from paramart.params.anchored import anchor_field, print_average
    from paramart.runner.checkpoint import load_checkpoint, param_from_checkpoint

    Image.MAX_IMAGE_PIXELS = None
    src = Path(a.run)
    dst = Path(a.out) / src.name
    dst.mkdir(parents=True, exist_ok=True)
    for name in ("checkpoint.pt", "final.png"):
        sh.copy(src / name, dst / name)
    ckpt = load_checkpoint(src / "checkpoint.pt")
    field = param_from_checkpoint(ckpt).eval()
    canvas = ckpt["print_anchor"].float()
    width, height = Image.open(src / "print.png").size
    size, small = (height, width), tuple(canvas.shape[-2:])
    before = (print_average(field, size, small).float() - canvas).pow(2).mean().sqrt()
    anchored = anchor_field(field, canvas, size, refine=a.refine)
    after = (print_average(anchored, size, small).float() - canvas).pow(2).mean().sqrt()
    write_print(anchored, size, dst / "print.png")
    print(json.dumps({"run": str(src), "rms_before": float(before), "rms_after": float(after)}))


def table(judged: dict) -> str:
    """judged.json as a markdown table: time, memory, far view, close view and its ratio to the floor."""
    floor = judged["painting (floor)"]
    canvas = judged.get("canvas (final.png)", {})

    def num(v, digits=3):
        return "" if v is None else f"{v:.{digits}g}"

    lines = ["| image | wall s | peak RSS MB | far content (x its canvas) | far style (x its canvas) | close Gram "
             "(x floor) | close SW (x floor) | far style, area bins (x its canvas) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in judged.items():
        far_c, far_s = r.get("far_content"), r.get("far_style")
        ref = r.get("canvas_far", canvas)  # the run's own canvas where it has one
        cells = [
            num(r.get("wall_s"), 4), num(r.get("peak_rss_mb"), 4),
            "" if far_c is None else f"{num(far_c)} ({far_c / ref['far_content']:.2f}x)" if ref.get(
                "far_content") else num(far_c),
            "" if far_s is None else f"{num(far_s)} ({far_s / ref['far_style']:.2f}x)",
            "" if "close_gram" not in r else f"{num(r['close_gram'])} ({r['close_gram'] / floor['close_gram']:.2f}x)",
            "" if "close_sw" not in r else f"{num(r['close_sw'])} ({r['close_sw'] / floor['close_sw']:.2f}x)",
            "" if r.get("far_style_bins") is None or not ref.get("far_style_bins") else
            f"{num(r['far_style_bins'])} ({r['far_style_bins'] / ref['far_style_bins']:.2f}x)",
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["run", "judge", "gallery", "table", "anchor"])
    ap.add_argument("--run", default="", help="anchor: a print run made before the exact anchor")
    ap.add_argument("--refine", type=int, default=1, help="anchor: refinement passes")
    ap.add_argument("--content", default=CONTENT, help="photo, or none for a texture")
    ap.add_argument("--style", default=STYLE)
    ap.add_argument("--size", type=int, default=384, help="canvas long side, px")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--print-steps", type=int, default=600)
    ap.add_argument("--zoom-steps", type=int, default=600)
    ap.add_argument("--prints", type=int, nargs="+", default=[4096, 8192])
    ap.add_argument("--pixel-size", type=int, default=0, help="the pixel print's size; 0: none")
    ap.add_argument("--pixel-seconds", type=float, default=1200)
    ap.add_argument("--style-size", type=int, default=0, help="print.style_size; 0: the style file's own")
    ap.add_argument("--skip", nargs="*", default=[], help="names of runs already made (e.g. zoom pixel)")
    ap.add_argument("--extra", nargs="*", default=[], help="more overrides for the field_print runs")
    ap.add_argument("--pixel-crops", nargs="*", default=[], help="judge: full-resolution crops of an earlier "
                    "pixel print (gallery/print_4096_*_crop_*.png)")
    ap.add_argument("--pixel-preview", default="", help="judge: that print's preview, for the far view")
    ap.add_argument("--pixel-wall", type=float, default=None, help="judge: that print's wall seconds")
    ap.add_argument("--pixel-rss", type=float, default=None, help="judge: that print's peak RSS, MB")
    ap.add_argument("--only", nargs="*", default=[], help="judge: only these rows (the rest from judged.json)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--gallery", default=str(REPO / "gallery"), help="gallery: where the files go")
    ap.add_argument("--gallery-name", default="field_print_starry_night_cat")
    ap.add_argument("--zoom-to", type=float, default=16)
    a = ap.parse_args()
    if a.what == "run":
        shutil.which("/usr/bin/time") or sys.exit("needs /usr/bin/time (GNU time)")
        run_all(a)
    elif a.what == "judge":
        judge_all(a)
    elif a.what == "table":
        print(table(json.loads((Path(a.out) / "judged.json").read_text())))
    elif a.what == "anchor":
        anchor_afterwards(a)
    else:
        gallery(a)


if __name__ == "__main__":
    main()
