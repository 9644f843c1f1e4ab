r"""Long short-term memory: ``LSTMCell`` / ``LSTM`` (drop-in for torch's) and the peephole LSTM.

One step, with the gates stacked in torch's order ``i, f, g, o`` in ``weight_ih`` (4H, H_in),
``weight_hh`` (4H, H_out), ``bias_ih`` and ``bias_hh`` (4H)::

    i_t = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)     input gate   (the notes' Gamma_u)
    f_t = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf)     forget gate  (the notes' Gamma_f)
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)      candidate    (the notes' h_t)
    o_t = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho)     output gate  (the notes' Gamma_o)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)                                  (the notes' a_t)

With ``proj_size = P > 0`` (as torch, Sak et al. 2014) the output is projected,
``h_t = (o_t * tanh(c_t)) W_hr^T`` with ``weight_hr`` (P, H), so ``h_t`` has P features
and ``weight_hh`` is (4H, P); ``c_t`` keeps H.

The peephole LSTM (Gers & Schmidhuber 2000) lets the gates look at the cell state through
diagonal weights (vectors ``w_ci``, ``w_cf``, ``w_co``): the input and forget gates see
``c_{t-1}``, the output gate sees the new ``c_t``::

    i_t = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi + w_ci * c_{t-1})
    f_t = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf + w_cf * c_{t-1})
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
    c_t = f_t * c_{t-1} + i_t * g_t
    o_t = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho + w_co * c_t)
    h_t = o_t * tanh(c_t)
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnbook.kernels.lstm_bptt import lstm_bptt
from rnnbook.kernels.projection import project_inputs
from rnnbook.layers.base import CellBase, Params, RecurrentLayer

__all__ = ["LSTMCell", "LSTM", "PeepholeLSTMCell", "PeepholeLSTM", "lstm_step", "peephole_lstm_step"]


def lstm_step(
    gi: Tensor,
    h: Tensor,
    c: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    weight_hr: Tensor | None = None,
    peepholes: tuple[Tensor, Tensor, Tensor] | None = None,
) -> tuple[Tensor, Tensor]:
    r"""One LSTM step given ``gi = x W_ih^T + b_ih`` (N, 4H), ``h = h_{t-1}``, ``c = c_{t-1}``.

    .. math::

        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}), \quad
        f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}), \quad
        o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)

    ``weight_hr`` projects the output (``proj_size``); ``peepholes = (w_ci, w_cf, w_co)``
    makes it the peephole LSTM. Returns ``(h_t, c_t)``.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> cell = rnnbook.LSTMCell(3, 4)
    >>> x, h, c = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    >>> gi = x @ cell.weight_ih.T + cell.bias_ih          # gates i, f, g, o: (N, 4H)
    >>> h_t, c_t = rnnbook.lstm_step(gi, h, c, cell.weight_hh, cell.bias_hh)
    >>> tuple(gi.shape), tuple(h_t.shape), tuple(c_t.shape)
    ((2, 16), (2, 4), (2, 4))
    >>> torch.allclose(h_t, cell(x, (h, c))[0])
    True
    """
    gates = gi + h @ weight_hh.T
    if bias_hh is not None:
        gates = gates + bias_hh
    pre_i, pre_f, pre_g, pre_o = gates.chunk(4, dim=-1)
    if peepholes is not None:
        w_ci, w_cf, w_co = peepholes
        # i_t and f_t look at c_{t-1} (peephole: diagonal weights)
        pre_i = pre_i + w_ci * c
        pre_f = pre_f + w_cf * c
    # i_t = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
    i = torch.sigmoid(pre_i)
    # f_t = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
    f = torch.sigmoid(pre_f)
    # g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
    g = torch.tanh(pre_g)
    # c_t = f_t * c_{t-1} + i_t * g_t
    c = f * c + i * g
    if peepholes is not None:
        # o_t looks at the new c_t
        pre_o = pre_o + w_co * c
    # o_t = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
    o = torch.sigmoid(pre_o)
    # h_t = o_t * tanh(c_t)
    h = o * torch.tanh(c)
    if weight_hr is not None:
        # h_t = (o_t * tanh(c_t)) W_hr^T        (proj_size > 0)
        h = h @ weight_hr.T
    return h, c


def peephole_lstm_step(gi: Tensor, h: Tensor, c: Tensor, weight_hh: Tensor, bias_hh: Tensor | None,
                       w_ci: Tensor, w_cf: Tensor, w_co: Tensor) -> tuple[Tensor, Tensor]:
    r"""One peephole LSTM step (Gers & Schmidhuber 2000); see :func:`lstm_step`.

    The gates also read the cell state through the vectors ``w_ci``, ``w_cf``, ``w_co``
    (H each): :math:`+\, w_{ci} \odot c_{t-1}` in :math:`i_t`, :math:`+\, w_{cf} \odot c_{t-1}`
    in :math:`f_t` and :math:`+\, w_{co} \odot c_t` in :math:`o_t`. Returns ``(h_t, c_t)``.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> cell = rnnbook.PeepholeLSTMCell(3, 4)
    >>> x, h, c = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    >>> gi = x @ cell.weight_ih.T + cell.bias_ih
    >>> h_t, c_t = rnnbook.peephole_lstm_step(gi, h, c, cell.weight_hh, cell.bias_hh,
    ...                                       cell.weight_ci, cell.weight_cf, cell.weight_co)
    >>> torch.allclose(h_t, cell(x, (h, c))[0]), torch.allclose(c_t, cell(x, (h, c))[1])
    (True, True)
    """
    return lstm_step(gi, h, c, weight_hh, bias_hh, None, (w_ci, w_cf, w_co))


def _check_pair(hx: object, what: str) -> tuple[object, object]:
    """``hx`` must be a tuple ``(h_0, c_0)``; return its two parts (checked later, one by one)."""
    if not isinstance(hx, (tuple, list)):
        raise TypeError(f"hx must be a tuple (h_0, c_0) of two tensors for {what}, got {type(hx).__name__}")
    if len(hx) != 2:
        raise ValueError(f"hx must be a tuple (h_0, c_0) of two tensors for {what}, got {len(hx)} items")
    return hx[0], hx[1]


class _LSTMCellBase(CellBase):
    _num_gates = 4
    _what = "LSTMCell"

    def _peepholes(self) -> tuple[Tensor, Tensor, Tensor] | None:
        return None

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        x, batched = self._check_step_input(input)
        if hx is None:
            h = c = x.new_zeros(x.shape[0], self.hidden_size)
        else:
            h0, c0 = _check_pair(hx, self._what)
            h = self._check_step_state("h_0", h0, x.shape[0], batched, self.hidden_size)
            c = self._check_step_state("c_0", c0, x.shape[0], batched, self.hidden_size)
        gi = x @ self.weight_ih.T
        if self.bias_ih is not None:
            gi = gi + self.bias_ih
        h, c = lstm_step(gi, h, c, self.weight_hh, self.bias_hh, None, self._peepholes())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class LSTMCell(_LSTMCellBase):
    r"""One LSTM step, ``(h', c') = cell(x, (h, c))``; as ``torch.nn.LSTMCell`` (gates i, f, g, o).

    :math:`c' = f \odot c + i \odot g`, :math:`h' = o \odot \tanh(c')`, the gates as in
    :func:`lstm_step`.

    Args: input_size, hidden_size, bias=True, device, dtype (as torch).

    Shapes: ``input`` (N, H_in) or unbatched (H_in); ``hx = (h_0, c_0)``, each (N, H) or
    (H), zeros when omitted; returns ``(h_1, c_1)`` of the same batchedness as ``input``.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> cell = rnnbook.LSTMCell(3, 4)
    >>> ref = torch.nn.LSTMCell(3, 4)
    >>> _ = ref.load_state_dict(cell.state_dict())
    >>> x = torch.randn(2, 3)
    >>> h, c = cell(x)                                    # (h_0, c_0) = zeros
    >>> tuple(h.shape), tuple(c.shape)
    ((2, 4), (2, 4))
    >>> torch.allclose(h, ref(x)[0], atol=1e-6)
    True
    """


class PeepholeLSTMCell(_LSTMCellBase):
    r"""One peephole LSTM step (Gers & Schmidhuber 2000): ``(h', c') = cell(x, (h, c))``.

    As :class:`LSTMCell`, plus three peephole vectors ``weight_ci``, ``weight_cf``,
    ``weight_co`` (H each): the input and forget gates see ``c_{t-1}``, the output gate sees
    ``c_t`` (see the module docstring). All parameters start from U(±1/sqrt(H)).

    Shapes: as :class:`LSTMCell`: ``input`` (N, H_in) or (H_in); ``hx = (h, c)``, each (N, H)
    or (H); returns ``(h', c')``.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> cell = rnnbook.PeepholeLSTMCell(3, 4)
    >>> tuple(cell.weight_ci.shape), tuple(cell.weight_cf.shape), tuple(cell.weight_co.shape)
    ((4,), (4,), (4,))
    >>> h, c = cell(torch.randn(2, 3))
    >>> tuple(h.shape), tuple(c.shape)
    ((2, 4), (2, 4))
    >>> with torch.no_grad():                              # zero peepholes: the plain LSTM cell
    ...     for w in (cell.weight_ci, cell.weight_cf, cell.weight_co):
    ...         _ = w.zero_()
    >>> plain = rnnbook.LSTMCell(3, 4)
    >>> _ = plain.load_state_dict(cell.state_dict(), strict=False)
    >>> x = torch.randn(2, 3)
    >>> torch.allclose(cell(x)[0], plain(x)[0])
    True
    """

    _what = "PeepholeLSTMCell"

    def _extra_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"weight_ci": (self.hidden_size,), "weight_cf": (self.hidden_size,), "weight_co": (self.hidden_size,)}

    def _peepholes(self) -> tuple[Tensor, Tensor, Tensor]:
        return (self.weight_ci, self.weight_cf, self.weight_co)


class LSTM(RecurrentLayer):
    r"""Multi-layer LSTM; a drop-in for ``torch.nn.LSTM`` (gate order i, f, g, o; ``proj_size``).

    Each layer computes, for every step ``t``, the gates :math:`i_t, f_t, o_t = \sigma(\cdot)`
    and :math:`g_t = \tanh(\cdot)` of :func:`lstm_step` from :math:`x_t` and :math:`h_{t-1}`, then

    .. math:: c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t),

    and with ``proj_size`` :math:`h_t = (o_t \odot \tanh(c_t)) W_{hr}^\top`.

    Args (same order and meaning as torch):
        input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
        dropout=0.0, bidirectional=False, proj_size=0, device, dtype; then (keyword only,
        rnnbook's) ``bptt``: ``'hand'`` (default) runs the loop in
        :class:`rnnbook.kernels.lstm_bptt.LSTMBPTT` with the hand-written backpropagation through time
        (``proj_size`` included), ``'autograd'`` runs the readable per-step loop.

    Shapes (``D = 2`` if bidirectional else 1, ``H_out = proj_size or hidden_size``):
        input: (L, N, H_in), (N, L, H_in) if batch_first, or unbatched (L, H_in).
        hx: a tuple ``(h_0, c_0)``, h_0 (D * num_layers, N, H_out) and c_0
        (D * num_layers, N, hidden_size) (without N for unbatched input); zeros when omitted.
        returns ``(output, (h_n, c_n))`` with output (L, N, D * H_out).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> lstm = rnnbook.LSTM(3, 6, proj_size=2)
    >>> ref = torch.nn.LSTM(3, 6, proj_size=2)
    >>> _ = ref.load_state_dict(lstm.state_dict())
    >>> x = torch.randn(5, 2, 3)                          # (L, N, H_in)
    >>> out, (h_n, c_n) = lstm(x)
    >>> tuple(out.shape), tuple(h_n.shape), tuple(c_n.shape)   # H_out = proj_size = 2; c keeps H = 6
    ((5, 2, 2), (1, 2, 2), (1, 2, 6))
    >>> torch.allclose(out, ref(x)[0], atol=1e-6)
    True
    """

    _num_gates = 4
    _name = "LSTM"
    _state_names = ("h_0", "c_0")
    # the constructor is the base's: torch.nn.LSTM's arguments, in its order, plus ``bptt``

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.proj_size or self.hidden_size, self.hidden_size)

    def _unpack_state(self, hx: object) -> tuple[object, ...]:
        return _check_pair(hx, self._name)

    def _pack_state(self, states: tuple[Tensor, ...]):
        return states[0], states[1]

    def _step(self, gi_t: Tensor, state: tuple[Tensor, ...], params: Params) -> tuple[Tensor, ...]:
        _, w_hh, _, b_hh, w_hr = params[:5]
        return lstm_step(gi_t, state[0], state[1], w_hh, b_hh, w_hr, None)

    def _bptt(self, x: Tensor, state: tuple[Tensor, ...], params: Params):
        w_ih, w_hh, b_ih, b_hh, w_hr = params[:5]
        gi = project_inputs(x, w_ih, b_ih)  # all steps in one product, with its backward written out
        out, h_n, c_n = lstm_bptt(gi, state[0], state[1], w_hh, b_hh, w_hr, overwrite_gi=True)  # gi: the layer's own
        return out, (h_n, c_n)


class PeepholeLSTM(LSTM):
    r"""Multi-layer peephole LSTM (Gers & Schmidhuber 2000), same calling convention as :class:`LSTM`.

    Each layer computes, for every step ``t``,

    .. math::

        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi} + w_{ci} \odot c_{t-1}) \\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf} + w_{cf} \odot c_{t-1}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}), \qquad
        c_t = f_t \odot c_{t-1} + i_t \odot g_t \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho} + w_{co} \odot c_t), \qquad
        h_t = o_t \odot \tanh(c_t)

    Args: input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, device, dtype (no ``proj_size``). It always runs the readable
    autograd loop (no hand-written backward). Parameters are those of
    :class:`LSTM` plus ``weight_ci_l{k}``, ``weight_cf_l{k}``, ``weight_co_l{k}`` (H each,
    ``_reverse`` for the backward direction). Returns ``(output, (h_n, c_n))``.

    Shapes: as :class:`LSTM` without projection: input (L, N, H_in), h_0 and c_0
    (D * num_layers, N, H), output (L, N, D * H).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> lstm = rnnbook.PeepholeLSTM(3, 4, bidirectional=True)
    >>> out, (h_n, c_n) = lstm(torch.randn(5, 2, 3))
    >>> tuple(out.shape), tuple(h_n.shape), tuple(c_n.shape)
    ((5, 2, 8), (2, 2, 4), (2, 2, 4))
    >>> [name for name in lstm.state_dict() if name.startswith("weight_c")][:3]
    ['weight_ci_l0', 'weight_cf_l0', 'weight_co_l0']
    """

    _name = "PeepholeLSTM"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device=device, dtype=dtype)

    def _extra_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"weight_ci": (self.hidden_size,), "weight_cf": (self.hidden_size,), "weight_co": (self.hidden_size,)}

    def _step(self, gi_t: Tensor, state: tuple[Tensor, ...], params: Params) -> tuple[Tensor, ...]:
        _, w_hh, _, b_hh, _, w_ci, w_cf, w_co = params
        return lstm_step(gi_t, state[0], state[1], w_hh, b_hh, None, (w_ci, w_cf, w_co))

    def _bptt(self, x: Tensor, state: tuple[Tensor, ...], params: Params):
        return None  # no hand-written backward for the peepholes: the autograd loop runs
