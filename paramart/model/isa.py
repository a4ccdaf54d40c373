"""What the CPU's vector units can do, as the kernels torch will run actually see it.

The speed settings (``model.precision``, ``model.channels_last`` and the thread count, see
:func:`paramart.model.vgg.speed_plan`) are decided from this, not from one machine's tuning.
Three sources, all read once:

* the CPU's flags (``/proc/cpuinfo`` on Linux): ``avx2``, ``avx512f``, ``avx512_bf16``,
  ``amx_bf16`` ...;
* ``torch.backends.cpu.get_cpu_capability()``: the vector ISA of ATen's own kernels
  (``AVX2``, ``AVX512``, ``DEFAULT`` ...), lowered by ``ATEN_CPU_CAPABILITY``;
* ``ONEDNN_MAX_CPU_ISA``: the cap on oneDNN's convolution kernels (``AVX2``,
  ``AVX512_CORE``, ``AVX512_CORE_BF16`` ...).

The two environment variables let one machine stand in for an older one (the benchmarks in
docs/benchmarks.md emulate an AVX2-only CPU on an AVX512-BF16 one this way); paramart's
choices then follow the kernels that will really run.
"""

from __future__ import annotations

import functools
import os
import platform
from dataclasses import dataclass

import torch

#: oneDNN ISA caps (ONEDNN_MAX_CPU_ISA) under which its convolutions have native bf16
#: instructions (oneDNN's ``cpu_isa_t`` names; ``ALL`` or unset: no cap)
_ONEDNN_BF16 = ("ALL", "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX", "AVX512_CORE_AMX_FP16",
                "AVX10_1_512", "AVX10_1_512_AMX", "AVX10_1_512_AMX_FP16", "AVX10_2_512", "AVX10_2_512_AMX_2")


@dataclass(frozen=True)
class CpuIsa:
    """A CPU's vector abilities. ``flags``: the kernel's CPU flags; ``aten``: torch's kernel
    ISA; ``onednn_cap``: ``ONEDNN_MAX_CPU_ISA`` (upper case) or None."""

    flags: frozenset[str]
    aten: str
    onednn_cap: str | None

    @property
    def avx512(self) -> bool:
        """AVX-512 (foundation) in use by torch's kernels."""
        return self.aten.startswith("AVX512") and ("avx512f" in self.flags or not self.flags)

    @property
    def native_bf16(self) -> bool:
        """bf16 dot products in hardware (AVX512-BF16 or AMX), and neither torch nor oneDNN
        kept from them. Elsewhere oneDNN emulates bf16 and it is slower than float32."""
        hardware = bool({"avx512_bf16", "amx_bf16"} & self.flags)
        onednn = self.onednn_cap is None or self.onednn_cap in _ONEDNN_BF16
        return hardware and self.avx512 and onednn

    @property
    def vector_bits(self) -> int:
        """Width of the widest vectors oneDNN's convolutions use: 512 (AVX-512), 256 (AVX2), else 128."""
        if self.avx512 and (self.onednn_cap is None or self.onednn_cap.startswith(("ALL", "AVX512", "AVX10"))):
            return 512
        if "avx2" in self.flags or self.aten in ("AVX2", "AVX512"):
            return 256
        return 128

    def describe(self) -> str:
        """One line, e.g. ``AVX512 + AVX512-BF16`` or ``AVX2 (oneDNN capped at AVX2)``."""
        if self.avx512:
            text = "AVX512" + (" + AVX512-BF16" if "avx512_bf16" in self.flags else "")
            text += " + AMX" if "amx_bf16" in self.flags else ""
        else:
            text = self.aten if self.aten not in ("DEFAULT", "NO AVX") else "no AVX2"
        caps = [f"{k} {v}" for k, v in (("ATen at", os.environ.get("ATEN_CPU_CAPABILITY")),
                                          ("oneDNN capped at", self.onednn_cap)) if v]
        return text + (f" ({', '.join(caps)})" if caps else "")


def _flags() -> frozenset[str]:
    if platform.system() != "Linux":
        return frozenset()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


@functools.cache
def cpu_isa() -> CpuIsa:
    """This process's :class:`CpuIsa` (read once)."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")
    return CpuIsa(_flags(), torch.backends.cpu.get_cpu_capability(), cap.upper() if cap else None)
