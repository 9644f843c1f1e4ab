"""The same trained numbers on every x86 CPU with AVX2: the environment the chapters run in.

A chapter that trains a model in float32 prints numbers that depend on the CPU's vector
instructions: MKL, oneDNN and PyTorch's own kernels pick AVX-512 code where the CPU has it,
and AVX-512 code sums in another order, so the trained values move in the second decimal
(observed: chapters 8-10 differed between an AVX2 and an AVX-512 AMD EPYC). The committed
outputs of the notebooks are compared by nbval, so they must not depend on the CPU.

These settings make every library take its AVX2 code path on any CPU that has AVX2:

* ``ATEN_CPU_CAPABILITY=avx2``: PyTorch's vectorized CPU kernels;
* ``MKL_CBWR=AVX2``: MKL's conditional numerical reproducibility (the matrix products);
* ``ONEDNN_MAX_CPU_ISA=AVX2``: oneDNN (PyTorch's fused LSTM and linear kernels);
* ``RNNBOOK_NATIVE_MARCH=x86-64-v3``: rnnbook's compiled loops (:mod:`rnnbook.kernels.native`).

Measured (2026-12-05, AMD EPYC with AVX-512): with these settings chapter 8, executed
there, printed exactly what the same notebook had printed on an AVX2-only AMD EPYC (every
trained value); without them five of its cells differed. Chapter 10 matched in two of its
three training runs; the third (scheduled sampling) still differed, cause unknown.

The test run (``conftest.py``) and ``make execute`` use these settings; ``make bench`` and
the reader's own runs do not (they would slow an AVX-512 machine a little).
On a CPU without AVX2, or not x86, nothing is set.

Usage: ``python tools/cpu_env.py`` prints the settings as ``NAME=value`` words for ``env``.
"""

from __future__ import annotations

import os
import pathlib
import platform

SETTINGS = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "RNNBOOK_NATIVE_MARCH": "x86-64-v3",
}


def _has_avx2() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = next(ln for ln in pathlib.Path("/proc/cpuinfo").read_text().splitlines()
                     if ln.startswith("flags"))
    except (OSError, StopIteration):
        return False
    return {"avx2", "fma", "bmi2"} <= set(flags.split())


def settings() -> dict[str, str]:
    """The settings for this machine (empty where the CPU has no AVX2)."""
    return dict(SETTINGS) if _has_avx2() else {}


def apply() -> None:
    """Set each setting in ``os.environ`` unless it is already set (before torch is imported)."""
    for name, value in settings().items():
        os.environ.setdefault(name, value)


if __name__ == "__main__":
    print(" ".join(f"{k}={v}" for k, v in settings().items()))
