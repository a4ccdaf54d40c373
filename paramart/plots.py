"""``losses.png``: the loss curves of a run, because people would rather look than read a CSV."""

from __future__ import annotations

import csv
from pathlib import Path

from paramart.images import atomic_write


def read_losses(csv_path: str | Path) -> dict[str, list[float]]:
    """Columns of ``losses.csv`` as float lists."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {key: [float(r[key]) for r in rows] for key in rows[0]}


def plot_losses(csv_path: str | Path, out_path: str | Path, title: str | None = None) -> Path | None:
    """Plot every loss column of ``losses.csv`` against step (log scale); None if nothing logged."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    cols = read_losses(csv_path)
    if not cols or not cols.get("step"):
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    for key, values in cols.items():
        if key in ("step", "seconds") or not any(v > 0 for v in values):
            continue
        ax.plot(cols["step"], values, label=key, linewidth=2 if key == "total" else 1.2,
                color="black" if key == "total" else None)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("weighted loss")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    out = Path(out_path)
    atomic_write(out, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)
    return out
