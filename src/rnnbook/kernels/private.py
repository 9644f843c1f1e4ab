"""Every private torch entry point rnnbook uses, each behind a capability check.

The hand-written BPTT kernels are fast on a CPU partly because of three calls that are not
part of torch's public API:

* ``torch.ops.mkldnn._linear_pointwise`` and ``torch.ops.mkldnn._reorder_linear_weight``:
  oneDNN's matrix product (the library behind ``torch.nn.LSTM``'s CPU kernel), with the
  weight reordered once per pass into oneDNN's blocked layout;
* ``torch._C._autograd._get_current_graph_task_keep_graph``: whether the backward pass now
  running keeps the graph (then the kernels must not write over their saved tensors).

* ``sgemm_`` and ``dgemm_``, the BLAS symbols that torch's ``libtorch_cpu`` library exports
  (:func:`blas_gemm`): the compiled loops of :mod:`rnnbook.kernels.native` call them for their
  matrix products.

Each is probed once at import (:data:`ONEDNN`), at each call (:func:`keep_graph`) or when the
compiled loops are first built (:func:`blas_gemm`, checked there against ``torch.mm``), and
each has a public fallback: ``x @ w.T`` (or ``torch.addmm``) for the products, "the graph is
kept" (nothing is overwritten) for the keep-graph query, and the Python loops for the
compiled ones. A future torch without them runs the fallback, slower but equal to rounding.
:func:`disabled` (or ``RNNBOOK_PRIVATE=0`` in the environment) switches all of them off at
once; the tests run every layer that way and compare (``tests/kernels/test_private_paths.py``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pathlib
from collections.abc import Iterator

import torch
from torch import Tensor

__all__ = ["ONEDNN", "onednn_available", "onednn_for", "linear", "pack_weight", "keep_graph", "blas_gemm",
           "enabled", "disabled"]

_switched_off = 0  # depth of the disabled() blocks now open


def enabled() -> bool:
    """Whether the private paths may be taken: not inside :func:`disabled`, and not switched off
    for the whole process with ``RNNBOOK_PRIVATE=0``."""
    return _switched_off == 0 and os.environ.get("RNNBOOK_PRIVATE", "1") != "0"


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """``with disabled(): ...`` runs every kernel on torch's public API alone: no oneDNN
    operator, no keep-graph query (nothing saved is overwritten), no compiled loop. Blocks
    may nest; for tests and comparisons (the results agree to rounding)."""
    global _switched_off
    _switched_off += 1
    try:
        yield
    finally:
        _switched_off -= 1


def onednn_available() -> bool:
    """Whether this torch has oneDNN and its private ``_linear_pointwise`` operator."""
    try:
        return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    except (AttributeError, RuntimeError):
        return False


#: Whether the oneDNN products are available (probed once, at import).
ONEDNN = onednn_available()
# oneDNN's fixed cost per call (~10 µs) and per weight reordering (~0.1 ms) pay off only for
# products of at least this many multiply-adds; smaller ones use torch's own kernels. Thresholds measured on the machine of the
# performance appendix.
ONEDNN_MIN_WORK = 1 << 18


def onednn_for(t: Tensor, work: int) -> bool:
    """Whether a product of ``work`` multiply-adds on tensors like ``t`` goes through oneDNN."""
    return ONEDNN and t.dtype == torch.float32 and t.device.type == "cpu" and work >= ONEDNN_MIN_WORK and enabled()


def linear(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """``x w^T (+ b)`` for a 2-D ``x`` (N, K), a contiguous ``w`` (M, K) (or one from ``pack_weight``)
    and ``b`` (M) or None.

    In float32 on the CPU the product goes through oneDNN (``torch.ops.mkldnn._linear_pointwise``,
    the library behind ``torch.nn.LSTM``'s CPU kernel), which at these small shapes is faster
    than the default BLAS on some CPUs; other dtypes and devices use ``x @ w.T``. The two agree
    to float32 rounding (tested).
    """
    if w.is_mkldnn or onednn_for(x, x.shape[0] * x.shape[1] * w.shape[0]):
        return torch.ops.mkldnn._linear_pointwise(x.contiguous(), w, b, "none", [], "")
    return x @ w.T if b is None else torch.addmm(b, x, w.T)



def pack_weight(w: Tensor, batch: int) -> Tensor:
    """``w`` (M, K) ready for many ``linear(x, ·)`` calls with ``x`` (batch, K): in float32 on
    the CPU, reordered once into oneDNN's blocked layout (the loop reuses it at every step);
    otherwise ``w`` itself, contiguous."""
    if onednn_for(w, batch * w.shape[0] * w.shape[1]):
        return torch.ops.mkldnn._reorder_linear_weight(w.contiguous(), batch)
    return w.contiguous()



def keep_graph() -> bool:
    """Whether the backward pass now running keeps the graph for another one (``retain_graph``,
    ``create_graph``). When it does not, autograd frees each node's saved tensors once the node's
    backward has run, so a backward may write over saved buffers of its own that it reads for the
    last time (PyTorch's AOTAutograd decides the same way, with the same private call).
    Without that call (another torch), or with the private paths switched off, it answers True:
    nothing is overwritten."""
    if not enabled():
        return True
    try:
        return torch._C._autograd._get_current_graph_task_keep_graph()
    except (AttributeError, RuntimeError):
        return True


def blas_gemm() -> tuple[int, int]:
    """The addresses of ``sgemm_`` and ``dgemm_`` (Fortran BLAS, 32-bit integers) in the BLAS that
    torch's CPU library is linked with and exports (MKL in the x86 wheels), for the compiled
    loops of :mod:`rnnbook.kernels.native`, which check a product through them against
    ``torch.mm`` before using them. Raises OSError where torch's library or the symbols are
    missing (the loops then stay in Python)."""
    lib_dir = pathlib.Path(torch.__file__).parent / "lib"
    for name in ("libtorch_cpu.so", "libtorch_cpu.dylib"):
        path = lib_dir / name
        if path.exists():
            lib = ctypes.CDLL(str(path))
            try:
                return (ctypes.cast(lib.sgemm_, ctypes.c_void_p).value,
                        ctypes.cast(lib.dgemm_, ctypes.c_void_p).value)
            except AttributeError:
                raise OSError(f"torch's {name} exports no sgemm_/dgemm_") from None
    raise OSError("torch's libtorch_cpu library was not found")
