r"""Hand-written backpropagation through time (BPTT) for the Elman RNN, the GRU and the LSTM.

Each recurrence is a ``torch.autograd.Function``. Its forward runs the loop over time
(the input projection ``gi = x W_ih^T + b_ih`` of every step is done before it, in one matrix
product: by :class:`InputProjection` for the GRU and the LSTM, inside :class:`ElmanBPTT`
for the Elman RNN) and keeps what the backward needs; its backward is BPTT: one loop
from the last step to the first that carries ``∂L/∂h_t`` (and ``∂L/∂c_t``) backwards and
stores the gradient of every step's pre-activations. The weight gradients are then *one*
matrix product over all steps, because

.. math:: \frac{\partial L}{\partial W_{hh}} = \sum_{t=1}^{T} \delta_t^\top h_{t-1}
          = \Delta^\top H_{\text{prev}},

with ``δ_t`` the gradient of step ``t``'s pre-activation (a row per sequence of the batch),
``Δ`` all the ``δ_t`` stacked, and ``H_prev`` the states ``h_0 … h_{T-1}`` stacked. The
gradient of ``gi`` is ``Δ`` itself; :class:`InputProjection`'s backward turns it into the
gradients of ``x``, ``W_ih`` and ``b_ih`` (again one product each). :class:`ElmanBPTT` does
these sums a block of steps at a time, so that its ``δ_t`` never fill an (L, N, H) tensor.

Memory: the Functions keep what the backward needs in few (L, N, ·) buffers and write
factors and gradients over them in place (:class:`GRUBPTT` and :class:`LSTMBPTT` also over
the ``gi`` the layer hands them, and, in a backward pass after which autograd frees the
graph, each step's gradients over that step's factors). The performance appendix measures
the peak memory of a forward+backward pass against torch's own layers. A
``saved_tensors_hooks`` pack hook that keeps references to the tensors it packs sees those
buffers change in such a backward (``torch.utils.checkpoint`` and
``torch.autograd.graph.save_on_cpu`` are not affected: they recompute or copy).

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

Each Function returns the states it also saves for its backward (a copy would cost one more
``(L, N, H)`` tensor at every pass), so an in-place operation on a layer's output
(``ReLU(inplace=True)``) makes the backward pass raise autograd's "modified by an inplace
operation" error, as with ``torch.nn.LSTM``'s oneDNN kernel (``torch.nn.RNN`` and
``torch.nn.GRU`` accept it); use an out-of-place operation, or ``backward="autograd"``.

The GRU of Cho et al. (``reset_after=False``) has its own Function (:class:`ChoGRUBPTT`):
the reset gate acts before ``W_hn``, so each step has two matrix products. The peephole
LSTM has no hand-written backward: ``rnnbook.PeepholeLSTM`` runs the autograd path.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import _native
from ._autograd import first_order_only, sigmoid_backward, with_previous


__all__ = ["elman_bptt", "gru_bptt", "lstm_bptt", "project_inputs", "InputProjection", "ElmanBPTT", "GRUBPTT", "ChoGRUBPTT", "LSTMBPTT",
           "BACKWARDS"]

#: The values of the layers' ``backward`` argument.
BACKWARDS = ("bptt", "autograd")


def _onednn_available() -> bool:
    try:
        return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    except (AttributeError, RuntimeError):
        return False


_ONEDNN = _onednn_available()
# oneDNN's fixed cost per call (~10 µs) and per weight reordering (~0.1 ms) pay off only for
# products of at least this many multiply-adds; smaller ones (and the tanh below
# _TANH_MIN_NUMEL elements) use torch's own kernels. Thresholds measured on the machine of the
# performance appendix.
_ONEDNN_MIN_WORK = 1 << 18
_TANH_MIN_NUMEL = 2048


def _onednn_for(t: Tensor, work: int) -> bool:
    """Whether a product of ``work`` multiply-adds on tensors like ``t`` goes through oneDNN."""
    return _ONEDNN and t.dtype == torch.float32 and t.device.type == "cpu" and work >= _ONEDNN_MIN_WORK


def _linear(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """``x w^T (+ b)`` for a 2-D ``x`` (N, K), a contiguous ``w`` (M, K) (or one from ``_pack``)
    and ``b`` (M) or None.

    In float32 on the CPU the product goes through oneDNN (``torch.ops.mkldnn._linear_pointwise``,
    the library behind ``torch.nn.LSTM``'s CPU kernel), which at these small shapes is faster
    than the default BLAS on some CPUs; other dtypes and devices use ``x @ w.T``. The two agree
    to float32 rounding (tested).
    """
    if w.is_mkldnn or _onednn_for(x, x.shape[0] * x.shape[1] * w.shape[0]):
        return torch.ops.mkldnn._linear_pointwise(x.contiguous(), w, b, "none", [], "")
    return x @ w.T if b is None else torch.addmm(b, x, w.T)


class InputProjection(torch.autograd.Function):
    r"""``gi = x W_ih^T + b_ih`` for all steps at once, as one matrix product, with a backward of
    one product each: ``∂L/∂x = Δ W_ih``, ``∂L/∂W_ih = Δ^T X``, ``∂L/∂b_ih = Σ Δ`` (``Δ`` and
    ``X`` with the rows of all steps stacked). The same function as
    ``torch.nn.functional.linear``; in float32 on the CPU the products go through oneDNN (see
    ``_linear``).

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
        return _linear(x.reshape(L * N, -1), weight_ih.contiguous(), bias_ih).view(L, N, -1).detach()

    @staticmethod
    @first_order_only
    def backward(ctx, grad):
        x, weight_ih = ctx.saved_tensors
        L, N, _ = ctx.shape
        g = grad.reshape(L * N, -1)
        need = ctx.needs_input_grad
        # ∂L/∂x = Δ W_ih
        dx = _linear(g, weight_ih.T.contiguous()).view(L, N, -1) if need[0] else None
        # ∂L/∂W_ih = Δ^T X
        dw = _t_product(g, x.reshape(L * N, -1)) if need[1] else None
        db = g.sum(0) if need[2] and ctx.has_bias else None
        return dx, dw, db


def project_inputs(x: Tensor, weight_ih: Tensor, bias_ih: Tensor | None) -> Tensor:
    """``x W_ih^T + b_ih`` for all steps (:class:`InputProjection`): (L, N, H_in) -> (L, N, G)."""
    return InputProjection.apply(x, weight_ih, bias_ih)


def _tanh_(x: Tensor) -> Tensor:
    """``tanh`` in place, through the identity ``tanh(a) = 2 σ(2a) − 1``.

    On the machine of the performance appendix, torch's CPU ``tanh`` of a (32, 128) float32
    tensor took about 20 µs, these four operations about 8 µs (measured with other work
    running), so the loops use the identity for tensors of at least ``_TANH_MIN_NUMEL``
    elements (smaller ones are quick either way and use ``tanh_``). It differs from ``tanh``
    by rounding only (tested: below 3e-7 in float32, below 1e-15 in float64).
    """
    if x.numel() < _TANH_MIN_NUMEL:
        return x.tanh_()
    return x.mul_(2).sigmoid_().mul_(2).sub_(1)


def _pack(w: Tensor, batch: int) -> Tensor:
    """``w`` (M, K) ready for many ``_linear(x, ·)`` calls with ``x`` (batch, K): in float32 on
    the CPU, reordered once into oneDNN's blocked layout (the loop reuses it at every step);
    otherwise ``w`` itself, contiguous."""
    if _onednn_for(w, batch * w.shape[0] * w.shape[1]):
        return torch.ops.mkldnn._reorder_linear_weight(w.contiguous(), batch)
    return w.contiguous()


# rows (steps × batch) of the blocks in which ElmanBPTT's backward sums its products over time
_BLOCK_ROWS = 256


def _t_product(a: Tensor, b: Tensor) -> Tensor:
    """``a^T b`` for 2-D ``a`` (M, P) and ``b`` (M, Q): a sum over the M stacked rows.

    One call to torch's BLAS, which reads the transposed operand in place (it packs small
    panels of it as it goes): no copy of either operand. It replaced a blocked oneDNN product
    with transposed copies (issue 17): measured in one process, interleaved, on a two-core
    machine under load (load average 6 to 8), the forward+backward passes of the LSTM, GRU and
    RNN at the benchmark's three sizes took 0.69 to 0.99 of their time with it.
    """
    return a.T @ b


def _with_bias(gi: Tensor, bias: Tensor | None) -> Tensor:
    """``gi + bias`` as a new contiguous tensor (the loop writes into it in place)."""
    return gi + bias if bias is not None else gi.clone(memory_format=torch.contiguous_format)


def _weight_grads(delta: Tensor, h0: Tensor, out: Tensor, need_w: bool, need_b: bool):
    """``Σ_t δ_t^T h_{t-1}`` as one product over all steps (plus the ``t = 1`` term, which
    involves ``h_0``) and ``Σ_t δ_t``; None where not needed."""
    dw = None
    if need_w:
        # Σ_{t>=2} δ_t^T h_{t-1} = Δ[1:]^T H[:-1], then + δ_1^T h_0
        dw = _t_product(delta[1:].flatten(0, 1), out[:-1].flatten(0, 1)).addmm_(delta[0].T, h0)
    db = delta.sum((0, 1)) if need_b else None
    return dw, db


def _incoming_gradients(grad_out: Tensor | None, grad_last: Tensor | None, last: Tensor):
    """The per-step output gradients ``g_t`` (a tuple over t, or None where the output was not
    used) and ``dh_L = g_L + ∂L/∂h_L``, from a Function's incoming gradients; with
    ``set_materialize_grads(False)`` either may be None (zeros like ``last`` if both are)."""
    grads = grad_out.unbind(0) if grad_out is not None else None
    if grads is None:
        dh = grad_last if grad_last is not None else last.new_zeros(last.shape)
    else:
        dh = grads[-1] if grad_last is None else grads[-1] + grad_last
    return grads, dh


def _last_gradient(grad_out: Tensor | None, grad_last: Tensor | None, out: Tensor) -> Tensor:
    """``dh_L = g_L + ∂L/∂h_L`` as a new contiguous tensor (the compiled loops write over it), from a
    Function's incoming gradients (either may be None; zeros if both are)."""
    if grad_out is None:
        if grad_last is None:
            return out.new_zeros(out.shape[1:])
        return grad_last.clone(memory_format=torch.contiguous_format)
    if grad_last is None:
        return grad_out[-1].clone(memory_format=torch.contiguous_format)
    return (grad_out[-1] + grad_last).contiguous()


def _gate_buffer(ctx, gi: Tensor, bias: Tensor | None, overwrite_gi: bool) -> Tensor:
    """``gi + bias`` in a buffer the Function may write over: ``gi`` itself (marked dirty) when
    ``overwrite_gi`` is allowed and ``gi`` is contiguous, else a new tensor. The buffer is
    returned by the Function as a non-differentiable output (scratch, not a result)."""
    if overwrite_gi and gi.is_contiguous():
        ctx.mark_dirty(gi)
        buf = gi.add_(bias) if bias is not None else gi
    else:
        buf = _with_bias(gi, bias)
    ctx.mark_non_differentiable(buf)
    return buf


def _elman_block(out: Tensor, a: int, b: int, d: Tensor, dh: Tensor, grads, w_t: Tensor, nonlinearity: str) -> Tensor:
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
        dh = _linear(ds[t - a], w_t)
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
        out = _linear(x.reshape(L * N, -1), weight_ih.contiguous(), bias).view(L, N, -1).detach()
        if _native.usable(out, h0, weight_hh):
            # the same loop in C (rnnbook._native), over out
            _native.elman_forward(out, h0.contiguous(), weight_hh.contiguous(), nonlinearity == "relu")
        else:
            weight = _pack(weight_hh, N)
            h = h0
            for a in out.unbind(0):
                # a_t += h_{t-1} W_hh^T
                a.add_(_linear(h, weight))
                # h_t = act(a_t), over a_t
                h = _tanh_(a) if nonlinearity == "tanh" else a.relu_()
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
        native = _native.usable(out, h0, weight_hh, grad_out, grad_last)
        if native:
            dh = _last_gradient(grad_out, grad_last, out)
            g_all = grad_out.contiguous() if grad_out is not None else None
            w_hh = weight_hh.contiguous()
        else:
            grads, dh = _incoming_gradients(grad_out, grad_last, out[-1])
            w_t = _pack(weight_hh.T, N)
        steps = max(1, _BLOCK_ROWS // N)  # steps per block
        delta = out.new_empty(min(steps, L), N, H)
        w_ih_t = weight_ih.T.contiguous() if need[0] else None
        dx = torch.empty(x.shape if x is not None else (L, N, weight_ih.shape[1]), dtype=out.dtype,
                         device=out.device) if need[0] else None
        dw_ih = dw_hh = db = dh0 = None
        for b in range(L, 0, -steps):
            a = max(0, b - steps)
            d = delta[:b - a]
            if native:
                # the steps of the block in C (rnnbook._native): δ_t into d, dh down to dh_{a-1}
                _native.elman_backward(a, b, out, g_all, dh, d, w_hh, ctx.nonlinearity == "relu")
            else:
                dh = _elman_block(out, a, b, d, dh, grads, w_t, ctx.nonlinearity)
            if a == 0 and need[1]:
                dh0 = dh  # ∂L/∂h_0 = δ_1 W_hh
            # the block's share of the sums over t
            flat = d.flatten(0, 1)
            if need[3]:
                # Σ δ_t^T h_{t-1}; h_{t-1} is h_0 for the first step
                if a > 0:
                    part = _t_product(flat, out[a - 1:b - 1].flatten(0, 1))
                else:
                    part = torch.mm(d[0].T, h0)
                    if b > 1:
                        part.add_(_t_product(d[1:].flatten(0, 1), out[:b - 1].flatten(0, 1)))
                dw_hh = part if dw_hh is None else dw_hh.add_(part)
            if need[2]:
                part = _t_product(flat, x[a:b].flatten(0, 1))
                dw_ih = part if dw_ih is None else dw_ih.add_(part)
            if (need[4] and ctx.has_bias[0]) or (need[5] and ctx.has_bias[1]):
                part = flat.sum(0)
                db = part if db is None else db.add_(part)
            if need[0]:
                dx[a:b] = _linear(flat, w_ih_t).view(b - a, N, -1)
        db_ih = db if need[4] and ctx.has_bias[0] else None
        db_hh = None
        if need[5] and ctx.has_bias[1]:
            db_hh = db.clone() if db_ih is not None else db
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None


def _keep_graph() -> bool:
    """Whether the backward pass now running keeps the graph for another one (``retain_graph``,
    ``create_graph``). When it does not, autograd frees each node's saved tensors once the node's
    backward has run, so a backward may write over saved buffers of its own that it reads for the
    last time (PyTorch's AOTAutograd decides the same way, with the same private call).
    Without that call (another torch), it answers True: nothing is overwritten."""
    try:
        return torch._C._autograd._get_current_graph_task_keep_graph()
    except (AttributeError, RuntimeError):
        return True


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
    (no ``retain_graph``; ``_keep_graph`` in the source) writes each step's gradients over
    that step's factors, so it allocates no (L, N, 3H) tensor of its own; one that keeps the
    graph (``retain_graph=True``) leaves the factors intact for the next.
    """

    @staticmethod
    def forward(ctx, gi, h0, weight_hh, bias_hh, overwrite_gi=False):
        ctx.set_materialize_grads(False)  # an unused output's gradient stays None, not (L, N, H) zeros
        L, N, H3 = gi.shape
        H = H3 // 3
        buf = _gate_buffer(ctx, gi, None, overwrite_gi)  # r_t, z_t, n_t, then the factors
        need = any(ctx.needs_input_grad)
        out = gi.new_empty(L, N, H)
        hn = gi.new_empty(L, N, H) if need else None  # hn_t, kept for the factors
        ctx.has_bias = bias_hh is not None
        if buf.is_contiguous() and _native.usable(buf, h0, weight_hh, bias_hh):
            # the loop in C (rnnbook._native): the same equations; it writes the factors below (C_t
            # over buf, Bn_t over hn, z_t) step by step
            z_saved = torch.empty_like(out) if need else None
            bias = bias_hh.contiguous() if bias_hh is not None else buf.new_zeros(H3)
            _native.gru_forward(buf, h0.contiguous(), weight_hh.contiguous(), bias, out, hn, z_saved)
            if need:
                ctx.save_for_backward(h0, weight_hh, out, buf, hn, z_saved)
            return out, out[-1].clone(), buf
        weight = _pack(weight_hh, N)
        bufs, outs = buf.unbind(0), out.unbind(0)
        h = h0
        for t in range(L):
            # gh_t = h_{t-1} W_hh^T + b_hh   (the three recurrent products in one)
            gh = _linear(h, weight, bias_hh)
            g = bufs[t]
            # [r_t, z_t] = σ(gi_rz + gh_rz), over gi_rz
            rz = g[:, :2 * H].add_(gh[:, :2 * H]).sigmoid_()
            hn_t = hn[t].copy_(gh[:, 2 * H:]) if need else gh[:, 2 * H:]
            # n_t = tanh(gi_n + r_t ⊙ hn_t), over gi_n
            n = _tanh_(g[:, 2 * H:].addcmul_(rz[:, :H], hn_t))
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
        reuse = not _keep_graph()
        if _native.usable(coef, h0, weight_hh, grad_out, grad_last):
            # the loop in C (rnnbook._native), writing over its arguments: copies if the graph is kept
            dgh = coef if reuse else coef.clone()
            dgi_n = bn if reuse else bn.clone()
            dh = _last_gradient(grad_out, grad_last, out)
            _native.gru_backward(dgh, dgi_n, z, grad_out.contiguous() if grad_out is not None else None, dh,
                                 weight_hh.contiguous())
            return GRUBPTT._gradients(ctx, dgh, dgi_n, dh, h0, out)
        dgh = coef if reuse else torch.empty_like(coef)  # ∂L/∂gh_t for all t
        dgi_n = bn if reuse else torch.empty_like(bn)  # δn_t for all t
        dghs, coefs = dgh.view(L, N, 3, H).unbind(0), coef.view(L, N, 3, H).unbind(0)
        dgh_flat, dns, bns, zs = dgh.unbind(0), dgi_n.unbind(0), bn.unbind(0), z.unbind(0)
        grads, dh = _incoming_gradients(grad_out, grad_last, out[-1])
        w_t = _pack(weight_hh.T, N)
        for t in range(L - 1, -1, -1):
            # ∂L/∂gh_t = dh_t ⊙ [Br_t, Bz_t, r_t Bn_t]
            torch.mul(dh.unsqueeze(1), coefs[t], out=dghs[t])
            # δn_t = dh_t ⊙ Bn_t
            torch.mul(dh, bns[t], out=dns[t])
            # dh_{t-1} = g_{t-1} + dh_t ⊙ z_t + (∂L/∂gh_t) W_hh
            prev = _linear(dgh_flat[t], w_t).addcmul_(dh, zs[t])
            dh = prev.add_(grads[t - 1]) if t > 0 and grads is not None else prev
        return GRUBPTT._gradients(ctx, dgh, dgi_n, dh, h0, out)

    @staticmethod
    def _gradients(ctx, dgh, dgi_n, dh, h0, out):
        """The Function's gradients from ``∂L/∂gh_t`` and ``δn_t`` of all steps and ``∂L/∂h_0``."""
        H = out.shape[2]
        need = ctx.needs_input_grad
        dw, db = _weight_grads(dgh, h0, out, need[2], need[3] and ctx.has_bias)
        dgi = None
        if need[0]:
            # ∂L/∂gi_t = [δr_t, δz_t, δn_t]: the first two blocks are those of ∂L/∂gh_t, so
            # once the weight gradients are done, dgh's buffer becomes dgi
            dgi = dgh
            dgi[..., 2 * H:] = dgi_n
        return dgi, dh if need[1] else None, dw, db, None


class LSTMBPTT(torch.autograd.Function):
    r"""The LSTM recurrence (optionally projected) for all ``t``, with the BPTT backward.

    ``apply(gi, h0, c0, weight_hh, bias_hh, weight_hr, overwrite_gi=False)``: ``gi`` (L, N, 4H)
    (gates i, f, g, o), ``h0`` (N, H_out), ``c0`` (N, H), ``weight_hh`` (4H, H_out), ``bias_hh``
    (4H) or None, ``weight_hr`` (P, H) or None (then ``H_out = H``). Returns
    ``(h_1 … h_L, h_L, c_L, buffer)``, shapes (L, N, H_out), (N, H_out), (N, H) and (L, N, 4H):
    the buffer that holds the gates and then the backward's factors, ``gi`` itself (marked
    dirty) when ``overwrite_gi`` is True and ``gi`` is contiguous, else a new tensor. As in
    :class:`GRUBPTT`, a backward pass after which autograd frees the graph writes the gates'
    gradients over their factors.
    """

    @staticmethod
    def forward(ctx, gi, h0, c0, weight_hh, bias_hh, weight_hr, overwrite_gi=False):
        ctx.set_materialize_grads(False)  # an unused output's gradient stays None, not zeros
        gates = _gate_buffer(ctx, gi, bias_hh, overwrite_gi)  # pre-activations, then i, f, g, o in place
        L, N, H4 = gates.shape
        H = H4 // 4
        proj = weight_hr is not None
        ctx.has_bias, ctx.proj = bias_hh is not None, proj
        if gates.is_contiguous() and _native.usable(gates, h0, c0, weight_hh, weight_hr):
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
        weight = _pack(weight, N)
        pres = gates.unbind(0)
        i_s, f_s, g_s, o_s = I.unbind(0), F.unbind(0), G.unbind(0), O.unbind(0)
        c_s, tc_s, m_s, out_s = cs.unbind(0), tanh_c.unbind(0), m.unbind(0), out.unbind(0)
        w_hr = _pack(weight_hr, N) if proj else None
        # tanh(c_t) = 2 σ(2 c_t) − 1 as well when the tensors are large enough (see _tanh_);
        # the loop then keeps s_t = σ(2 c_t) and turns it into tanh(c_t) for all t at the end
        identity = N * H >= _TANH_MIN_NUMEL
        two = gi.new_tensor(2.0)  # a 0-dim tensor: a Python number would be wrapped at every step
        h = h0
        for t in range(L):
            # gi_t + b_hh + h_{t-1} W_hh^T (g block doubled); i_t, f_t, o_t and σ(2 a_g) = σ(.)
            pres[t].add_(_linear(h, weight)).sigmoid_()
            # c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t with g_t = 2 σ(2 a_g) − 1 = tanh(a_g)
            torch.mul(f_s[t], c_s[t], out=c_s[t + 1]).addcmul_(i_s[t], g_s[t], value=2).sub_(i_s[t])
            if identity:
                # h_t = o_t ⊙ tanh(c_t) = 2 o_t ⊙ σ(2 c_t) − o_t
                s_c = torch.mul(c_s[t + 1], two, out=tc_s[t]).sigmoid_()
                h = torch.mul(o_s[t], s_c, out=m_s[t]).mul_(two).sub_(o_s[t])
            else:
                h = torch.mul(o_s[t], torch.tanh(c_s[t + 1], out=tc_s[t]), out=m_s[t])
            if proj:
                h = out_s[t].copy_(_linear(h, w_hr))
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
        """The forward loop in C (:mod:`rnnbook._native`): the same equations and the same saved
        tensors (activations, then the backward's factors, over ``gates``; ``f_t``; ``o_t (1 −
        tanh²(c_t))``) as the Python loop below, which runs where the compiled one cannot."""
        L, N, H4 = gates.shape
        H = H4 // 4
        need = any(ctx.needs_input_grad)
        w_hr = weight_hr.contiguous() if ctx.proj else None
        out = gates.new_empty(L, N, w_hr.shape[0] if ctx.proj else H)
        m = gates.new_empty(L, N, H) if ctx.proj else None
        c_n = gates.new_empty(N, H)
        f = gates.new_empty(L, N, H) if need else None
        dtanh = gates.new_empty(L, N, H) if need else None
        _native.lstm_forward(gates, h0.contiguous(), c0.contiguous(), weight_hh.contiguous(), w_hr, out, m, c_n,
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
        delta = coef if not _keep_graph() else torch.empty_like(coef)
        if _native.usable(coef, h0, weight_hh, weight_hr, grad_out, grad_h_last, grad_c_n):
            # the loop in C (:mod:`rnnbook._native`), the same steps as the Python loop below
            dh = _last_gradient(grad_out, grad_h_last, out)  # dh_L, in a buffer of its own
            dc = grad_c_n.clone(memory_format=torch.contiguous_format) if grad_c_n is not None else dtanh.new_zeros(N, H)
            dhs = torch.empty_like(out) if proj else None
            _native.lstm_backward(coef, delta, f, dtanh, grad_out.contiguous() if grad_out is not None else None, dh,
                                  dc, weight_hh.contiguous(), weight_hr.contiguous() if proj else None, dhs,
                                  dc.new_empty(N, H) if proj else None)
            need = ctx.needs_input_grad
            dw, db = _weight_grads(delta, h0, out, need[3], need[4] and ctx.has_bias)
            dw_hr = _t_product(dhs.flatten(0, 1), m.flatten(0, 1)) if proj and need[5] else None
            return delta, dh if need[1] else None, dc if need[2] else None, dw, db, dw_hr, None
        # per step: the (N, 3, H) block of δi, δf, δg (one product with dc_t) and δo (N, H)
        d_ifg, d_o = delta.view(L, N, 4, H)[:, :, :3].unbind(0), delta.view(L, N, 4, H)[:, :, 3].unbind(0)
        k_ifg, k_o = coef.view(L, N, 4, H)[:, :, :3].unbind(0), coef.view(L, N, 4, H)[:, :, 3].unbind(0)
        deltas, f_s, dt_s = delta.unbind(0), f.unbind(0), dtanh.unbind(0)
        grads, dh = _incoming_gradients(grad_out, grad_h_last, out[-1])
        dhs = torch.empty_like(out) if proj else None  # dh_t, for ∂L/∂W_hr
        w_t = _pack(weight_hh.T, N)
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
            dh = _linear(deltas[t], w_t)
            if t > 0 and grads is not None:
                dh.add_(grads[t - 1])
        need = ctx.needs_input_grad
        dw, db = _weight_grads(delta, h0, out, need[3], need[4] and ctx.has_bias)
        dw_hr = _t_product(dhs.flatten(0, 1), m.flatten(0, 1)) if proj and need[5] else None
        return delta, dh if need[1] else None, dc if need[2] else None, dw, db, dw_hr, None


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
        pre = _with_bias(gi, bias_hh)  # gi + b_hh, then r_t, z_t, n_t in place
        u = gi.new_empty(L, N, H)  # u_t = r_t ⊙ h_{t-1}
        out = gi.new_empty(L, N, H)
        w_rz, w_n = _pack(weight_hh[:2 * H], N), _pack(weight_hh[2 * H:], N)
        pres, us, outs = pre.unbind(0), u.unbind(0), out.unbind(0)
        h = h0
        for t in range(L):
            p = pres[t]
            # [r_t, z_t] = σ(gi_rz + b_rz + h_{t-1} W_rz^T)
            rz = p[:, :2 * H]
            rz.add_(_linear(h, w_rz)).sigmoid_()
            # n_t = tanh(gi_n + b_hn + (r_t ⊙ h_{t-1}) W_hn^T)
            torch.mul(rz[:, :H], h, out=us[t])
            n = p[:, 2 * H:]
            _tanh_(n.add_(_linear(us[t], w_n)))
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
        w_rz_t, w_n_t = _pack(weight_hh[:2 * H].T, N), _pack(weight_hh[2 * H:].T, N)
        delta = torch.empty_like(act)  # [δr_t, δz_t, δn_t] = ∂L/∂gi_t
        d_r, d_z, d_n = (d.unbind(0) for d in delta.view(L, N, 3, H).unbind(2))
        d_rz = delta[..., :2 * H].unbind(0)
        kn, kz, kr, zs, rs, grads = k_n.unbind(0), k_z.unbind(0), k_r.unbind(0), z.unbind(0), r.unbind(0), grad_out.unbind(0)
        dh = grads[-1] + grad_last
        for t in range(L - 1, -1, -1):
            torch.mul(dh, kn[t], out=d_n[t])
            torch.mul(dh, kz[t], out=d_z[t])
            # du_t = δn_t W_hn
            du = _linear(d_n[t], w_n_t)
            torch.mul(du, kr[t], out=d_r[t])
            # dh_{t-1} = g_{t-1} + dh_t ⊙ z_t + du_t ⊙ r_t + [δr_t, δz_t] W_rz
            prev = _linear(d_rz[t], w_rz_t).addcmul_(dh, zs[t]).addcmul_(du, rs[t])
            dh = prev.add_(grads[t - 1]) if t > 0 else prev
        need = ctx.needs_input_grad
        dw = None
        if need[2]:
            dw = torch.cat([_t_product(delta[..., :2 * H].flatten(0, 1), h_prev.flatten(0, 1)),
                            _t_product(delta[..., 2 * H:].flatten(0, 1), u.flatten(0, 1))])
        db = delta.sum((0, 1)) if need[3] and ctx.has_bias else None
        return delta, dh if need[1] else None, dw, db


def _check_overwrite(overwrite_gi: object) -> None:
    if not isinstance(overwrite_gi, bool):
        raise TypeError(f"overwrite_gi must be a bool, got {type(overwrite_gi).__name__}")


def elman_bptt(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor | None,
               bias_hh: Tensor | None, nonlinearity: str = "tanh") -> tuple[Tensor, Tensor]:
    """All Elman states ``h_1 … h_L`` (L, N, H) and the last one ``h_L`` (N, H) from the inputs
    ``x`` (L, N, H_in) and ``h0`` (N, H), input projection included, with the hand-written
    BPTT backward (:class:`ElmanBPTT`)."""
    return ElmanBPTT.apply(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity)


def gru_bptt(gi: Tensor, h0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None,
             reset_after: bool = True, overwrite_gi: bool = False) -> tuple[Tensor, Tensor]:
    """All GRU states ``h_1 … h_L`` (L, N, H) and ``h_L`` (N, H) from ``gi`` (L, N, 3H) and ``h0`` (N, H), torch's
    ``reset_after`` form (:class:`GRUBPTT`) or Cho's (:class:`ChoGRUBPTT`), with the
    hand-written BPTT backward.

    ``overwrite_gi=True`` lets the ``reset_after`` form use ``gi``'s memory for its own
    buffers (one (L, N, 3H) tensor fewer): pass it only for a ``gi`` nothing else reads
    afterwards, as the layer does for the projection it has just computed. Cho's form
    leaves ``gi`` alone either way."""
    _check_overwrite(overwrite_gi)
    if not reset_after:
        return ChoGRUBPTT.apply(gi, h0, weight_hh, bias_hh)
    out, h_n, _ = GRUBPTT.apply(gi, h0, weight_hh, bias_hh, overwrite_gi)
    return out, h_n


def lstm_bptt(gi: Tensor, h0: Tensor, c0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None,
              weight_hr: Tensor | None = None, overwrite_gi: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """LSTM outputs ``h_1 … h_L`` (L, N, H_out), the last one ``h_L`` (N, H_out) and the last
    cell state ``c_L`` (N, H) from
    ``gi`` (L, N, 4H), ``h0`` (N, H_out), ``c0`` (N, H), with the hand-written BPTT backward
    (:class:`LSTMBPTT`). ``overwrite_gi=True`` lets it use ``gi``'s memory for the gates (as
    in :func:`gru_bptt`): only for a ``gi`` nothing else reads afterwards."""
    _check_overwrite(overwrite_gi)
    out, h_n, c_n, _ = LSTMBPTT.apply(gi, h0, c0, weight_hh, bias_hh, weight_hr, overwrite_gi)
    return out, h_n, c_n
