"""The "Coordinate images" section of docs/benchmarks.md from bench/results/fields*.jsonl."""

from __future__ import annotations

import json
import re
from pathlib import Path

from docsection import replace_section

HEADING = "## Coordinate images against pixels (issue 13)"
ORDER = ["pixel", "fft", "cppn", "fourier_cppn", "cppn+prefit", "cppn+ff", "hashgrid"]
ABOUT = {
    "pixel": "raw pixels (the reference)",
    "fft": "1/f spectrum, decorrelated colour",
    "cppn": "the Distill CPPN as published (starts grey)",
    "fourier_cppn": "Tesfaldet et al.'s F-CPPN as published (starts grey)",
    "cppn+prefit": "CPPN pre-fitted to the photo (`param.init=auto`)",
    "cppn+ff": "CPPN with 128 Fourier features, sigma 10 (+ pre-fit with a photo)",
    "hashgrid": "hash grids + 2x64 MLP (+ pre-fit with a photo)",
}


def _rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _table(rows: list[dict], objective: str) -> list[str]:
    """One measurement (objective, size, budget): the last row of each variant, against pixel's."""
    mine = {r["variant"]: r for r in rows if r["objective"] == objective and not r.get("zoom")}
    if "pixel" not in mine:
        return []
    ref = mine["pixel"]
    transfer = objective == "transfer"
    head = "| param | what | steps | style | × pixel |" + (" content | × pixel |" if transfer else "")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for name in [v for v in ORDER if v in mine]:
        r = mine[name]
        cells = [f"`{name}`", ABOUT[name], str(r["steps"]), f"{r['style']:.3g}", f"{r['style'] / ref['style']:.2f}"]
        if transfer:
            cells += [f"{r['content']:.3g}", f"{r['content'] / ref['content']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _zoom(rows: list[dict]) -> list[str]:
    """Every zoom run (training score, its 8K crops' score, the ratio, against bicubic), then
    the baselines and the 8K render's cost from the latest run."""
    if not rows:
        return []
    lines = ["| run | steps | style, training size | style, canvas-sized crops of the 7680x4320 image (median) "
             "| crops / training | crops / bicubic crops |", "|---|---|---|---|---|---|"]
    for z in rows:
        setting = f"hashgrid, zoom.levels=[{z['levels']}], finest {z['finest']}" + (
            f", {z['extra']}" if z.get("extra") else "")
        bicubic = f"{z['crops_zoom'] / z['crops_bicubic']:.2f}" if "crops_bicubic" in z else ""
        budget = re.search(r"_(\d+(?:\.\d+)?)s(?:_|$)", z["zoom_run"])
        lines.append(f"| {setting}, {budget.group(1) if budget else '?'} CPU-s | {z['steps']} | "
                     f"{z['train_score']:.3g} | {z['crops_zoom']:.3g} | {z['crops_zoom'] / z['train_score']:.1f}x "
                     f"| {bicubic} |")
    z = rows[-1]
    if "crops_nozoom" in z:
        lines.append(f"| hashgrid, no zoom training | | {z['train_score_nozoom']:.3g} | {z['crops_nozoom']:.3g} "
                     f"| {z['crops_nozoom'] / z['train_score_nozoom']:.1f}x | |")
    if "crops_bicubic" in z:
        lines.append(f"| pixel, upscaled bicubically (baseline) | | {z['train_score_pixel']:.3g} | "
                     f"{z['crops_bicubic']:.3g} | {z['crops_bicubic'] / z['train_score_pixel']:.1f}x | 1 |")
    timed = [r for r in rows if "render_wall_s" in r]
    if timed:
        t = timed[-1]
        lines += ["", f"8K render of the zoom-trained hash grid (`/usr/bin/time -v paramart-render ... width=7680 "
                      f"height=4320`, idle machine): **{t['render_wall_s']:.0f} s wall** ({t['render_cpu_s']:.0f} s "
                      f"CPU), **peak RSS {t['peak_rss_mb']:.0f} MB**."]
    return lines


def write_report(log: Path, doc: Path, notes: str = "") -> None:
    rows = _rows(log)
    parts = [HEADING, "", notes.strip(), ""] if notes.strip() else [HEADING, ""]
    budgets = list(dict.fromkeys((r["size"], r["seconds"]) for r in rows))  # in the order measured
    for size, seconds in budgets:
        group = [r for r in rows if (r["size"], r["seconds"]) == (size, seconds)]
        for objective, title in (("texture", "Texture of The Starry Night"),
                                 ("transfer", "Style transfer: the cat photo in The Starry Night's style")):
            table = _table(group, objective)
            if table:
                parts += [f"### {title}, {size} px, {seconds:g} CPU-seconds each", "", *table, ""]
    zoom = _zoom(_rows(log.with_name("fields_zoom.jsonl")))
    if zoom:
        parts += ["### Zoom training and the 8K render", "", *zoom, ""]
    seen = log.with_name("fields_notes.md")  # what we saw, written by hand after looking
    if seen.is_file():
        parts += [seen.read_text().strip(), ""]
    replace_section(doc, HEADING, "\n".join(parts))
