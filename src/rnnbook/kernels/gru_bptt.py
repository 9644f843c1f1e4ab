r"""The GRU's loop over time, with a hand-written BPTT backward (torch's form and Cho's).

Torch's form (``reset_after=True``), with ``hn_t = h_{t-1} W_hn^T + b_hn``::

    δn_t = dh_t ⊙ (1 − z_t) ⊙ (1 − n_t²)
    δz_t = dh_t ⊙ (h_{t-1} − n_t) ⊙ z_t (1 − z_t)
    δr_t = δn_t ⊙ hn_t ⊙ r_t (1 − r_t)
    ∂L/∂gi_t = [δr_t, δz_t, δn_t]              ∂L/∂gh_t = [δr_t, δz_t, r_t ⊙ δn_t]
    dh_{t-1} = g_{t-1} + dh_t ⊙ z_t + (∂L/∂gh_t) W_hh

The factors that multiply ``dh_t`` depend only on the forward pass, so they are computed for
all steps at once after the forward loop. Cho et al.'s form (``reset_after=False``) applies
the reset gate before ``W_hn``, so each step has two matrix products (:class:`ChoGRUBPTT`).
See :mod:`rnnbook.kernels` for the design.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnbook.kernels import native
from rnnbook.kernels.autograd import first_order_only, sigmoid_backward, with_previous
from rnnbook.kernels.ops import (
    check_overwrite,
    gate_buffer,
    incoming_gradients,
    last_gradient,
    t_product,
    tanh_,
    weight_grads,
    with_bias,
)
from rnnbook.kernels.private import keep_graph, linear, pack_weight

__all__ = ["GRUBPTT", "ChoGRUBPTT", "gru_bptt"]

# elements of the scratch tensor that GRUBPTT's factors are computed in, a block of steps at a time
_FACTOR_BLOCK = 1 << 17


class GRUBPTT(torch.autograd.Function):
    r"""The GRU recurrence (torch's ``reset_after`` form) for all ``t``, with the BPTT backward.

    ``apply(gi, h0, weight_hh, bias_hh, overwrite_gi=False)``: ``gi`` (L, N, 3H) (gates r, z, n),
    ``h0`` (N, H), ``weight_hh`` (3H, H), ``bias_hh`` (3H) or None. Returns ``h_1 … h_L``,
    shape (L, N, H), ``h_L`` again, (N, H), and the (L, N, 3H) buffer that holds ``r_t, z_t,
    n_t`` and then, when a gradient is wanted, the backward's factors.

    Memory: that buffer is ``gi`` itself when ``overwrite_gi`` is True and ``gi`` is contiguous
    (``gi`` is then marked dirty and returned as the third output; its values are no longer
    the projection), otherwise a copy of ``gi``. The loop writes ``r_t, z_t, n_t`` over
    ``gi_t`` and the factors over them. A backward pass after which autograd frees the graph
    (no ``retain_graph``; ``keep_graph`` in the source) writes each step's gradients over
    that step's factors, so it allocates no (L, N, 3H) tensor of its own; one that keeps the
    graph (``retain_graph=True``) leaves the factors intact for the next.
    """

    @staticmethod
    def forward(ctx, gi, h0, weight_hh, bias_hh, overwrite_gi=False):
        ctx.set_materialize_grads(False)  # an unused output's gradient stays None, not (L, N, H) zeros
        L, N, H3 = gi.shape
        H = H3 // 3
        buf = gate_buffer(ctx, gi, None, overwrite_gi)  # r_t, z_t, n_t, then the factors
        need = any(ctx.needs_input_grad)
        out = gi.new_empty(L, N, H)
        hn = gi.new_empty(L, N, H) if need else None  # hn_t, kept for the factors
        ctx.has_bias = bias_hh is not None
        if buf.is_contiguous() and native.usable(buf, h0, weight_hh, bias_hh):
            # the loop in C (rnnbook.kernels.native), the same equations; it writes the factors
            # computed below (C_t over buf, Bn_t over hn, z_t) step by step
            z_saved = torch.empty_like(out) if need else None
            bias = bias_hh.contiguous() if bias_hh is not None else buf.new_zeros(H3)
            native.gru_forward(buf, h0.contiguous(), weight_hh.contiguous(), bias, out, hn, z_saved)
            if need:
                ctx.save_for_backward(h0, weight_hh, out, buf, hn, z_saved)
            return out, out[-1].clone(), buf
        weight = pack_weight(weight_hh, N)
        bufs, outs = buf.unbind(0), out.unbind(0)
        h = h0
        for t in range(L):
            # gh_t = h_{t-1} W_hh^T + b_hh   (the three recurrent products in one)
            gh = linear(h, weight, bias_hh)
            g = bufs[t]
            # [r_t, z_t] = σ(gi_rz + gh_rz), over gi_rz
            rz = g[:, :2 * H].add_(gh[:, :2 * H]).sigmoid_()
            hn_t = hn[t].copy_(gh[:, 2 * H:]) if need else gh[:, 2 * H:]
            # n_t = tanh(gi_n + r_t ⊙ hn_t), over gi_n
            n = tanh_(g[:, 2 * H:].addcmul_(rz[:, :H], hn_t))
            # h_t = n_t + z_t ⊙ (h_{t-1} − n_t) = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}
            h = torch.addcmul(n, rz[:, H:], h - n, out=outs[t])
        ctx.has_bias = bias_hh is not None
        if not need:
            return out, out[-1].clone(), buf
        # the factors of dh_t in ∂L/∂gh_t = dh_t ⊙ C_t, C_t = [Br_t, Bz_t, r_t Bn_t], written over
        # [r_t, z_t, n_t]; Bn_t over hn_t; z_t kept apart. A block of steps at a time, so that the
        # scratch tensor stays small.
        z_saved = torch.empty_like(out)
        block = max(1, _FACTOR_BLOCK // (N * H))
        scratch = gi.new_empty(min(block, L), N, H)
        for a in range(0, L, block):
            b = min(L, a + block)
            r, z, n = buf[a:b, :, :H], buf[a:b, :, H:2 * H], buf[a:b, :, 2 * H:]
            hn_b, zs, tmp = hn[a:b], z_saved[a:b], scratch[:b - a]
            zs.copy_(z)
            # h_{t-1} − n_t
            if a == 0:
                with_previous(torch.sub, out[:b], h0, n, tmp)
            else:
                torch.sub(out[a - 1:b - 1], n, out=tmp)
            sigmoid_backward(tmp, z, grad_input=z)  # Bz_t = (h_{t-1} − n_t) z_t (1 − z_t), over z
            torch.mul(n, n, out=tmp).neg_().add_(1)
            tmp.addcmul_(tmp, zs, value=-1)  # Bn_t = (1 − z_t)(1 − n_t²)
            hn_b.mul_(tmp)  # Bn_t hn_t, over hn
            torch.mul(r, tmp, out=n)  # r_t Bn_t, over n
            sigmoid_backward(hn_b, r, grad_input=r)  # Br_t = Bn_t hn_t r_t (1 − r_t), over r
            hn_b.copy_(tmp)  # Bn_t, over hn
        ctx.save_for_backward(h0, weight_hh, out, buf, hn, z_saved)
        return out, out[-1].clone(), buf  # h_L apart, so that its gradient needs no (L, N, H) zeros

    @staticmethod
    @first_order_only
    def backward(ctx, grad_out, grad_last, _grad_buf):
        h0, weight_hh, out, coef, bn, z = ctx.saved_tensors
        L, N, H = out.shape
        if grad_out is None and grad_last is None:
            return None, None, None, None, None
        # each step reads its factors once: unless the graph is kept, its gradients go over them
        reuse = not keep_graph()
        if native.usable(coef, h0, weight_hh, grad_out, grad_last):
            # the loop in C (rnnbook.kernels.native); it writes over its arguments: copies if the graph is kept
            dgh = coef if reuse else coef.clone()
            dgi_n = bn if reuse else bn.clone()
            dh = last_gradient(grad_out, grad_last, out)
            native.gru_backward(dgh, dgi_n, z, grad_out.contiguous() if grad_out is not None else None, dh,
                                weight_hh.contiguous())
            return GRUBPTT._gradients(ctx, dgh, dgi_n, dh, h0, out)
        dgh = coef if reuse else torch.empty_like(coef)  # ∂L/∂gh_t for all t
        dgi_n = bn if reuse else torch.empty_like(bn)  # δn_t for all t
        dghs, coefs = dgh.view(L, N, 3, H).unbind(0), coef.view(L, N, 3, H).unbind(0)
        dgh_flat, dns, bns, zs = dgh.unbind(0), dgi_n.unbind(0), bn.unbind(0), z.unbind(0)
        grads, dh = incoming_gradients(grad_out, grad_last, out[-1])
        w_t = pack_weight(weight_hh.T, N)
        for t in range(L - 1, -1, -1):
            # ∂L/∂gh_t = dh_t ⊙ [Br_t, Bz_t, r_t Bn_t]
            torch.mul(dh.unsqueeze(1), coefs[t], out=dghs[t])
            # δn_t = dh_t ⊙ Bn_t
            torch.mul(dh, bns[t], out=dns[t])
            # dh_{t-1} = g_{t-1} + dh_t ⊙ z_t + (∂L/∂gh_t) W_hh
            prev = linear(dgh_flat[t], w_t).addcmul_(dh, zs[t])
            dh = prev.add_(grads[t - 1]) if t > 0 and grads is not None else prev
        return GRUBPTT._gradients(ctx, dgh, dgi_n, dh, h0, out)

    @staticmethod
    def _gradients(ctx, dgh, dgi_n, dh, h0, out):
        """The Function's gradients from ``∂L/∂gh_t`` and ``δn_t`` of all steps and ``∂L/∂h_0``."""
        H = out.shape[2]
        need = ctx.needs_input_grad
        dw, db = weight_grads(dgh, h0, out, need[2], need[3] and ctx.has_bias)
        dgi = None
        if need[0]:
            # ∂L/∂gi_t = [δr_t, δz_t, δn_t]: the first two blocks are those of ∂L/∂gh_t, so
            # once the weight gradients are done, dgh's buffer becomes dgi
            dgi = dgh
            dgi[..., 2 * H:] = dgi_n
        return dgi, dh if need[1] else None, dw, db, None



class ChoGRUBPTT(torch.autograd.Function):
    r"""The GRU of Cho et al. (``reset_after=False``) for all ``t``, with the BPTT backward.

    Forward: ``[r_t, z_t] = σ(gi_rz + h_{t-1} W_rz^T + b_rz)``,
    ``n_t = tanh(gi_n + (r_t ⊙ h_{t-1}) W_hn^T + b_hn)``, ``h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}``;
    two matrix products per step, the second after ``r_t``. Backward, with ``u_t = r_t ⊙ h_{t-1}``::

        δn_t = dh_t ⊙ (1 − z_t)(1 − n_t²)
        δz_t = dh_t ⊙ (h_{t-1} − n_t) z_t (1 − z_t)
        du_t = δn_t W_hn
        δr_t = du_t ⊙ h_{t-1} ⊙ r_t (1 − r_t)
        dh_{t-1} = g_{t-1} + dh_t ⊙ z_t + du_t ⊙ r_t + [δr_t, δz_t] W_rz
        ∂L/∂W_rz = Σ_t [δr_t, δz_t]^T h_{t-1}        ∂L/∂W_hn = Σ_t δn_t^T u_t

    ``apply(gi, h0, weight_hh, bias_hh)``: shapes as :class:`GRUBPTT`.
    """

    @staticmethod
    def forward(ctx, gi, h0, weight_hh, bias_hh):
        L, N, H3 = gi.shape
        H = H3 // 3
        pre = with_bias(gi, bias_hh)  # gi + b_hh, then r_t, z_t, n_t in place
        u = gi.new_empty(L, N, H)  # u_t = r_t ⊙ h_{t-1}
        out = gi.new_empty(L, N, H)
        w_rz, w_n = pack_weight(weight_hh[:2 * H], N), pack_weight(weight_hh[2 * H:], N)
        pres, us, outs = pre.unbind(0), u.unbind(0), out.unbind(0)
        h = h0
        for t in range(L):
            p = pres[t]
            # [r_t, z_t] = σ(gi_rz + b_rz + h_{t-1} W_rz^T)
            rz = p[:, :2 * H]
            rz.add_(linear(h, w_rz)).sigmoid_()
            # n_t = tanh(gi_n + b_hn + (r_t ⊙ h_{t-1}) W_hn^T)
            torch.mul(rz[:, :H], h, out=us[t])
            n = p[:, 2 * H:]
            tanh_(n.add_(linear(us[t], w_n)))
            # h_t = n_t + z_t ⊙ (h_{t-1} − n_t)
            h = torch.addcmul(n, rz[:, H:], h - n, out=outs[t])
        ctx.has_bias = bias_hh is not None
        if not any(ctx.needs_input_grad):
            return out, out[-1].clone()
        ctx.save_for_backward(h0, weight_hh, out, pre, u)
        return out, out[-1].clone()

    @staticmethod
    @first_order_only
    def backward(ctx, grad_out, grad_last):
        h0, weight_hh, out, act, u = ctx.saved_tensors
        L, N, H = out.shape
        r, z, n = act[..., :H], act[..., H:2 * H], act[..., 2 * H:]
        h_prev = torch.cat([h0.unsqueeze(0), out[:-1]])
        # factors of dh_t, for all t at once
        k_n = (1 - z) * (1 - n * n)  # δn_t = dh_t ⊙ k_n
        k_z = (h_prev - n) * z * (1 - z)  # δz_t = dh_t ⊙ k_z
        k_r = h_prev * r * (1 - r)  # δr_t = du_t ⊙ k_r
        w_rz_t, w_n_t = pack_weight(weight_hh[:2 * H].T, N), pack_weight(weight_hh[2 * H:].T, N)
        delta = torch.empty_like(act)  # [δr_t, δz_t, δn_t] = ∂L/∂gi_t
        d_r, d_z, d_n = (d.unbind(0) for d in delta.view(L, N, 3, H).unbind(2))
        d_rz = delta[..., :2 * H].unbind(0)
        kn, kz, kr, zs, rs, grads = k_n.unbind(0), k_z.unbind(0), k_r.unbind(0), z.unbind(0), r.unbind(0), grad_out.unbind(0)
        dh = grads[-1] + grad_last
        for t in range(L - 1, -1, -1):
            torch.mul(dh, kn[t], out=d_n[t])
            torch.mul(dh, kz[t], out=d_z[t])
            # du_t = δn_t W_hn
            du = linear(d_n[t], w_n_t)
            torch.mul(du, kr[t], out=d_r[t])
            # dh_{t-1} = g_{t-1} + dh_t ⊙ z_t + du_t ⊙ r_t + [δr_t, δz_t] W_rz
            prev = linear(d_rz[t], w_rz_t).addcmul_(dh, zs[t]).addcmul_(du, rs[t])
            dh = prev.add_(grads[t - 1]) if t > 0 else prev
        need = ctx.needs_input_grad
        dw = None
        if need[2]:
            dw = torch.cat([t_product(delta[..., :2 * H].flatten(0, 1), h_prev.flatten(0, 1)),
                            t_product(delta[..., 2 * H:].flatten(0, 1), u.flatten(0, 1))])
        db = delta.sum((0, 1)) if need[3] and ctx.has_bias else None
        return delta, dh if need[1] else None, dw, db



def gru_bptt(gi: Tensor, h0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None,
             reset_after: bool = True, overwrite_gi: bool = False) -> tuple[Tensor, Tensor]:
    """All GRU states ``h_1 … h_L`` (L, N, H) and ``h_L`` (N, H) from ``gi`` (L, N, 3H) and ``h0`` (N, H), torch's
    ``reset_after`` form (:class:`GRUBPTT`) or Cho's (:class:`ChoGRUBPTT`), with the
    hand-written BPTT backward.

    ``overwrite_gi=True`` lets the ``reset_after`` form use ``gi``'s memory for its own
    buffers (one (L, N, 3H) tensor fewer): pass it only for a ``gi`` nothing else reads
    afterwards, as the layer does for the projection it has just computed. Cho's form
    leaves ``gi`` alone either way."""
    check_overwrite(overwrite_gi)
    if not reset_after:
        return ChoGRUBPTT.apply(gi, h0, weight_hh, bias_hh)
    out, h_n, _ = GRUBPTT.apply(gi, h0, weight_hh, bias_hh, overwrite_gi)
    return out, h_n


