"""Every private torch entry point rnnbook uses, each behind a capability check.

The hand-written BPTT kernels are fast on a CPU partly because of three calls that are not
part of torch's public API:

* ``torch.ops.mkldnn._linear_pointwise`` and ``torch.ops.mkldnn._reorder_linear_weight``:
  oneDNN's matrix product (the library behind ``torch.nn.LSTM``'s CPU kernel), with the
  weight reordered once per pass into oneDNN's blocked layout;
* ``torch._C._autograd._get_current_graph_task_keep_graph``: whether the backward pass now
  running keeps the graph (then the kernels must not write over their saved tensors).

Each is probed once at import (:data:`ONEDNN`) or at each call (:func:`keep_graph`), and each
has a public fallback: ``x @ w.T`` (or ``torch.addmm``) for the products, and "the graph is
kept" (nothing is overwritten) for the last. A future torch without them runs the fallback,
slower but equal to rounding; the tests switch the private path off to prove it.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["ONEDNN", "onednn_available", "onednn_for", "linear", "pack_weight", "keep_graph"]


def onednn_available() -> bool:
    """Whether this torch has oneDNN and its private ``_linear_pointwise`` operator."""
    try:
        return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    except (AttributeError, RuntimeError):
        return False


ONEDNN = onednn_available()
# oneDNN's fixed cost per call (~10 µs) and per weight reordering (~0.1 ms) pay off only for
# products of at least this many multiply-adds; smaller ones use torch's own kernels. Thresholds measured on the machine of the
# performance appendix.
ONEDNN_MIN_WORK = 1 << 18


def onednn_for(t: Tensor, work: int) -> bool:
    """Whether a product of ``work`` multiply-adds on tensors like ``t`` goes through oneDNN."""
    return ONEDNN and t.dtype == torch.float32 and t.device.type == "cpu" and work >= ONEDNN_MIN_WORK


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
    Without that call (another torch), it answers True: nothing is overwritten."""
    try:
        return torch._C._autograd._get_current_graph_task_keep_graph()
    except (AttributeError, RuntimeError):
        return True


