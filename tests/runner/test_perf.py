"""Speed settings (precision, channels-last, torch.compile), targets under inference mode,
time budgets and the common evaluator used by bench/vs_pastiche.py."""

import json

import pytest
import torch

import paramart
from paramart.api import compose
from paramart.errors import ParamartError
from paramart.geometry import canvas_size
from paramart.io.images import load_image, to_tensor
from paramart.model.isa import cpu_isa
from paramart.model.judge import STYLE_LAYERS, GatysScore
from paramart.model.vgg import VGG19, bf16_is_fast, check_speed_settings
from paramart.objectives.objective import build_objective, style_transfer
from paramart.objectives.term import Inputs
from paramart.objectives.terms.gram import gram_matrix
from paramart.params.pixel import Pixel
from paramart.runner.loop import optimize
from tests.conftest import sample_tensor

LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


@pytest.fixture(scope="module")
def net():
    """A VGG-19 of this module's own: configure() changes it."""
    return VGG19("caffe", last_layer="relu5_1")


def _grams(vgg, image):
    with torch.no_grad():
        return {k: gram_matrix(v) for k, v in vgg(image, LAYERS).items()}


def test_bf16_autocast_runs_vgg_in_bf16_with_float32_gram_matrices(net):
    image = sample_tensor("chelsea", 48)
    ref = _grams(net.configure("fp32", channels_last=False), image)
    net.configure("bf16", channels_last=False)
    with torch.no_grad():
        feats = net(image, LAYERS)
    assert all(f.dtype == torch.bfloat16 for f in feats.values())
    got = _grams(net, image)
    for layer in LAYERS:
        assert got[layer].dtype == torch.float32
        rel = ((got[layer] - ref[layer]).norm() / ref[layer].norm()).item()
        assert rel < 0.03, (layer, rel)


def test_channels_last_gives_the_same_features(net):
    image = sample_tensor("coffee", 40)
    ref = _grams(net.configure("fp32", channels_last=False), image)
    net.configure("fp32", channels_last=True)
    assert net.layers["conv1_1"].weight.is_contiguous(memory_format=torch.channels_last)
    got = _grams(net, image)
    for layer in LAYERS:  # the same sums in another order: float32 rounding only
        assert ((got[layer] - ref[layer]).norm() / ref[layer].norm()).item() < 1e-5, layer
    net.configure("fp32", channels_last=False)


def test_targets_are_computed_in_inference_mode_but_can_be_saved_for_backward(net):
    net.configure("bf16", channels_last=False)
    content, style = sample_tensor("chelsea", 40), sample_tensor("coffee", 40)
    feats = Inputs(net, tuple(content.shape[-2:])).features(content, ["relu4_2"])
    assert not feats["relu4_2"].is_inference() and not feats["relu4_2"].requires_grad
    objective = style_transfer(net, content, [style], content_weight=1, style_weight=1, tv_weight=0,
                               content_layers=["relu4_2"], style_layers=LAYERS)
    assert not any(b.is_inference() for b in objective.buffers())
    x = torch.rand_like(content, requires_grad=True)
    terms = objective(x)
    assert all(v.dtype == torch.float32 for v in terms.values())
    sum(terms.values()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    net.configure("fp32", channels_last=False)


def test_auto_precision_uses_bf16_only_where_the_cpu_has_it(net):
    native = cpu_isa().native_bf16
    assert bf16_is_fast(torch.device("cpu")) == native
    assert net.configure("auto", channels_last="auto").precision == ("bf16" if native else "fp32")
    assert net.channels_last is False  # auto: only on CUDA
    net.configure("fp32", channels_last=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"precision": "fp16"}, "model.precision"),
    ({"channels_last": "yes"}, "model.channels_last"),
    ({"compile": "fastest"}, "model.compile"),
])
def test_bad_speed_settings_are_one_line_errors(kwargs, message):
    """Checked once, by the plan, before the network loads (VGG19.configure trusts them)."""
    settings = {"precision": "auto", "channels_last": "auto", "compile": False, **kwargs}
    with pytest.raises(ParamartError, match=message) as err:
        check_speed_settings(settings["precision"], settings["channels_last"], settings["compile"])
    assert "\n" not in str(err.value)


def test_torch_compile_matches_eager():
    vgg = VGG19("caffe", last_layer="relu2_1")
    image = sample_tensor("chelsea", 32)
    with torch.no_grad():
        eager = vgg(image, ["relu1_1", "relu2_1"])
    vgg.configure("fp32", channels_last=False, compile=True)
    assert vgg._compiled is not None
    x = image.clone().requires_grad_()
    compiled = vgg(x, ["relu1_1", "relu2_1"])
    for layer in eager:
        torch.testing.assert_close(compiled[layer].detach(), eager[layer], rtol=1e-4, atol=1e-3)
    compiled["relu2_1"].sum().backward()  # gradients flow through the compiled graph
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_max_seconds_stops_the_run_early_and_saves_it(tmp_path):
    result = paramart.stylize(size=32, steps=100000, max_seconds=3, progress=False, out_dir=tmp_path,
                              overrides=["timelapse.enabled=false"])
    assert 0 < result.history.steps < 100000
    assert (tmp_path / "final.png").is_file()
    facts = json.loads((tmp_path / "run.json").read_text())
    assert facts["steps"] == result.history.steps
    assert facts["evaluations"] >= facts["steps"]
    assert 2.9 < facts["seconds"] < 4  # the budget counts optimisation time; it ends after the step crossing it


def test_time_lapse_under_a_time_budget_spreads_its_frames_over_the_time(tmp_path):
    """steps= is only a cap under max_seconds: frames follow the clock, not 100000 steps."""
    paramart.stylize(size=32, steps=100000, max_seconds=3, progress=False, out_dir=tmp_path,
                     overrides=["timelapse.frames=6", "timelapse.keep_frames=true", "timelapse.mp4=false"])
    frames = len(list((tmp_path / "frames").glob("*.png")))
    assert 5 <= frames <= 9  # the start, about one per 0.5 s, the end
    facts = json.loads((tmp_path / "run.json").read_text())
    assert facts["precision"] in ("fp32", "bf16")  # what auto resolved to


def test_max_seconds_must_be_positive():
    with pytest.raises(ParamartError, match="max_seconds"):
        paramart.stylize(size=32, steps=5, max_seconds=0, progress=False)


def test_evaluations_are_counted(net):
    net.configure("fp32", channels_last=False)
    content = sample_tensor("chelsea", 32)
    objective = style_transfer(net, content, [sample_tensor("coffee", 32)], content_weight=1, style_weight=1,
                               tv_weight=0, content_layers=["relu4_2"], style_layers=LAYERS[:2])
    param = Pixel(tuple(content.shape[-2:]), content)
    adam = optimize(param, objective, torch.optim.Adam(param.parameters(), lr=0.05), 4, progress=False)
    assert (adam.steps, adam.evaluations) == (4, 4)
    lbfgs = torch.optim.LBFGS(param.parameters(), max_iter=1, max_eval=20, line_search_fn="strong_wolfe")
    history = optimize(param, objective, lbfgs, 4, progress=False)
    assert history.steps == 4 and history.evaluations > 4  # the line search evaluates more than once


def test_keep_frames_leaves_the_time_lapse_frames(tmp_path):
    paramart.stylize(size=32, steps=4, progress=False, out_dir=tmp_path,
                     overrides=["timelapse.every=2", "timelapse.keep_frames=true", "timelapse.mp4=false"])
    assert len(list((tmp_path / "frames").glob("*.png"))) == 3  # steps 0, 2, 4
    assert (tmp_path / "timelapse.gif").is_file()


# -- the common evaluator -------------------------------------------------------------------

@pytest.fixture(scope="module")
def judge():
    return GatysScore("sample:chelsea", "sample:coffee", 48)


def test_score_of_the_photo_has_no_content_loss(judge):
    size = canvas_size(judge.content_image, 48)
    photo = to_tensor(judge.content_image, size)
    score = judge(photo)
    assert score["content"] == 0.0 and score["style"] > 0
    noise = judge(torch.rand_like(photo))
    assert noise["content"] > 0 and noise["total"] == pytest.approx(noise["content"] + noise["style"])


def test_matched_objective_is_the_evaluators_loss(judge, net):
    """paramart's relative losses with the matched per-layer weights equal the plain
    pastiche-style loss written out independently in paramart.model.judge."""
    size = canvas_size(judge.content_image, 48)
    cfg = compose([*judge.matched_overrides(size), "size=48"])
    assert list(cfg.objective.style.layers) == list(STYLE_LAYERS)
    net.configure("fp32", channels_last=False)
    style_img = load_image("sample:coffee")
    style = to_tensor(style_img, canvas_size(style_img, 48))
    objective = build_objective(cfg.objective, Inputs(net, size, to_tensor(judge.content_image, size), [style]))
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        terms = objective(x)
    score = judge(x)
    assert terms["content"].item() == pytest.approx(score["content"], rel=1e-4)
    assert terms["style"].item() == pytest.approx(score["style"], rel=1e-4)


def test_bad_speed_settings_are_refused_before_the_model_loads(monkeypatch):
    def no_model(*args, **kwargs):
        raise AssertionError("VGG-19 was loaded before the settings were checked")

    monkeypatch.setattr("paramart.api.VGG19", no_model)  # the plan checks first
    with pytest.raises(ParamartError, match="model.compile"):
        paramart.stylize(size=32, steps=1, progress=False, overrides=["model.compile=fastest"])
