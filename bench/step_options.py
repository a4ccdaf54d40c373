"""One objective evaluation (VGG-19 forward to relu5_1 + backward to the image) under each
speed setting, measured side by side in one process: float32 or bf16 autocast, contiguous
(NCHW) or channels-last, eager or ``torch.compile``.

    python bench/step_options.py --size 512 --repeats 5
    python bench/step_options.py --size 512 --device cuda --compile     # on a GPU

Settings are measured round-robin (one evaluation of each in turn, ``--repeats`` rounds) so
that a slow spell of a shared machine hits all of them alike; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paramart.model.vgg import VGG19  # noqa: E402
from paramart.objectives.terms.gram import gram_matrix  # noqa: E402

LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"]


def evaluation(vgg: VGG19, image: torch.Tensor) -> None:
    x = image.detach().requires_grad_()
    feats = vgg(x, LAYERS)
    loss = sum(gram_matrix(v).pow(2).mean() for v in feats.values())
    loss.backward()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--compile", action="store_true", help="also torch.compile (slow to warm up)")
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args()
    device = torch.device(a.device)
    settings = [(prec, cl, False) for prec in ("fp32", "bf16") for cl in (False, True)]
    if a.compile:
        settings += [("bf16", device.type == "cuda", True)]
    nets = {}
    for prec, cl, comp in settings:
        nets[(prec, cl, comp)] = VGG19("caffe", last_layer="relu5_1").to(device).configure(prec, cl, comp)
    image = torch.rand(1, 3, a.size, a.size, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times: dict[tuple, list[float]] = {k: [] for k in nets}
    for net in nets.values():  # warm-up (and compilation)
        evaluation(net, image)
        evaluation(net, image)
    for _ in range(a.repeats):
        for k, net in nets.items():
            sync()
            t = time.perf_counter()
            evaluation(net, image)
            sync()
            times[k].append(time.perf_counter() - t)
    base = statistics.median(times[("fp32", False, False)])
    rows = []
    for (prec, cl, comp), ts in times.items():
        med = statistics.median(ts)
        rows.append({"precision": prec, "channels_last": cl, "compile": comp, "s_per_eval": med,
                     "speedup_vs_fp32": base / med})
        print(f"{a.size}px {prec} channels_last={cl!s:5s} compile={comp!s:5s} {med:.3f} s/eval "
              f"({base / med:.2f}x fp32)")
    if a.out:
        a.out.write_text(json.dumps({"size": a.size, "device": str(device), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
