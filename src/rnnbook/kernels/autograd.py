"""What the hand-written backward passes share: they are first-order only, and say so.

The backward of each ``torch.autograd.Function`` in :mod:`rnnbook.kernels`,
:mod:`rnnbook.variants.scan`, :mod:`rnnbook.variants.sru` and :mod:`rnnbook.variants.qrnn` is written with in-place
operations and without autograd, so it cannot itself be differentiated. Left alone, a
second derivative through it (``torch.autograd.functional.hessian``, ``hvp``, ``jvp``,
double backward) would either fail with a vague message or, through the ``strict=False``
functions, come out as zeros. ``first_order_only`` makes it fail with the way out in
the message, while a ``create_graph=True`` pass that never differentiates through these
backwards (a penalty on another layer's gradient) still works: the layers' readable paths (``bptt="autograd"``,
``bptt="autograd"``) are plain autograd and have every derivative.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch import Tensor
from torch.autograd import forward_ad as fwAD
from torch.autograd.function import once_differentiable

__all__ = ["has_tangent", "with_previous", "first_order_only"]

# grad ⊙ y (1 − y) and grad ⊙ (1 − y²) from the output y of σ / tanh, in one pass each,
# written into a given tensor (the out= forms of the ops torch's own autograd uses)
sigmoid_backward = torch.ops.aten.sigmoid_backward.grad_input
tanh_backward = torch.ops.aten.tanh_backward.grad_input


def has_tangent(*tensors: Tensor | None) -> bool:
    """Whether any tensor carries a forward-mode AD tangent (is a dual tensor): the hand-written
    Functions are reverse-mode only, so the layers then take their autograd path."""
    return any(t is not None and fwAD.unpack_dual(t).tangent is not None for t in tensors)


def with_previous(op: Callable, h: Tensor, h0: Tensor, x: Tensor, out: Tensor) -> Tensor:
    """``op(h_{t-1}, x_t)`` for every step into ``out`` (time first), ``h_0`` standing before
    ``h[0]``: the ``h_{t-1}`` of a backward pass without concatenating ``h_0`` to the states."""
    op(h[:-1], x[1:], out=out[1:])
    op(h0, x[0], out=out[0])
    return out

_MESSAGE = ("{name}: rnnbook's hand-written backward gives first derivatives only, and something is "
            "being differentiated through it (a Hessian, a Hessian-vector product, autograd.functional.jvp, "
            "a penalty on this layer's gradient); run the layer with "
            "bptt='autograd' (RNN, GRU, LSTM) or bptt='autograd' (SRU, QRNN, MinGRU, MinLSTM), "
            "whose derivatives of every order come from autograd")


class _SecondDerivativeError(torch.autograd.Function):
    """Identity on a gradient; its own backward raises (reached only when something is
    differentiated through a hand-written backward)."""

    @staticmethod
    def forward(ctx, grad: Tensor, name: str, *anchors: Tensor) -> Tensor:
        ctx.name = name
        return grad.view_as(grad)

    @staticmethod
    def backward(ctx, *_):
        raise RuntimeError(_MESSAGE.format(name=ctx.name))


def first_order_only(backward: Callable) -> Callable:
    """``once_differentiable``, plus a clear error when something is differentiated through
    the backward. With ``create_graph=True`` (grad mode is on inside a backward pass exactly
    then) each gradient it returns is passed through ``_SecondDerivativeError``, tied to
    every saved tensor and incoming gradient that requires grad: a first-order use of the
    result (say, a penalty on another layer's gradient) goes through, a second derivative
    through this backward raises."""
    inner = once_differentiable(backward)
    name = backward.__qualname__.split(".")[0]

    @functools.wraps(backward)
    def checked(ctx, *grads):
        if not torch.is_grad_enabled():
            return inner(ctx, *grads)
        # read before the backward runs: a backward may write over its own saved buffers (when
        # autograd frees the graph after it, even with create_graph=True), and a second
        # read of ctx.saved_tensors would then fail autograd's version check
        anchors = [t for t in (*ctx.saved_tensors, *grads) if isinstance(t, Tensor) and t.requires_grad]
        result = inner(ctx, *grads)
        if not anchors:  # nothing to differentiate the result by: it is a constant
            return result

        def tie(g):
            return _SecondDerivativeError.apply(g, name, *anchors) if isinstance(g, Tensor) else g

        return tuple(tie(g) for g in result) if isinstance(result, tuple) else tie(result)

    return checked
