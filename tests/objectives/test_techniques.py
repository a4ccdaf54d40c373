"""Artists' techniques: blended and masked styles, colour preservation, grain, dream, multi-scale.

Small real runs (the caffe VGG-19 at 32-64 px, a few dozen Adam steps) whose outcome
would change if the technique broke.
"""

import pytest
import torch
from PIL import Image

import paramart
from paramart.errors import ParamartError
from paramart.objectives.color import match_histogram, rgb_to_yiq, yiq_to_rgb
from paramart.objectives.masks import builtin_mask, fit_to, make_mask, style_masks
from paramart.objectives.terms.gram import gram_matrix
from paramart.objectives.transforms import RandomWarp
from paramart.params.noise import grain_noise
from paramart.params.pixel import Pixel
from paramart.runner.schedule import schedule as stages
from tests.conftest import REPO, paramart_cli, sample_tensor

LOW = ["objective.style.layers=[conv1_1,conv2_1,conv3_1]"]
ADAM = dict(optim="adam", progress=False, log_every=100)


def gram_distance(vgg, image: torch.Tensor, style: torch.Tensor, layers=("conv1_1", "conv2_1", "conv3_1")) -> float:
    """Sum over layers of the relative squared distance between Gram matrices."""
    a, b = vgg(image, layers), vgg(style, layers)
    total = 0.0
    for layer in layers:
        ga, gb = gram_matrix(a[layer]), gram_matrix(b[layer])
        total += float((ga - gb).pow(2).mean() / gb.pow(2).mean())
    return total


# -- several styles ---------------------------------------------------------------------

def test_blend_weight_pulls_the_result_toward_that_style(vgg):
    a, b = "sample:hubble_deep_field", "sample:coffee"
    results = {}
    for blend in ([0.85, 0.15], [0.15, 0.85]):
        r = paramart.stylize(content=None, style=[a, b], objective="texture", size=48, steps=40, seed=0,
                             overrides=[*LOW, "optim.lr=0.05", f"style_blend=[{blend[0]},{blend[1]}]"], **ADAM)
        results[blend[0]] = r.image
    sa, sb = sample_tensor("hubble_deep_field", 48), sample_tensor("coffee", 48)
    # more of A: closer to A and farther from B
    assert gram_distance(vgg, results[0.85], sa) < gram_distance(vgg, results[0.15], sa)
    assert gram_distance(vgg, results[0.85], sb) > gram_distance(vgg, results[0.15], sb)


# -- masks ------------------------------------------------------------------------------

def test_builtin_masks_are_soft_and_share_every_pixel():
    left, right = style_masks(["left", "right"], (40, 60), feather=0.2)
    assert torch.allclose(left + right, torch.ones_like(left))
    row = left[0, 0, 20]
    assert row[0] == 1 and row[-1] == 0
    band = ((row > 0.01) & (row < 0.99)).sum().item()
    assert 4 <= band <= 10  # 0.2 x 40 px = 8 px of soft edge, not a hard cut
    hard = builtin_mask("left", (40, 60), 0.0)[0, 0, 20]
    assert ((hard > 0) & (hard < 1)).sum() == 0
    radial, outside = style_masks(["radial", "outside"], (40, 40), feather=0.1)
    assert radial[0, 0, 20, 20] == 1 and outside[0, 0, 0, 0] == 1
    assert fit_to(left, (5, 8)).shape == (1, 1, 5, 8)


def test_mask_from_an_image_file(tmp_path):
    img = Image.new("L", (60, 40), 0)
    img.paste(255, (0, 0, 60, 20))  # white top half
    path = tmp_path / "top.png"
    img.save(path)
    mask = make_mask(str(path), (40, 60), feather=0.1)
    assert mask[0, 0, 2].min() > 0.99 and mask[0, 0, -3].max() < 0.01
    assert 0.1 < float(mask[0, 0, 20, 30]) < 0.9  # blurred edge
    with pytest.raises(ParamartError, match="neither a built-in mask"):
        make_mask("diagonal", (40, 60), 0.1)


def test_masked_run_puts_each_style_in_its_region(vgg):
    a, b = "sample:hubble_deep_field", "sample:coffee"
    r = paramart.stylize(content=None, style=[a, b], objective="texture", size=64, steps=60, seed=0,
                         overrides=[*LOW, "optim.lr=0.05", "style_masks=[left,right]", "mask_feather=0.1"], **ADAM)
    sa, sb = sample_tensor("hubble_deep_field", 48), sample_tensor("coffee", 48)
    left, right = r.image[..., :, :26], r.image[..., :, -26:]  # away from the 6 px seam
    assert gram_distance(vgg, left, sa) < gram_distance(vgg, left, sb)
    assert gram_distance(vgg, right, sb) < gram_distance(vgg, right, sa)


def test_masks_must_match_the_styles():
    with pytest.raises(ParamartError, match="one per style"):
        paramart.stylize(style=["sample:coffee", "sample:rocket"], size=32, steps=1,
                         overrides=["style_masks=[left]"], progress=False)


# -- colour -----------------------------------------------------------------------------

def test_yiq_round_trip_and_histogram_matching():
    x = sample_tensor("astronaut", 32)
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-5)
    content, style = sample_tensor("chelsea", 48), sample_tensor("hubble_deep_field", 48)
    matched = match_histogram(style, content)
    assert torch.allclose(matched.mean((0, 2, 3)), content.mean((0, 2, 3)), atol=0.02)


@pytest.fixture(scope="module")
def colour_shift():
    """Largest per-channel change of the mean colour from the content, for each mode.

    hubble_deep_field's dark blue pulls the orange cat's colours away unless they are kept
    (measured at 40 px, 20 steps: 0.12 without, 0.008 luminance, 0.03 histogram)."""
    content = sample_tensor("chelsea", 40)
    shifts = {}
    for mode in ("null", "luminance", "histogram"):
        r = paramart.stylize(content="sample:chelsea", style="sample:hubble_deep_field", size=40, steps=20,
                             seed=0, overrides=["optim.lr=0.2", "objective.style.weight=1000",
                                                f"preserve_color={mode}"], **ADAM)
        shifts[mode] = float((r.image.mean((0, 2, 3)) - content.mean((0, 2, 3))).abs().max())
    return shifts


@pytest.mark.parametrize("mode", ["luminance", "histogram"])
def test_colour_preservation_keeps_the_content_mean_colour(colour_shift, mode):
    assert colour_shift[mode] < 0.05, colour_shift
    assert colour_shift["null"] > 2 * colour_shift[mode], colour_shift


def test_colour_preservation_needs_a_content_image():
    with pytest.raises(ParamartError, match="preserve_color"):
        paramart.stylize(content=None, style="sample:coffee", objective="texture", size=32, steps=1,
                         overrides=["preserve_color=luminance"], progress=False)


# -- grain ------------------------------------------------------------------------------

def low_frequency_share(noise: torch.Tensor, cutoff: float = 1 / 16) -> float:
    """Share of the power at spatial frequencies below ``cutoff`` cycles per px."""
    power = torch.fft.fft2(noise - noise.mean()).abs().pow(2).sum((0, 1))
    fy = torch.fft.fftfreq(noise.shape[-2]).abs().view(-1, 1)
    fx = torch.fft.fftfreq(noise.shape[-1]).abs().view(1, -1)
    low = (fy < cutoff) & (fx < cutoff)
    return float(power[low].sum() / power.sum())


def test_grain_moves_the_noise_power_to_low_frequencies():
    torch.manual_seed(0)
    fine, coarse = grain_noise((128, 128), 1), grain_noise((128, 128), 8)
    # white noise: power spread evenly, so the low band holds about its area, (1/8)^2
    assert low_frequency_share(fine) < 0.03
    assert low_frequency_share(coarse) > 0.3
    smooth = grain_noise((128, 128), 8, upsample="bilinear")
    assert low_frequency_share(smooth) > low_frequency_share(coarse)  # no block edges
    with pytest.raises(ParamartError, match="grain"):
        grain_noise((8, 8), 0)


def test_pixel_noise_init_is_made_of_grain_sized_blocks():
    torch.manual_seed(0)
    p = Pixel((30, 40), init="noise", noise_scale=0.2, grain=10)
    px = p.logits.detach()
    block = px[..., 10:20, 20:30]
    assert torch.all(block == block[..., :1, :1])
    assert not torch.equal(px[..., 0, 0], px[..., 0, 10])


# -- dream and transforms ---------------------------------------------------------------

def test_dream_raises_the_chosen_channels(vgg):
    channels = [5, 17]
    content = sample_tensor("chelsea", 48)

    def activation(image):
        return float(vgg(image, ["relu4_2"])["relu4_2"][:, channels].mean())

    r = paramart.stylize(content="sample:chelsea", objective="dream", size=48, steps=15, seed=0,
                         overrides=["optim.lr=0.02", "objective.dream.layers=[relu4_2]",
                                    f"objective.dream.channels=[{channels[0]},{channels[1]}]",
                                    "transforms.jitter=2"], **ADAM)
    assert r.history.last.terms["dream"] < 0
    assert activation(r.image) > 2 * activation(content) + 1.0


def test_dream_channel_out_of_range_is_a_clear_error():
    with pytest.raises(ParamartError, match="channels 0-511"):
        paramart.stylize(content="sample:chelsea", objective="dream", size=32, steps=1, progress=False,
                         overrides=["objective.dream.channels=[600]"])


def test_random_warp_is_differentiable_and_off_when_zero():
    torch.manual_seed(0)
    x = sample_tensor("astronaut", 32).requires_grad_(True)
    assert RandomWarp() (x) is x
    y = RandomWarp(jitter=4, scale=0.1, rotate=10)(x)
    assert y.shape == x.shape and not torch.allclose(y, x)
    y.sum().backward()
    assert x.grad.abs().sum() > 0
    with pytest.raises(ParamartError, match="transforms"):
        RandomWarp(scale=1.5)


# -- multi-scale ------------------------------------------------------------------------

def test_schedule_splits_size_and_steps():
    assert stages(512, 300, [0.25, 0.5, 1], [0.5, 0.3, 0.2]) == [(128, 150), (256, 90), (512, 60)]
    assert stages(64, 10, [0.5, 1], None) == [(32, 5), (64, 5)]
    assert stages(64, 10, None, None) == [(64, 10)]
    assert sum(n for _, n in stages(100, 7, [0.25, 0.5, 1], [1, 1, 1])) == 7
    assert stages(32, 4, [0.25, 1], None, min_longest=25)[0] == (25, 2)
    with pytest.raises(ParamartError, match="ending at 1"):
        stages(64, 10, [0.5, 0.75], None)


def test_pixel_rescale_carries_the_canvas():
    content = sample_tensor("astronaut", 32)
    p = Pixel((32, 32), init_image=content)
    p.rescale((64, 64))
    assert p.size == (64, 64) and p().shape == (1, 3, 64, 64)
    back = torch.nn.functional.interpolate(p.render(), size=(32, 32), mode="area")
    assert (back - content).abs().mean() < 0.03


def test_multiscale_run_ends_at_full_size_and_counts_every_step(tmp_path):
    r = paramart.stylize(content="sample:chelsea", style="sample:coffee", size=48, steps=6, seed=0, log_every=1,
                         overrides=["schedule.scales=[0.5,1]", "schedule.shares=[2,1]"], out_dir=tmp_path, **{
                             k: v for k, v in ADAM.items() if k != "log_every"})
    assert r.image.shape[-1] == 48 and r.param.size == (32, 48)
    assert [row.step for row in r.history.rows] == [0, 1, 2, 3, 4, 5, 6]
    seconds = [row.seconds for row in r.history.rows]
    assert seconds == sorted(seconds)  # one clock across the scales
    assert (tmp_path / "losses.csv").read_text().count("\n") == 8


# -- every experiment through the CLI ---------------------------------------------------

EXPERIMENTS = sorted(p.stem for p in (REPO / "conf" / "experiment").glob("*.yaml")
                     if p.stem in {"multi_style", "masked_styles", "preserve_color", "texture", "dream", "multiscale"})


def test_all_six_experiments_exist():
    assert len(EXPERIMENTS) == 6


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_runs_from_the_cli(experiment, tmp_path):
    run_dir = tmp_path / experiment
    res = paramart_cli(f"experiment={experiment}", "size=32", "steps=2", "progress=false",
                       f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    for name in ("final.png", "losses.csv", "checkpoint.pt", ".hydra/config.yaml"):
        assert (run_dir / name).is_file(), name
    with Image.open(run_dir / "final.png") as im:
        assert max(im.size) == 32
