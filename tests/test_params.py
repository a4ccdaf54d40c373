"""Contract tests every parameterization must pass."""

import pytest
import torch
from hydra.utils import instantiate

from paramart.api import compose
from paramart.checkpoint import load_checkpoint, param_from_checkpoint, save_checkpoint
from paramart.params.pixel import Pixel
from tests.conftest import sample_tensor

PARAMS = ["pixel"]


def build(name: str, size=(40, 56), init_image=None):
    cfg = compose([f"param={name}"]).param
    return instantiate(cfg, size=size, init_image=init_image), cfg


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
    opt = torch.optim.Adam(param.parameters(), lr=0.05)
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(param(), target)
        loss.backward()
        opt.step()
        param.constrain()
    assert loss.item() < 0.002


def test_pixel_init_from_content_or_noise():
    content = sample_tensor("chelsea", 32)
    size = tuple(content.shape[-2:])
    assert torch.allclose(Pixel(size, content, init="content").render(), content, atol=1e-6)
    torch.manual_seed(0)
    noisy = Pixel(size, content, init="noise", noise_scale=0.2).render()
    assert abs(noisy.mean().item() - 0.5) < 0.05 and 0.15 < noisy.std().item() < 0.25
    assert torch.allclose(Pixel(size, None, init="auto").render().mean(), torch.tensor(0.5), atol=0.05)
