"""Optical flow between consecutive frames, its reliability, and scene cuts.

The flow is OpenCV's DIS (Kroeger et al. 2016, "Fast Optical Flow using Dense Inverse
Search"): dense, offline, a few milliseconds per frame on a CPU. Conventions: a flow is a
(H, W, 2) float32 array of (dx, dy) in pixels; ``backward[k]`` maps each pixel of frame k to
where it was in frame k-1, so ``warp(image_{k-1}, backward[k])`` lines frame k-1 up with frame k.

Reliability follows Ruder, Dosovitskiy & Brox (2016, "Artistic style transfer for videos",
sec. 3.1), after Sundaram, Brox & Keutzer (2010): a pixel is *disoccluded* where the forward
and backward flows do not cancel,

    |w_b + w_f(x + w_b)|^2 > 0.01 (|w_b|^2 + |w_f(x + w_b)|^2) + 0.5,

and on a *motion boundary* where the backward flow changes fast,

    |grad u|^2 + |grad v|^2 > 0.01 |w_b|^2 + 0.002.

The weight ``c`` (1 reliable, 0 not) masks the temporal loss there. A *scene cut* is declared
when the flow explains too little of the frame (too few reliable pixels, or a large photometric
error where it claims to be reliable): the temporal term lets go, and the frame starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: DIS presets by name (ultrafast is coarse; medium is about 4x slower and finer)
PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
           "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


def to_gray(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB or float in [0, 1] -> (H, W) uint8 luminance, as DIS wants."""
    if frame.dtype != np.uint8:
        frame = np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def flow(source: np.ndarray, target: np.ndarray, preset: str = "medium") -> np.ndarray:
    """Dense flow from ``source`` to ``target`` (each (H, W, 3) RGB): for each pixel of
    ``source``, the (dx, dy) in px to where it is in ``target``; (H, W, 2) float32."""
    dis = cv2.DISOpticalFlow_create(PRESETS[preset])
    out = dis.calc(to_gray(source), to_gray(target), None)
    return out.astype(np.float32)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


def warp(image: np.ndarray, flow_field: np.ndarray) -> np.ndarray:
    """``image`` (H, W, C) sampled at ``x + flow(x)`` (bilinear; outside the frame: the
    nearest border pixel, marked unreliable by :func:`reliability`)."""
    h, w = flow_field.shape[:2]
    xs, ys = _grid(h, w)
    return cv2.remap(np.ascontiguousarray(image, dtype=np.float32), xs + flow_field[..., 0],
                     ys + flow_field[..., 1], interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def reliability(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """The weight ``c`` of Ruder et al. (eq. above): (H, W) float32, 1 where frame k's pixel
    is reliably seen in frame k-1, 0 where disoccluded, on a motion boundary or outside.

    ``backward`` is the flow k -> k-1, ``forward`` the flow k-1 -> k, both (H, W, 2)."""
    h, w = backward.shape[:2]
    xs, ys = _grid(h, w)
    fw_at = warp(forward, backward)  # w_f(x + w_b(x))
    total = backward + fw_at
    sq = lambda v: (v ** 2).sum(-1)  # noqa: E731
    occluded = sq(total) > 0.01 * (sq(backward) + sq(fw_at)) + 0.5
    du = np.stack(np.gradient(backward[..., 0]), -1)
    dv = np.stack(np.gradient(backward[..., 1]), -1)
    boundary = sq(du) + sq(dv) > 0.01 * sq(backward) + 0.002
    px, py = xs + backward[..., 0], ys + backward[..., 1]
    outside = (px < 0) | (py < 0) | (px > w - 1) | (py > h - 1)
    return (~(occluded | boundary | outside)).astype(np.float32)


@dataclass(frozen=True)
class Motion:
    """What the flow says about one pair of consecutive frames, k-1 -> k."""

    backward: np.ndarray  #: (H, W, 2) flow k -> k-1, px
    forward: np.ndarray  #: (H, W, 2) flow k-1 -> k, px
    weight: np.ndarray  #: (H, W) reliability c in {0, 1}
    reliable: float  #: fraction of reliable pixels
    error: float  #: mean |warped frame k-1 - frame k| over reliable pixels, in [0, 1] units
    cut: bool  #: a scene cut: the temporal term lets go


def motion(previous: np.ndarray, current: np.ndarray, preset: str = "medium", cut_reliable: float = 0.3,
           cut_error: float = 0.1) -> Motion:
    """Flows, weight and cut decision between two RGB frames (H, W, 3) in [0, 1] (float) or uint8.

    A cut is declared when fewer than ``cut_reliable`` of the pixels are reliable or the
    mean photometric error over them is above ``cut_error`` (in [0, 1] units): measured on the
    shared city clip at 128 px (frames 100-123), its real cut has 5% reliable pixels and an
    error of 0.20, the other pairs 83-97% and at most 0.017."""
    prev = previous.astype(np.float32) / 255.0 if previous.dtype == np.uint8 else previous.astype(np.float32)
    cur = current.astype(np.float32) / 255.0 if current.dtype == np.uint8 else current.astype(np.float32)
    backward = flow(cur, prev, preset)
    forward = flow(prev, cur, preset)
    weight = reliability(backward, forward)
    reliable = float(weight.mean())
    diff = np.abs(warp(prev, backward) - cur).mean(-1)
    error = float((diff * weight).sum() / max(weight.sum(), 1.0)) if reliable > 0 else 1.0
    return Motion(backward, forward, weight, reliable, error, reliable < cut_reliable or error > cut_error)
