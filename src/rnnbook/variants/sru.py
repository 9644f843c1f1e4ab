r"""The Simple Recurrent Unit, SRU (Lei et al. 2018; the 2017 form as an option).

For each layer, with ``x_t`` its input (``d`` features) and ``c_t`` its state (``H``)::

    f_t = σ(W_f x_t + v_f ⊙ c_{t-1} + b_f)            forget gate
    r_t = σ(W_r x_t + v_r ⊙ c_{t-1} + b_r)            reset (highway) gate
    c_t = f_t ⊙ c_{t-1} + (1 − f_t) ⊙ (W x_t)
    h_t = r_t ⊙ c_t + (1 − r_t) ⊙ α x_t

The paper of 2017 (Lei et al., "Training RNNs as Fast as CNNs") passes the state through an
activation ``g`` before the highway mix, ``h_t = r_t ⊙ g(c_t) + (1 − r_t) ⊙ x_t``; the 2018
paper drops it (``g`` the identity). ``activation="tanh"`` gives ``g = tanh`` (in either
version); the default, ``"identity"``, is the form above. With ``version="2017"``,
``rescale=False`` and ``activation="tanh"`` a layer of equal sizes computes the 2017 paper's
equations exactly.

The 2017 form (``version="2017"``) has no ``v ⊙ c_{t-1}`` terms, so its gates depend on
``x`` alone and ``c`` is a linear recurrence: with ``bptt="scan"`` or
``"autograd"`` it is computed by :func:`rnnbook.variants.scan.linear_recurrence` (the doubling
scan, or the loop through autograd); with ``"hand"`` by :class:`SRULayerBPTT`, like the
2018 form.
Every matrix product depends on ``x`` only: ``W``, ``W_f``, ``W_r`` of all time steps are
one product before the loop; what stays inside is element-wise.

In the 2018 form only ``f_t`` has to be inside the loop: once every ``c_t`` is known,
``r_t`` (which reads ``c_{t-1}``) and ``h_t`` are computed for all steps at once. With
``bptt="hand"`` (the default) each layer's element-wise part is
:class:`SRULayerBPTT`, whose backward is written out: with ``s_t = (c_{t-1} − W x_t) ⊙ f_t (1 − f_t)`` (the gradient of ``c_t``
with respect to ``f_t``'s pre-activation) and ``J_t = f_t + s_t ⊙ v_f``
(``∂c_t/∂c_{t-1}``), the total gradient of ``c_t`` obeys the *linear* backward recurrence
``c̄_t = g_t + J_{t+1} ⊙ c̄_{t+1}`` (``g_t`` from ``h_t`` and ``r_{t+1}``), and then
``∂L/∂(W x_t) = c̄_t ⊙ (1 − f_t)``, ``∂L/∂(W_f x_t + b_f) = c̄_t ⊙ s_t``,
``∂L/∂v_f = Σ_t c̄_t ⊙ s_t ⊙ c_{t-1}`` and ``∂L/∂c_0 = J_1 ⊙ c̄_1`` (plus the path through
``r_1``). In the 2017 form ``v = 0``, so ``J_t = f_t``. With ``g = tanh`` what reaches ``c_t``
from ``h_t`` is multiplied by ``g'(c_t) = 1 − tanh²(c_t)``.
``bptt="autograd"`` runs the readable loop below through autograd. The hand-written
backward gives first derivatives only (``rnnbook.kernels.autograd``): for second derivatives use
``bptt="autograd"``.

``α = sqrt(1 + 2 exp(b_r^init))`` (``highway_bias`` is ``b_r``'s initial value), or 1
with ``rescale=False``. When ``d != H`` a fourth matrix ``W_p`` replaces ``α x_t`` in the
highway term by ``W_p x_t`` (not rescaled). Initialisation: ``W`` ~ U(±sqrt(3/d))
(the official code's), ``v`` ~ U(±sqrt(3/H)) (a choice of this implementation),
``b_f = 0``, ``b_r = highway_bias``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnbook._sequence import initial_state, restore_layout, sequence_input
from rnnbook._validate import check_bool, check_choice, check_int
from rnnbook.kernels.autograd import (
    first_order_only,
    has_tangent,
    sigmoid_backward,
    with_previous,
)
from rnnbook.kernels.projection import project_inputs
from rnnbook.layers.packing import pack_output, run_with_lengths, sequence_lengths, unpack_input
from rnnbook.variants.scan import (
    _BPTTModeAttribute,
    _count,
    linear_recurrence,
    reverse_recurrence,
)

__all__ = ["SRU", "SRULayerBPTT"]

_VERSIONS = ("2018", "2017")
_ACTIVATIONS = ("identity", "tanh")   # g in h_t = r_t ⊙ g(c_t) + (1 − r_t) ⊙ α x_t


class SRULayerBPTT(torch.autograd.Function):
    r"""One SRU layer's element-wise part, with a hand-written backward.

    Inputs: ``U`` (T, N, k H), the product of ``x`` with the stacked ``[W; W_f; W_r(; W_p)]``;
    ``x`` (T, N, d) (used for the highway term ``α x_t`` when ``k = 3``); ``bias`` (2 H)
    ``[b_f; b_r]``; ``v`` (2 H) ``[v_f; v_r]``, or ``None`` for the 2017 form; ``c0``
    (N, H); ``alpha`` (a float); ``tanh`` (a bool, default ``False``: ``h_t`` reads
    ``tanh(c_t)`` in place of ``c_t``). Outputs ``h`` (T, N, H) and ``c_T`` (N, H).

    Forward: a loop of three operations per step (``f_t``'s pre-activation, the logistic
    function, ``c_t = u_t + f_t ⊙ (c_{t-1} − u_t)``; only the last one in the 2017 form);
    ``r_t`` and ``h_t`` for all steps after the loop. Backward: the formulas of
    :mod:`rnnbook.variants.sru`'s docstring, with one loop (:func:`rnnbook.variants.scan.reverse_recurrence`).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> T, N, H = 5, 2, 4
    >>> U = torch.randn(T, N, 3 * H, requires_grad=True)   # x_t [W; W_f; W_r]^T, with d = H
    >>> x = torch.randn(T, N, H)
    >>> h, c_T = rnnbook.SRULayerBPTT.apply(U, x, torch.zeros(2 * H), torch.zeros(2 * H),
    ...                                     torch.zeros(N, H), 1.0)
    >>> tuple(h.shape), tuple(c_T.shape)
    ((5, 2, 4), (2, 4))
    >>> h.sum().backward()
    >>> tuple(U.grad.shape)
    (5, 2, 12)
    """

    @staticmethod
    def forward(ctx, U: Tensor, x: Tensor, bias: Tensor, v: Tensor | None, c0: Tensor,
                alpha: float, tanh: bool = False) -> tuple[Tensor, Tensor]:
        # Every (T, N, H) temporary costs a fresh allocation at each pass, so the steps below
        # write into the few tensors they need (see the performance appendix).
        H = c0.shape[-1]
        u = U[..., :H]                                      # W x_t
        gates = U[..., H:3 * H] + bias                      # W_f x_t + b_f, W_r x_t + b_r; then f_t, r_t
        f, r = gates[..., :H], gates[..., H:]
        c = torch.empty_like(u, memory_format=torch.contiguous_format)
        prev = c0
        if v is None:
            _count(loops=1, steps=c.shape[0], products=c.numel())   # a linear recurrence: rnnbook.variants.scan.count_ops
            torch.sigmoid(gates, out=gates)                 # 2017: f_t, r_t read x_t only
            for u_t, f_t, c_t in zip(u.unbind(0), f.unbind(0), c.unbind(0), strict=True):
                torch.lerp(u_t, prev, f_t, out=c_t)         # c_t = u_t + f_t ⊙ (c_{t-1} − u_t)
                prev = c_t
        else:
            v_f, v_r = v[:H], v[H:]
            for u_t, f_t, c_t in zip(u.unbind(0), f.unbind(0), c.unbind(0), strict=True):
                f_t.addcmul_(v_f, prev).sigmoid_()          # f_t = σ(W_f x_t + b_f + v_f ⊙ c_{t-1})
                torch.lerp(u_t, prev, f_t, out=c_t)         # c_t = u_t + f_t ⊙ (c_{t-1} − u_t)
                prev = c_t
            # r_t = σ(W_r x_t + b_r + v_r ⊙ c_{t-1}), all t
            r[0].addcmul_(v_r, c0)
            r[1:].addcmul_(v_r, c[:-1])
            r.sigmoid_()
        # h_t = r_t ⊙ g(c_t) + (1 − r_t) ⊙ x_hw = x_hw + r_t ⊙ (g(c_t) − x_hw), x_hw = α x_t or W_p x_t
        gc = torch.tanh(c) if tanh else c
        if U.shape[-1] == 4 * H:
            x_hw = U[..., 3 * H:]
            h = torch.sub(gc, x_hw).mul_(r).add_(x_hw)
        else:
            h = torch.add(gc, x, alpha=-alpha).mul_(r).add_(x, alpha=alpha)
        ctx.save_for_backward(U, x, gates, c, c0, v)
        ctx.alpha, ctx.tanh = alpha, tanh
        return h, c[-1].clone()

    @staticmethod
    @first_order_only
    def backward(ctx, gh: Tensor, gcn: Tensor):
        U, x, gates, c, c0, v = ctx.saved_tensors
        H, alpha = c0.shape[-1], ctx.alpha
        wide = U.shape[-1] == 4 * H
        gc = torch.tanh(c) if ctx.tanh else c               # g(c_t)
        u, f, r = U[..., :H], gates[..., :H], gates[..., H:]
        dU = torch.empty_like(U, memory_format=torch.contiguous_format)
        du, d_pre_f, d_pre_r = dU[..., :H], dU[..., H:2 * H], dU[..., 2 * H:3 * H]
        # ∂L/∂(r_t's pre-activation) = g_t ⊙ (g(c_t) − x_hw) ⊙ r_t (1 − r_t)
        if wide:
            torch.sub(gc, U[..., 3 * H:], out=d_pre_r)
        else:
            torch.add(gc, x, alpha=-alpha, out=d_pre_r)
        sigmoid_backward(d_pre_r.mul_(gh), r, grad_input=d_pre_r)
        g_c = gh * r                                        # ∂L/∂c_t from h_t ...
        if ctx.tanh:                                        # ... through g'(c_t) = 1 − tanh²(c_t)
            g_c.mul_(gc.square().neg_().add_(1))
        del gc
        g_c[-1] += gcn                                      # ... from c_T ...
        # s_t = (c_{t-1} − u_t) ⊙ f_t (1 − f_t) = ∂c_t / ∂(f_t's pre-activation), held in d_pre_f
        s = sigmoid_backward(with_previous(torch.sub, c, c0, u, d_pre_f), f, grad_input=d_pre_f)
        if v is None:
            jac = f                                         # ∂c_t / ∂c_{t-1}
        else:
            v_f, v_r = v[:H], v[H:]
            g_c[:-1].addcmul_(d_pre_r[1:], v_r)             # ... and from r_{t+1}, through v_r
            jac = torch.addcmul(f, s, v_f, out=du)          # J_t = f_t + s_t ⊙ v_f (du's slot, for now)
        dc = reverse_recurrence(jac, g_c, out=g_c)          # c̄_t = g_t + J_{t+1} c̄_{t+1}, in place
        dc0 = jac[0] * dc[0]                                # ∂L/∂c_0 = J_1 ⊙ c̄_1 (+ the r_1 path)
        d_pre_f.mul_(dc)                                    # ∂L/∂(f_t's pre-activation) = c̄_t ⊙ s_t
        torch.addcmul(dc, dc, f, value=-1, out=du)          # ∂L/∂u_t = c̄_t ⊙ (1 − f_t)
        dx = None
        if wide:                                            # ∂L/∂(W_p x_t) = g_t ⊙ (1 − r_t)
            torch.addcmul(gh, gh, r, value=-1, out=dU[..., 3 * H:])
        elif ctx.needs_input_grad[1]:                       # ∂L/∂x_t (highway) = α g_t ⊙ (1 − r_t)
            dx = torch.addcmul(gh, gh, r, value=-1).mul_(alpha)
        d_bias = dU[..., H:3 * H].sum(dim=(0, 1))
        dv = None
        if v is not None:
            dc0 += d_pre_r[0] * v_r
            # ∂L/∂v = Σ_t (∂L/∂pre_t) ⊙ c_{t-1}, for f and r (dc's buffer is free again)
            dv = torch.cat([with_previous(torch.mul, c, c0, d, dc).sum(dim=(0, 1)) for d in (d_pre_f, d_pre_r)])
        return dU, dx, d_bias, dv, dc0, None, None


class SRU(nn.Module):
    r"""A stack of SRU layers; forward ``(input, c0=None) -> (output, c_n)``.

    Per layer (the 2017 form without the :math:`v \odot c_{t-1}` terms; :math:`g` the
    identity, or :math:`\tanh` with ``activation="tanh"``):

    .. math::

        f_t &= \sigma(W_f x_t + v_f \odot c_{t-1} + b_f), \qquad
        r_t = \sigma(W_r x_t + v_r \odot c_{t-1} + b_r) \\
        c_t &= f_t \odot c_{t-1} + (1 - f_t) \odot (W x_t), \qquad
        h_t = r_t \odot g(c_t) + (1 - r_t) \odot \alpha x_t

    Args:
        input_size, hidden_size, num_layers: as ``torch.nn.RNN``.
        batch_first: input and output as ``(N, L, H)``.
        version: ``"2018"`` (with ``v ⊙ c_{t-1}`` in the gates) or ``"2017"`` (without).
        rescale: use the scaling ``α`` in the highway term (else ``α = 1``).
        activation: ``g`` in ``h_t = r_t ⊙ g(c_t) + ...``: ``"identity"`` (the default, the
            2018 paper's form) or ``"tanh"`` (the 2017 paper's form). The state ``c_t``, and
            so ``c_n``, is the same either way.
        highway_bias: initial value of ``b_r``.
        bptt: how the loop over time runs: ``"hand"`` (a loop with a hand-written
            backward, the default), ``"autograd"`` (the readable loop through autograd), or
            ``"scan"`` (the doubling scan; the 2017 form only, whose recurrence is linear).

    Shapes: input ``(L, N, d)`` or unbatched ``(L, d)``; ``c0`` and ``c_n``
    ``(num_layers, N, H)``; output ``(L, N, H)``, the last layer's ``h_t``.
    Parameters per layer ``l``: ``weight_l{l}`` (k H, d_l) stacking ``W, W_f, W_r``
    (and ``W_p`` when ``d_l != H``: k = 4, else 3); ``weight_c_l{l}`` (2 H) = ``[v_f; v_r]``
    (2018 only); ``bias_l{l}`` (2 H) = ``[b_f; b_r]``.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> sru = rnnbook.SRU(3, 4, num_layers=2)
    >>> [tuple(p.shape) for p in sru.parameters()][:3]     # layer 0: [W; W_f; W_r; W_p] (d != H), v, b
    [(16, 3), (8,), (8,)]
    >>> x = torch.randn(6, 2, 3)                           # (L, N, d)
    >>> out, c_n = sru(x)
    >>> tuple(out.shape), tuple(c_n.shape)
    ((6, 2, 4), (2, 2, 4))
    >>> sru.bptt = "autograd"                              # the readable loop: the same numbers
    >>> torch.allclose(sru(x)[0], out, atol=1e-6)
    True
    >>> paper = rnnbook.SRU(4, 4, version="2017", rescale=False, activation="tanh")
    >>> paper                                              # Lei et al. 2017: h_t = r_t ⊙ tanh(c_t) + (1 − r_t) ⊙ x_t
    SRU(4, 4, num_layers=1, version='2017', alpha=1.0000, activation='tanh')
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, batch_first: bool = False,
                 version: str = "2018", rescale: bool = True, highway_bias: float = 0.0,
                 bptt: str = "hand", device=None, dtype=None, *, activation: str = "identity") -> None:
        super().__init__()
        self.input_size = check_int("input_size", input_size, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        self.num_layers = check_int("num_layers", num_layers, minimum=1)
        self.batch_first = check_bool("batch_first", batch_first)
        self.version = check_choice("version", version, _VERSIONS)
        self.rescale = check_bool("rescale", rescale)
        if not isinstance(activation, str):
            raise TypeError(f"activation must be a str, one of {', '.join(map(repr, _ACTIVATIONS))}; "
                            f"got {activation!r} of type {type(activation).__name__}")
        self.activation = check_choice("activation", activation, _ACTIVATIONS)
        self.bptt = bptt
        if isinstance(highway_bias, bool) or not isinstance(highway_bias, (int, float)):
            raise TypeError(f"highway_bias must be a real number, got {highway_bias!r}")
        # α = sqrt(1 + 2 exp(b_r^init)) must be a finite number: exp overflows above ~709
        if not (math.isfinite(highway_bias) and highway_bias <= 700):
            raise ValueError(f"highway_bias must be a finite number <= 700 (α = sqrt(1 + 2 exp(b)) must be "
                             f"finite), got {highway_bias!r}")
        self.highway_bias = float(highway_bias)
        # α = sqrt(1 + 2 exp(b_r^init))
        self.alpha = math.sqrt(1 + 2 * math.exp(self.highway_bias)) if rescale else 1.0
        factory = {"device": device, "dtype": dtype}
        for layer in range(num_layers):
            d = input_size if layer == 0 else hidden_size
            k = 3 if d == hidden_size else 4
            setattr(self, f"weight_l{layer}", nn.Parameter(torch.empty(k * hidden_size, d, **factory)))
            if version == "2018":
                setattr(self, f"weight_c_l{layer}", nn.Parameter(torch.empty(2 * hidden_size, **factory)))
            setattr(self, f"bias_l{layer}", nn.Parameter(torch.empty(2 * hidden_size, **factory)))
        self.reset_parameters()

    bptt = _BPTTModeAttribute()

    def _check_bptt(self, value: str) -> None:
        if value == "scan" and self.version != "2017":
            raise ValueError("bptt='scan' needs a linear recurrence, version='2017'; "
                             f"got version={self.version!r} (its gates read c_(t-1))")

    def reset_parameters(self) -> None:
        """W ~ U(±sqrt(3/d)), v ~ U(±sqrt(3/H)), b_f = 0, b_r = highway_bias."""
        H = self.hidden_size
        with torch.no_grad():
            for layer in range(self.num_layers):
                w = getattr(self, f"weight_l{layer}")
                bound = math.sqrt(3.0 / w.shape[1])
                w.uniform_(-bound, bound)
                if self.version == "2018":
                    v = math.sqrt(3.0 / H)
                    getattr(self, f"weight_c_l{layer}").uniform_(-v, v)
                b = getattr(self, f"bias_l{layer}")
                b[:H].zero_()
                b[H:].fill_(self.highway_bias)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, version={self.version!r}"
        s += f", alpha={self.alpha:.4f}"
        if self.activation != "identity":
            s += f", activation={self.activation!r}"
        if self.bptt != "hand":
            s += f", bptt={self.bptt!r}"
        return s + (", batch_first=True" if self.batch_first else "")

    def _layer(self, x: Tensor, c: Tensor, layer: int) -> tuple[Tensor, Tensor]:
        H = self.hidden_size
        weight, bias = getattr(self, f"weight_l{layer}"), getattr(self, f"bias_l{layer}")
        v = getattr(self, f"weight_c_l{layer}", None)
        if self.bptt == "hand" and not has_tangent(x, weight, bias, v, c):
            U = project_inputs(x, weight, None)  # as below, the product through oneDNN in float32 on a CPU
            return SRULayerBPTT.apply(U, x, bias, v, c, self.alpha, self.activation == "tanh")
        U = x @ weight.T                       # W x_t, W_f x_t, W_r x_t (, W_p x_t) for all t at once
        u, uf, ur = U[..., :H], U[..., H:2 * H] + bias[:H], U[..., 2 * H:3 * H] + bias[H:]
        # the highway input: α x_t, or W_p x_t when the sizes differ
        x_hw = U[..., 3 * H:] if weight.shape[0] == 4 * H else self.alpha * x
        g = torch.tanh if self.activation == "tanh" else (lambda c: c)
        if self.version == "2017":
            f, r = torch.sigmoid(uf), torch.sigmoid(ur)
            # c_t = f_t ⊙ c_{t-1} + (1 − f_t) ⊙ (W x_t): a linear recurrence (scan or loop)
            cs = linear_recurrence(f, (1 - f) * u, c, self.bptt)
            # h_t = r_t ⊙ g(c_t) + (1 − r_t) ⊙ α x_t
            return r * g(cs) + (1 - r) * x_hw, cs[-1]
        v_f, v_r = v.split(H)
        hs = []
        for u_t, uf_t, ur_t, xh_t in zip(u.unbind(0), uf.unbind(0), ur.unbind(0), x_hw.unbind(0), strict=True):
            # f_t = σ(W_f x_t + v_f ⊙ c_{t-1} + b_f), r_t = σ(W_r x_t + v_r ⊙ c_{t-1} + b_r)
            f_t, r_t = torch.sigmoid(uf_t + v_f * c), torch.sigmoid(ur_t + v_r * c)
            # c_t = f_t ⊙ c_{t-1} + (1 − f_t) ⊙ (W x_t)
            c = f_t * c + (1 - f_t) * u_t
            # h_t = r_t ⊙ g(c_t) + (1 − r_t) ⊙ α x_t
            hs.append(r_t * g(c) + (1 - r_t) * xh_t)
        return torch.stack(hs), c

    def forward(self, input: Tensor | PackedSequence, c0: Tensor | None = None, *, lengths=None):
        """Run the stack; returns ``(output, c_n)``. The state ``c`` (num_layers, N, H) is all
        an SRU carries from step to step, so a sequence run in chunks equals one pass.
        ``lengths`` (N,) or a ``PackedSequence`` input: see :mod:`rnnbook.layers.packing`."""
        input, lengths, packed = unpack_input("SRU", input, lengths, self.batch_first)
        x, batched = sequence_input("input", input, self.input_size, self.weight_l0.dtype, self.batch_first,
                                     device=self.weight_l0.device)
        lengths = sequence_lengths(lengths, x, batched)
        c = initial_state(c0, x, batched, self.num_layers, self.hidden_size, name="c0")
        finals = []
        for layer in range(self.num_layers):

            def run(xs: Tensor, c: tuple[Tensor], layer: int = layer) -> tuple[Tensor, tuple[Tensor]]:
                h, c_n = self._layer(xs, c[0], layer)
                return h, (c_n,)

            x, (c_n,) = run_with_lengths(run, x, (c[layer],), lengths)
            finals.append(c_n)
        out, c_n = restore_layout(x, torch.stack(finals), batched, self.batch_first)
        return pack_output(out, lengths, packed, self.batch_first), c_n
