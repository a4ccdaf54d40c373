"""Structured config schemas, registered in Hydra's ConfigStore.

The schemas give types (so ``size=big`` or ``foo=1`` fail with Hydra's message); the
values, i.e. every default, live in the YAML files under ``conf/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


class Pooling(Enum):
    max = "max"
    avg = "avg"


@dataclass
class ModelConfig:
    #: caffe | torchvision | path to a .pth state dict
    weights: str = MISSING
    pooling: Pooling = MISSING
    #: auto | caffe (BGR 0-255 minus mean) | imagenet (RGB mean/std)
    preprocess: str = MISSING


@dataclass
class ObjectiveConfig:
    content_weight: float = MISSING
    style_weight: float = MISSING
    tv_weight: float = MISSING
    content_layers: list[str] = MISSING
    style_layers: list[str] = MISSING
    #: per-layer weights, same length as the layers; null means equal weights summing to 1
    content_layer_weights: list[float] | None = None
    style_layer_weights: list[float] | None = None
    #: style image size relative to the canvas (larger = larger brush strokes)
    style_scale: float = MISSING


@dataclass
class OptimConfig:
    _target_: str = MISSING
    _partial_: bool = True
    lr: float = MISSING


@dataclass
class AdamConfig(OptimConfig):
    betas: list[float] = MISSING


@dataclass
class LBFGSConfig(OptimConfig):
    #: iterations per step; 1 so that a step is one L-BFGS iteration
    max_iter: int = MISSING
    #: closure evaluations allowed per step, line search included
    max_eval: int = MISSING
    history_size: int = MISSING
    line_search_fn: str | None = MISSING


@dataclass
class TimelapseConfig:
    enabled: bool = MISSING
    #: capture a frame every N steps; null = about `frames` frames over the run
    every: int | None = MISSING
    frames: int = MISSING
    fps: float = MISSING
    #: how long the finished image is held at the end of the loop
    hold_seconds: float = MISSING
    #: longest side of the frames in px (never upscaled)
    max_size: int = MISSING
    #: also write timelapse.mp4; null = when imageio-ffmpeg is installed
    mp4: bool | None = MISSING


@dataclass
class Config:
    #: content image: a path, sample:NAME, or null for texture synthesis
    content: str | None = MISSING
    #: style image(s): a path or sample:NAME, or a list of them
    style: Any = MISSING
    #: weights of several styles (normalised); null = equal
    style_blend: list[float] | None = None
    #: longest side of the canvas in px
    size: int = MISSING
    steps: int = MISSING
    seed: int = MISSING
    #: auto | cpu | cuda | cuda:N
    device: str = MISSING
    log_every: int = MISSING
    progress: bool = MISSING
    # the param and optim groups carry their own schemas (conf/param/*.yaml)
    param: Any = MISSING
    model: ModelConfig = MISSING
    optim: Any = MISSING
    objective: ObjectiveConfig = MISSING
    timelapse: TimelapseConfig = MISSING
    # -- reliability (paramart.runstate, paramart.images)
    #: input images with more pixels are refused before decoding (decompression bombs)
    max_input_pixels: int = MISSING
    #: save final.png + checkpoint.pt every N steps (0: only at the end or when stopped)
    checkpoint_every: int = MISSING
    #: a run folder (or checkpoint.pt) to continue from; steps= counts from its start
    resume: str | None = MISSING


@dataclass
class GalleryConfig:
    #: run directories and/or sweep directories (a path or a list of paths)
    runs: Any = MISSING
    out: str = MISSING
    title: str = MISSING
    intro: str = MISSING


def register_configs() -> None:
    import paramart.params  # noqa: F401  (each parameterization registers its schema)

    cs = ConfigStore.instance()
    cs.store(name="paramart_schema", node=Config)
    cs.store(name="gallery_schema", node=GalleryConfig)
    cs.store(group="model", name="model_schema", node=ModelConfig)
    cs.store(group="objective", name="objective_schema", node=ObjectiveConfig)
    cs.store(group="optim", name="adam_schema", node=AdamConfig)
    cs.store(group="optim", name="lbfgs_schema", node=LBFGSConfig)
