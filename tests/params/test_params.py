"""Contract tests every parameterization must pass."""


import pytest
import torch

from paramart.api import compose
from paramart.params.base import build_param
from paramart.params.pixel import EPS, Pixel
from paramart.runner.checkpoint import load_checkpoint, param_from_checkpoint, save_checkpoint
from tests.conftest import REPO, sample_tensor, visible_pattern

#: every parameterization the packaged config offers: a new conf/param/NAME.yaml is tested here
PARAMS = sorted(p.stem for p in (REPO / "conf" / "param").glob("*.yaml"))
#: Adam learning rate and the MSE it must reach in 150 steps on a 48 px photo (measured:
#: pixel 1e-6, fft 0.0009, cppn 0.00086, cppn_faithful 0.0125, fourier_cppn 0.00013 (local 1/f^2),
#: fourier_cppn_faithful 0.0016, hashgrid 2.5e-5; the start is 0.093).
FIT = {"pixel": (0.05, 0.002), "fft": (0.05, 0.002), "cppn": (0.01, 0.003), "cppn_faithful": (0.01, 0.025),
       "fourier_cppn": (0.005, 0.001), "fourier_cppn_faithful": (0.005, 0.003), "hashgrid": (0.01, 0.0005),
       "hashgrid_print": (0.01, 0.0005)}
RENDERS_REGIONS = [name for name in PARAMS if name not in ("pixel", "fft")]


def test_every_parameterization_has_a_fit_threshold():
    assert set(PARAMS) >= {"pixel", "fft", "cppn", "fourier_cppn", "hashgrid"}
    assert set(FIT) == set(PARAMS), "add the new parameterization's measured fit to FIT"


def build(name: str, size=(40, 56), init_image=None):
    cfg = compose([f"param={name}"]).param
    return build_param(cfg, size, init_image), cfg  # the path runs take: the registry, checked settings


@pytest.mark.parametrize("name", PARAMS)
def test_renders_requested_shape_in_unit_range_with_gradients(name):
    torch.manual_seed(0)
    param, _ = build(name)
    image = param()
    assert image.shape == (1, 3, 40, 56)
    assert image.min() >= 0 and image.max() <= 1
    other = param((24, 30))
    assert other.shape == (1, 3, 24, 30)
    (image.mean() + other.mean()).backward()
    # CPPNs zero-initialise their output layer, so the hidden layers get gradient from the
    # second step on: take one step and look again.
    with torch.no_grad():
        for p in param.parameters():
            p.sub_(0.01 * p.grad.sign())
    param.zero_grad()
    (param().mean() + param((24, 30)).mean()).backward()
    grads = [p.grad for p in param.parameters()]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", PARAMS)
def test_state_round_trips_through_checkpoint(name, tmp_path):
    torch.manual_seed(0)
    param, cfg = build(name)
    with torch.no_grad():
        for p in param.parameters():
            p.add_(0.1 * torch.randn_like(p))
    from omegaconf import OmegaConf

    save_checkpoint(tmp_path / "checkpoint.pt", param, OmegaConf.to_container(cfg), step=7)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 7
    again = param_from_checkpoint(load_checkpoint(tmp_path))
    assert torch.equal(again.render(), param.render())


@pytest.mark.parametrize("name", PARAMS)
def test_fits_a_target_image(name):
    """Reconstruction by Adam on pixel MSE; thresholds set from measured runs."""
    torch.manual_seed(0)
    target = sample_tensor("astronaut", 48)
    param, _ = build(name, size=tuple(target.shape[-2:]))
    lr, threshold = FIT[name]
    opt = torch.optim.Adam(param.parameters(), lr=lr)
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(param(), target)
        loss.backward()
        opt.step()
    assert loss.item() < threshold


def test_pixel_init_from_content_or_noise():
    content = sample_tensor("chelsea", 32)
    size = tuple(content.shape[-2:])
    # exact but for the 1% kept off pure black and white (sigmoid logits stay finite)
    assert torch.allclose(Pixel(size, content, init="content").render(), content.clamp(EPS, 1 - EPS), atol=1e-5)
    torch.manual_seed(0)
    noisy = Pixel(size, content, init="noise", noise_scale=0.2).render()
    assert abs(noisy.mean().item() - 0.5) < 0.05 and 0.15 < noisy.std().item() < 0.25
    assert torch.allclose(Pixel(size, None, init="auto").render().mean(), torch.tensor(0.5), atol=0.05)


def test_cppn_at_64_and_256_px_downsampled_agree():
    torch.manual_seed(0)
    # the Distill CPPN: smooth at the pixel scale (128 Fourier features put detail below 4 px)
    param, _ = build("cppn_faithful", size=(64, 64))
    with torch.no_grad():
        param.out.weight.normal_(0, 0.3)  # the zero-initialised output layer would render flat grey
    small = param.render((64, 64))
    large = param.render((256, 256))
    assert small.std() > 0.05  # a real pattern, not grey
    assert (torch.nn.functional.avg_pool2d(large, 4) - small).abs().mean() < 0.005


@pytest.mark.parametrize("name", RENDERS_REGIONS)
def test_coordinate_params_sample_one_continuous_image(name):
    """At 3x the size, every third pixel (from the second) has the centre of a 1x pixel."""
    torch.manual_seed(0)
    param, _ = build(name, size=(40, 56))
    assert param.renders_regions
    visible_pattern(param, out_std=0.3)
    small = param.render()
    large = param.render((120, 168))
    assert small.std() > 0.05
    if not getattr(param, "antialias", False):  # mip-mapped: a 3x render shows finer levels more strongly
        assert torch.allclose(large[..., 1::3, 1::3], small, atol=1e-4)
    # a region of a render is exactly that part of it (what tiled rendering relies on)
    assert torch.allclose(param.render_region((120, 168), 64, 96, 40, 50), large[..., 64:104, 96:146], atol=1e-5)


def test_cppn_render_of_another_aspect_is_a_centred_part_of_the_canvas():
    torch.manual_seed(0)
    param, _ = build("cppn", size=(64, 64))
    with torch.no_grad():
        param.out.weight.normal_(0, 0.3)
    square = param.render((64, 64))
    wide = param.render((32, 64))  # the middle half of the rows, same pixel pitch
    assert torch.allclose(wide, square[..., 16:48, :], atol=1e-5)


def test_fft_init_from_an_image_reproduces_it():
    content = sample_tensor("chelsea", 48)
    size = tuple(content.shape[-2:])
    param, _ = build("fft", size=size, init_image=content)
    assert (param.render() - content).abs().max() < 2.5 / 255  # the clamp to half an 8-bit level
    # noise init starts near grey; without decorrelation the inverse still holds
    assert abs(build("fft", size=size)[0].render().mean().item() - 0.5) < 0.01
    plain = build_param(compose(["param=fft", "param.decorrelate=false"]).param, size, content)
    assert (plain.render() - content).abs().max() < 2.5 / 255


def test_fft_render_at_another_size_resamples_the_spectrum():
    """Upsampling is band-limited interpolation: average pooling back gives the canvas."""
    torch.manual_seed(0)
    param, _ = build("fft", size=(32, 32))
    with torch.no_grad():
        param.spectrum.normal_(0, 0.05)
    small = param.render()
    large = param.render((128, 128))
    assert large.shape == (1, 3, 128, 128)
    assert (torch.nn.functional.avg_pool2d(large, 4) - small).abs().mean() < 0.01
    assert torch.allclose(param.render((33, 31)), param.render((33, 31)))  # odd sizes work too
