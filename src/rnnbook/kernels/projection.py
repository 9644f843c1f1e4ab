r"""The input projection of a recurrent layer, for all time steps in one matrix product.

``gi = x W_ih^T + b_ih`` does not depend on the recurrence, so the layers compute it for every
step at once before the loop over time (:func:`project_inputs`); its backward is again one
product per gradient.

The QRNN's causal convolution is the same product on a wider input
(:meth:`rnnbook.variants.qrnn.QRNN.preactivations`): the ``k`` inputs each step sees, laid
side by side, (L, N, k d). The product keeps its input for the backward pass, so it keeps
those ``k`` copies of each input (``k d`` numbers per step), where a convolution routine
would keep one.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnbook.kernels.autograd import first_order_only
from rnnbook.kernels.ops import t_product
from rnnbook.kernels.private import linear

__all__ = ["InputProjection", "project_inputs"]


class InputProjection(torch.autograd.Function):
    r"""``gi = x W_ih^T + b_ih`` for all steps at once, as one matrix product, with a backward of
    one product each: ``∂L/∂x = Δ W_ih``, ``∂L/∂W_ih = Δ^T X``, ``∂L/∂b_ih = Σ Δ`` (``Δ`` and
    ``X`` with the rows of all steps stacked). The same function as
    ``torch.nn.functional.linear``; in float32 on the CPU the products go through oneDNN (see
    ``linear``).

    ``apply(x, weight_ih, bias_ih)``: ``x`` (L, N, H_in), ``weight_ih`` (G, H_in), ``bias_ih``
    (G) or None; returns ``gi`` (L, N, G).
    """

    @staticmethod
    def forward(ctx, x, weight_ih, bias_ih):
        # keep only what the wanted gradients need: W_ih for ∂L/∂x, x for ∂L/∂W_ih
        need = ctx.needs_input_grad
        ctx.save_for_backward(x if need[1] else None, weight_ih if need[0] else None)
        ctx.has_bias, ctx.shape = bias_ih is not None, x.shape
        L, N, _ = x.shape
        # detached: a plain tensor, not a view of the 2-D product, so that a Function after this
        # one may overwrite it in place (GRUBPTT with overwrite_gi)
        return linear(x.reshape(L * N, x.shape[-1]), weight_ih.contiguous(), bias_ih).view(L, N, weight_ih.shape[0]).detach()

    @staticmethod
    @first_order_only
    def backward(ctx, grad):
        x, weight_ih = ctx.saved_tensors
        L, N, _ = ctx.shape
        g = grad.reshape(L * N, grad.shape[-1])
        need = ctx.needs_input_grad
        # ∂L/∂x = Δ W_ih
        dx = linear(g, weight_ih.T.contiguous()).view(L, N, ctx.shape[-1]) if need[0] else None
        # ∂L/∂W_ih = Δ^T X
        dw = t_product(g, x.reshape(L * N, ctx.shape[-1])) if need[1] else None
        db = g.sum(0) if need[2] and ctx.has_bias else None
        return dx, dw, db


def project_inputs(x: Tensor, weight_ih: Tensor, bias_ih: Tensor | None) -> Tensor:
    """``x W_ih^T + b_ih`` for all steps (:class:`InputProjection`): (L, N, H_in) -> (L, N, G)."""
    return InputProjection.apply(x, weight_ih, bias_ih)


