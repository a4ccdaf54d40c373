"""Every loss term in conf/term/ (discovered, not listed) keeps the seam's contract, plus
what the Gram term promises about scale."""

from pathlib import Path

import pytest
import torch

from paramart.api import compose
from paramart.objectives.objective import Objective, needed_layers
from paramart.objectives.term import TERMS as TERM_REGISTRY
from paramart.objectives.term import Inputs
from paramart.objectives.terms.gram import gram_matrix
from tests.conftest import REPO, sample_tensor

TERMS = sorted(p.stem for p in (REPO / "conf" / "term").glob("*.yaml"))


def _term(name: str, **values):
    cfg = compose([f"+term@objective.probe={name}", "objective.probe.weight=1",
                   *(f"objective.probe.{k}={v}" for k, v in values.items())])
    term_cls, kwargs = TERM_REGISTRY.build_args(cfg.objective.probe)  # the path runs take: the term registry
    return term_cls(**kwargs), cfg


def test_terms_are_discovered_from_conf():
    assert {"content", "gram", "tv", "dream", "w2"} <= set(TERMS)


@pytest.mark.parametrize("name", TERMS)
def test_term_contract(vgg, name):
    """Built from inputs; zero (or its floor) at its own target, positive elsewhere;
    gradients reach the canvas; the objective reads exactly the layers it declares."""
    term, cfg = _term(name)
    a = sample_tensor("chelsea", 48)
    b = torch.nn.functional.interpolate(sample_tensor("coffee", 48), size=a.shape[-2:])
    # guides: what a video frame gives terms (the temporal term's previous result: here a itself)
    inputs = Inputs(vgg, tuple(a.shape[-2:]), content=a, styles=[a], guides={"previous": a})
    assert term.active(inputs)
    term.build(inputs)
    objective = Objective(vgg, {"probe": term})
    assert set(objective.layers) == set(term.layers) == set(needed_layers({"probe": cfg.objective.probe}))
    canvas = b.clone().requires_grad_(True)
    value = objective(canvas)["probe"]
    assert value.dim() == 0 and torch.isfinite(value)
    value.backward()
    assert canvas.grad is not None and canvas.grad.abs().sum() > 0
    if term.needs or "previous" in getattr(term, "_buffers", {}):  # compared with a target: ~0 there
        at_target = objective(a)["probe"].item()
        assert abs(at_target) < 1e-3 and value.item() > 1e-2


@pytest.mark.parametrize("name", [n for n in TERMS if n != "tv"])
def test_statistics_of_the_whole_canvas_give_the_value(vgg, name):
    """value(statistics(canvas)) is what the objective reports: the seam tiling builds on."""
    term, _ = _term(name)
    a = sample_tensor("chelsea", 40)
    term.build(Inputs(vgg, tuple(a.shape[-2:]), content=a, styles=[sample_tensor("coffee", 40)],
                      guides={"previous": sample_tensor("coffee", 40)}))
    feats = vgg(a, term.layers)
    stats = term.statistics(feats, a)
    assert all(isinstance(v, torch.Tensor) for v in stats.values())
    assert torch.allclose(term.value(stats), term(feats, a))


def test_gram_matrix_does_not_grow_with_image_size():
    f = torch.rand(1, 8, 16, 16)
    tiled = f.repeat(1, 1, 4, 4)  # same statistics, 16x the positions
    assert torch.allclose(gram_matrix(f), gram_matrix(tiled), rtol=1e-5)
    g = gram_matrix(f)
    assert g.shape == (1, 8, 8) and torch.allclose(g, g.transpose(1, 2))


def test_style_loss_is_comparable_across_resolutions(vgg):
    """Same image pair at 64 px and 128 px: the style loss stays within a small factor."""
    losses = []
    for size in (64, 128):
        term, _ = _term("gram", layers="[conv3_1]")
        a, b = sample_tensor("chelsea", size), sample_tensor("hubble_deep_field", size)
        term.build(Inputs(vgg, tuple(a.shape[-2:]), styles=[b]))
        losses.append(term(vgg(a, ["conv3_1"]), a).item())
    assert 0.5 < losses[0] / losses[1] < 2.0


def test_w2_is_the_closed_form_distance_of_a_shifted_gaussian(vgg):
    """Features shifted by their own mean: same covariance, so W2^2 = |mean|^2, relative to
    the style's second moment |mean|^2 + tr(cov)."""
    term, _ = _term("w2", layers="[conv1_1]")
    style = sample_tensor("coffee", 32)
    term.build(Inputs(vgg, (32, 32), styles=[style]))
    f = vgg(style, ["conv1_1"])["conv1_1"].double()
    assert term.value(term.statistics({"conv1_1": f}, style)).item() < 1e-4
    mean = f.mean(dim=(0, 2, 3))
    cov = torch.cov(f[0].flatten(1), correction=0)
    expected = mean.pow(2).sum() / (mean.pow(2).sum() + cov.trace())
    got = term.value(term.statistics({"conv1_1": f + mean.view(1, -1, 1, 1)}, style))
    assert got.item() == pytest.approx(expected.item(), rel=1e-3)


def test_a_new_term_is_one_file_and_one_yaml():
    """The seam's promise, checked on the tree: every term module has its YAML and back."""
    modules = {p.stem for p in Path(REPO / "paramart" / "objectives" / "terms").glob("*.py")} - {"__init__"}
    assert modules == set(TERMS)


def test_untiled_content_gradient_is_mse_loss_bit_for_bit(vgg):
    """Untiled, the content term is torch's mean squared error, in its gradient too: a sum over
    a count rounds the gradient differently, and the default run's image changed with it."""
    term, _ = _term("content")
    photo = sample_tensor("chelsea", 40)
    term.build(Inputs(vgg, tuple(photo.shape[-2:]), content=photo, styles=[]))
    layer = term.layers[0]
    target = vgg(photo, [layer])[layer].float()
    torch.manual_seed(0)
    feats = (target + torch.randn_like(target)).requires_grad_(True)
    ours = term.weighted(term.statistics({layer: feats}, photo))
    ours.backward()
    got = feats.grad.clone()
    feats.grad = None
    reference = term.weight * term.layer_weights[0] * (
        torch.nn.functional.mse_loss(feats, target) / term.scale0)
    reference.backward()
    assert torch.equal(ours, reference) and torch.equal(got, feats.grad)
