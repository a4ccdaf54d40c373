"""Markdown tables from bench/results/*.json (the tables in docs/benchmarks.md).

    python bench/report.py [bench/results]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _f(x, digits=3):
    return "–" if x is None else f"{x:.{digits}g}"


def vs_pastiche_speed(r: dict) -> str:
    lines = ["| size | tool | s / step (median) | runs | evaluations / step | peak RSS MiB | ratio to pastiche |",
             "|---|---|---|---|---|---|---|"]
    for row in r["speed"]:
        runs = ", ".join(f"{x:.3f}" for x in row["s_per_step_runs"])
        ratio = "–" if row["ratio_to_pastiche"] is None else f"{row['ratio_to_pastiche']:.2f}"
        lines.append(f"| {row['size']} | {row['tool']} | **{row['s_per_step']:.3f}** | {runs} | "
                     f"{row['evals_per_step']:.2f} | {row['peak_mib']:.0f} | **{ratio}** |")
    return "\n".join(lines)


def vs_pastiche_series(r: dict) -> str:
    sys.path.insert(0, str(Path(__file__).parent))
    from vs_pastiche import summarise

    out = []
    for s in r["series"]:
        s["summary"] = summarise(s)
        what = (f"pastiche {s['pastiche_steps']} L-BFGS steps ({s['budget_s']:.0f} s)" if s["pastiche_steps"]
                else f"{s['budget_s']:.0f} s each")
        out.append(f"**{s['size']} px, {what}**\n")
        own = s["summary"][0]["pastiche_own_final"]
        out.append("| tool | loss at pastiche's wall time | content | style | time to pastiche's final loss "
                   f"({_f(s['curves']['pastiche'][-1]['total'])}) | fraction of pastiche's time | "
                   f"time to pastiche's own float loss ({_f(own)}) | fraction |")
        out.append("|---|---|---|---|---|---|---|---|")
        for row in s["summary"]:
            def when(t):
                return "not reached" if t is None else f"{t:.0f} s"

            def frac(x):
                return "–" if x is None else f"**{x:.2f}**"

            out.append(f"| {row['tool']} | **{_f(row['loss_at_budget'])}** | {_f(row['content'])} | "
                       f"{_f(row['style'])} | {when(row['time_to_pastiche_final'])} | "
                       f"{frac(row['fraction_of_pastiche_time'])} | {when(row['time_to_pastiche_own_final'])} | "
                       f"{frac(row['fraction_of_pastiche_time_own'])} |")
        out.append("")
    return "\n".join(out)


def speed_table(r: dict) -> str:
    lines = ["| size | param | optimiser | precision | s / step | evaluations / step | peak MiB |",
             "|---|---|---|---|---|---|---|"]
    for row in r["rows"]:
        if "error" in row:
            lines.append(f"| {row['size']} | {row['param']} | {row['optim']} | | failed: {row['error']} | | |")
            continue
        lines.append(f"| {row['size']} | {row['param']} | {row['optim']} | {row['precision']} | "
                     f"{row['s_per_step']:.3f} | {row['evals_per_step']:.2f} | {row['peak_mib']:.0f} |")
    return "\n".join(lines)


def memory_table(r: dict) -> str:
    rows = [row for row in r["rows"] if "error" not in row]
    first = rows[0]
    px0 = first["canvas"][0] * first["canvas"][1]
    lines = ["| size | canvas | pixels / first | s / step | peak MiB | MiB per extra megapixel (from the row above) |",
             "|---|---|---|---|---|---|"]
    prev = None
    for row in rows:
        px = row["canvas"][0] * row["canvas"][1]
        slope = "–" if prev is None else f"{(row['peak_mib'] - prev[1]) / ((px - prev[0]) / 1e6):.0f}"
        lines.append(f"| {row['size']} | {row['canvas'][1]}x{row['canvas'][0]} | {px / px0:.1f} | "
                     f"{row['s_per_step']:.2f} | {row['peak_mib']:.0f} | {slope} |")
        prev = (px, row["peak_mib"])
    return "\n".join(lines)


def step_options(r: dict) -> str:
    lines = ["| precision | channels-last | torch.compile | s / evaluation | speed-up vs float32 |",
             "|---|---|---|---|---|"]
    for row in r["rows"]:
        lines.append(f"| {row['precision']} | {row['channels_last']} | {row['compile']} | "
                     f"{row['s_per_eval']:.3f} | {row['speedup_vs_fp32']:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results")
    for path in sorted(folder.glob("*.json")):
        r = json.loads(path.read_text())
        print(f"### {path.name}\n")
        if "speed" in r:
            if r["speed"]:
                print(vs_pastiche_speed(r) + "\n")
            if r["series"]:
                print(vs_pastiche_series(r))
        elif path.name.startswith("memory"):
            print(memory_table(r) + "\n")
        elif path.name.startswith("step_options"):
            print(step_options(r) + "\n")
        elif "rows" in r:
            print(speed_table(r) + "\n")


if __name__ == "__main__":
    main()
