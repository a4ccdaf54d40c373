"""Frame by frame with optical flow (Ruder, Dosovitskiy & Brox 2016, "Artistic style transfer
for videos"): ``video.method=frames``.

Frame 0 (and the first frame after a scene cut) is styled as a still, with ``steps``. Frame k
starts from frame k-1's result warped along the backward flow (disoccluded pixels from frame
k's content, ``video.warm_start``) and adds the short-term temporal term (the masked squared
difference to that warped result, :mod:`paramart.objectives.terms.temporal`,
``video.temporal.weight``) with ``video.later_steps``, fewer, as it starts close.

With ``video.passes`` > 1 (Ruder et al.'s multi-pass, sec. 3.3), the clip is then passed over
again, backward and forward in turn: each frame starts from ``pass_blend`` times its neighbour's
result (the frame just before it in the pass's direction) warped along the flow plus the rest
of its own last result, where the flow is reliable (its own result elsewhere), and runs
``video.pass_steps`` steps with the short-term temporal term to that neighbour. A pass's first
frame, and a frame whose neighbour is across a scene cut, start from their own result alone.
Information then flows both ways along the clip, and the first frames of a shot are no longer
the ones every later frame had to follow.

Each frame is one run of the still pipeline (:func:`paramart.runner.plan.make_plan` and
:func:`paramart.runner.session.run_stages`) with the frame as content, the warped result as
its start (``Plan.init``) and the temporal target as a guide (``Plan.guides``). The previous
result is always read back from its saved 8-bit PNG, so a run stopped after frame k and
resumed (``resume=RUN``) computes frame k+1 from exactly what an unstopped run would.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf, open_dict
from PIL import Image

from paramart.io.images import load_image, save_image, to_pil
from paramart.model.vgg import VGG19
from paramart.objectives.objective import term_configs
from paramart.objectives.terms.temporal import TemporalConfig
from paramart.runner.events import Observer
from paramart.runner.plan import Plan, make_plan
from paramart.runner.session import run_stages
from paramart.runner.signals import Interrupted, stop_requested
from paramart.video import output
from paramart.video.flow import Motion, motion, warp
from paramart.video.setup import VideoPlan


class VideoInterrupted(Interrupted):
    """A video run stopped on a signal; every finished frame is kept in ``out_dir/frames``.

    ``frame`` counts the frame passes finished (the frames, in the first pass); ``frames`` is
    the clip's length, so a stop in a later pass says which pass and frame it stopped at."""

    def __init__(self, signal_name: str, frame: int, out_dir: Path | None, frames: int | None = None,
                 where: tuple[int, int] | None = None):
        super().__init__(signal_name, frame, out_dir, saved=out_dir is not None and frame > 0)
        self.frame, self.frames, self.where = frame, frames, where

    def message(self) -> str:
        if self.out_dir is None or self.frame == 0:
            return f"{self.signal_name} at frame 0: no frame was finished, nothing was saved"
        go_on = f"continue with: paramart resume={self.out_dir}"
        if self.where is not None and self.frames is not None and self.frame >= self.frames:
            p, k = self.where
            return (f"{self.signal_name} in pass {p} at frame {k}: kept all {self.frames} frames, as refined so "
                    f"far, in {self.out_dir}/{output.FRAMES}; {go_on}")
        return f"{self.signal_name} at frame {self.frame}: kept frames 0-{self.frame - 1} in " \
               f"{self.out_dir}/{output.FRAMES}; {go_on}"


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def frame_config(cfg: DictConfig, steps: int, temporal: bool, weight: float = 0.0) -> DictConfig:
    """The still run of one frame: its steps, no resume (the video resumes by frames), the
    temporal term (of ``weight``) placed as ``objective.temporal`` unless the user placed one."""
    one = cfg.copy()
    with open_dict(one):
        one.steps = steps
        one.resume = None
        one.content = None  # the frame is passed as an image
        one.max_seconds = None
        if temporal and "temporal" not in term_configs(one.objective):
            node = OmegaConf.structured(TemporalConfig(weight=float(weight)))
            one.objective.temporal = node
    return one


def as_array(image: Image.Image | torch.Tensor) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1]."""
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return image[0].permute(1, 2, 0).float().numpy()


def as_tensor(array: np.ndarray) -> torch.Tensor:
    """(H, W, C) -> (1, C, H, W)."""
    if array.ndim == 2:
        array = array[..., None]
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).unsqueeze(0).float().contiguous()


def warm_start(previous: np.ndarray, content: np.ndarray, move: Motion) -> tuple[np.ndarray, np.ndarray]:
    """(start, target): the previous result warped along the backward flow, and the start
    with disoccluded pixels (weight 0) taken from the content frame (Ruder et al. sec. 3.1)."""
    warped = np.clip(warp(previous, move.backward), 0.0, 1.0)
    c = move.weight[..., None]
    return c * warped + (1 - c) * content, warped


def long_term_target(results: Mapping[int, np.ndarray], contents: Mapping[int, np.ndarray], k: int,
                     gaps: Sequence[int], first: int, move: Motion,
                     preset: str = "medium") -> tuple[np.ndarray, np.ndarray]:
    """(target, weight) of frame ``k``'s temporal term over the earlier frames ``k - j`` for
    ``j`` in ``gaps`` (ascending; none before the shot's ``first`` frame): Ruder et al.'s (2016,
    eq. 7-8) long-term loss, where each pixel follows the nearest earlier frame whose flow to
    frame ``k`` is reliable there, ``c_long(k-j) = max(c(k-j) - sum of the nearer ones' c, 0)``.
    The weights of a pixel sum to 0 or 1, so the sum of the masked squared errors is one masked
    error against the weighted target. ``results``/``contents``: (H, W, 3) arrays in [0, 1] by
    frame index (those of ``k`` and the frames ``k - j``); ``move`` is the motion k-1 -> k (reused for ``j = 1``).
    Returns ((H, W, 3), (H, W)) float32."""
    h, w = contents[k].shape[:2]
    target, covered = np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.float32)
    for j in gaps:
        if k - j < first:
            break
        m = move if j == 1 else motion(contents[k - j], contents[k], preset)
        c = np.clip(m.weight - covered, 0.0, 1.0)
        target += c[..., None] * np.clip(warp(results[k - j], m.backward), 0.0, 1.0)
        covered += c
    return target, covered


class FrameRunner:
    """Styles a clip's frames in order, writing each as it is finished."""

    def __init__(self, video: VideoPlan, vgg: VGG19, out: Path | None, observers: Sequence[Observer] = (),
                 say: Callable[[str], None] | None = None, styles: Sequence[Image.Image] | None = None):
        self.video, self.vgg, self.out, self.observers = video, vgg, out, observers
        self.styles = list(styles) if styles else None  # decoded once, by the first frame's plan
        self.cfg = video.cfg
        self.say = say or (lambda text: print(text, file=sys.stderr) if self.cfg.progress else None)
        self.log = output.FrameLog(out, video.terms)
        self.results: list[Image.Image] = []
        self.cuts: list[int] = []
        self.seconds: list[float] = []

    def units(self) -> list[tuple[int, int]]:
        """(pass, frame) in the order they are styled: the first pass forward, then
        ``video.passes - 1`` more, backward and forward in turn."""
        n = len(self.video.frames)
        order = [(1, k) for k in range(n)]
        for p in range(2, int(self.cfg.video.passes) + 1):
            order += [(p, k) for k in (range(n - 1, -1, -1) if p % 2 == 0 else range(n))]
        return order

    def _resume(self) -> int:
        """Frames (and frame passes) finished by the run named in ``resume=``, copied here; the
        index in :meth:`units` to go on from. After the first pass every frame is there, and
        ``losses.csv`` counts the frame passes done."""
        run, done = self.video.resume_dir, self.video.resume_frames
        if run is None or done == 0:
            return 0
        for i in range(done):
            src = output.frame_path(run, i)
            self.results.append(load_image(str(src)))
            if self.out is not None and run.resolve() != self.out.resolve():
                shutil.copyfile(src, output.frame_path(self.out, i))
        later_passes = done == len(self.video.frames) and int(self.cfg.video.passes) > 1
        self.log.keep(run, len(self.units()) if later_passes else done)
        units = max(done, len(self.log.rows))
        first = self.log.rows[:done]
        self.cuts = [int(r["frame"]) for r in first if r.get("cut") == "1"]
        self.seconds = [float(r["seconds"] or 0) for r in first]
        for r in self.log.rows[done:]:  # later passes: each frame's time is the sum of its passes'
            self.seconds[int(r["frame"])] += float(r["seconds"] or 0)
        where = "frame" if units < len(self.video.frames) else "frame pass"
        self.say(f"paramart: resuming {run} at {where} {units} of {len(self.units())}")
        return units

    def run(self) -> list[Image.Image]:
        if self.out is not None:
            (self.out / output.FRAMES).mkdir(parents=True, exist_ok=True)
        start = self._resume()
        units = self.units()
        count = len(self.video.frames)
        for u in range(start, len(units)):
            p, k = units[u]
            name = stop_requested()
            if name:
                raise VideoInterrupted(name, u, self.out, count, (p, k))
            try:
                if p == 1:
                    self.frame(k)
                else:
                    self.refine(p, k, u)
            except VideoInterrupted:
                raise
            except Interrupted as exc:
                raise VideoInterrupted(exc.signal_name, u, self.out, count, (p, k)) from None
        return self.results

    def _content(self, k: int) -> Image.Image:
        size = self.video.canvas
        return self.video.frames[k].resize((size[1], size[0]), Image.Resampling.LANCZOS)

    def _total_steps(self) -> int:
        """The clip's steps over every pass (for the preview)."""
        count = len(self.video.frames)
        return int(self.cfg.steps) + (count - 1) * self.video.later_steps + \
            (int(self.cfg.video.passes) - 1) * count * self.video.pass_steps

    def _save(self, k: int, image: torch.Tensor) -> Image.Image:
        """Frame ``k``'s result written to ``frames/`` and read back as saved (8-bit)."""
        result = to_pil(image)
        if self.out is not None:
            save_image(result, output.frame_path(self.out, k))
            with Image.open(output.frame_path(self.out, k)) as im:
                result = im.convert("RGB")
        return result

    def refine(self, p: int, k: int, u: int) -> None:
        """Pass ``p`` (> 1) over frame ``k``, the ``u``-th frame pass: Ruder et al.'s multi-pass step
        (see the module docstring)."""
        t0 = time.perf_counter()
        cfg = self.cfg
        count = len(self.video.frames)
        content = self._content(k)
        n = k + 1 if p % 2 == 0 else k - 1  # the neighbour this pass comes from
        own = as_array(self.results[k])
        move = None
        if 0 <= n < count and max(k, n) not in self.cuts:
            # the flow from frame k to its neighbour: warp(neighbour, move.backward) lines it up with k
            move = motion(as_array(self._content(n)), as_array(content), cfg.video.flow,
                          cfg.video.cut_reliable, cfg.video.cut_error)
        temporal = move is not None and self.video.temporal_weight > 0
        plan: Plan = make_plan(frame_config(cfg, self.video.pass_steps, temporal, self.video.temporal_weight), content,
                               self.styles)
        start, guides = own, ()
        if move is not None:
            warped = np.clip(warp(as_array(self.results[n]), move.backward), 0.0, 1.0)
            c = float(cfg.video.pass_blend) * move.weight[..., None]
            start = c * warped + (1 - c) * own
            if temporal:
                guides = (("previous", as_tensor(warped)), ("previous_weight", as_tensor(move.weight)))
        plan = dataclasses.replace(plan, init=as_tensor(start), guides=guides)
        _seed(int(cfg.seed) + u)
        before = sum(int(r["steps"] or 0) for r in self.log.rows)
        for o in self.observers:
            o.on_clip_frame(k, count, self._total_steps(), before)
        outcome = run_stages(plan, self.vgg, None, self.observers)
        self.results[k] = self._save(k, outcome.image)
        seconds = time.perf_counter() - t0
        self.seconds[k] += seconds
        last = outcome.history.last
        row = {"frame": k, "pass": p, "cut": False, "steps": last.step if last else 0,
               "reliable": round(move.reliable, 4) if move is not None else "", "total": last.total if last else "",
               "seconds": round(seconds, 3), **(dict(last.terms) if last else {})}
        self.log.append(row)
        self.say(f"paramart: pass {p}/{cfg.video.passes}, frame {k + 1}/{count} in {seconds:.1f} s"
                 + (f", loss {row['total']:.4g}" if last else ""))

    def frame(self, k: int) -> None:
        t0 = time.perf_counter()
        cfg = self.cfg
        content = self._content(k)
        move = None
        if k > 0:
            move = motion(as_array(self._content(k - 1)), as_array(content), cfg.video.flow,
                          cfg.video.cut_reliable, cfg.video.cut_error)
        follow = move is not None and not move.cut
        steps = self.video.later_steps if follow else cfg.steps
        temporal = follow and self.video.temporal_weight > 0
        plan: Plan = make_plan(frame_config(cfg, steps, temporal, self.video.temporal_weight), content, self.styles)
        if follow:
            # the previous result as saved (8-bit), so that a resumed run sees the same
            previous_result = as_array(self.results[-1])
            start, warped = warm_start(previous_result, as_array(content), move)
            target, weight = warped, move.weight
            gaps = list(cfg.video.temporal.long_term or [1])
            if temporal and gaps != [1]:  # Ruder et al.'s long-term term: earlier frames too
                first = max([0, *[c for c in self.cuts if c <= k]])
                needed = [k - j for j in gaps if k - j >= first] + [k]
                frames = {i: as_array(self._content(i)) for i in needed}
                earlier = {i: as_array(self.results[i]) for i in needed if i < k}
                target, weight = long_term_target(earlier, frames, k, gaps, first, move, cfg.video.flow)
            guides = (("previous", as_tensor(target)), ("previous_weight", as_tensor(weight))) if temporal else ()
            init = as_tensor(start) if cfg.video.warm_start else None
            plan = dataclasses.replace(plan, init=init, guides=guides)
        _seed(int(cfg.seed) + k)
        count = len(self.video.frames)
        before = sum(int(r["steps"] or 0) for r in self.log.rows)  # the clip's steps so far (preview)
        for o in self.observers:
            o.on_clip_frame(k, count, self._total_steps(), before)
        outcome = run_stages(plan, self.vgg, None, self.observers)
        self.results.append(self._save(k, outcome.image))
        if move is not None and move.cut:
            self.cuts.append(k)
        seconds = time.perf_counter() - t0
        self.seconds.append(seconds)
        last = outcome.history.last
        row = {"frame": k, "pass": 1, "cut": bool(move is not None and move.cut), "steps": last.step if last else 0,
               "reliable": round(move.reliable, 4) if move is not None else "", "total": last.total if last else "",
               "seconds": round(seconds, 3), **(dict(last.terms) if last else {})}
        self.log.append(row)
        what = "a cut: restarted" if move is not None and move.cut else ("first" if k == 0 else "warm")
        self.say(f"paramart: frame {k + 1}/{len(self.video.frames)} ({what}) in {seconds:.1f} s, "
                 f"loss {row['total']:.4g}" if last else f"paramart: frame {k + 1} done")

