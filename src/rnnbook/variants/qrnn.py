r"""The quasi-recurrent neural network, QRNN (Bradbury et al. 2017).

A causal convolution of width ``k`` (``window``) over time computes every gate from the
last ``k`` inputs, for all steps at once (``X`` left-padded with ``k − 1`` zero steps)::

    Z = tanh(W_z * X),   F = σ(W_f * X),   O = σ(W_o * X),   I = σ(W_i * X)

where ``(W * X)_t = sum_{j=0}^{k-1} W[..., j] x_{t-k+1+j}`` (``W[..., k-1]`` meets
``x_t``). Then a *pooling*, the only sequential part, element-wise::

    f-pooling:    h_t = f_t ⊙ h_{t-1} + (1 − f_t) ⊙ z_t
    fo-pooling:   c_t = f_t ⊙ c_{t-1} + (1 − f_t) ⊙ z_t,   h_t = o_t ⊙ c_t
    ifo-pooling:  c_t = f_t ⊙ c_{t-1} + i_t ⊙ z_t,         h_t = o_t ⊙ c_t

Gate convention: the paper's, ``f_t`` multiplies the *previous* state (a forget gate).
The Salesforce code (pytorch-qrnn) flips it (its ``f`` multiplies ``z``). Each pooling
is a linear recurrence in ``c``. ``bptt="hand"`` (the default) runs the activations
and the pooling of each layer in one ``torch.autograd.Function``,
:class:`QRNNPoolingBPTT`, a loop with a hand-written backward (first derivatives only;
see ``rnnbook.kernels.autograd``); ``"scan"`` computes the pooling by the doubling scan
:func:`rnnbook.variants.scan.linear_scan` and ``"autograd"`` by the loop
:func:`rnnbook.variants.scan.linear_recurrence_loop`, both differentiated by autograd.

The convolution is one matrix product of the ``k`` inputs each step sees, laid side by
side, with ``W`` laid out to match (:meth:`QRNN.preactivations`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnbook._sequence import initial_state, restore_layout, sequence_input
from rnnbook._validate import check_bool, check_choice, check_int, check_shape, check_tensor
from rnnbook.kernels.autograd import (
    first_order_only,
    has_tangent,
    sigmoid_backward,
    tanh_backward,
    with_previous,
)
from rnnbook.kernels.projection import project_inputs
from rnnbook.layers.packing import mask_padding, pack_output, run_with_lengths, sequence_lengths, unpack_input
from rnnbook.variants.scan import (
    _BPTTModeAttribute,
    _count,
    linear_recurrence,
    reverse_recurrence,
)

__all__ = ["QRNN", "QRNNPoolingBPTT"]


_GATES = {"f": "zf", "fo": "zfo", "ifo": "zfoi"}


class QRNNPoolingBPTT(torch.autograd.Function):
    r"""One QRNN layer's activations and pooling, with a hand-written backward.

    Inputs: ``pre`` (T, N, g H), the convolution's output ``[W_z * X, W_f * X(, W_o * X(, W_i * X))]``;
    ``c0`` (N, H); ``pooling`` (``"f"``, ``"fo"`` or ``"ifo"``). Outputs ``h`` (T, N, H) and
    ``c_T`` (N, H). The forward applies tanh / σ, forms the inflow ``(1 − f_t) ⊙ z_t``
    (ifo: ``i_t ⊙ z_t``), runs ``c_t = f_t ⊙ c_{t-1} + inflow_t`` as a loop of one
    ``addcmul`` per step and sets ``h_t = o_t ⊙ c_t`` (f-pooling: ``h_t = c_t``). The
    backward, with ``c̄_t`` the total gradient of ``c_t``::

        c̄_t = o_t ⊙ ∂L/∂h_t + f_{t+1} ⊙ c̄_{t+1}      (one loop, the adjoint recurrence)
        ∂L/∂f_t = c̄_t ⊙ (c_{t-1} − z_t)   (ifo: c̄_t ⊙ c_{t-1})
        ∂L/∂z_t = c̄_t ⊙ (1 − f_t)         (ifo: c̄_t ⊙ i_t;  ∂L/∂i_t = c̄_t ⊙ z_t)
        ∂L/∂o_t = ∂L/∂h_t ⊙ c_t,          ∂L/∂c_0 = f_1 ⊙ c̄_1

    then through tanh and σ into the gradient of ``pre``.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> pre = torch.randn(5, 2, 3 * 4, requires_grad=True)  # [W_z * X, W_f * X, W_o * X]: (T, N, 3 H)
    >>> h, c_T = rnnbook.QRNNPoolingBPTT.apply(pre, torch.zeros(2, 4), "fo")
    >>> tuple(h.shape), tuple(c_T.shape)
    ((5, 2, 4), (2, 4))
    >>> h.sum().backward()
    >>> tuple(pre.grad.shape)
    (5, 2, 12)
    """

    @staticmethod
    def forward(ctx, pre: Tensor, c0: Tensor, pooling: str) -> tuple[Tensor, Tensor]:
        H = c0.shape[-1]
        gates = torch.sigmoid(pre)                          # F, O, I = σ(W * X) (one call for all)
        z, f = gates[..., :H], gates[..., H:2 * H]
        # Z = tanh(W_z * X) = 2 σ(2 W_z * X) − 1 (torch's CPU tanh is the slower of the two)
        torch.mul(pre[..., :H], 2, out=z).sigmoid_().mul_(2).sub_(1)
        if pooling == "ifo":
            inflow = gates[..., 3 * H:] * z                 # i_t ⊙ z_t
        else:
            inflow = torch.addcmul(z, f, z, value=-1)       # (1 − f_t) ⊙ z_t
        c = inflow                                          # c_t overwrites inflow_t step by step
        _count(loops=1, steps=c.shape[0], products=c.numel())   # seen by rnnbook.variants.scan.count_ops
        prev = c0
        for f_t, c_t in zip(f.unbind(0), c.unbind(0), strict=True):
            c_t.addcmul_(f_t, prev)                         # c_t = f_t ⊙ c_{t-1} + inflow_t
            prev = c_t
        # h_t = o_t ⊙ c_t; f-pooling returns a copy of c (saved below), so that an in-place
        # operation on the output cannot corrupt the backward pass
        h = c.clone() if pooling == "f" else gates[..., 2 * H:3 * H] * c
        ctx.save_for_backward(gates, c, c0)
        ctx.pooling = pooling
        return h, c[-1].clone()

    @staticmethod
    @first_order_only
    def backward(ctx, gh: Tensor, gcn: Tensor) -> tuple[Tensor, Tensor, None]:
        gates, c, c0 = ctx.saved_tensors
        H, pooling = c0.shape[-1], ctx.pooling
        z, f = gates[..., :H], gates[..., H:2 * H]
        d_pre = torch.empty_like(gates)
        d_pre_z, d_pre_f = d_pre[..., :H], d_pre[..., H:2 * H]
        # each gradient is written straight into its block of d_pre (no (T, N, H) temporaries)
        if pooling == "f":
            g_c = gh.clone()
        else:
            o, d_pre_o = gates[..., 2 * H:3 * H], d_pre[..., 2 * H:3 * H]
            # ∂L/∂(o_t's pre-activation) = ∂L/∂h_t ⊙ c_t ⊙ o_t (1 − o_t)
            sigmoid_backward(torch.mul(gh, c, out=d_pre_o), o, grad_input=d_pre_o)
            g_c = gh * o                                    # ∂L/∂c_t through h_t = o_t ⊙ c_t
        g_c[-1] += gcn
        dc = reverse_recurrence(f, g_c, out=g_c)            # c̄_t = g_t + f_{t+1} ⊙ c̄_{t+1}, in place
        if pooling == "ifo":
            i, d_pre_i = gates[..., 3 * H:], d_pre[..., 3 * H:]
            sigmoid_backward(torch.mul(dc, z, out=d_pre_i), i, grad_input=d_pre_i)    # ∂L/∂i_t = c̄_t ⊙ z_t
            with_previous(torch.mul, c, c0, dc, d_pre_f)    # ∂L/∂f_t = c̄_t ⊙ c_{t-1}
            sigmoid_backward(d_pre_f, f, grad_input=d_pre_f)
            tanh_backward(torch.mul(dc, i, out=d_pre_z), z, grad_input=d_pre_z)     # ∂L/∂z_t = c̄_t ⊙ i_t
        else:
            with_previous(torch.sub, c, c0, z, d_pre_f)     # ∂L/∂f_t = c̄_t ⊙ (c_{t-1} − z_t)
            sigmoid_backward(d_pre_f.mul_(dc), f, grad_input=d_pre_f)
            # ∂L/∂z_t = c̄_t ⊙ (1 − f_t)
            tanh_backward(torch.addcmul(dc, dc, f, value=-1, out=d_pre_z), z, grad_input=d_pre_z)
        return d_pre, f[0] * dc[0], None


class QRNN(nn.Module):
    r"""A stack of QRNN layers; forward ``(input, c0=None) -> (output, c_n)``.

    Per layer, :math:`Z = \tanh(W_z * X)`, :math:`F = \sigma(W_f * X)`,
    :math:`O = \sigma(W_o * X)`, :math:`I = \sigma(W_i * X)` (causal convolutions of width
    ``window``), then fo-pooling :math:`c_t = f_t \odot c_{t-1} + (1 - f_t) \odot z_t`,
    :math:`h_t = o_t \odot c_t` (f-pooling: :math:`h_t = c_t`; ifo-pooling:
    :math:`c_t = f_t \odot c_{t-1} + i_t \odot z_t`).

    Args:
        input_size, hidden_size, num_layers: as ``torch.nn.RNN``.
        window: the convolution width ``k`` (>= 1; ``k = 1`` looks at ``x_t`` only).
        pooling: ``"f"``, ``"fo"`` or ``"ifo"``.
        bias: whether ``bias_l{l}`` exists.
        batch_first: input and output as ``(N, L, H)``.
        bptt: how the pooling runs, one of :data:`rnnbook.variants.scan.LINEAR_BPTT_MODES`
            (``"hand"``, ``"scan"``, ``"autograd"``; see the module's docstring).

    Shapes: input ``(L, N, d)`` or unbatched ``(L, d)``; output ``(L, N, H)``: the last
    layer's ``h_t``; the state ``(c, window_0, ..., window_{num_layers-1})``, ``c``
    ``(num_layers, N, H)`` and each layer's last ``k − 1`` inputs (see :meth:`forward`).
    Parameters per layer ``l``: ``weight_l{l}`` (g H, d_l, k) stacking the gates in the
    order Z, F, O, I (those the pooling uses, g of them), ``bias_l{l}`` (g H).
    A new sequence's convolution starts from zero padding; a continued one from the
    window of inputs its state carries.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> qrnn = rnnbook.QRNN(3, 4, num_layers=2, window=2, pooling="fo")
    >>> tuple(qrnn.weight_l0.shape)                        # Z, F, O stacked: (g H, d, k)
    (12, 3, 2)
    >>> x = torch.randn(6, 2, 3)                           # (L, N, d)
    >>> out, (c_n, *windows) = qrnn(x)                     # c, then each layer's last k - 1 inputs
    >>> tuple(out.shape), tuple(c_n.shape), [tuple(w.shape) for w in windows]
    ((6, 2, 4), (2, 2, 4), [(1, 2, 3), (1, 2, 4)])
    >>> qrnn.bptt = "autograd"                             # the readable pooling: the same numbers
    >>> torch.allclose(qrnn(x)[0], out, atol=1e-6)
    True
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, window: int = 2,
                 pooling: str = "fo", bias: bool = True, batch_first: bool = False,
                 bptt: str = "hand", device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = check_int("input_size", input_size, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        self.num_layers = check_int("num_layers", num_layers, minimum=1)
        self.window = check_int("window", window, minimum=1)
        self.pooling = check_choice("pooling", pooling, tuple(_GATES))
        self.bias = check_bool("bias", bias)
        self.batch_first = check_bool("batch_first", batch_first)
        self.bptt = bptt
        factory = {"device": device, "dtype": dtype}
        g = len(_GATES[pooling])
        for layer in range(num_layers):
            d = input_size if layer == 0 else hidden_size
            setattr(self, f"weight_l{layer}", nn.Parameter(torch.empty(g * hidden_size, d, window, **factory)))
            if bias:
                setattr(self, f"bias_l{layer}", nn.Parameter(torch.empty(g * hidden_size, **factory)))
        self.reset_parameters()

    bptt = _BPTTModeAttribute()

    def reset_parameters(self) -> None:
        """U(±1/sqrt(d k)), as ``torch.nn.Conv1d``'s bias (d k inputs feed each gate)."""
        for layer in range(self.num_layers):
            w = getattr(self, f"weight_l{layer}")
            bound = 1.0 / math.sqrt(w.shape[1] * w.shape[2])
            for p in (w, getattr(self, f"bias_l{layer}", None)):
                if p is not None:
                    nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, window={self.window}"
        s += f", pooling={self.pooling!r}"
        if not self.bias:
            s += ", bias=False"
        if self.bptt != "hand":
            s += f", bptt={self.bptt!r}"
        return s + (", batch_first=True" if self.batch_first else "")

    def preactivations(self, x: Tensor, layer: int = 0, window: Tensor | None = None) -> Tensor:
        """The convolution ``W * X + b`` of ``layer`` for time-major ``x`` (L, N, d): (L, N, g H),
        the gates in the order Z, F, O, I, before tanh / σ. ``window`` (k − 1, N, d): the inputs
        before ``x`` (a continued sequence); zeros when omitted (a new one)."""
        weight, bias = getattr(self, f"weight_l{layer}"), getattr(self, f"bias_l{layer}", None)
        k = self.window
        # causal convolution: k − 1 earlier steps on the left (zeros for a new sequence), so
        # step t sees x_{t-k+1}, ..., x_t
        padded = F.pad(x, (0, 0, 0, 0, k - 1, 0)) if window is None else torch.cat([window, x])
        # the k inputs each step sees, side by side: (L, N, k d)
        windows = padded if k == 1 else torch.cat([padded[j:j + x.shape[0]] for j in range(k)], dim=-1)
        # W * X as one matrix product: W (g H, d, k) laid out as (g H, k d) to match
        w2d = weight.transpose(1, 2).reshape(weight.shape[0], -1)
        if self.bptt == "hand" and not has_tangent(windows, w2d, bias):
            return project_inputs(windows, w2d, bias)   # the same product; oneDNN in float32 on a CPU
        return F.linear(windows, w2d, bias)

    def gates(self, x: Tensor, layer: int = 0) -> dict[str, Tensor]:
        """The gates of ``layer`` for time-major ``x`` (L, N, d): ``{"z": Z, "f": F, ...}``, each (L, N, H)."""
        return self._activate(self.preactivations(x, layer))

    def _activate(self, pre: Tensor) -> dict[str, Tensor]:
        H = self.hidden_size
        # Z = tanh(W_z * X); F, O, I = σ(W * X)
        blocks = [torch.tanh(pre[..., :H])] + list(torch.sigmoid(pre[..., H:]).split(H, dim=-1))
        return dict(zip(_GATES[self.pooling], blocks, strict=True))

    def _pooling(self, pre: Tensor, c0: Tensor) -> tuple[Tensor, Tensor]:
        """The readable pooling through autograd: ``(h, c_T)`` from the pre-activations."""
        g = self._activate(pre)
        # c_t = f_t ⊙ c_{t-1} + (1 − f_t) ⊙ z_t   (ifo: + i_t ⊙ z_t)
        inflow = g["i"] * g["z"] if self.pooling == "ifo" else (1 - g["f"]) * g["z"]
        c = linear_recurrence(g["f"], inflow, c0, self.bptt)
        # h_t = c_t (f-pooling) or o_t ⊙ c_t (fo, ifo)
        return (c if self.pooling == "f" else g["o"] * c), c[-1]

    def _initial_state(self, c0: object, x: Tensor, batched: bool) -> tuple[Tensor, list[Tensor]]:
        """Validate ``c0`` (None, ``c_0``, or ``(c_0, window_0, ..., window_{L-1})``); return
        ``c`` (num_layers, N, H) and each layer's window of past inputs (k − 1, N, d_l)."""
        windows = None
        if isinstance(c0, (tuple, list)):
            if len(c0) != 1 + self.num_layers:
                names = ", ".join(["c_0"] + [f"window_{k}" for k in range(self.num_layers)])
                raise ValueError(
                    f"c0 must be c_0 or a tuple ({names}) of {1 + self.num_layers} tensors (the state a "
                    f"previous call returned), got {len(c0)} items"
                )
            c0, windows = c0[0], list(c0[1:])
        c = initial_state(c0, x, batched, self.num_layers, self.hidden_size, name="c0")
        k, batch = self.window, x.shape[1]
        sizes = [self.input_size] + [self.hidden_size] * (self.num_layers - 1)
        if windows is None:
            return c, [x.new_zeros(k - 1, batch, d) for d in sizes]
        checked = []
        for layer, (w, d) in enumerate(zip(windows, sizes, strict=True)):
            name = f"window_{layer}"
            w = check_tensor(name, w, ndims=(3 if batched else 2,), dtype=x.dtype, device=x.device)
            if batched:
                check_shape(name, w, (k - 1, batch, d), "(window - 1, batch, layer input size)")
            else:
                check_shape(name, w, (k - 1, d), "(window - 1, layer input size) for unbatched input")
                w = w.unsqueeze(1)
            checked.append(w)
        return c, checked

    def forward(self, input: Tensor | PackedSequence, c0=None, *, lengths=None):
        """Run the stack; returns ``(output, (c_n, window_0, ..., window_{num_layers-1}))``.

        The state holds all a sequence needs to go on exactly (a sequence run in chunks equals
        one pass): ``c_n`` (num_layers, N, H) and, for each layer ``l``, its last ``k − 1``
        inputs, ``window_l`` (k − 1, N, d_l), oldest first (``d_0 = input_size``, then H;
        without N for unbatched input). ``c0`` may be None, ``c_0`` alone (a new sequence: the
        convolution starts from zeros) or a state returned before. ``lengths`` (N,) or a
        ``PackedSequence`` input: see :mod:`rnnbook.layers.packing` (the convolution sees only
        each sequence's real steps).
        """
        input, lengths, packed = unpack_input("QRNN", input, lengths, self.batch_first)
        x, batched = sequence_input("input", input, self.input_size, self.weight_l0.dtype, self.batch_first,
                                     device=self.weight_l0.device)
        lengths = sequence_lengths(lengths, x, batched)
        c0, windows = self._initial_state(c0, x, batched)
        x = mask_padding(x, lengths)
        finals, new_windows = [], []
        for layer in range(self.num_layers):
            pre = self.preactivations(x, layer, windows[layer])
            new_windows.append(_last_inputs(windows[layer], x, lengths))
            fused = self.bptt == "hand" and not has_tangent(pre, c0)

            def pool(p: Tensor, c: tuple[Tensor], fused: bool = fused) -> tuple[Tensor, tuple[Tensor]]:
                if fused:
                    h, c_n = QRNNPoolingBPTT.apply(p, c[0], self.pooling)   # the same, fused
                else:
                    h, c_n = self._pooling(p, c[0])
                return h, (c_n,)

            x, (c_n,) = run_with_lengths(pool, pre, (c0[layer],), lengths)
            finals.append(c_n)
        out, c_n = restore_layout(x, torch.stack(finals), batched, self.batch_first)
        if not batched:
            new_windows = [w.squeeze(1) for w in new_windows]
        return pack_output(out, lengths, packed, self.batch_first), (c_n, *new_windows)


def _last_inputs(window: Tensor, x: Tensor, lengths: Tensor | None) -> Tensor:
    """The last ``k − 1`` inputs of each sequence (k − 1, N, d), from its window before this
    call (k − 1, N, d) and this call's input x (L, N, d), padded beyond ``lengths``."""
    keep = window.shape[0]
    full = torch.cat([window, x])                      # (k − 1 + L, N, d)
    if lengths is None:
        return full[full.shape[0] - keep:]
    # sequence n's last k − 1 real inputs are full[len_n : len_n + k − 1, n]
    index = (lengths.unsqueeze(0) + torch.arange(keep).unsqueeze(1)).to(x.device)
    return full.gather(0, index.unsqueeze(-1).expand(keep, x.shape[1], x.shape[2]))
