r"""Hand-written backpropagation through time (BPTT) for the Elman RNN, the GRU and the LSTM.

Each recurrence is a ``torch.autograd.Function``. Its forward runs the loop over time
(the input projection ``gi = x W_ih^T + b_ih`` of every step is already done, in one matrix
product, by the layer) and keeps what the backward needs; its backward is BPTT: one loop
from the last step to the first that carries ``∂L/∂h_t`` (and ``∂L/∂c_t``) backwards and
stores the gradient of every step's pre-activations. The weight gradients are then *one*
matrix product over all steps, because

.. math:: \frac{\partial L}{\partial W_{hh}} = \sum_{t=1}^{T} \delta_t^\top h_{t-1}
          = \Delta^\top H_{\text{prev}},

with ``δ_t`` the gradient of step ``t``'s pre-activation (a row per sequence of the batch),
``Δ`` all the ``δ_t`` stacked, and ``H_prev`` the states ``h_0 … h_{T-1}`` stacked. The
gradient of ``gi`` is ``Δ`` itself; the layer's autograd turns it into the gradients of
``x``, ``W_ih`` and ``b_ih`` (again one product each).

Notation (torch's row-vector convention; ``⊙`` elementwise, ``σ`` the logistic function):
``g_t = ∂L/∂h_t`` from the layer's output at step ``t`` (the loss's direct dependence),
``dh_t`` the total gradient of ``h_t`` (direct plus through step ``t + 1``).

**Elman RNN**, ``h_t = tanh(a_t)``, ``a_t = gi_t + h_{t-1} W_hh^T + b_hh``::

    dh_T = g_T
    δ_t  = dh_t ⊙ (1 − h_t²)                   (relu: dh_t ⊙ [a_t > 0])
    dh_{t-1} = g_{t-1} + δ_t W_hh

**GRU** (``reset_after=True``, torch's form), with ``hn_t = h_{t-1} W_hn^T + b_hn``::

    δn_t = dh_t ⊙ (1 − z_t) ⊙ (1 − n_t²)
    δz_t = dh_t ⊙ (h_{t-1} − n_t) ⊙ z_t (1 − z_t)
    δr_t = δn_t ⊙ hn_t ⊙ r_t (1 − r_t)
    ∂L/∂gi_t = [δr_t, δz_t, δn_t]              ∂L/∂gh_t = [δr_t, δz_t, r_t ⊙ δn_t]
    dh_{t-1} = g_{t-1} + dh_t ⊙ z_t + (∂L/∂gh_t) W_hh

**LSTM** (``m_t = o_t ⊙ tanh(c_t)``, ``h_t = m_t`` or ``m_t W_hr^T`` with ``proj_size``)::

    dm_t = dh_t  (or dh_t W_hr)
    dc_t = dc_t(from t + 1) + dm_t ⊙ o_t ⊙ (1 − tanh²(c_t))
    δi_t = dc_t ⊙ g_t ⊙ i_t (1 − i_t)           δf_t = dc_t ⊙ c_{t-1} ⊙ f_t (1 − f_t)
    δg_t = dc_t ⊙ i_t ⊙ (1 − g_t²)              δo_t = dm_t ⊙ tanh(c_t) ⊙ o_t (1 − o_t)
    dc_{t-1} = dc_t ⊙ f_t
    dh_{t-1} = g_{t-1} + [δi_t, δf_t, δg_t, δo_t] W_hh
    ∂L/∂W_hr = Σ_t dh_t^T m_t

The factors that multiply ``dh_t`` or ``dc_t`` (``(1 − z_t)(1 − n_t²)``, ``g_t i_t (1 − i_t)``,
...) depend only on the forward pass, so they are computed for all steps at once after the
forward loop; each backward step is then a few elementwise products and one matrix product.

The GRU of Cho et al. (``reset_after=False``) and the peephole LSTM have no hand-written
backward: their layers (``rnnbook.GRU(..., reset_after=False)``, ``rnnbook.PeepholeLSTM``)
run the autograd path.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

__all__ = ["elman_bptt", "gru_bptt", "lstm_bptt", "ElmanBPTT", "GRUBPTT", "LSTMBPTT", "BACKWARDS"]

#: The values of the layers' ``backward`` argument.
BACKWARDS = ("bptt", "autograd")


def _with_bias(gi: Tensor, bias: Tensor | None) -> Tensor:
    """``gi + bias`` as a new contiguous tensor (the loop writes into it in place)."""
    return gi + bias if bias is not None else gi.clone(memory_format=torch.contiguous_format)


def _previous_states(h0: Tensor, out: Tensor) -> Tensor:
    """``h_0, h_1, …, h_{T-1}`` stacked: (L, N, H)."""
    return torch.cat([h0.unsqueeze(0), out[:-1]])


def _weight_grads(delta: Tensor, inputs: Tensor, need_w: bool, need_b: bool):
    """``Σ_t δ_t^T x_t`` as one product over all steps and ``Σ_t δ_t`` (None where not needed)."""
    dw = delta.flatten(0, 1).T @ inputs.flatten(0, 1) if need_w else None
    db = delta.sum((0, 1)) if need_b else None
    return dw, db


class ElmanBPTT(torch.autograd.Function):
    r"""``h_t = act(gi_t + h_{t-1} W_hh^T + b_hh)`` for all ``t``, with the BPTT backward.

    ``apply(gi, h0, weight_hh, bias_hh, nonlinearity)``: ``gi`` (L, N, H), ``h0`` (N, H),
    ``weight_hh`` (H, H), ``bias_hh`` (H) or None, ``nonlinearity`` ``'tanh'`` or ``'relu'``.
    Returns the states ``h_1 … h_L``, shape (L, N, H).
    """

    @staticmethod
    def forward(ctx, gi, h0, weight_hh, bias_hh, nonlinearity):
        out = _with_bias(gi, bias_hh)  # a_t, overwritten in place by h_t
        w_t = weight_hh.T
        h = h0
        for t in range(out.shape[0]):
            # a_t = gi_t + b_hh + h_{t-1} W_hh^T
            a = out[t].addmm_(h, w_t)
            # h_t = act(a_t)
            h = a.tanh_() if nonlinearity == "tanh" else a.relu_()
        ctx.nonlinearity = nonlinearity
        ctx.save_for_backward(h0, weight_hh, out)
        ctx.has_bias = bias_hh is not None
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        h0, weight_hh, out = ctx.saved_tensors
        # act'(a_t) from the saved h_t: 1 − h_t² for tanh, [h_t > 0] for relu
        dact = 1 - out * out if ctx.nonlinearity == "tanh" else (out > 0).to(out.dtype)
        delta = torch.empty_like(out)
        dh = grad_out[-1]
        for t in range(out.shape[0] - 1, -1, -1):
            # δ_t = dh_t ⊙ act'(a_t)
            torch.mul(dh, dact[t], out=delta[t])
            if t > 0:
                # dh_{t-1} = g_{t-1} + δ_t W_hh
                dh = torch.addmm(grad_out[t - 1], delta[t], weight_hh)
        need = ctx.needs_input_grad
        dh0 = delta[0] @ weight_hh if need[1] else None
        dw, db = _weight_grads(delta, _previous_states(h0, out), need[2], need[3] and ctx.has_bias)
        return delta, dh0, dw, db, None


class GRUBPTT(torch.autograd.Function):
    r"""The GRU recurrence (torch's ``reset_after`` form) for all ``t``, with the BPTT backward.

    ``apply(gi, h0, weight_hh, bias_hh)``: ``gi`` (L, N, 3H) (gates r, z, n), ``h0`` (N, H),
    ``weight_hh`` (3H, H), ``bias_hh`` (3H) or None. Returns ``h_1 … h_L``, shape (L, N, H).
    """

    @staticmethod
    def forward(ctx, gi, h0, weight_hh, bias_hh):
        L, N, H3 = gi.shape
        H = H3 // 3
        gh = gi.new_empty(L, N, H3)  # h_{t-1} W_hh^T + b_hh, then r_t, z_t in its first 2H
        rz = gi.new_empty(L, N, 2 * H)
        n = gi.new_empty(L, N, H)
        out = gi.new_empty(L, N, H)
        w_t = weight_hh.T
        h = h0
        for t in range(L):
            # gh_t = h_{t-1} W_hh^T + b_hh   (the three recurrent products in one)
            if bias_hh is None:
                torch.mm(h, w_t, out=gh[t])
            else:
                torch.addmm(bias_hh, h, w_t, out=gh[t])
            # [r_t, z_t] = σ(gi_rz + gh_rz)
            torch.add(gi[t, :, :2 * H], gh[t, :, :2 * H], out=rz[t]).sigmoid_()
            # n_t = tanh(gi_n + r_t ⊙ hn_t)
            torch.addcmul(gi[t, :, 2 * H:], rz[t, :, :H], gh[t, :, 2 * H:], out=n[t]).tanh_()
            # h_t = n_t + z_t ⊙ (h_{t-1} − n_t) = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}
            h = torch.addcmul(n[t], rz[t, :, H:], h - n[t], out=out[t])
        ctx.has_bias = bias_hh is not None
        if not any(ctx.needs_input_grad):
            return out
        r, z = rz[..., :H], rz[..., H:]
        hn = gh[..., 2 * H:]
        h_prev = _previous_states(h0, out)
        # the factors of dh_t in ∂L/∂gh_t = dh_t ⊙ C_t, C_t = [Br_t, Bz_t, r_t Bn_t]
        coef = gh  # reused: gh is not needed any more
        bn = (1 - z) * (1 - n * n)  # Bn_t = (1 − z_t)(1 − n_t²)
        coef[..., :H] = bn * hn * r * (1 - r)  # Br_t = Bn_t hn_t r_t (1 − r_t)
        coef[..., H:2 * H] = (h_prev - n) * z * (1 - z)  # Bz_t = (h_{t-1} − n_t) z_t (1 − z_t)
        coef[..., 2 * H:] = r * bn
        ctx.save_for_backward(h0, weight_hh, out, coef, bn, z)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        h0, weight_hh, out, coef, bn, z = ctx.saved_tensors
        L, N, H = out.shape
        dgh = torch.empty_like(coef)  # ∂L/∂gh_t for all t
        dgi_n = torch.empty_like(out)  # δn_t for all t
        dh = grad_out[-1]
        for t in range(L - 1, -1, -1):
            # ∂L/∂gh_t = dh_t ⊙ [Br_t, Bz_t, r_t Bn_t]
            torch.mul(dh.unsqueeze(1), coef[t].view(N, 3, H), out=dgh[t].view(N, 3, H))
            # δn_t = dh_t ⊙ Bn_t
            torch.mul(dh, bn[t], out=dgi_n[t])
            if t > 0:
                # dh_{t-1} = g_{t-1} + dh_t ⊙ z_t + (∂L/∂gh_t) W_hh
                dh = torch.addcmul(grad_out[t - 1], dh, z[t]).addmm_(dgh[t], weight_hh)
            else:
                dh0 = torch.addcmul(dgh[0] @ weight_hh, dh, z[0])
        need = ctx.needs_input_grad
        dgi = None
        if need[0]:
            # ∂L/∂gi_t = [δr_t, δz_t, δn_t]: the first two blocks are those of ∂L/∂gh_t
            dgi = dgh.clone()
            dgi[..., 2 * H:] = dgi_n
        dw, db = _weight_grads(dgh, _previous_states(h0, out), need[2], need[3] and ctx.has_bias)
        return dgi, dh0 if need[1] else None, dw, db


class LSTMBPTT(torch.autograd.Function):
    r"""The LSTM recurrence (optionally projected) for all ``t``, with the BPTT backward.

    ``apply(gi, h0, c0, weight_hh, bias_hh, weight_hr)``: ``gi`` (L, N, 4H) (gates i, f, g, o),
    ``h0`` (N, H_out), ``c0`` (N, H), ``weight_hh`` (4H, H_out), ``bias_hh`` (4H) or None,
    ``weight_hr`` (P, H) or None (then ``H_out = H``). Returns ``(h_1 … h_L, c_L)``, shapes
    (L, N, H_out) and (N, H).
    """

    @staticmethod
    def forward(ctx, gi, h0, c0, weight_hh, bias_hh, weight_hr):
        gates = _with_bias(gi, bias_hh)  # pre-activations, then i, f, g, o in place
        L, N, H4 = gates.shape
        H = H4 // 4
        proj = weight_hr is not None
        out = gi.new_empty(L, N, weight_hr.shape[0] if proj else H)
        m = gi.new_empty(L, N, H) if proj else out  # o_t ⊙ tanh(c_t)
        cs = gi.new_empty(L + 1, N, H)  # c_0 … c_L
        cs[0] = c0
        tanh_c = gi.new_empty(L, N, H)
        w_t = weight_hh.T
        h = h0
        for t in range(L):
            a = gates[t].addmm_(h, w_t)  # gi_t + b_hh + h_{t-1} W_hh^T
            i, f, g, o = a.chunk(4, dim=1)
            # i_t, f_t = σ(.), g_t = tanh(.), o_t = σ(.)
            a[:, :2 * H].sigmoid_()
            g.tanh_()
            o.sigmoid_()
            # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
            torch.mul(f, cs[t], out=cs[t + 1]).addcmul_(i, g)
            # h_t = o_t ⊙ tanh(c_t)    (then h_t = m_t W_hr^T when projected)
            h = torch.mul(o, torch.tanh(cs[t + 1], out=tanh_c[t]), out=m[t])
            if proj:
                h = torch.mm(h, weight_hr.T, out=out[t])
        c_n = cs[L].clone()
        ctx.has_bias, ctx.proj = bias_hh is not None, proj
        if not any(ctx.needs_input_grad):
            return out, c_n
        i, f, g, o = gates.view(L, N, 4, H).unbind(2)
        # the factors of dc_t / dm_t in the pre-activation gradients, for all t at once
        coef = gi.new_empty(L, N, 4, H)
        coef[:, :, 0] = g * i * (1 - i)  # δi_t = dc_t ⊙ g_t i_t (1 − i_t)
        coef[:, :, 1] = cs[:-1] * f * (1 - f)  # δf_t = dc_t ⊙ c_{t-1} f_t (1 − f_t)
        coef[:, :, 2] = i * (1 - g * g)  # δg_t = dc_t ⊙ i_t (1 − g_t²)
        coef[:, :, 3] = tanh_c * o * (1 - o)  # δo_t = dm_t ⊙ tanh(c_t) o_t (1 − o_t)
        # dc_t gets dm_t ⊙ o_t (1 − tanh²(c_t))
        dtanh = tanh_c.mul_(tanh_c).neg_().add_(1).mul_(o)
        f = f.contiguous()
        ctx.save_for_backward(h0, weight_hh, weight_hr, out, m if proj else None, coef, f, dtanh)
        return out, c_n

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_c_n):
        h0, weight_hh, weight_hr, out, m, coef, f, dtanh = ctx.saved_tensors
        L, N, _, H = coef.shape
        proj = ctx.proj
        delta = torch.empty_like(coef)  # δ_t = [δi_t, δf_t, δg_t, δo_t] for all t
        dhs = torch.empty_like(out) if proj else None  # dh_t, for ∂L/∂W_hr
        dc = grad_c_n.clone() if grad_c_n is not None else out.new_zeros(N, H)
        w_flat = weight_hh
        dh = grad_out[-1]
        for t in range(L - 1, -1, -1):
            if proj:
                dhs[t] = dh
                # dm_t = dh_t W_hr
                dm = dh @ weight_hr
            else:
                dm = dh
            # dc_t += dm_t ⊙ o_t (1 − tanh²(c_t))
            dc.addcmul_(dm, dtanh[t])
            # δi_t, δf_t, δg_t = dc_t ⊙ (their factors)
            torch.mul(dc.unsqueeze(1), coef[t, :, :3], out=delta[t, :, :3])
            # δo_t = dm_t ⊙ tanh(c_t) o_t (1 − o_t)
            torch.mul(dm, coef[t, :, 3], out=delta[t, :, 3])
            # dc_{t-1} = dc_t ⊙ f_t
            dc.mul_(f[t])
            if t > 0:
                # dh_{t-1} = g_{t-1} + δ_t W_hh
                dh = torch.addmm(grad_out[t - 1], delta[t].view(N, 4 * H), w_flat)
        delta = delta.view(L, N, 4 * H)
        need = ctx.needs_input_grad
        dh0 = delta[0] @ weight_hh if need[1] else None
        dw, db = _weight_grads(delta, _previous_states(h0, out), need[3], need[4] and ctx.has_bias)
        dw_hr = _weight_grads(dhs, m, True, False)[0] if proj and need[5] else None
        return delta, dh0, dc if need[2] else None, dw, db, dw_hr


def elman_bptt(gi: Tensor, h0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None,
               nonlinearity: str = "tanh") -> Tensor:
    """All Elman states ``h_1 … h_L`` (L, N, H) from ``gi`` (L, N, H) and ``h0`` (N, H), with the
    hand-written BPTT backward (:class:`ElmanBPTT`)."""
    return ElmanBPTT.apply(gi, h0, weight_hh, bias_hh, nonlinearity)


def gru_bptt(gi: Tensor, h0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None) -> Tensor:
    """All GRU states ``h_1 … h_L`` (L, N, H) from ``gi`` (L, N, 3H) and ``h0`` (N, H), torch's
    ``reset_after`` form, with the hand-written BPTT backward (:class:`GRUBPTT`)."""
    return GRUBPTT.apply(gi, h0, weight_hh, bias_hh)


def lstm_bptt(gi: Tensor, h0: Tensor, c0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None,
              weight_hr: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """LSTM outputs ``h_1 … h_L`` (L, N, H_out) and the last cell state ``c_L`` (N, H) from
    ``gi`` (L, N, 4H), ``h0`` (N, H_out), ``c0`` (N, H), with the hand-written BPTT backward
    (:class:`LSTMBPTT`)."""
    return LSTMBPTT.apply(gi, h0, c0, weight_hh, bias_hh, weight_hr)
