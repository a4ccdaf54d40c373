"""Every bad value is refused up front: one line, exit 2, before any model loads.

Property-based (hypothesis): values are generated, not only listed; the properties are
that validation never raises anything but ParamartError, refuses every non-finite or
out-of-range number, and accepts the in-range ones.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf
from PIL import Image

import paramart
from paramart.errors import ParamartError
from paramart.runner.validate import validate
from tests.conftest import paramart_cli

BASE = paramart.compose()
ADAM = paramart.compose(["optim=adam"])
DREAM = paramart.compose(["objective=dream"])
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _with(base, **values):
    cfg = OmegaConf.create(OmegaConf.to_container(base))  # a plain copy without the schema's struct flag
    for key, value in values.items():
        OmegaConf.update(cfg, key, value, merge=False, force_add=True)
    return cfg


def _refused(cfg, match: str = "") -> str:
    with pytest.raises(ParamartError, match=match) as info:
        validate(cfg)
    assert "\n" not in str(info.value)
    return str(info.value)


bad_float = st.one_of(st.just(math.nan), st.just(math.inf), st.just(-math.inf),
                      st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False))
#: keys that must be finite and >= 0 (weights, budgets, transforms)
NON_NEGATIVE = ["objective.content.weight", "objective.style.weight", "objective.tv.weight",
                "objective.dream.weight", "mask_feather", "transforms.jitter", "transforms.rotate",
                "timelapse.hold_seconds"]


@SETTINGS
@given(key=st.sampled_from(NON_NEGATIVE), value=bad_float)
def test_negative_or_non_finite_weights_and_amounts_are_refused(key, value):
    _refused(_with(BASE, **{key: value}), key.replace(".", r"\."))


@SETTINGS
@given(key=st.sampled_from(NON_NEGATIVE), value=st.floats(min_value=0, max_value=179))
def test_finite_non_negative_values_pass(key, value):
    validate(_with(BASE, **{key: value}))


@SETTINGS
@given(key=st.sampled_from(["optim.lr", "max_seconds", "timelapse.fps", "objective.style_scale",
                            "transforms.scale"]),
       value=st.one_of(bad_float, st.just(0.0)))
def test_rates_fps_budgets_and_scales_must_be_positive_and_finite(key, value):
    if key == "transforms.scale" and value == 0.0:
        value = 1.0  # 0 is allowed (no scaling); 1 would shrink to nothing
    _refused(_with(BASE, **{key: value}), key.replace(".", r"\."))


@SETTINGS
@given(betas=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=3))
def test_adam_betas(betas):
    ok = len(betas) == 2 and all(math.isfinite(b) and 0 <= b < 1 for b in betas)
    cfg = _with(ADAM, **{"optim.betas": betas})
    if ok:
        validate(cfg)
    else:
        _refused(cfg, r"optim\.betas")


@SETTINGS
@given(key=st.sampled_from(["optim.history_size", "optim.max_iter", "optim.max_eval", "steps", "log_every",
                            "timelapse.frames", "timelapse.max_size", "size", "seed", "checkpoint_every"]),
       value=st.integers(min_value=-(2**70), max_value=2**70))
def test_counts_are_in_range_or_refused(key, value):
    low = {"steps": 0, "checkpoint_every": 0, "seed": -(2**63), "timelapse.max_size": 16, "size": 16}.get(key, 1)
    high = {"seed": 2**64 - 1, "timelapse.max_size": 4096, "size": 13228}.get(key, 2**70)
    cfg = _with(BASE, **{key: value})
    if low <= value <= high:
        validate(cfg)
    else:
        _refused(cfg, key.replace(".", r"\."))


@SETTINGS
@given(layers=st.lists(st.sampled_from(["conv1_1", "relu4_2", "pool5", "conv9_9", "", "fc7"]), max_size=4),
       weights=st.one_of(st.none(), st.lists(st.one_of(st.just(math.nan), st.floats(min_value=-2, max_value=2)),
                                             max_size=4)))
def test_layers_and_layer_weights(layers, weights):
    cfg = _with(BASE, **{"objective.style.layers": layers, "objective.style.layer_weights": weights})
    known = all(n in ("conv1_1", "relu4_2", "pool5") for n in layers)
    fits = weights is None or (len(weights) == len(layers) and all(w == w and w >= 0 for w in weights)
                               and (not layers or sum(weights) > 0))
    if known and layers and fits:
        validate(cfg)
    else:
        _refused(cfg, r"objective\.style\.layer")


@SETTINGS
@given(channels=st.lists(st.integers(min_value=-5, max_value=600), min_size=0, max_size=3))
def test_dream_channels_lie_inside_the_layer(channels):
    cfg = _with(DREAM, **{"objective.dream.channels": channels})
    if channels and all(0 <= c < 512 for c in channels):
        validate(cfg)
    else:
        _refused(cfg, r"objective\.dream\.channels")


@SETTINGS
@given(scales=st.lists(st.one_of(st.just(math.nan), st.floats(min_value=-1, max_value=2), st.just(1.0)), max_size=4))
def test_schedule_scales(scales):
    ok = (scales and all(math.isfinite(s) and 0 < s <= 1 for s in scales) and scales == sorted(scales)
          and scales[-1] == 1)
    cfg = _with(BASE, **{"schedule.scales": scales})
    if ok or not scales:
        validate(cfg)
    else:
        _refused(cfg, "schedule")


@pytest.mark.parametrize("overrides, message", [
    ({"objective.content.layers": []}, r"objective\.content\.layers=\[\] is empty, so objective\.content\.weight"),
    ({"objective.dream.layers": ["conv9_1"]}, r"objective\.dream\.layers=\[conv9_1\] must be a list of VGG-19"),
    ({"objective.style._target_": "os.system"}, "is not a paramart loss term"),
    ({"objective.style.eps": {"_target_": "os.system"}}, "is not allowed here"),
    ({"seed": {"_target_": "os.system"}}, "is not allowed here"),
    ({"objective.style_scale": 100000}, r"objective\.style_scale=100000 would resize the style images to 25600000"),
    ({"optim.line_search_fn": "wolfe"}, "optim.line_search_fn='wolfe' must be null or strong_wolfe"),
    ({"optim.history_size": 0}, r"optim\.history_size=0 must be a whole number"),
    ({"optim.max_iter": 0}, r"optim\.max_iter=0"),
    ({"device": "meta"}, "device=meta is not one paramart runs on"),
    ({"device": "mps"}, "device=mps is not one paramart runs on"),
    ({"device": "tpu9"}, "is not a device"),
    ({"seed": 2**64}, "seed=18446744073709551616 must be a whole number from"),
    ({"timelapse.fps": 0}, r"timelapse\.fps=0 must be a number above 0"),
    ({"timelapse.max_size": 0}, r"timelapse\.max_size=0"),
    ({"transforms.rotate": math.nan}, r"transforms\.rotate=nan must be a finite number"),
    ({"max_seconds": math.nan}, "max_seconds=nan must be a finite number"),
    ({"style_blend": [math.nan, 1.0]}, r"style_blend=\[nan,1\] must hold finite numbers only"),
    ({"param.grain": 0}, r"param\.grain=0 must be a whole number"),
    ({"param.init": "nope"}, "param.init must be auto, content or noise, not 'nope'"),
    ({"param.noise_scale": math.inf}, r"param\.noise_scale=inf must be a finite number"),
    ({"model.preprocess": "bgr"}, r"model\.preprocess=bgr must be auto, caffe or imagenet"),
    ({"size": 100000}, r"size=100000 must be a whole number from 16 to 32768"),
    ({"size": 20000}, r"size=20000 would make a canvas of up to 20000x20000 px, over max_input_pixels"),
])
def test_bad_values_each_one_line(overrides, message):
    _refused(_with(BASE, **overrides), message)


@pytest.mark.parametrize("param, key, value, message", [
    ("cppn", "param.depth", 0, "param.depth and param.width must be at least 1"),
    ("cppn", "param.activation", "relu", "param.activation must be one of"),
    ("fourier_cppn", "param.fourier_size", 0, "param.fourier_size=0 must be at least 1"),
    ("fft", "param.init", "nope", "param.init must be auto, content or noise"),
])
def test_errors_inside_a_parameterization_constructor(param, key, value, message):
    _refused(_with(paramart.compose([f"param={param}"]), **{key: value}), message)


# -- through the CLI: one line, exit 2, nothing loaded or written -----------------------------


@pytest.mark.parametrize("args, message", [
    (["objective.style.weight=nan"], "objective.style.weight=nan must be a finite number"),
    (["timelapse.fps=0"], "timelapse.fps=0 must be a number above 0"),
])
def test_bad_values_through_the_cli(tmp_path, args, message):
    run_dir = tmp_path / "run"
    res = paramart_cli(*args, "size=32", "steps=2", "progress=false", f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"paramart: error: {message}"), res.stderr
    assert sorted(p.name for p in run_dir.iterdir()) == [".hydra", "paramart.log"]  # no frames/, no outputs


def test_bad_parameterization_arguments_in_a_sweep_leave_failed_json(tmp_path):
    sweep = tmp_path / "sweep"
    res = paramart_cli("-m", "param=cppn", "param.depth=0,-1", "size=32", "steps=2", "progress=false",
                       f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert res.returncode == 1 and "Traceback" not in res.stderr and "Error in call to target" not in res.stderr
    for job in (0, 1):
        failed = json.loads((sweep / str(job) / "FAILED.json").read_text())
        assert "param.depth and param.width must be at least 1" in failed["error"]


def test_masks_are_checked_on_the_runtime_path(tmp_path):
    """Wrong shape and max_input_pixels, through the CLI, before the model loads."""
    Image.new("L", (30, 40), 255).save(tmp_path / "tall.png")  # the canvas (chelsea) is landscape
    Image.new("L", (451, 300), 255).save(tmp_path / "big.png")  # the canvas's aspect, 135300 px
    common = ["style=[sample:coffee,sample:retina]", "size=32", "steps=1", "progress=false", "timelapse.enabled=false"]
    res = paramart_cli(*common, f"style_masks=[{tmp_path / 'tall.png'},right]", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].startswith(
        f"paramart: error: style_masks: mask {tmp_path / 'tall.png'} is 30x40 px but the canvas is 32x21 px")
    res = paramart_cli(*common, f"style_masks=[{tmp_path / 'big.png'},right]", "max_input_pixels=200000",
                       cwd=tmp_path)
    assert res.returncode == 2 and "over max_input_pixels=200000" in res.stderr.strip().splitlines()[-1]
    # the right shape at a bigger size is resized and runs
    paramart.stylize(style=["sample:coffee", "sample:retina"], size=32, steps=1, progress=False,
                     style_masks=[str(tmp_path / "big.png"), "right"])


def test_validation_comes_before_any_model_loads(monkeypatch):
    import paramart.api

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(paramart.api, "VGG19", no_model)
    for key, value in [("optim.lr", -1.0), ("param.grain", 0), ("timelapse.fps", 0.0)]:
        with pytest.raises(ParamartError, match=key.replace(".", r"\.")):
            paramart.run(_with(BASE, **{key: value}), Path("/nonexistent/never-written"))
