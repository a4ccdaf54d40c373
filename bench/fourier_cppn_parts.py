"""What each part of a default Fourier-CPPN paints (issue 23): the global spectrum and the
network's local inverse DFT, rendered alone from a finished run's ``checkpoint.pt``.

``param=fourier_cppn``'s logits are the sum of two parts (paramart/params/fourier_cppn.py): the
learned global spectrum, which starts as the photo, and the network's local IDFT. Each is put
through the same colour mix and sigmoid alone and saved beside the run (``part_spectrum.png``,
``part_network.png``). Printed per run, measured on the saved PNGs: the 2-px checker amplitude
(``checkerboard`` of bench/cppn_family.py) of the final image and of each part, and the share of
the network part's power (grey, mean removed) at radial frequencies above 0.5 cycles per pixel,
i.e. in the corners of the spectrum: a canvas-wide fine mesh rather than brushwork.

    python bench/fourier_cppn_parts.py outputs/bench_cppn_family/transfer_fourier_cppn_256px_90s \\
        outputs/bench_cppn_family/transfer_fourier_cppn_spectral_decay_1_256px_90s --figure docs/fourier_cppn_parts.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from cppn_family import checkerboard  # bench/ is the script's folder
from PIL import Image, ImageDraw

from paramart.params.color import to_rgb
from paramart.params.coordinates import COORD_RANGE, pixel_coords, pixel_step, roll
from paramart.runner.checkpoint import param_from_checkpoint


def save_parts(run: Path) -> dict:
    """Render ``run``'s two parts alone at the training size, save them, measure them."""
    param = param_from_checkpoint(run / "checkpoint.pt")
    if getattr(param, "base", None) is None:
        raise SystemExit(f"{run}: not a Fourier-CPPN with a global spectrum (param.base=true)")
    h, w = param.size
    with torch.no_grad():
        y, x = roll(param, *pixel_coords(param.size, param.size, 0, 0, h, w))
        total = param.logits(y, x, pixel_step(param.size, param.size))
        px = max(param.size) / (2 * COORD_RANGE)  # canvas units -> training pixels
        spectrum = param.base(y * px + (h - 1) / 2, x * px + (w - 1) / 2)
    row = {"run": run.name, "final": checkerboard(run / "final.png")}
    for name, logits in (("spectrum", spectrum), ("network", total - spectrum)):
        rgb = to_rgb(logits, param.color, channel_dim=-1).reshape(h, w, 3).numpy()
        Image.fromarray((rgb * 255).round().clip(0, 255).astype(np.uint8)).save(run / f"part_{name}.png")
        row[name] = checkerboard(run / f"part_{name}.png")
    grey = np.asarray(Image.open(run / "part_network.png").convert("L"), dtype=np.float64)
    power = np.abs(np.fft.fft2(grey - grey.mean())) ** 2
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij"))
    row["network_fine_share"] = float(power[radius > 0.5].sum() / power.sum())
    return row


def figure(runs: list[Path], path: Path) -> None:
    """One row per run: final, spectrum part, network part, captioned."""
    tiles = [[Image.open(r / f).convert("RGB") for f in ("final.png", "part_spectrum.png", "part_network.png")]
             for r in runs]
    w = max(row[0].width for row in tiles)
    heights = [row[0].height + 18 for row in tiles]
    sheet = Image.new("RGB", (3 * (w + 4), sum(heights)), "white")
    draw = ImageDraw.Draw(sheet)
    top = 0
    for run, row, height in zip(runs, tiles, heights, strict=True):
        for j, (im, label) in enumerate(zip(row, ("final", "global spectrum alone", "network alone"), strict=True)):
            sheet.paste(im, (j * (w + 4), top))
            name = run.name.replace("fourier_cppn", "fcppn").removesuffix("_256px_90s")
            draw.text((j * (w + 4) + 2, top + height - 16), f"{name}: {label}" if j == 0 else label, fill="black")
        top += height
    sheet.save(path, optimize=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--figure", type=Path, default=None)
    args = ap.parse_args()
    for run in args.runs:
        r = save_parts(run)
        print(f"{r['run']}: 2-px checker final {r['final']:.4f}, spectrum part {r['spectrum']:.4f}, network part "
              f"{r['network']:.4f}; network part's power above 0.5 cycles/px {r['network_fine_share']:.0%}")
    if args.figure:
        figure(args.runs, args.figure)


if __name__ == "__main__":
    main()
