"""Exact tiled evaluation (paramart/tiling): tiled == untiled, loss and gradient, per term."""

import numpy as np
import pytest
import torch
from PIL import Image

from paramart.api import compose
from paramart.errors import ParamartError
from paramart.evaluation import budget as B
from paramart.evaluation.layout import halo, layout
from paramart.evaluation.targets import TiledTargets
from paramart.evaluation.tiled import Tiled
from paramart.model.vgg import VGG19
from paramart.objectives.masks import style_masks
from paramart.objectives.objective import Objective
from paramart.objectives.term import TERMS as TERM_REGISTRY
from paramart.objectives.term import Inputs
from paramart.params.cppn import CPPN
from paramart.params.pixel import Pixel
from tests.conftest import REPO, paramart_cli

SHALLOW = ["relu1_1", "relu2_1", "conv3_1"]  # halo 12 px: small canvases still have real tiles


@pytest.fixture(scope="module")
def vgg3():
    return VGG19("caffe", last_layer="conv3_1")


def rel(a, b):
    return float((a - b).norm() / b.norm().clamp_min(1e-12))


def test_halo_comes_from_the_deepest_layer():
    assert halo("conv5_1") == 80 and halo("conv4_2") == 40 and halo("conv3_1") == 12
    assert halo("pool5") == 128 and halo(None) == 1


@pytest.mark.parametrize("size,tile", [((100, 84), 32), ((64, 64), 16), ((37, 50), 20)])
def test_layout_cores_partition_the_canvas_on_the_stride(size, tile):
    tiles = layout(size, tile, "conv5_1")
    cover = torch.zeros(size, dtype=torch.int32)
    for t in tiles:
        cover[t.top:t.bottom, t.left:t.right] += 1
        assert t.in_top % 16 == 0 and t.in_left % 16 == 0
        assert t.in_top == max(0, t.top - 80) and t.in_bottom == min(size[0], t.bottom + 80)
    assert bool((cover == 1).all())


def test_tiled_vgg_features_equal_the_whole_canvas(vgg):
    image = torch.rand(1, 3, 100, 84, generator=torch.Generator().manual_seed(1))
    layers = ["relu1_1", "relu3_1", "conv4_2", "conv5_1"]
    whole = vgg(image, layers)
    tiled = TiledTargets(vgg, 32)(image, layers)
    for layer in layers:
        assert tiled[layer].shape == whole[layer].shape
        assert rel(tiled[layer], whole[layer]) < 1e-5, layer
    from paramart.objectives.terms.gram import gram_matrix

    grams = TiledTargets(vgg, 32)(image, layers, gram_matrix)
    for layer in layers:
        assert rel(grams[layer], gram_matrix(whole[layer])) < 1e-5, layer


def _decomposable(name: str) -> bool:
    node = compose([f"+term@objective.probe={name}"]).objective.probe
    return TERM_REGISTRY.entry(node, "objective.probe").cls().decomposable


#: every term that says it decomposes into sums over tiles (discovered, not listed); one that
#: does not (the video's temporal term) is refused, as test_a_term_that_does_not_decompose_is_refused shows
TERMS = [t for t in sorted(p.stem for p in (REPO / "conf" / "term").glob("*.yaml")) if _decomposable(t)]
#: each term's layers for these tests: shallow ones, so that small canvases have real tiles
SHALLOW_LAYERS = {"content": ["relu2_1", "conv3_1"], "dream": ["relu2_1"]}
CASES = [(t, None) for t in TERMS] + [("gram", "blend"), ("gram", "masks")]


def _objective(vgg, size, name, variant=None):
    g = torch.Generator().manual_seed(2)
    content = torch.rand(1, 3, *size, generator=g)
    styles = [torch.rand(1, 3, 40, 48, generator=g), torch.rand(1, 3, 48, 40, generator=g)]
    layers = SHALLOW_LAYERS.get(name, SHALLOW)
    over = [f"+term@objective.probe={name}", "objective.probe.weight=3"]
    if name != "tv":
        over.append(f"objective.probe.layers=[{','.join(layers)}]")
    if name == "dream":
        over.append("objective.probe.channels=[3,7]")
    term_cls, kwargs = TERM_REGISTRY.build_args(compose(over).objective.probe)
    term = term_cls(**kwargs)
    blend = [0.7, 0.3] if variant == "blend" else None
    masks = style_masks(["left", "radial"], size, 0.2) if variant == "masks" else None
    term.build(Inputs(vgg, size, content, styles if variant else styles[:1], blend, masks))
    return Objective(vgg, {"probe": term})


def _untiled(objective, param):
    param.zero_grad()
    terms = objective(param())
    total = sum(terms.values())
    total.backward()
    return float(total.detach()), param.logits.grad.clone()


def _step(strategy, param) -> dict:
    """One evaluation as the loop runs it: the losses, then backward."""
    losses = strategy.losses(param)
    losses.backward()
    return losses.terms


def _tiled(objective, param, size, tile):
    param.zero_grad()
    terms = _step(Tiled(objective, size, tile), param)
    return float(sum(terms.values())), param.logits.grad.clone()


LAYOUTS = [((60, 44), 16), ((48, 48), 24), ((52, 36), 20)]  # non-dividing 4x3 tiles, 2x2, uneven (stride 4)


@pytest.mark.parametrize("name,variant,size,tile", [(*c, *LAYOUTS[0]) for c in CASES]
                         + [("gram", "masks", *lay) for lay in LAYOUTS[1:]] + [("content", None, *LAYOUTS[2])])
def test_tiled_loss_and_gradient_equal_untiled(vgg3, name, variant, size, tile):
    objective = _objective(vgg3, size, name, variant)
    assert objective.terms["probe"].decomposable
    start = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(3)) * 0.8 + 0.1
    param = Pixel(size, init_image=start)
    tiled = Tiled(objective, size, tile)
    assert len(tiled.tiles) > 1
    if name == "dream":
        _step(tiled, param)  # its scale is set by the first canvas it sees: the same for both
    loss0, grad0 = _untiled(objective, param)
    loss1, grad1 = _tiled(objective, param, size, tile)
    assert abs(loss1 - loss0) <= 1e-3 * abs(loss0)
    assert rel(grad1, grad0) < 1e-3


def test_a_cppn_is_rendered_and_backpropagated_in_bands(vgg3, monkeypatch):
    import paramart.evaluation.tiled as E

    monkeypatch.setattr(E, "BAND", 20)  # several bands on a small canvas
    size = (48, 40)
    objective = _objective(vgg3, size, "gram")
    torch.manual_seed(0)
    param = CPPN(size, width=8, depth=3)
    torch.nn.init.normal_(param.out.weight, 0, 0.5)
    weights = [p for p in param.parameters() if p.requires_grad]
    sum(objective(param()).values()).backward()
    grads0 = [w.grad.clone() for w in weights]
    param.zero_grad()
    _step(Tiled(objective, size, 16), param)
    for w, g0 in zip(weights, grads0):
        assert rel(w.grad, g0) < 1e-3


def test_a_term_that_does_not_decompose_is_refused(vgg3):
    objective = _objective(vgg3, (32, 32), "gram")

    class Median(type(objective.terms["probe"])):
        decomposable = False

    objective.terms["probe"].__class__ = Median
    with pytest.raises(ParamartError, match="the probe term .Median. does not decompose"):
        Tiled(objective, (32, 32), 16)


def test_budget_tiles_only_what_does_not_fit_and_cuts_the_lbfgs_history():
    lbfgs = {"_target_": "torch.optim.LBFGS", "history_size": 50}
    adam = {"_target_": "torch.optim.Adam"}
    big = 64 * B.GiB
    assert B.choose_tile((512, 512), "conv5_1", "bf16", lbfgs, big, "auto") == (None, None)
    assert B.choose_tile((512, 512), "conv5_1", "bf16", lbfgs, big, None) == (None, None)
    tile, history = B.choose_tile((4096, 4096), "conv5_1", "bf16", lbfgs, 6 * B.GiB, "auto")
    assert tile is not None and tile % 16 == 0 and 256 <= tile < 4096
    assert B.MIN_PAIRS <= history < 50
    assert B.step_bytes((4096, 4096), tile, "conv5_1", "bf16", B.CANVAS_COPIES + 2 * history + 4) <= 6 * B.GiB
    assert B.choose_tile((4096, 4096), "conv5_1", "bf16", adam, 6 * B.GiB, 512) == (512, None)
    with pytest.raises(ParamartError, match="memory_budget"):
        B.choose_tile((8192, 8192), "conv5_1", "bf16", adam, 0.5 * B.GiB, "auto")
    with pytest.raises(ParamartError, match="model.tile"):
        B.check_tile(-3)


def test_cli_refuses_tiles_with_random_transforms(tmp_path):
    r = paramart_cli("size=32", "steps=1", "model.tile=16", "transforms.jitter=2", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("paramart: error: model.tile cannot be used here: random")
    assert not list(tmp_path.glob("outputs/*/*/final.png"))


def test_a_tiled_run_resumes_to_the_same_image_as_a_straight_run(tmp_path):
    common = ["size=48", "model.tile=16", "model.precision=fp32", "timelapse.enabled=false", "progress=false",
              "objective.tv.weight=1"]
    straight = paramart_cli(*common, "steps=4", "hydra.run.dir=straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr
    log = (tmp_path / "straight" / "paramart.log").read_text()
    assert "tiled: 48x32 canvas in 6 tiles of up to 16x16 px (+80 px halo)" in log
    first = paramart_cli(*common, "steps=2", "hydra.run.dir=first", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = paramart_cli("resume=first", "steps=4", "hydra.run.dir=again", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    a = np.asarray(Image.open(tmp_path / "straight" / "final.png"), dtype=np.int16)
    b = np.asarray(Image.open(tmp_path / "again" / "final.png"), dtype=np.int16)
    assert np.abs(a - b).max() <= 1
