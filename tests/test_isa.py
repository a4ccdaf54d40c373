"""The automatic speed settings follow what the CPU's kernels can do (paramart/model/isa.py):
bf16 only with native bf16 instructions that oneDNN may use."""

import json

import pytest

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
