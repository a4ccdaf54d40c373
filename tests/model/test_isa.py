"""The automatic speed settings follow what the CPU's kernels can do (paramart/model/isa.py):
bf16 only with native bf16 instructions that oneDNN may use."""

import json

import pytest
import torch

from paramart.model.isa import CpuIsa
from tests.conftest import paramart_cli

ZEN4 = frozenset({"fma", "avx2", "avx512f", "avx512bw", "avx512_bf16"})
ZEN3 = frozenset({"fma", "avx2"})


@pytest.mark.parametrize("isa, bf16, bits", [
    (CpuIsa(ZEN4, "AVX512", None), True, 512),
    (CpuIsa(ZEN4, "AVX512", "AVX512_CORE_BF16"), True, 512),
    (CpuIsa(ZEN4, "AVX512", "AVX2"), False, 256),  # oneDNN capped: no bf16 kernels
    (CpuIsa(ZEN4, "AVX512", "AVX512_CORE"), False, 512),  # AVX-512 without its bf16 part
    (CpuIsa(ZEN4, "AVX2", None), False, 256),  # ATen capped at AVX2
    (CpuIsa(ZEN3, "AVX2", None), False, 256),  # an AVX2-only EPYC
    (CpuIsa(ZEN4 - {"avx512_bf16"}, "AVX512", None), False, 512),  # AVX-512 without bf16 (emulated: slower)
    (CpuIsa(ZEN4 | {"amx_bf16"}, "AVX512", None), True, 512),
    (CpuIsa(frozenset(), "DEFAULT", None), False, 128),
])
def test_native_bf16_and_vector_width(isa, bf16, bits):
    assert isa.native_bf16 is bf16
    assert isa.vector_bits == bits


def test_auto_precision_on_a_cpu_capped_at_avx2_is_float32(tmp_path):
    """The paramart command, with oneDNN and ATen capped at AVX2 (as on an AVX2-only CPU):
    model.precision=auto must resolve to fp32 whatever the CPU's flags say, because torch
    has no oneDNN bf16 convolution there and its fallback loops are many times slower."""
    run_dir = tmp_path / "run"
    res = paramart_cli("content=sample:chelsea", "style=sample:coffee", "size=32", "steps=1", "progress=false",
                       "timelapse.enabled=false", f"hydra.run.dir={run_dir}", cwd=tmp_path,
                       env={"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"})
    assert res.returncode == 0, res.stderr[-2000:]
    info = json.loads((run_dir / "run.json").read_text())
    assert info["precision"] == "fp32"


def test_gram_backward_in_one_product_is_autograds_gradient():
    """The Gram term's own backward, (dG + dG^T) F, against autograd's two products."""
    from paramart.objectives.terms.gram import _Gram, gram_matrix

    torch.manual_seed(0)
    assert torch.autograd.gradcheck(_Gram.apply, (torch.randn(1, 6, 35, dtype=torch.float64, requires_grad=True),))
    f = torch.randn(1, 6, 5, 7, requires_grad=True)
    weights = torch.randn(1, 6, 6)
    (gram_matrix(f) * weights).sum().backward()
    flat = f.detach().reshape(1, 6, 35).requires_grad_()
    (torch.bmm(flat, flat.transpose(1, 2)) / 35 * weights).sum().backward()
    assert torch.allclose(f.grad.reshape(1, 6, 35), flat.grad, rtol=1e-5, atol=1e-6)


def test_in_place_relus_leave_the_requested_features_and_gradient_alone():
    """ReLUs run in place where nothing reads the convolution's output; a requested conv
    layer (the default objective's conv1_1 ...) must keep its pre-ReLU values, and the
    image's gradient must be what out-of-place ReLUs give."""
    from torch import nn

    from paramart.model.vgg import VGG19

    torch.manual_seed(0)
    net = VGG19("caffe", last_layer="conv3_1").configure("fp32", False)
    image = torch.rand(1, 3, 24, 32)
    layers = ["conv1_1", "relu2_1", "conv3_1"]

    def evaluate(features):
        x = image.clone().requires_grad_()
        feats = features(x)
        sum((f * f).mean() for f in feats.values()).backward()
        return feats, x.grad

    feats, grad = evaluate(lambda x: net(x, layers))
    ref_feats, ref_grad = evaluate(lambda x: _reference(net, x, layers, nn))
    assert (feats["conv1_1"] < 0).any()  # still before its ReLU
    for name in layers:
        assert torch.equal(feats[name], ref_feats[name]), name
    assert torch.allclose(grad, ref_grad, rtol=1e-6, atol=1e-9)


def _reference(net, x, layers, nn):
    out, x = {}, net.normalize(x)
    for name, layer in net.layers.items():
        x = nn.functional.relu(x) if name.startswith("relu") else layer(x)
        if name in layers:
            out[name] = x
    return out
