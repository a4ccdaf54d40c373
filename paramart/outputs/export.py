"""``paramart-render``: re-render a finished run from its ``checkpoint.pt`` at any size.

    paramart-render run=outputs/DATE/TIME width=7680 height=4320 out=big.png

What a larger render holds depends on the parameterization (each says so in its
``resampling``): CPPN and Fourier-CPPN are functions of position, evaluated at every pixel of
the new size, tile by tile, into an 8-bit array (memory: the uint8 image plus one tile's
activations); an FFT spectrum is resampled (band-limited, smooth, no new detail); pixels can
only be resized. The render is written atomically.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import hydra
import numpy as np
import torch
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from PIL import Image
from tqdm.auto import tqdm

from paramart.runner.checkpoint import load_checkpoint, param_from_checkpoint
from paramart.errors import ParamartError
from paramart.io.images import save_image
from paramart.params.base import Parameterization

FORMATS = (".png", ".jpg", ".jpeg")


@dataclass
class RenderConfig:
    #: the run directory (or its checkpoint.pt)
    run: str = MISSING
    #: output size in px; one of them null keeps the training canvas's aspect, both null its size
    width: int | None = None
    height: int | None = None
    #: output file (.png or .jpg); null: RUN/render_WxH.png
    out: str | None = None
    #: side of the square tiles CPPNs are evaluated in (memory grows with tile^2)
    tile: int = MISSING
    #: auto | cpu | cuda | cuda:N
    device: str = MISSING
    progress: bool = MISSING


def output_size(train_size: tuple[int, int], width: int | None, height: int | None) -> tuple[int, int]:
    """(height, width) asked for; a missing side follows the training canvas's aspect ratio."""
    h0, w0 = train_size
    if width is None and height is None:
        return h0, w0
    if height is None:
        height = max(1, round(width * h0 / w0))
    if width is None:
        width = max(1, round(height * w0 / h0))
    if width < 1 or height < 1:
        raise ParamartError(f"width={width} height={height}: both must be at least 1 px")
    return height, width


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    return image[0].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()


def render_array(param: Parameterization, size: tuple[int, int], tile: int = 256,
                 progress: bool = False) -> np.ndarray:
    """(height, width, 3) uint8 render. Tileable parameterizations are evaluated tile by tile,
    so no float image of the whole size is ever held."""
    h, w = size
    if not param.tileable:
        return _to_uint8(param.render(size))
    if tile < 1:
        raise ParamartError(f"tile={tile} must be at least 1")
    out = np.empty((h, w, 3), dtype=np.uint8)
    tiles = [(top, left) for top in range(0, h, tile) for left in range(0, w, tile)]
    for top, left in tqdm(tiles, disable=not progress, unit="tile", dynamic_ncols=True):
        th, tw = min(tile, h - top), min(tile, w - left)
        out[top : top + th, left : left + tw] = _to_uint8(param.render_region(size, top, left, th, tw))
    return out


def render(run: str | Path, width: int | None = None, height: int | None = None, out: str | Path | None = None,
           *, tile: int = 256, device: str = "cpu", progress: bool = False, log=None) -> Path:
    """Render the run's learned image at (width, height) into ``out``; returns the path."""
    from paramart.runner.plan import resolve_device

    ckpt = load_checkpoint(run)
    param = param_from_checkpoint(ckpt).to(resolve_device(device)).eval()
    size = output_size(param.size, width, height)
    run_dir = Path(run) if Path(run).is_dir() else Path(run).parent
    path = Path(out) if out is not None else run_dir / f"render_{size[1]}x{size[0]}.png"
    if path.suffix.lower() not in FORMATS:
        raise ParamartError(f"out={path}: give a .png or .jpg file name")
    if not path.parent.is_dir():
        raise ParamartError(f"out={path}: the folder {path.parent} does not exist")
    if log is not None and size != param.size:
        h0, w0 = param.size
        log(f"{type(param).__name__} learned at {w0}x{h0}: {param.resampling}")
    array = render_array(param, size, tile, progress)
    save_image(Image.fromarray(array), path)
    return path


@hydra.main(version_base="1.3", config_path="pkg://paramart.conf", config_name="render")
def _render(cfg: DictConfig) -> None:
    def log(message: str) -> None:
        print(f"paramart-render: {message}", file=sys.stderr)

    def fail(message: str) -> None:
        log(f"error: {message}")
        sys.exit(2)

    if OmegaConf.is_missing(cfg, "run"):
        fail("which run? give run=RUN_DIR (a paramart output folder with checkpoint.pt)")
    try:
        path = render(cfg.run, cfg.width, cfg.height, cfg.out, tile=cfg.tile, device=cfg.device,
                      progress=cfg.progress, log=log)
    except ParamartError as exc:
        fail(str(exc))
    with Image.open(path) as im:
        log(f"wrote {path} ({im.width}x{im.height})")


def main() -> None:
    """``paramart-render``: re-render a run at any resolution."""
    import paramart.params  # noqa: F401  (each parameterization registers its schema)

    ConfigStore.instance().store(name="render_schema", node=RenderConfig)
    _render()
