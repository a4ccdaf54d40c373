"""Structured config schemas, registered in Hydra's ConfigStore.

The schemas give types (so ``size=big`` or ``foo=1`` fail with Hydra's message); the
values, i.e. every default, live in the YAML files under ``conf/``: every field here is
``MISSING``, so a key the YAML forgets fails when the config is composed. (The exception is
a parameterization schema's key added after checkpoints were made without it, such as
``hashgrid.antialias``: its schema default is what those checkpoints were trained with.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


class Pooling(Enum):
    """``model.pooling``: VGG-19's 2x2 poolings as max (the network's own) or average (Gatys et al. 2016's choice)."""

    max = "max"  #: max pooling (VGG-19 as trained)
    avg = "avg"  #: average pooling (smoother gradients)


@dataclass
class ZoomConfig:
    """Zoom training (:mod:`paramart.evaluation.zoom_training`)."""

    #: zoom factors a crop is drawn from (those above 1); null = no zoom training
    levels: list[float] | None = MISSING
    #: weight of the crop's style loss relative to the canvas's
    weight: float = MISSING


@dataclass
class PrintZoomConfig:
    """The print stage's zoom path (``print.zoom``): what ``paramart-render zoom.to=TO`` shows past the print."""

    #: magnification of the zoom animation to train for, past the print's own pixels; null = none
    to: float | None = MISSING
    #: width of the zoom's frames, px (``paramart-render width=``)
    frame: int = MISSING
    #: the point zoomed into, fractions of the width and height (``paramart-render zoom.center=``)
    center: list[float] = MISSING


@dataclass
class PrintConfig:
    """The print stage of a coordinate image (:mod:`paramart.evaluation.print_crops`)."""

    #: long side of ``print.png``, px; null = no print stage
    size: int | None = MISSING
    #: Adam steps of the print stage, after the canvas's ``steps``
    steps: int = MISSING
    #: side of each random crop, px of the print
    crop: int = MISSING
    #: crops scored per step
    crops: int = MISSING
    #: zoom levels between the canvas and the print that crops are drawn from (the last: the print)
    levels: int = MISSING
    #: the style image's long side at print scale, px; null = the style file's own
    style_size: int | None = MISSING
    #: weight of the anchor: each crop, averaged down to the canvas's pixels, must stay the canvas
    anchor: float = MISSING
    #: the zoom path past the print (levels of frame-size windows around ``center``)
    zoom: PrintZoomConfig = field(default_factory=PrintZoomConfig)


@dataclass
class ParamConfig:
    """Schema shared by all parameterizations (each registers a subclass, paramart/params/)."""

    #: the class to build, from the registry of parameterizations
    _target_: str = MISSING


@dataclass
class ModelConfig:
    """VGG-19 and how it runs (``conf/model/vgg19.yaml``; :class:`paramart.model.vgg.VGG19`)."""

    #: caffe | torchvision | path to a .pth state dict
    weights: str = MISSING
    #: max | avg: the 2x2 poolings
    pooling: Pooling = MISSING
    #: auto | caffe (BGR 0-255 minus mean) | imagenet (RGB mean/std)
    preprocess: str = MISSING
    #: auto | fp32 | bf16 (autocast for VGG; Gram matrices and losses stay float32)
    precision: str = MISSING
    #: auto (on CUDA) | true | false: NHWC memory layout for the convolutions
    channels_last: Any = MISSING
    #: false | true | reduce-overhead | max-autotune: torch.compile the feature extractor
    compile: Any = MISSING
    #: null | auto | N: evaluate the objective exactly in N px tiles (paramart/evaluation); auto: when
    #: the canvas would not fit memory_budget
    tile: Any = MISSING
    #: auto (80% of the device's free memory at the start) | GiB for activations, buffers and optimiser
    memory_budget: Any = MISSING


@dataclass
class OptimConfig:
    """Schema shared by the optimisers (the registry in :mod:`paramart.runner.optimizers`)."""

    _target_: str = MISSING
    #: learning rate (Adam: a step size in parameter units; L-BFGS: 1, a full quasi-Newton step)
    lr: float = MISSING


@dataclass
class AdamConfig(OptimConfig):
    """``conf/optim/adam.yaml``: :class:`torch.optim.Adam`."""

    #: (beta1, beta2): decay rates of the running mean of the gradient and of its square, each in [0, 1)
    betas: list[float] = MISSING


@dataclass
class LBFGSConfig(OptimConfig):
    """``conf/optim/lbfgs.yaml``: :class:`torch.optim.LBFGS`."""

    #: iterations per step; 1 so that a step is one L-BFGS iteration
    max_iter: int = MISSING
    #: closure evaluations allowed per step, line search included
    max_eval: int = MISSING
    #: (step, gradient change) pairs kept for the curvature estimate (memory: 2 canvas copies each)
    history_size: int = MISSING
    #: null (a fixed step of lr) | strong_wolfe (a line search, about 2 evaluations a step)
    line_search_fn: str | None = MISSING


@dataclass
class TimelapseConfig:
    """The time-lapse (``timelapse.gif``, optional ``timelapse.mp4``; :mod:`paramart.outputs.timelapse`)."""

    #: write the time-lapse at all
    enabled: bool = MISSING
    #: capture a frame every N steps; null = about `frames` frames over the run
    every: int | None = MISSING
    #: about how many frames when ``every`` is null
    frames: int = MISSING
    #: frames per second of the GIF and MP4
    fps: float = MISSING
    #: how long the finished image is held at the end of the loop
    hold_seconds: float = MISSING
    #: longest side of the frames in px (never upscaled)
    max_size: int = MISSING
    #: also write timelapse.mp4; null = when imageio-ffmpeg is installed
    mp4: bool | None = MISSING
    #: keep the frames/*.png (one per captured step, file times = when captured)
    keep_frames: bool = MISSING


@dataclass
class PreviewConfig:
    """The live preview page (paramart/outputs/preview.py)."""

    #: serve the page while the run goes (off: no server, no thread)
    enabled: bool = MISSING
    #: where to listen; anything but loopback needs allow_remote (and then a token in the URL)
    host: str = MISSING
    #: first port tried (the next free one if busy, up to 20 on); 0 = any free port
    port: int = MISSING
    #: seconds between the page's updates (and between preview frames)
    refresh: float = MISSING
    #: longest side of the preview frames in px
    max_size: int = MISSING
    #: serve other machines (needs the random token printed in the URL)
    allow_remote: bool = MISSING


@dataclass
class ScheduleConfig:
    """Coarse-to-fine (conf/schedule/, paramart/runner/schedule.py); null scales = one scale."""

    #: canvas sizes as fractions of ``size``, ascending, ending at 1 (e.g. [0.25, 0.5, 1])
    scales: list[float] | None = MISSING
    #: fraction of ``steps`` spent at each scale (normalised); null = equal
    shares: list[float] | None = MISSING


@dataclass
class TransformsConfig:
    """Random warps of the canvas before VGG at every evaluation (paramart/objectives/transforms.py)."""

    #: max shift in px
    jitter: float = MISSING
    #: scale factor drawn from [1 - scale, 1 + scale]
    scale: float = MISSING
    #: max rotation in degrees
    rotate: float = MISSING


@dataclass
class VideoTemporalConfig:
    #: weight of the temporal term (objective.temporal, paramart/objectives/terms/temporal.py); 0 = off;
    #: null = the method's own (100 for frames, 1000 for field)
    weight: float | None = MISSING
    #: video.method=frames: the earlier frames (1 = the previous) each frame follows where the flow
    #: from them is reliable, nearest first (Ruder et al. 2016's long-term loss, e.g. [1, 2, 5]);
    #: null = [1], the short-term term only
    long_term: list[int] | None = MISSING


@dataclass
class VideoFieldConfig:
    """``video.method=field`` (paramart/video/field.py): the field's form and how it is trained."""

    #: canonical (per shot one image, each frame its view along the input's flow) | spacetime (an (x, y, t) grid)
    form: str = MISSING

    #: form=canonical: cells per canvas pixel at the finest level (param.finest is then not used)
    finest_per_pixel: float = MISSING
    #: consecutive frames of one shot scored per step (the temporal term joins each pair)
    batch: int = MISSING
    #: form=spacetime: cells along a shot's time at the finest level (at most its frame intervals); the coarsest has 1
    time_cells: int = MISSING


@dataclass
class VideoConfig:
    """A clip as content= (paramart/video): which frames, how each is made, what is written."""

    #: frames (frame by frame with optical flow, Ruder et al. 2016) | field (one (x, y, t) hash grid for the clip)
    method: str = MISSING
    #: seconds into the clip of the first frame
    start: float = MISSING
    #: how many frames; null = to the end (at most max_frames)
    frames: int | None = MISSING
    #: frames per second taken from the clip (and of the output); null = the clip's own rate
    fps: float | None = MISSING
    #: clips with more frames are refused before decoding the rest
    max_frames: int = MISSING
    #: steps of each frame after the first (and after a cut); null = steps // 2
    later_steps: int | None = MISSING
    #: start each later frame from the previous result warped by the flow (false: from its content frame)
    warm_start: bool = MISSING
    temporal: VideoTemporalConfig = MISSING
    #: Ruder et al.'s multi-pass: passes over the clip, alternating direction (1 = forward only)
    passes: int = MISSING
    #: steps of each frame in the passes after the first; null = later_steps // 2
    pass_steps: int | None = MISSING
    #: a later pass starts each frame from pass_blend x its neighbour's result warped along the flow
    #: + (1 - pass_blend) x its own, where the flow is reliable (Ruder et al.'s delta)
    pass_blend: float = MISSING
    #: OpenCV DIS preset: ultrafast | fast | medium
    flow: str = MISSING
    #: a scene cut when fewer pixels than this fraction are reliable under the flow
    cut_reliable: float = MISSING
    #: ... or their mean photometric error (in [0, 1]) is above this
    cut_error: float = MISSING
    #: also write side_by_side.mp4/.gif (input | result)
    side_by_side: bool = MISSING
    #: write final.mp4 (H.264; needs the video extra's imageio-ffmpeg); null = when installed
    mp4: bool | None = MISSING
    #: video.method=field: frames per second of the output (slow motion above video.fps); null = the input's rate
    render_fps: float | None = MISSING
    #: video.method=field: longest side of the output frames, px; null = size
    render_size: int | None = MISSING
    field: VideoFieldConfig = MISSING


@dataclass
class Config:
    """The top-level schema of ``paramart`` (``conf/config.yaml``); :func:`paramart.runner.validate.validate`
    checks the values before any model loads."""

    #: content image: a path, sample:NAME, or null for texture synthesis
    content: str | None = MISSING
    #: style image(s): a path or sample:NAME, or a list of them
    style: Any = MISSING
    #: weights of several styles (normalised); null = equal
    style_blend: list[float] | None = MISSING
    #: one mask per style (built-in left|right|top|bottom|radial|outside|all, or an image file);
    #: each style then applies only in its region (guided Gram matrices); null = everywhere
    style_masks: list[str] | None = MISSING
    #: soft mask edges, as a fraction of the canvas's shorter side
    mask_feather: float = MISSING
    #: keep the content's colours: null | luminance | histogram
    preserve_color: str | None = MISSING
    #: longest side of the canvas in px
    size: int = MISSING
    #: optimisation steps in all (over every scale of the schedule; a cap under max_seconds)
    steps: int = MISSING
    #: seeds Python, NumPy and torch (noise init, latent vectors, random warps)
    seed: int = MISSING
    #: auto | cpu | cuda | cuda:N
    device: str = MISSING
    #: a losses.csv row every N steps (and at the last step)
    log_every: int = MISSING
    #: show tqdm's progress bar
    progress: bool = MISSING
    #: the parameterization (conf/param/*.yaml, each typed by its own schema, a ParamConfig)
    param: ParamConfig = MISSING
    #: VGG-19: weights, pooling, precision, tiling (conf/model/)
    model: ModelConfig = MISSING
    #: the optimiser (conf/optim/*.yaml, typed by AdamConfig or LBFGSConfig)
    optim: OptimConfig = MISSING
    #: named loss terms (conf/term/, each typed by its TermConfig schema) and style_scale; the
    #: node itself stays open (Any) so that ``+term@objective.NAME=KIND`` can add a term
    objective: Any = MISSING
    #: single | multiscale | print (conf/schedule/): the canvas sizes and steps of each stage
    schedule: ScheduleConfig = MISSING
    #: random warps before VGG (all 0: off)
    transforms: TransformsConfig = MISSING
    #: the time-lapse of the run
    timelapse: TimelapseConfig = MISSING
    #: the live preview page
    preview: PreviewConfig = MISSING
    #: zoom-consistent training of coordinate parameterizations (paramart/evaluation/zoom_training.py)
    zoom: ZoomConfig = MISSING
    #: a video file or folder of frames as content= (paramart/video)
    video: VideoConfig = MISSING
    #: the print stage of a coordinate image (paramart/evaluation/print_crops.py); print.size=null: none
    print: PrintConfig = MISSING
    # -- reliability (paramart.runner.state, paramart.io.images)
    #: input images with more pixels are refused before decoding (decompression bombs)
    max_input_pixels: int = MISSING
    #: save final.png + checkpoint.pt every N steps (0: only at the end or when stopped)
    checkpoint_every: int = MISSING
    #: a run folder (or checkpoint.pt) to continue from; steps= counts from its start
    resume: str | None = MISSING
    #: write into a run folder that already holds a run (replacing it); false: such a folder is refused
    overwrite: bool = False
    #: stop after this many seconds (from the start of the run) and save as if finished;
    #: null = no limit. With a schedule each scale gets its share of the time.
    max_seconds: float | None = MISSING


@dataclass
class GalleryConfig:
    """Schema of ``paramart-gallery`` (``conf/gallery.yaml``)."""

    #: run directories and/or sweep directories (a path or a list of paths)
    runs: Any = MISSING
    #: the folder the site is written to
    out: str = MISSING
    #: the site's heading
    title: str = MISSING
    #: the line under the heading; empty: "N pieces made with paramart"
    intro: str = MISSING


def store_schemas() -> None:
    """Put the top-level, gallery and model schemas in Hydra's ConfigStore (the
    parameterizations, terms and optimisers store their own through their registries when
    their modules are imported: :func:`paramart.api.register_configs` does both)."""
    cs = ConfigStore.instance()
    cs.store(name="paramart_schema", node=Config)
    cs.store(name="gallery_schema", node=GalleryConfig)
    cs.store(group="model", name="model_schema", node=ModelConfig)
    cs.store(group="schedule", name="schedule_schema", node=ScheduleConfig)
