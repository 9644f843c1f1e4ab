"""What the hand-written backward passes share: they are first-order only, and say so.

The backward of each ``torch.autograd.Function`` in :mod:`rnnbook.layer_bptt`,
:mod:`rnnbook.scan`, :mod:`rnnbook.sru` and :mod:`rnnbook.qrnn` is written with in-place
operations and without autograd, so it cannot itself be differentiated. Left alone, a
second derivative through it (``create_graph=True``: ``torch.autograd.functional.hessian``,
``hvp``, ``jvp``, double backward) would either fail late or, through the ``strict=False``
functions, come out as zeros. :func:`first_order_only` makes it fail at once, with the way
out in the message: the layers' readable paths (``backward="autograd"``,
``recurrence="autograd"``) are plain autograd and have every derivative.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from torch.autograd.function import once_differentiable

__all__: list[str] = []

_MESSAGE = ("{name}: rnnbook's hand-written backward gives first derivatives only, and this backward "
            "pass asks for a graph of its result (create_graph=True, as in a Hessian, a Hessian-vector "
            "product, autograd.functional.jvp or a gradient penalty); run the layer with "
            "backward='autograd' (RNN, GRU, LSTM) or recurrence='autograd' (SRU, QRNN, MinGRU, MinLSTM), "
            "whose derivatives of every order come from autograd")


def first_order_only(backward: Callable) -> Callable:
    """``once_differentiable``, plus a clear error when the backward runs with
    ``create_graph=True`` (grad mode is on inside a backward pass exactly then)."""
    inner = once_differentiable(backward)

    @functools.wraps(backward)
    def checked(ctx, *grads):
        if torch.is_grad_enabled():
            raise RuntimeError(_MESSAGE.format(name=backward.__qualname__.split(".")[0]))
        return inner(ctx, *grads)

    return checked
