import torch

from paramart.objectives.losses import ContentLoss, StyleLoss, TVLoss, gram_matrix
from tests.conftest import sample_tensor


def test_losses_are_zero_for_identical_inputs_and_positive_otherwise(vgg):
    a, b = sample_tensor("chelsea", 48), sample_tensor("coffee", 48)
    b = torch.nn.functional.interpolate(b, size=a.shape[-2:])
    fa, fb = vgg(a, ["conv2_1", "conv4_2"]), vgg(b, ["conv2_1", "conv4_2"])
    assert ContentLoss(fa["conv4_2"])(fa["conv4_2"]).item() == 0
    assert StyleLoss(fa["conv2_1"])(fa["conv2_1"]).item() < 1e-10
    assert ContentLoss(fa["conv4_2"])(fb["conv4_2"]).item() > 0.05
    assert StyleLoss(fa["conv2_1"])(fb["conv2_1"]).item() > 0.01
    assert TVLoss()(torch.full((1, 3, 8, 8), 0.3)).item() == 0
    assert TVLoss()(a).item() > 0


def test_gram_matrix_does_not_grow_with_image_size():
    f = torch.rand(1, 8, 16, 16)
    tiled = f.repeat(1, 1, 4, 4)  # same statistics, 16x the positions
    assert torch.allclose(gram_matrix(f), gram_matrix(tiled), rtol=1e-5)
    assert gram_matrix(f).shape == (1, 8, 8)
    g = gram_matrix(f)
    assert torch.allclose(g, g.transpose(1, 2))


def test_style_loss_is_comparable_across_resolutions(vgg):
    """Same image pair at 64 px and 128 px: the style loss stays within a small factor."""
    losses = []
    for size in (64, 128):
        a, b = sample_tensor("chelsea", size), sample_tensor("hubble_deep_field", size)
        fa, fb = vgg(a, ["conv3_1"]), vgg(b, ["conv3_1"])
        losses.append(StyleLoss(fb["conv3_1"])(fa["conv3_1"]).item())
    assert 0.5 < losses[0] / losses[1] < 2.0


def test_gradients_flow_to_the_image(vgg):
    target = vgg(sample_tensor("chelsea", 32), ["conv3_1"])["conv3_1"]
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    loss = StyleLoss(target)(vgg(x, ["conv3_1"])["conv3_1"])
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
