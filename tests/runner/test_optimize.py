import pytest
import torch

from paramart.objectives.objective import style_transfer
from paramart.objectives.terms.gram import blend_weights
from paramart.params.pixel import Pixel
from paramart.runner.loop import optimize
from tests.conftest import sample_tensor


def test_short_run_halves_the_style_loss(vgg):
    torch.manual_seed(0)
    style = sample_tensor("hubble_deep_field", 48)
    objective = style_transfer(vgg, None, [style], content_weight=0, style_weight=1.0, tv_weight=0,
                               content_layers=[], style_layers=["conv1_1", "conv2_1", "conv3_1"])
    param = Pixel((48, 48), None, init="noise")
    start = objective(param())["style"].item()
    opt = torch.optim.LBFGS(param.parameters(), lr=1, max_iter=1, max_eval=20, line_search_fn="strong_wolfe")
    history = optimize(param, objective, opt, 15, log_every=5, progress=False)
    # rows are measured at the start of steps 1, 6 and 11; called from Python, optimize measures
    # the end itself: the last row is the image the parameters now render
    assert [r.step for r in history.rows] == [0, 5, 10, 15]
    assert history.rows[0].terms["style"] == pytest.approx(start, rel=1e-5)
    end = objective(param())["style"].item()
    assert history.last.terms["style"] == pytest.approx(end, rel=1e-5) and end < 0.5 * start


def test_adam_run_lowers_content_and_style(vgg):
    torch.manual_seed(0)
    content, style = sample_tensor("chelsea", 40), sample_tensor("coffee", 40)
    objective = style_transfer(vgg, content, [style], content_weight=1.0, style_weight=10.0, tv_weight=0.1,
                               content_layers=["conv4_2"], style_layers=["conv1_1", "conv2_1"])
    param = Pixel(tuple(content.shape[-2:]), content, init="noise")
    first = {k: v.item() for k, v in objective(param()).items()}
    opt = torch.optim.Adam(param.parameters(), lr=0.05)
    history = optimize(param, objective, opt, 20, log_every=20, progress=False)
    assert set(history.last.terms) == {"content", "style", "tv"}
    assert history.last.terms["content"] < first["content"]
    assert history.last.terms["style"] < first["style"]


def test_blend_weights_are_normalised():
    assert blend_weights(2, [0.7, 0.3]) == [0.7, 0.3]
    assert blend_weights(2, [7, 3]) == [0.7, 0.3]
    assert blend_weights(3, None) == [1 / 3] * 3
