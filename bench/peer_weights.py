"""paramart's Caffe VGG-19 written where and how crowsonkb's style-transfer-pytorch loads its own.

The peer builds ``torchvision.models.vgg19(weights=IMAGENET1K_V1)``, which loads
``$TORCH_HOME/hub/checkpoints/vgg19-dcbb9e9d.pth`` when that file exists (torch checks a
file's hash only when it downloads it), so the peer runs offline on these weights:

* ``features.N.weight`` / ``.bias``: the 16 convolutions of paramart's Caffe VGG-19
  (:func:`paramart.model.weights.load_caffe_state`) at torchvision's indices;
* the first convolution absorbs the preprocessing difference. The peer feeds the network
  RGB in [0, 1] normalised with ImageNet's mean and std, ``n = (x - m) / s``; the Caffe
  model wants BGR in 0-255 less its BGR mean, ``z = 255 x[::-1] - mean``. With
  ``x = s n + m``, ``W' [:, c] = 255 s_c W[:, 2 - c]`` and
  ``b' = b + sum W[:, k] (255 m_{2-k} - mean_k)``: the peer's first layer then computes
  exactly what the Caffe model computes on Caffe's input. Exact at the borders too, since
  the peer pads its first convolution by replication (an affine map per channel commutes
  with replication); paramart pads with zeros of Caffe's input (the mean colour): that one
  difference in the network is the peer's own choice and stays;
* ``classifier.*``: zeros of the right shapes, stored as one broadcast element each (the
  peer's loader wants them, it never runs them), so the file is small; in memory the peer
  still holds its classifier, as it does with torchvision's file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paramart.model.layers import LAYER_NAMES  # noqa: E402
from paramart.model.vgg import _CAFFE_MEAN_BGR, _IMAGENET_MEAN, _IMAGENET_STD  # noqa: E402
from paramart.model.weights import load_caffe_state  # noqa: E402

FILE = "vgg19-dcbb9e9d.pth"
_CLASSIFIER = {"classifier.0": (4096, 25088), "classifier.3": (4096, 4096), "classifier.6": (1000, 4096)}


def peer_state() -> dict[str, torch.Tensor]:
    caffe = load_caffe_state()
    state = {}
    for index, name in enumerate(LAYER_NAMES):
        if name.startswith("conv"):
            state[f"features.{index}.weight"] = caffe[f"{name}.weight"].float().clone()
            state[f"features.{index}.bias"] = caffe[f"{name}.bias"].float().clone()
    w, b = state["features.0.weight"], state["features.0.bias"]
    mean, std = torch.tensor(_IMAGENET_MEAN), torch.tensor(_IMAGENET_STD)
    caffe_mean = torch.tensor(_CAFFE_MEAN_BGR)
    w_rgb = w.flip(1)  # Caffe's input channels are BGR
    offset = 255 * mean - caffe_mean.flip(0)  # per RGB channel: what z holds when n = 0
    state["features.0.bias"] = b + (w_rgb * offset.view(1, 3, 1, 1)).sum(dim=(1, 2, 3))
    state["features.0.weight"] = w_rgb * (255 * std).view(1, 3, 1, 1)
    for key, shape in _CLASSIFIER.items():
        state[f"{key}.weight"] = torch.zeros(1).expand(*shape)
        state[f"{key}.bias"] = torch.zeros(1).expand(shape[0])
    return state


def write_peer_weights(torch_home: Path) -> Path:
    """Write the file into ``torch_home`` (use it as the peer's ``TORCH_HOME``)."""
    path = Path(torch_home) / "hub" / "checkpoints" / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(peer_state(), path)
    return path


if __name__ == "__main__":
    print(write_peer_weights(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/peer_torch_home")))
