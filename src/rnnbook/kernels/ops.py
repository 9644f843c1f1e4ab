"""Small pieces the BPTT kernels share: an in-place tanh, sums over time, buffers, gradients.

Nothing here calls a private torch entry point.

The QRNN's hand-written Function (:class:`rnnbook.variants.qrnn.QRNNPoolingBPTT`) computes
its ``tanh`` by the identity of :func:`tanh_`, ``2 σ(2 a) − 1``, equal to ``tanh`` up to
rounding (tested: below 3e-7 in float32).
"""

from __future__ import annotations

import torch
from torch import Tensor


__all__ = ["TANH_MIN_NUMEL", "tanh_", "t_product", "with_bias", "weight_grads", "incoming_gradients",
           "last_gradient", "gate_buffer", "check_overwrite"]

# the tanh of tensors below this many elements uses torch's tanh_ (see tanh_)
TANH_MIN_NUMEL = 2048


def tanh_(x: Tensor) -> Tensor:
    """``tanh`` in place, through the identity ``tanh(a) = 2 σ(2a) − 1``.

    On the machine of the performance appendix, torch's CPU ``tanh`` of a (32, 128) float32
    tensor took about 20 µs, these four operations about 8 µs (measured with other work
    running), so the loops use the identity for tensors of at least ``TANH_MIN_NUMEL``
    elements (smaller ones are quick either way and use ``tanh_``). It differs from ``tanh``
    by rounding only (tested: below 3e-7 in float32, below 1e-15 in float64).
    """
    if x.numel() < TANH_MIN_NUMEL:
        return x.tanh_()
    return x.mul_(2).sigmoid_().mul_(2).sub_(1)


def t_product(a: Tensor, b: Tensor) -> Tensor:
    """``a^T b`` for 2-D ``a`` (M, P) and ``b`` (M, Q): a sum over the M stacked rows.

    One call to torch's BLAS, which reads the transposed operand in place (it packs small
    panels of it as it goes): no copy of either operand. It replaced a blocked oneDNN product
    over transposed copies (issue 17): measured in one process, interleaved, on a two-core
    machine under load (load average 6 to 8), the forward+backward passes of the LSTM, GRU and
    RNN at the benchmark's three sizes took 0.69 to 0.99 of their time with it.
    """
    return a.T @ b


def with_bias(gi: Tensor, bias: Tensor | None) -> Tensor:
    """``gi + bias`` as a new contiguous tensor (the loop writes into it in place)."""
    return gi + bias if bias is not None else gi.clone(memory_format=torch.contiguous_format)


def weight_grads(delta: Tensor, h0: Tensor, out: Tensor, need_w: bool, need_b: bool):
    """``Σ_t δ_t^T h_{t-1}`` as one product over all steps (plus the ``t = 1`` term, which
    involves ``h_0``) and ``Σ_t δ_t``; None where not needed."""
    dw = None
    if need_w:
        # Σ_{t>=2} δ_t^T h_{t-1} = Δ[1:]^T H[:-1], then + δ_1^T h_0
        dw = t_product(delta[1:].flatten(0, 1), out[:-1].flatten(0, 1)).addmm_(delta[0].T, h0)
    db = delta.sum((0, 1)) if need_b else None
    return dw, db


def incoming_gradients(grad_out: Tensor | None, grad_last: Tensor | None, last: Tensor):
    """The per-step output gradients ``g_t`` (a tuple over t, or None where the output was not
    used) and ``dh_L = g_L + ∂L/∂h_L``, from a Function's incoming gradients; with
    ``set_materialize_grads(False)`` either may be None (zeros like ``last`` if both are)."""
    grads = grad_out.unbind(0) if grad_out is not None else None
    if grads is None:
        dh = grad_last if grad_last is not None else last.new_zeros(last.shape)
    else:
        dh = grads[-1] if grad_last is None else grads[-1] + grad_last
    return grads, dh


def last_gradient(grad_out: Tensor | None, grad_last: Tensor | None, out: Tensor) -> Tensor:
    """``dh_L = g_L + ∂L/∂h_L`` as a new contiguous tensor (the compiled loops write over it), from a
    Function's incoming gradients (either may be None; zeros like ``out[-1]`` if both are)."""
    if grad_out is None:
        if grad_last is None:
            return out.new_zeros(out.shape[1:])
        return grad_last.clone(memory_format=torch.contiguous_format)
    if grad_last is None:
        return grad_out[-1].clone(memory_format=torch.contiguous_format)
    return (grad_out[-1] + grad_last).contiguous()


def gate_buffer(ctx, gi: Tensor, bias: Tensor | None, overwrite_gi: bool) -> Tensor:
    """``gi + bias`` in a buffer the Function may write over: ``gi`` itself (marked dirty) when
    ``overwrite_gi`` is allowed and ``gi`` is contiguous, else a new tensor. The buffer is
    returned by the Function as a non-differentiable output (scratch, not a result)."""
    if overwrite_gi and gi.is_contiguous():
        ctx.mark_dirty(gi)
        buf = gi.add_(bias) if bias is not None else gi
    else:
        buf = with_bias(gi, bias)
    ctx.mark_non_differentiable(buf)
    return buf


def check_overwrite(overwrite_gi: object) -> None:
    """Refuse an ``overwrite_gi`` that is not a bool (TypeError naming the argument)."""
    if not isinstance(overwrite_gi, bool):
        raise TypeError(f"overwrite_gi must be a bool, got {type(overwrite_gi).__name__}")


