r"""The Elman RNN's loop over time, with a hand-written BPTT backward.

``h_t = tanh(a_t)``, ``a_t = gi_t + h_{t-1} W_hh^T + b_hh`` (torch's row-vector convention),
and the backward carries ``dh_t = ∂L/∂h_t`` from the last step to the first::

    dh_T = g_T
    δ_t  = dh_t ⊙ (1 − h_t²)                   (relu: dh_t ⊙ [a_t > 0])
    dh_{t-1} = g_{t-1} + δ_t W_hh

with ``g_t`` the loss's direct gradient at the output of step ``t``. The weight gradients are
sums over time, ``∂L/∂W_hh = Σ_t δ_t^T h_{t-1}``, done a block of steps at a time so that the
``δ_t`` never fill an (L, N, H) tensor. See :mod:`rnnbook.kernels` for the design.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnbook.kernels import native
from rnnbook.kernels.autograd import first_order_only
from rnnbook.kernels.ops import incoming_gradients, last_gradient, t_product, tanh_
from rnnbook.kernels.private import linear, pack_weight

__all__ = ["ElmanBPTT", "elman_bptt"]

# rows (steps × batch) of the blocks in which ElmanBPTT's backward sums its products over time
_BLOCK_ROWS = 256


def _block(out: Tensor, a: int, b: int, d: Tensor, dh: Tensor, grads, w_t: Tensor, nonlinearity: str) -> Tensor:
    """Steps ``b − 1`` down to ``a`` of :class:`ElmanBPTT`'s backward: ``δ_t`` into ``d``
    (b − a, N, H); returns ``dh_{a−1} = g_{a−1} + δ_a W_hh`` (for ``a = 0``: ``δ_1 W_hh``, the
    gradient of ``h_0``) from ``dh = dh_{b−1}``."""
    # act'(a_t) from the saved h_t: 1 − h_t² for tanh, [h_t > 0] for relu, in δ's buffer
    if nonlinearity == "tanh":
        torch.mul(out[a:b], out[a:b], out=d).neg_().add_(1)
    else:
        torch.gt(out[a:b], 0, out=d)
    ds = d.unbind(0)
    for t in range(b - 1, a - 1, -1):
        # δ_t = dh_t ⊙ act'(a_t)
        ds[t - a].mul_(dh)
        # dh_{t-1} = g_{t-1} + δ_t W_hh
        dh = linear(ds[t - a], w_t)
        if t > 0 and grads is not None:
            dh.add_(grads[t - 1])
    return dh


class ElmanBPTT(torch.autograd.Function):
    r"""The Elman layer ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` for all ``t``,
    input projection included, with the BPTT backward.

    ``apply(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity)``: ``x`` (L, N, H_in),
    ``h0`` (N, H), ``weight_ih`` (H, H_in), ``weight_hh`` (H, H), ``bias_ih`` and ``bias_hh``
    (H) or None, ``nonlinearity`` ``'tanh'`` or ``'relu'``. Returns the states ``h_1 … h_L``,
    shape (L, N, H), and ``h_L`` again, (N, H).

    Unlike the gated Functions, this one does the input projection itself (one matrix product
    for all steps, into the buffer that then holds ``a_t`` and ``h_t``): its backward then
    needs no (L, N, H) tensor of its own. It runs in blocks of steps from the last; each
    block's ``δ_t`` live in a small buffer while they give the block's share of
    ``∂L/∂W_hh = Σ_t δ_t^T h_{t-1}``, ``∂L/∂W_ih = Σ_t δ_t^T x_t``, ``∂L/∂b = Σ_t δ_t`` and
    its rows of ``∂L/∂x_t = δ_t W_ih`` (one matrix product each per block).
    """

    @staticmethod
    def forward(ctx, x, h0, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity):
        ctx.set_materialize_grads(False)  # an unused output's gradient stays None, not zeros
        L, N, _ = x.shape
        bias = bias_ih if bias_hh is None else (bias_hh if bias_ih is None else bias_ih + bias_hh)
        # a_t without its recurrent term, all steps in one product: x_t W_ih^T + b_ih + b_hh
        out = linear(x.reshape(L * N, -1), weight_ih.contiguous(), bias).view(L, N, -1).detach()
        if native.usable(out, h0, weight_hh):
            # the same loop in C (rnnbook.kernels.native), over out
            native.elman_forward(out, h0.contiguous(), weight_hh.contiguous(), nonlinearity == "relu")
        else:
            weight = pack_weight(weight_hh, N)
            h = h0
            for a in out.unbind(0):
                # a_t += h_{t-1} W_hh^T
                a.add_(linear(h, weight))
                # h_t = act(a_t), over a_t
                h = tanh_(a) if nonlinearity == "tanh" else a.relu_()
        need = ctx.needs_input_grad
        ctx.nonlinearity = nonlinearity
        ctx.has_bias = (bias_ih is not None, bias_hh is not None)
        # x only for ∂L/∂W_ih, W_ih only for ∂L/∂x
        ctx.save_for_backward(x if need[2] else None, h0, weight_ih if need[0] else None, weight_hh, out)
        return out, out[-1].clone()  # h_L apart, so that its gradient needs no (L, N, H) zeros

    @staticmethod
    @first_order_only
    def backward(ctx, grad_out, grad_last):
        x, h0, weight_ih, weight_hh, out = ctx.saved_tensors
        L, N, H = out.shape
        need = ctx.needs_input_grad
        if grad_out is None and grad_last is None:
            return (None,) * 7
        compiled = native.usable(out, h0, weight_hh, grad_out, grad_last)
        if compiled:
            dh = last_gradient(grad_out, grad_last, out)
            g_all = grad_out.contiguous() if grad_out is not None else None
            w_hh = weight_hh.contiguous()
        else:
            grads, dh = incoming_gradients(grad_out, grad_last, out[-1])
            w_t = pack_weight(weight_hh.T, N)
        steps = max(1, _BLOCK_ROWS // N)  # steps per block
        delta = out.new_empty(min(steps, L), N, H)
        w_ih_t = weight_ih.T.contiguous() if need[0] else None
        dx = torch.empty(x.shape if x is not None else (L, N, weight_ih.shape[1]), dtype=out.dtype,
                         device=out.device) if need[0] else None
        dw_ih = dw_hh = db = dh0 = None
        for b in range(L, 0, -steps):
            a = max(0, b - steps)
            d = delta[:b - a]
            if compiled:
                # the block's steps in C (rnnbook.kernels.native): δ_t into d, dh down to dh_{a-1}
                native.elman_backward(a, b, out, g_all, dh, d, w_hh, ctx.nonlinearity == "relu")
            else:
                dh = _block(out, a, b, d, dh, grads, w_t, ctx.nonlinearity)
            if a == 0 and need[1]:
                dh0 = dh  # ∂L/∂h_0 = δ_1 W_hh
            # the block's share of the sums over t
            flat = d.flatten(0, 1)
            if need[3]:
                # Σ δ_t^T h_{t-1}; h_{t-1} is h_0 for the first step
                if a > 0:
                    part = t_product(flat, out[a - 1:b - 1].flatten(0, 1))
                else:
                    part = torch.mm(d[0].T, h0)
                    if b > 1:
                        part.add_(t_product(d[1:].flatten(0, 1), out[:b - 1].flatten(0, 1)))
                dw_hh = part if dw_hh is None else dw_hh.add_(part)
            if need[2]:
                part = t_product(flat, x[a:b].flatten(0, 1))
                dw_ih = part if dw_ih is None else dw_ih.add_(part)
            if (need[4] and ctx.has_bias[0]) or (need[5] and ctx.has_bias[1]):
                part = flat.sum(0)
                db = part if db is None else db.add_(part)
            if need[0]:
                dx[a:b] = linear(flat, w_ih_t).view(b - a, N, -1)
        db_ih = db if need[4] and ctx.has_bias[0] else None
        db_hh = None
        if need[5] and ctx.has_bias[1]:
            db_hh = db.clone() if db_ih is not None else db
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None



def elman_bptt(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
               bias_hh: Tensor | None, nonlinearity: str = "tanh") -> tuple[Tensor, Tensor]:
    """All Elman states ``h_1 … h_L`` (L, N, H) and the last one ``h_L`` (N, H) from the inputs
    ``x`` (L, N, H_in) and ``h0`` (N, H), input projection included, with the hand-written
    BPTT backward (:class:`ElmanBPTT`)."""
    return ElmanBPTT.apply(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity)


