"""``losses.png``: the loss curves of a run, because people would rather look than read a CSV."""

from __future__ import annotations

import csv
from pathlib import Path

from paramart.io.atomic import atomic_write


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
    series = {k: v for k, v in cols.items() if k not in ("step", "seconds") and any(x != 0 for x in v)}
    for key, values in series.items():
        ax.plot(cols["step"], values, label=key, linewidth=2 if key == "total" else 1.2,
                color="black" if key == "total" else None)
    # Log scale for losses; a dream (activation) term is negative, so then symmetric log.
    ax.set_yscale("log" if all(x > 0 for v in series.values() for x in v) else "symlog")
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
