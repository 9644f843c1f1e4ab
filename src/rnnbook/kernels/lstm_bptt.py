r"""The LSTM's loop over time, with a hand-written BPTT backward.

With ``m_t = o_t ⊙ tanh(c_t)`` and ``h_t = m_t`` (or ``m_t W_hr^T`` with ``proj_size``)::

    dm_t = dh_t  (or dh_t W_hr)
    dc_t = dc_t(from t + 1) + dm_t ⊙ o_t ⊙ (1 − tanh²(c_t))
    δi_t = dc_t ⊙ g_t ⊙ i_t (1 − i_t)           δf_t = dc_t ⊙ c_{t-1} ⊙ f_t (1 − f_t)
    δg_t = dc_t ⊙ i_t ⊙ (1 − g_t²)              δo_t = dm_t ⊙ tanh(c_t) ⊙ o_t (1 − o_t)
    dc_{t-1} = dc_t ⊙ f_t
    dh_{t-1} = g_{t-1} + [δi_t, δf_t, δg_t, δo_t] W_hh
    ∂L/∂W_hr = Σ_t dh_t^T m_t

See :mod:`rnnbook.kernels` for the design.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnbook.kernels import native
from rnnbook.kernels.autograd import first_order_only
from rnnbook.kernels.ops import (
    TANH_MIN_NUMEL,
    check_overwrite,
    gate_buffer,
    incoming_gradients,
    last_gradient,
    t_product,
    weight_grads,
)
from rnnbook.kernels.private import keep_graph, linear, pack_weight

__all__ = ["LSTMBPTT", "lstm_bptt"]


class LSTMBPTT(torch.autograd.Function):
    r"""The LSTM recurrence (optionally projected) for all ``t``, with the BPTT backward.

    ``apply(gi, h0, c0, weight_hh, bias_hh, weight_hr, overwrite_gi=False)``: ``gi`` (L, N, 4H)
    (gates i, f, g, o), ``h0`` (N, H_out), ``c0`` (N, H), ``weight_hh`` (4H, H_out), ``bias_hh``
    (4H) or None, ``weight_hr`` (P, H) or None (then ``H_out = H``). Returns
    ``(h_1 … h_L, h_L, c_L, buffer)``, shapes (L, N, H_out), (N, H_out), (N, H) and (L, N, 4H):
    the buffer that holds the gates and then the backward's factors, ``gi`` itself (marked
    dirty) when ``overwrite_gi`` is True and ``gi`` is contiguous, else a new tensor. As in
    :class:`rnnbook.kernels.gru_bptt.GRUBPTT`, a backward pass after which autograd frees the graph writes the gates'
    gradients over their factors.
    """

    @staticmethod
    def forward(ctx, gi, h0, c0, weight_hh, bias_hh, weight_hr, overwrite_gi=False):
        ctx.set_materialize_grads(False)  # an unused output's gradient stays None, not zeros
        gates = gate_buffer(ctx, gi, bias_hh, overwrite_gi)  # pre-activations, then i, f, g, o in place
        L, N, H4 = gates.shape
        H = H4 // 4
        proj = weight_hr is not None
        ctx.has_bias, ctx.proj = bias_hh is not None, proj
        if gates.is_contiguous() and native.usable(gates, h0, c0, weight_hh, weight_hr):
            return LSTMBPTT._compiled_forward(ctx, gates, h0, c0, weight_hh, weight_hr)
        out = gi.new_empty(L, N, weight_hr.shape[0] if proj else H)
        m = gi.new_empty(L, N, H) if proj else out  # m_t = o_t ⊙ tanh(c_t)
        cs = gi.new_empty(L + 1, N, H)  # c_0 … c_L
        cs[0] = c0
        tanh_c = gi.new_empty(L, N, H)
        I, F, G, O = gates.view(L, N, 4, H).unbind(2)  # (L, N, H) views of each gate
        # g_t = tanh(a_g) = 2 σ(2 a_g) − 1: the g block's pre-activation doubled (an exact
        # scaling of gi, b_hh and W_hh's g rows), so one sigmoid covers the four gates
        G.mul_(2)
        weight = weight_hh.clone(memory_format=torch.contiguous_format)
        weight[2 * H:3 * H] *= 2
        weight = pack_weight(weight, N)
        pres = gates.unbind(0)
        i_s, f_s, g_s, o_s = I.unbind(0), F.unbind(0), G.unbind(0), O.unbind(0)
        c_s, tc_s, m_s, out_s = cs.unbind(0), tanh_c.unbind(0), m.unbind(0), out.unbind(0)
        w_hr = pack_weight(weight_hr, N) if proj else None
        # tanh(c_t) = 2 σ(2 c_t) − 1 as well when the tensors are large enough (see tanh_);
        # the loop then keeps s_t = σ(2 c_t) and turns it into tanh(c_t) for all t at the end
        identity = N * H >= TANH_MIN_NUMEL
        two = gi.new_tensor(2.0)  # a 0-dim tensor: a Python number would be wrapped at every step
        h = h0
        for t in range(L):
            # gi_t + b_hh + h_{t-1} W_hh^T (g block doubled); i_t, f_t, o_t and σ(2 a_g) = σ(.)
            pres[t].add_(linear(h, weight)).sigmoid_()
            # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t with g_t = 2 σ(2 a_g) − 1 = tanh(a_g)
            torch.mul(f_s[t], c_s[t], out=c_s[t + 1]).addcmul_(i_s[t], g_s[t], value=2).sub_(i_s[t])
            if identity:
                # h_t = o_t ⊙ tanh(c_t) = 2 o_t ⊙ σ(2 c_t) − o_t
                s_c = torch.mul(c_s[t + 1], two, out=tc_s[t]).sigmoid_()
                h = torch.mul(o_s[t], s_c, out=m_s[t]).mul_(two).sub_(o_s[t])
            else:
                h = torch.mul(o_s[t], torch.tanh(c_s[t + 1], out=tc_s[t]), out=m_s[t])
            if proj:
                h = out_s[t].copy_(linear(h, w_hr))
        G.mul_(2).sub_(1)  # g_t = 2 σ(2 a_g) − 1, all t
        if identity:
            tanh_c.mul_(2).sub_(1)  # tanh(c_t) = 2 σ(2 c_t) − 1, all t
        c_n = cs[L].clone()
        if not any(ctx.needs_input_grad):
            return out, out[-1].clone(), c_n, gates
        # The factors of dc_t / dm_t in the pre-activation gradients, for all t at once,
        # written over the gates' buffer (in an order that reads each gate before it is lost).
        f = F.clone()
        # δf_t = dc_t ⊙ c_{t-1} f_t (1 − f_t)
        torch.addcmul(F, F, F, value=-1, out=F).mul_(cs[:-1])
        # dc_t gets dm_t ⊙ o_t (1 − tanh²(c_t)) = dm_t ⊙ (o_t − m_t tanh(c_t)); c_1 … c_L are done
        dtanh = torch.addcmul(O, m, tanh_c, value=-1, out=cs[1:])
        # δo_t = dm_t ⊙ tanh(c_t) o_t (1 − o_t)
        torch.addcmul(O, O, O, value=-1, out=O).mul_(tanh_c)
        # δg_t = dc_t ⊙ i_t (1 − g_t²)   (held in tanh_c's buffer until g_t is used below)
        dg = torch.mul(G, G, out=tanh_c).neg_().add_(1).mul_(I)
        # δi_t = dc_t ⊙ g_t i_t (1 − i_t)
        torch.addcmul(I, I, I, value=-1, out=I).mul_(G)
        G.copy_(dg)
        ctx.save_for_backward(h0, weight_hh, weight_hr, out, m if proj else None, gates, f, dtanh)
        return out, out[-1].clone(), c_n, gates  # h_L apart: its gradient needs no (L, N, H_out) zeros

    @staticmethod
    def _compiled_forward(ctx, gates, h0, c0, weight_hh, weight_hr):
        """The forward loop in C (:mod:`rnnbook.kernels.native`): the same equations and the same
        saved tensors (the backward's factors over ``gates``, ``f_t``, ``o_t (1 − tanh²(c_t))``)
        as the Python loop, which runs where the compiled one cannot."""
        L, N, H4 = gates.shape
        H = H4 // 4
        need = any(ctx.needs_input_grad)
        w_hr = weight_hr.contiguous() if ctx.proj else None
        out = gates.new_empty(L, N, w_hr.shape[0] if ctx.proj else H)
        m = gates.new_empty(L, N, H) if ctx.proj else None
        c_n = gates.new_empty(N, H)
        f = gates.new_empty(L, N, H) if need else None
        dtanh = gates.new_empty(L, N, H) if need else None
        native.lstm_forward(gates, h0.contiguous(), c0.contiguous(), weight_hh.contiguous(), w_hr, out, m, c_n,
                            f, dtanh)
        if need:
            ctx.save_for_backward(h0, weight_hh, weight_hr, out, m, gates, f, dtanh)
        return out, out[-1].clone(), c_n, gates

    @staticmethod
    @first_order_only
    def backward(ctx, grad_out, grad_h_last, grad_c_n, _grad_buf):
        h0, weight_hh, weight_hr, out, m, coef, f, dtanh = ctx.saved_tensors
        L, N, H4 = coef.shape
        H = H4 // 4
        proj = ctx.proj
        if grad_out is None and grad_h_last is None and grad_c_n is None:
            return (None,) * 7
        # δ_t = [δi_t, δf_t, δg_t, δo_t] for all t; each step reads its factors once, so unless
        # the graph is kept (retain_graph), δ_t goes over them
        delta = coef if not keep_graph() else torch.empty_like(coef)
        if native.usable(coef, h0, weight_hh, weight_hr, grad_out, grad_h_last, grad_c_n):
            # the loop in C (rnnbook.kernels.native), the same steps as the Python loop below
            dh = last_gradient(grad_out, grad_h_last, out)  # dh_L, in a buffer of its own
            dc = grad_c_n.clone(memory_format=torch.contiguous_format) if grad_c_n is not None else dtanh.new_zeros(N, H)
            dhs = torch.empty_like(out) if proj else None
            native.lstm_backward(coef, delta, f, dtanh, grad_out.contiguous() if grad_out is not None else None, dh, dc,
                                 weight_hh.contiguous(), weight_hr.contiguous() if proj else None, dhs,
                                 dc.new_empty(N, H) if proj else None)
            need = ctx.needs_input_grad
            dw, db = weight_grads(delta, h0, out, need[3], need[4] and ctx.has_bias)
            dw_hr = t_product(dhs.flatten(0, 1), m.flatten(0, 1)) if proj and need[5] else None
            return delta, dh if need[1] else None, dc if need[2] else None, dw, db, dw_hr, None
        # per step: the (N, 3, H) block of δi, δf, δg (one product with dc_t) and δo (N, H)
        d_ifg, d_o = delta.view(L, N, 4, H)[:, :, :3].unbind(0), delta.view(L, N, 4, H)[:, :, 3].unbind(0)
        k_ifg, k_o = coef.view(L, N, 4, H)[:, :, :3].unbind(0), coef.view(L, N, 4, H)[:, :, 3].unbind(0)
        deltas, f_s, dt_s = delta.unbind(0), f.unbind(0), dtanh.unbind(0)
        grads, dh = incoming_gradients(grad_out, grad_h_last, out[-1])
        dhs = torch.empty_like(out) if proj else None  # dh_t, for ∂L/∂W_hr
        w_t = pack_weight(weight_hh.T, N)
        w_hr = weight_hr.contiguous() if proj else None
        dc = grad_c_n.clone() if grad_c_n is not None else dtanh.new_zeros(N, H)
        for t in range(L - 1, -1, -1):
            if proj:
                dhs[t] = dh
                # dm_t = dh_t W_hr
                dm = dh @ w_hr
            else:
                dm = dh
            # dc_t += dm_t ⊙ o_t (1 − tanh²(c_t))
            dc.addcmul_(dm, dt_s[t])
            # δi_t, δf_t, δg_t = dc_t ⊙ (their factors); δo_t = dm_t ⊙ (its factor)
            torch.mul(dc.unsqueeze(1), k_ifg[t], out=d_ifg[t])
            torch.mul(dm, k_o[t], out=d_o[t])
            # dc_{t-1} = dc_t ⊙ f_t
            dc.mul_(f_s[t])
            # dh_{t-1} = g_{t-1} + δ_t W_hh
            dh = linear(deltas[t], w_t)
            if t > 0 and grads is not None:
                dh.add_(grads[t - 1])
        need = ctx.needs_input_grad
        dw, db = weight_grads(delta, h0, out, need[3], need[4] and ctx.has_bias)
        dw_hr = t_product(dhs.flatten(0, 1), m.flatten(0, 1)) if proj and need[5] else None
        return delta, dh if need[1] else None, dc if need[2] else None, dw, db, dw_hr, None



def lstm_bptt(gi: Tensor, h0: Tensor, c0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None,
              weight_hr: Tensor | None = None, overwrite_gi: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """LSTM outputs ``h_1 … h_L`` (L, N, H_out), the last one ``h_L`` (N, H_out) and the last
    cell state ``c_L`` (N, H) from
    ``gi`` (L, N, 4H), ``h0`` (N, H_out), ``c0`` (N, H), with the hand-written BPTT backward
    (:class:`LSTMBPTT`). ``overwrite_gi=True`` lets it use ``gi``'s memory for the gates (as
    in :func:`rnnbook.kernels.gru_bptt.gru_bptt`): only for a ``gi`` nothing else reads afterwards."""
    check_overwrite(overwrite_gi)
    out, h_n, c_n, _ = LSTMBPTT.apply(gi, h0, c0, weight_hh, bias_hh, weight_hr, overwrite_gi)
    return out, h_n, c_n
