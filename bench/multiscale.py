"""Multi-scale vs single-scale at equal wall time.

Runs the same problem twice: once coarse to fine (``--scales``/``--shares``), once at the
full size only, with the same number of steps. Full-size steps cost more, so the
single-scale run takes longer; its loss is read at the moment the multi-scale run had
finished (every step is logged). Both losses are the full-size objective, so they compare.

    python bench/multiscale.py --size 256 --steps 60
    python bench/multiscale.py --texture --size 256 --steps 60

Prints a Markdown table row per run.
"""

from __future__ import annotations

import argparse
import platform

import torch

import paramart


def run(args: argparse.Namespace, scales: str | None) -> paramart.Result:
    overrides = [
        f"optim={args.optim}", f"size={args.size}", f"steps={args.steps}", f"seed={args.seed}",
        "log_every=1", "progress=false", f"style={args.style}", f"device={args.device}",
    ]
    if args.texture:
        overrides += ["objective=texture", "content=null", f"param.grain={args.grain}"]
    else:
        overrides += [f"content={args.content}"]
    if scales:
        overrides += [f"schedule.scales={scales}", f"schedule.shares={args.shares}"]
    return paramart.run(paramart.compose(overrides))


def loss_at(result: paramart.Result, seconds: float) -> tuple[int, float]:
    """(step, total loss) of the last logged step finished within ``seconds``."""
    rows = [r for r in result.history.rows if r.seconds <= seconds] or result.history.rows[:1]
    return rows[-1].step, rows[-1].total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--scales", default="[0.25,0.5,1]")
    p.add_argument("--shares", default="[0.5,0.3,0.2]")
    p.add_argument("--optim", default="lbfgs")
    p.add_argument("--content", default="sample:chelsea")
    p.add_argument("--style", default="sample:hubble_deep_field")
    p.add_argument("--texture", action="store_true", help="texture synthesis from noise instead of a photo")
    p.add_argument("--grain", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()

    multi = run(args, args.scales)
    t_multi = multi.history.last.seconds
    single = run(args, None)
    step_at, loss_at_t = loss_at(single, t_multi)
    what = "texture" if args.texture else "style transfer"
    print(f"# {what}, {args.size} px, {args.steps} {args.optim} steps, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print("| run | steps | wall s | final loss (full size) |")
    print("|---|---|---|---|")
    print(f"| multi-scale {args.scales} shares {args.shares} | {args.steps} | {t_multi:.1f} | "
          f"{multi.history.last.total:.4g} |")
    print(f"| single-scale, same wall time | {step_at} | {t_multi:.1f} | {loss_at_t:.4g} |")
    print(f"| single-scale, same steps | {args.steps} | {single.history.last.seconds:.1f} | "
          f"{single.history.last.total:.4g} |")


if __name__ == "__main__":
    main()
