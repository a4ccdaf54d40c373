import pytest
import torch

from paramart.errors import ParamartError
from paramart.model.layers import CONV_LAYERS, LAYER_NAMES, deepest
from paramart.model.vgg import VGG19
from paramart.model.weights import load_caffe_state


def test_layer_names_follow_vgg19():
    assert len(LAYER_NAMES) == 37
    assert len(CONV_LAYERS) == 16
    assert LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    assert LAYER_NAMES[-3:] == ("conv5_4", "relu5_4", "pool5")
    assert deepest(["conv1_1", "conv4_2", "relu3_1"]) == "conv4_2"


def test_shapes_by_layer_name(vgg):
    x = torch.rand(1, 3, 64, 48)
    out = vgg(x, ["conv1_1", "relu2_1", "pool3", "conv4_2", "conv5_1"])
    assert out["conv1_1"].shape == (1, 64, 64, 48)
    assert out["relu2_1"].shape == (1, 128, 32, 24)
    assert out["pool3"].shape == (1, 256, 8, 6)
    assert out["conv4_2"].shape == (1, 512, 8, 6)
    assert out["conv5_1"].shape == (1, 512, 4, 3)
    assert (out["relu2_1"] >= 0).all()


def test_truncated_after_deepest_layer_and_frozen():
    net = VGG19("caffe", last_layer="relu3_1", pooling="avg")
    assert list(net.layers)[-1] == "relu3_1"
    assert isinstance(net.layers["pool1"], torch.nn.AvgPool2d)
    assert not any(p.requires_grad for p in net.parameters())
    assert not net.training
    with pytest.raises(ParamartError, match="past this network's last layer"):
        net(torch.rand(1, 3, 32, 32), ["conv4_2"])


def test_unknown_layer_is_a_clear_error(vgg):
    with pytest.raises(ParamartError, match="unknown VGG-19 layer 'conv9_9'"):
        vgg(torch.rand(1, 3, 32, 32), ["conv9_9"])


def test_quantised_caffe_weights_decode_to_expected_statistics():
    state = load_caffe_state()
    assert len(state) == 32
    w11 = state["conv1_1.weight"]
    assert w11.shape == (64, 3, 3, 3) and w11.dtype == torch.float32
    # 8-bit quantisation: at most 256 distinct values per layer
    assert all(state[f"{n}.weight"].unique().numel() <= 256 for n in CONV_LAYERS)
    # the Oxford conv1_1 filters are large (std ~0.19); deep layers are small (std ~0.008)
    assert 0.15 < w11.std() < 0.25
    assert 0.004 < state["conv5_4.weight"].std() < 0.015
    assert abs(state["conv3_1.weight"].mean()) < 0.01
    # biases are not quantised and are not all alike
    assert state["conv1_1.bias"].unique().numel() == 64


def test_caffe_preprocessing_is_bgr_0_255_mean_subtracted(vgg):
    mean_rgb = torch.tensor([123.68, 116.779, 103.939]).view(1, 3, 1, 1) / 255
    x = vgg.normalize(mean_rgb.expand(1, 3, 2, 2))
    assert torch.allclose(x, torch.zeros_like(x), atol=1e-4)
    red = torch.zeros(1, 3, 1, 1)
    red[:, 0] = 1
    assert vgg.normalize(red)[0, 2, 0, 0] == pytest.approx(255 - 123.68, abs=1e-3)


def test_corrupt_weights_file_gives_one_line_error(tmp_path):
    bad = tmp_path / "w.bin"
    bad.write_bytes(b"not weights")
    with pytest.raises(ParamartError, match="corrupt") as err:
        load_caffe_state(bad)
    assert "\n" not in str(err.value)


def test_state_dict_file_source_matches_caffe(tmp_path, vgg):
    path = tmp_path / "vgg.pth"
    torch.save(load_caffe_state(), path)
    net = VGG19(str(path), last_layer="conv5_1", preprocess="caffe")
    x = torch.rand(1, 3, 32, 32)
    assert torch.allclose(net(x, ["conv5_1"])["conv5_1"], vgg(x, ["conv5_1"])["conv5_1"], atol=1e-4)
    with pytest.raises(ParamartError, match="neither 'caffe', 'torchvision' nor an existing file"):
        VGG19(str(tmp_path / "missing.pth"))
