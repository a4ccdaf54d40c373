"""VGG-19's layers by name (``conv1_1`` ... ``pool5``), in network order."""

from __future__ import annotations

from paramart.errors import ParamartError

#: convolutions per block in VGG-19
_BLOCKS = (2, 2, 4, 4, 4)


def _layer_names() -> list[str]:
    names = []
    for block, convs in enumerate(_BLOCKS, start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return names


LAYER_NAMES: tuple[str, ...] = tuple(_layer_names())
CONV_LAYERS: tuple[str, ...] = tuple(n for n in LAYER_NAMES if n.startswith("conv"))
_CHANNELS = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}


def channel_count(layer: str) -> int:
    """How many channels ``layer`` has (64 in block 1 ... 512 in blocks 4 and 5).

    Raises :class:`ParamartError` for an unknown layer name."""
    check_layers([layer])
    block = next(ch for ch in layer if ch.isdigit())  # conv3_2 -> 3, pool5 -> 5
    return _CHANNELS[int(block)]


def check_layers(layers) -> None:
    """Raise :class:`ParamartError` for a name in ``layers`` that is not a VGG-19 layer."""
    for name in layers:
        if name not in LAYER_NAMES:
            raise ParamartError(
                f"unknown VGG-19 layer {name!r}; use names like conv4_2, relu3_1 or pool5"
            )


def deepest(layers) -> str:
    """The deepest of the given layer names, which is where the network can stop."""
    layers = list(layers)
    check_layers(layers)
    return max(layers, key=LAYER_NAMES.index)
