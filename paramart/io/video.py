"""Reading a clip: a video file (decoded by PyAV, FFmpeg's bindings) or a folder of frames.

:func:`is_video` says whether a ``content=`` value names a clip; :func:`read_clip` decodes the
frames asked for (``video.start`` seconds in, ``video.frames`` of them at ``video.fps``) as
8-bit RGB PIL images. Everything that can go wrong with the input (a damaged or empty file,
no video stream, a clip over the frame or pixel budget) is one :class:`ParamartError` line,
raised before any model loads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from paramart.errors import ParamartError
from paramart.io.images import load_image

#: file endings read as video (animated GIFs too, when they hold more than one frame)
VIDEO_SUFFIXES = (".mp4", ".m4v", ".webm", ".mkv", ".mov", ".avi", ".mpg", ".mpeg", ".m2v", ".ts", ".ogv", ".gif")
#: file endings read as frames in a folder, in name order
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
#: a folder of frames has no rate of its own: this one unless video.fps says otherwise
FOLDER_FPS = 25.0


@dataclass(frozen=True)
class Clip:
    frames: tuple[Image.Image, ...]  #: 8-bit RGB, all the same size
    fps: float  #: frames per second of ``frames``
    source: str
    start: float  #: seconds into the source of the first frame


def _is_animated_gif(path: Path) -> bool:
    try:
        with Image.open(path) as im:
            return getattr(im, "n_frames", 1) > 1
    except Exception:
        return False  # not readable as a GIF: left to the image reader's message


def is_video(spec: object) -> bool:
    """Whether ``content=spec`` names a clip: a folder, or a file with a video ending
    (a GIF only when animated)."""
    if not isinstance(spec, str | Path) or str(spec).startswith("sample:"):
        return False
    path = Path(str(spec)).expanduser()
    try:
        if path.is_dir():
            return True
        suffix = path.suffix.lower()
        if suffix == ".gif":
            return path.is_file() and _is_animated_gif(path)
        return suffix in VIDEO_SUFFIXES
    except (OSError, ValueError):
        return False


def _check_budget(count: int, width: int, height: int, spec: str, max_frames: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise ParamartError(f"the frames of {spec} are {width}x{height} px, over max_input_pixels={max_pixels}; "
                            "shrink the video, or raise max_input_pixels= if you trust it")
    if count > max_frames:
        raise ParamartError(f"{spec}: {count} frames asked for, over video.max_frames={max_frames}; "
                            "give video.frames= (and video.start=) for a part of it, or raise video.max_frames=")


def _wanted_times(start: float, count: int | None, fps: float, duration: float | None) -> list[float] | None:
    if count is None:
        if duration is None:
            return None
        count = max(0, math.floor((duration - start) * fps + 1e-6))
    return [start + i / fps for i in range(count)]


def _read_file(path: Path, spec: str, start: float, count: int | None, fps: float | None,
               max_frames: int, max_pixels: int) -> Clip:
    import av  # PyAV: FFmpeg's demuxers and decoders (MPEG-1/2/4, H.264/5, VP8/9, AV1, GIF ...)

    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise ParamartError(f"cannot read video {spec}: {exc.strerror or type(exc).__name__}; the file is damaged, "
                            "incomplete or not a video, re-export or re-download it") from None
    with container:
        if not container.streams.video:
            raise ParamartError(f"{spec} has no video stream; give a video file or a folder of frames")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        rate = float(stream.average_rate or stream.guessed_rate or 0) or FOLDER_FPS
        fps = float(fps or rate)
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1e6
        times = _wanted_times(start, count, fps, duration)
        _check_budget(len(times) if times is not None else 0, max(width, 1), max(height, 1), spec,
                      max_frames, max_pixels)
        frames = _pick(container, stream, spec, start, times, fps, rate,
                       lambda n, w, h: _check_budget(n, w, h, spec, max_frames, max_pixels))
    if not frames:
        raise ParamartError(f"{spec}: no frames decoded from video.start={start:g} s on; the file is empty or "
                            "shorter than that, give an earlier video.start=")
    if count is not None and len(frames) < count:
        raise ParamartError(f"{spec}: only {len(frames)} frames from video.start={start:g} s at {fps:g} fps, "
                            f"not video.frames={count}; give fewer frames or an earlier start")
    return Clip(tuple(frames), fps, spec, start)


def _pick(container, stream, spec: str, start: float, times: list[float] | None, fps: float, rate: float,
          check) -> list[Image.Image]:
    """The frame shown at each wanted instant: the last one whose timestamp is not after it
    (half a source frame of slack), so ``video.fps`` resamples any source rate."""
    import av

    def want(i: int) -> float:
        return times[i] if times is not None else start + i / fps

    n = len(times) if times is not None else math.inf
    frames: list[Image.Image] = []
    slack = 0.5 / rate
    prev, t, t0 = None, 0.0, None
    try:
        for frame in container.decode(stream):
            t = float(frame.pts * stream.time_base) if frame.pts is not None else len(frames) / rate
            t0 = t if t0 is None else t0
            t -= t0  # streams may start at a non-zero timestamp (MPEG's 0.5 s)
            if frame.width * frame.height > 0:
                check(len(frames), frame.width, frame.height)
            while len(frames) < n and prev is not None and t > want(len(frames)) + slack:
                frames.append(prev.to_image().convert("RGB") if not isinstance(prev, Image.Image) else prev)
                prev = frames[-1]
                check(len(frames), frame.width, frame.height)
            if len(frames) >= n:
                break
            prev = frame
    except av.error.FFmpegError as exc:
        if not frames and prev is None:
            raise ParamartError(f"cannot read video {spec}: {exc.strerror or type(exc).__name__}; the file is "
                                "damaged or incomplete, re-export or re-download it") from None
        # a cut-off file: keep what decoded, as players do (a short clip is refused by the caller)
    while prev is not None and len(frames) < n and want(len(frames)) <= t + slack:
        frames.append(prev.to_image().convert("RGB") if not isinstance(prev, Image.Image) else prev)
        prev = frames[-1]
    return frames


def _read_folder(path: Path, spec: str, start: float, count: int | None, fps: float | None,
                 max_frames: int, max_pixels: int) -> Clip:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and p.is_file())
    if not files:
        raise ParamartError(f"{spec} is a folder with no frames in it ({', '.join(FRAME_SUFFIXES)})")
    fps = float(fps or FOLDER_FPS)
    first = round(start * FOLDER_FPS)
    picked = files[first:]
    # video.fps on a folder: every FOLDER_FPS / fps-th file (the folder counts as FOLDER_FPS)
    stride = FOLDER_FPS / fps
    picked = [picked[int(i * stride)] for i in range(int(len(picked) / stride))] if stride != 1 else picked
    if count is not None:
        if len(picked) < count:
            raise ParamartError(f"{spec}: only {len(picked)} frames from video.start={start:g} s, "
                                f"not video.frames={count}")
        picked = picked[:count]
    if not picked:
        raise ParamartError(f"{spec}: no frames from video.start={start:g} s on; give an earlier video.start=")
    _check_budget(len(picked), 1, 1, spec, max_frames, max_pixels)
    frames = tuple(load_image(str(p), max_pixels) for p in picked)
    if len({f.size for f in frames}) > 1:
        sizes = sorted({f"{f.width}x{f.height}" for f in frames})
        raise ParamartError(f"{spec}: the frames differ in size ({', '.join(sizes[:3])}); give frames of one size")
    return Clip(frames, fps, spec, start)


def read_clip(spec: str, *, start: float = 0.0, frames: int | None = None, fps: float | None = None,
              max_frames: int = 600, max_pixels: int = 175_000_000) -> Clip:
    """The frames of a video file or a folder of frames.

    ``start`` seconds in (>= 0), ``frames`` of them (None: to the end, at most ``max_frames``),
    at ``fps`` frames per second (None: the source's rate; 25 for a folder). Raises
    :class:`ParamartError` (one line naming the file) for a missing, empty, damaged or
    stream-less file, a clip shorter than asked, or one over ``max_frames`` / ``max_pixels``.
    """
    path = Path(str(spec)).expanduser()
    try:
        if not path.exists():
            raise ParamartError(f"video not found: {spec} (give a video file or a folder of frames)")
        if path.is_dir():
            return _read_folder(path, spec, start, frames, fps, max_frames, max_pixels)
        if not path.is_file():
            raise ParamartError(f"{spec} is not a regular file; give a video file")
        if path.stat().st_size == 0:
            raise ParamartError(f"{spec} is empty (0 bytes); give a video file, re-export it if it was cut off")
    except OSError as exc:
        raise ParamartError(f"cannot access {spec!r}: {exc.strerror or exc}; check the path") from None
    return _read_file(path, spec, start, frames, fps, max_frames, max_pixels)
