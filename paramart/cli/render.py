"""``paramart-render``: the command line over :func:`paramart.outputs.export.render`.

    paramart-render run=outputs/DATE/TIME width=7680 height=4320 out=big.png
    paramart-render run=outputs/DATE/TIME width=480 zoom.to=64 zoom.frames=96 out=zoom.gif

Its config is ``conf/render.yaml`` over the :class:`RenderConfig` schema.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf
from PIL import Image

from paramart.cli.exits import fail as exit_with
from paramart.errors import ParamartError
from paramart.outputs.export import check_render, render


@dataclass
class ZoomAnimationConfig:
    """Schema of ``paramart-render``'s ``zoom.*`` (:mod:`paramart.outputs.zoom_animation`)."""

    #: final magnification (e.g. 64); null: render a still image
    to: float | None = None
    #: frames of the animation, and their rate
    frames: int = 48
    #: frames per second of the GIF
    fps: float = 12.0
    #: the point zoomed into, as fractions of the width and height
    center: list[float] = field(default_factory=lambda: [0.5, 0.5])


@dataclass
class RenderConfig:
    """Schema of ``paramart-render`` (``conf/render.yaml``): re-render a finished run at any size."""

    #: the run directory (or its checkpoint.pt)
    run: str = MISSING
    #: output size in px; one of them null keeps the training canvas's aspect, both null its size
    width: int | None = None
    #: output height in px (see width)
    height: int | None = None
    #: output file (.png or .jpg); null: RUN/render_WxH.png
    out: str | None = None
    #: side of the square tiles CPPNs are evaluated in (memory grows with tile^2)
    tile: int = MISSING
    #: periodic runs: the image repeated repeat x repeat times (a seamless tile, tiled)
    repeat: int = 1
    #: zoom animation (paramart/outputs/zoom_animation.py): zoom.to = final magnification, null = a still image
    zoom: ZoomAnimationConfig = field(default_factory=lambda: ZoomAnimationConfig())
    #: renders with more pixels are refused before anything is allocated (16384 x 16384 by default)
    max_pixels: int = 2**28
    #: auto | cpu | cuda | cuda:N
    device: str = MISSING
    #: show a progress bar over the tiles and frames
    progress: bool = MISSING
    #: true: out= may replace a run's own file (final.png, checkpoint.pt ...); false: refused
    overwrite: bool = MISSING


@hydra.main(version_base="1.3", config_path="pkg://paramart.conf", config_name="render")
def _render(cfg: DictConfig) -> None:
    def log(message: str) -> None:
        print(f"paramart-render: {message}", file=sys.stderr)

    def fail(message: str) -> None:
        exit_with(message, "paramart-render")

    if OmegaConf.is_missing(cfg, "run"):
        fail("which run? give run=RUN_DIR (a paramart output folder with checkpoint.pt)")
    try:
        check_render(cfg)  # every key first: a bad zoom.fps must not fail after the frames were rendered
        path = render(cfg.run, cfg.width, cfg.height, cfg.out, tile=cfg.tile, device=cfg.device,
                      progress=cfg.progress, log=log, zoom=cfg.zoom, repeat=cfg.repeat, max_pixels=cfg.max_pixels,
                      overwrite=cfg.overwrite)
    except ParamartError as exc:
        fail(str(exc))
    if path.suffix.lower() == ".mp4":
        log(f"wrote {path}")
        return
    with Image.open(path) as im:
        frames = getattr(im, "n_frames", 1)
        log(f"wrote {path} ({im.width}x{im.height}{f', {frames} frames' if frames > 1 else ''})")


def main() -> None:
    """``paramart-render``: re-render a run at any resolution."""
    import paramart.params  # noqa: F401  (each parameterization registers its schema)

    ConfigStore.instance().store(name="render_schema", node=RenderConfig)
    _render()
