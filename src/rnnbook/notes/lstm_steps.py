r"""The notes' own construction of the LSTM, one runnable cell per step, in the notes' notation.

The notes build the LSTM from the Elman RNN in five steps. Step 1 only decides *what* to
remember (the hidden vector); steps 2 to 5 each change the update. Every weight acts on the
concatenation :math:`[h_{t-1}, x_t]` (previous state first), so ``W_xhh`` is
:math:`m \times (m + l)` and :math:`W_{xhh}[h_{t-1}, x_t] = W_{hh} h_{t-1} + W_{xh} x_t`.

Step 2, a memory :math:`c_t` that stores every :math:`h_t`:

.. math::

    h_t = \tanh(W_{xhh}[h_{t-1}, x_t] + b_h), \qquad c_t = c_{t-1} + h_t

Step 3, an update gate decides how much of :math:`h_t` to write:

.. math::

    \Gamma_u = \sigma(W_{xhu}[h_{t-1}, x_t] + b_u), \qquad c_t = c_{t-1} + \Gamma_u h_t

Step 4, a forget gate decides how much of :math:`c_{t-1}` to keep:

.. math::

    \Gamma_f = \sigma(W_{xhf}[h_{t-1}, x_t] + b_f), \qquad c_t = \Gamma_f c_{t-1} + \Gamma_u h_t

Step 5, an output gate reads the memory, :math:`a_t = \Gamma_o \tanh(c_t)`, and
:math:`a_t` replaces :math:`h_t` as the state passed on. In the *consistent* reading (the
default) every :math:`h_{t-1}` of the earlier steps becomes :math:`a_{t-1}`:

.. math::

    h_t &= \tanh(W_{xhh}[a_{t-1}, x_t] + b_h) \\
    \Gamma_u &= \sigma(W_{xhu}[a_{t-1}, x_t] + b_u), \quad
    \Gamma_f = \sigma(W_{xhf}[a_{t-1}, x_t] + b_f), \quad
    \Gamma_o = \sigma(W_{xho}[a_{t-1}, x_t] + b_o) \\
    c_t &= \Gamma_f c_{t-1} + \Gamma_u h_t, \qquad a_t = \Gamma_o \tanh(c_t)

which is exactly the standard LSTM (:class:`rnnbook.layers.lstm.LSTM`) with :math:`i = \Gamma_u`,
:math:`f = \Gamma_f`, :math:`g = h_t`, :math:`o = \Gamma_o` and LSTM output :math:`a_t`
(:func:`step5_from_lstm` maps the weights). The notes as printed keep
:math:`h_t = \tanh(W_{xhh}[h_{t-1}, x_t] + b_h)` in step 5 (the *literal* reading,
``literal=True``): then :math:`h_t` runs its own Elman recurrence that never sees the memory,
and the state is the triple :math:`(a_t, c_t, h_t)`. The notes also print
:math:`\Gamma_o` with :math:`W_{xhf}, b_f` (the forget gate's); that is a typo, here
:math:`\Gamma_o` has its own :math:`W_{xho}, b_o`.

Cells follow rnnbook's convention, ``cell(x_t, state) -> new_state`` on a batch of rows:
the state is ``(h, c)`` for steps 2 to 4, ``(a, c)`` for step 5 (``(a, c, h)`` literal).
:class:`NotesLSTM` runs a cell over a sequence like the other layers.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnbook._validate import (
    check_bool,
    check_choice,
    check_int,
    check_shape,
    check_tensor,
)

__all__ = ["NotesStep2Cell", "NotesStep3Cell", "NotesStep4Cell", "NotesStep5Cell", "NotesLSTM",
           "notes_cell", "step5_from_lstm"]


class _NotesCell(nn.Module):
    """Parameters (the notes' names) and checks shared by the step cells.

    Shapes (every step cell): ``x`` (N, l) or unbatched (l,); state ``(h, c)`` (step 5: ``(a, c)``),
    each (N, m) or (m,), zeros when omitted; ``cell(x, state)`` returns the new state.
    """

    _gates: tuple[str, ...] = ("h",)  # one (W_xh*, b_*) pair per entry: h -> W_xhh, b_h; u -> W_xhu, b_u; ...
    _state_names: tuple[str, ...] = ("h", "c")

    def __init__(self, input_size: int, hidden_size: int, device=None, dtype=None):
        super().__init__()
        self.input_size = check_int("input_size", input_size, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        factory = {"device": device, "dtype": dtype}
        m, l = hidden_size, input_size
        for g in self._gates:
            setattr(self, f"W_xh{g}", nn.Parameter(torch.empty(m, m + l, **factory)))
            setattr(self, f"b_{g}", nn.Parameter(torch.empty(m, **factory)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter from U(±1/sqrt(m)), the bounds torch uses for its recurrent layers."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"

    def _affine(self, g: str, state: Tensor, x: Tensor) -> Tensor:
        """``W_xh{g} [state, x] + b_{g}`` for a batch of rows."""
        return torch.cat([state, x], dim=-1) @ getattr(self, f"W_xh{g}").T + getattr(self, f"b_{g}")

    def _check(self, input: object, state: object) -> tuple[Tensor, tuple[Tensor, ...], bool]:
        x = check_tensor("input", input, ndims=(1, 2), dtype=self.W_xhh.dtype)
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"input must have {self.input_size} features (input_size) in its last dimension, "
                f"got shape {tuple(x.shape)}"
            )
        batched = x.dim() == 2
        x = x if batched else x.unsqueeze(0)
        names = self._state_names
        if state is None:
            return x, tuple(x.new_zeros(x.shape[0], self.hidden_size) for _ in names), batched
        spelled = "(" + ", ".join(names) + ")"
        if not isinstance(state, (tuple, list)):
            raise TypeError(f"state must be a tuple {spelled} of {len(names)} tensors, got {type(state).__name__}")
        if len(state) != len(names):
            raise ValueError(f"state must be a tuple {spelled} of {len(names)} tensors, got {len(state)} items")
        parts = []
        for name, s in zip(names, state):
            s = check_tensor(name, s, ndims=(2 if batched else 1,), dtype=x.dtype)
            expected = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
            check_shape(name, s, expected, "(batch, hidden_size)" if batched else "(hidden_size,)")
            parts.append(s if batched else s.unsqueeze(0))
        return x, tuple(parts), batched

    def forward(self, input: Tensor, state: tuple[Tensor, ...] | None = None) -> tuple[Tensor, ...]:
        x, state, batched = self._check(input, state)
        new = self._update(x, *state)
        return new if batched else tuple(s.squeeze(0) for s in new)

    def _update(self, x: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        raise NotImplementedError


class NotesStep2Cell(_NotesCell):
    r"""Step 2: store every :math:`h_t` in the memory, :math:`c_t = c_{t-1} + h_t`.

    Parameters ``W_xhh`` (m, m + l), ``b_h`` (m). State ``(h, c)``.

    Shapes: ``x`` (N, l) or (l,); the state pair, each (N, m) or (m,).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> cell = rnnbook.NotesStep2Cell(3, 4)
    >>> x = torch.randn(2, 3)
    >>> h, c = cell(x)                                     # from (h_0, c_0) = 0
    >>> h2, c2 = cell(x, (h, c))
    >>> torch.allclose(c2, c + h2)                         # c_t = c_{t-1} + h_t
    True
    """

    def _update(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        # h_t = tanh(W_xhh [h_{t-1}, x_t] + b_h)
        h = torch.tanh(self._affine("h", h, x))
        # c_t = c_{t-1} + h_t
        c = c + h
        return h, c


class NotesStep3Cell(_NotesCell):
    r"""Step 3: an update gate :math:`\Gamma_u` decides how much of :math:`h_t` is written.

    Parameters ``W_xhh``, ``b_h``, ``W_xhu``, ``b_u``. State ``(h, c)``.

    Shapes: ``x`` (N, l) or (l,); the state pair, each (N, m) or (m,).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> cell = rnnbook.NotesStep3Cell(3, 4)
    >>> sorted(name for name, _ in cell.named_parameters())
    ['W_xhh', 'W_xhu', 'b_h', 'b_u']
    >>> h, c = cell(torch.randn(2, 3))
    >>> tuple(h.shape), tuple(c.shape)
    ((2, 4), (2, 4))
    """

    _gates = ("h", "u")

    def _update(self, x: Tensor, h_prev: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        # h_t = tanh(W_xhh [h_{t-1}, x_t] + b_h)
        h = torch.tanh(self._affine("h", h_prev, x))
        # Gamma_u = sigma(W_xhu [h_{t-1}, x_t] + b_u)
        gamma_u = torch.sigmoid(self._affine("u", h_prev, x))
        # c_t = c_{t-1} + Gamma_u * h_t
        c = c + gamma_u * h
        return h, c


class NotesStep4Cell(_NotesCell):
    r"""Step 4: a forget gate :math:`\Gamma_f` decides how much of :math:`c_{t-1}` is kept.

    Parameters ``W_xhh``, ``b_h``, ``W_xhu``, ``b_u``, ``W_xhf``, ``b_f``. State ``(h, c)``.

    Shapes: ``x`` (N, l) or (l,); the state pair, each (N, m) or (m,).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> cell = rnnbook.NotesStep4Cell(3, 4)
    >>> with torch.no_grad():
    ...     _ = cell.b_f.fill_(-50.0)                      # Gamma_f = 0: forget everything
    >>> x, state = torch.randn(2, 3), (torch.randn(2, 4), torch.randn(2, 4))
    >>> h, c = cell(x, state)
    >>> gamma_u = torch.sigmoid(torch.cat([state[0], x], 1) @ cell.W_xhu.T + cell.b_u)
    >>> torch.allclose(c, gamma_u * h)                     # c_t = Gamma_u h_t
    True
    """

    _gates = ("h", "u", "f")

    def _update(self, x: Tensor, h_prev: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        # h_t = tanh(W_xhh [h_{t-1}, x_t] + b_h)
        h = torch.tanh(self._affine("h", h_prev, x))
        # Gamma_u = sigma(W_xhu [h_{t-1}, x_t] + b_u)
        gamma_u = torch.sigmoid(self._affine("u", h_prev, x))
        # Gamma_f = sigma(W_xhf [h_{t-1}, x_t] + b_f)
        gamma_f = torch.sigmoid(self._affine("f", h_prev, x))
        # c_t = Gamma_f * c_{t-1} + Gamma_u * h_t
        c = gamma_f * c + gamma_u * h
        return h, c


class NotesStep5Cell(_NotesCell):
    r"""Step 5: an output gate reads the memory, :math:`a_t = \Gamma_o \tanh(c_t)`, and
    :math:`a_t` replaces :math:`h_t` as the state passed on.

    Parameters ``W_xhh``, ``b_h``, ``W_xhu``, ``b_u``, ``W_xhf``, ``b_f``, ``W_xho``, ``b_o``.

    ``literal=False`` (default): every gate and the candidate :math:`h_t` read
    :math:`[a_{t-1}, x_t]`; state ``(a, c)``; this is the standard LSTM.
    ``literal=True``: as printed in the notes, the candidate keeps
    :math:`h_t = \tanh(W_{xhh}[h_{t-1}, x_t] + b_h)` while the gates read :math:`a_{t-1}`;
    state ``(a, c, h)``.

    Shapes: ``x`` (N, l) or (l,); the state pair, each (N, m) or (m,).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> lstm = torch.nn.LSTMCell(3, 4)
    >>> cell = rnnbook.step5_from_lstm(lstm)               # consistent reading: state (a, c)
    >>> x = torch.randn(2, 3)
    >>> a, c = cell(x)
    >>> torch.allclose(a, lstm(x)[0], atol=1e-6)
    True
    >>> literal = rnnbook.NotesStep5Cell(3, 4, literal=True)
    >>> len(literal(x))                                    # literal reading: state (a, c, h)
    3
    """

    _gates = ("h", "u", "f", "o")

    def __init__(self, input_size: int, hidden_size: int, device=None, dtype=None, *, literal: bool = False):
        self.literal = check_bool("literal", literal)
        self._state_names = ("a", "c", "h") if literal else ("a", "c")
        super().__init__(input_size, hidden_size, device=device, dtype=dtype)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", literal=True" if self.literal else "")

    def _update(self, x: Tensor, a_prev: Tensor, c: Tensor, *h_prev: Tensor) -> tuple[Tensor, ...]:
        # h_t = tanh(W_xhh [a_{t-1}, x_t] + b_h)   (literal reading: [h_{t-1}, x_t])
        h = torch.tanh(self._affine("h", h_prev[0] if self.literal else a_prev, x))
        # Gamma_u = sigma(W_xhu [a_{t-1}, x_t] + b_u)
        gamma_u = torch.sigmoid(self._affine("u", a_prev, x))
        # Gamma_f = sigma(W_xhf [a_{t-1}, x_t] + b_f)
        gamma_f = torch.sigmoid(self._affine("f", a_prev, x))
        # Gamma_o = sigma(W_xho [a_{t-1}, x_t] + b_o)   (the notes print W_xhf, b_f: a typo)
        gamma_o = torch.sigmoid(self._affine("o", a_prev, x))
        # c_t = Gamma_f * c_{t-1} + Gamma_u * h_t
        c = gamma_f * c + gamma_u * h
        # a_t = Gamma_o * tanh(c_t)
        a = gamma_o * torch.tanh(c)
        return (a, c, h) if self.literal else (a, c)


_STEPS = {2: NotesStep2Cell, 3: NotesStep3Cell, 4: NotesStep4Cell, 5: NotesStep5Cell}


def notes_cell(step: int, input_size: int, hidden_size: int, **kwargs) -> _NotesCell:
    """The cell of the notes' ``step`` (2 to 5).

    >>> [type(rnnbook.notes_cell(step, 3, 4)).__name__ for step in (2, 3, 4, 5)]
    ['NotesStep2Cell', 'NotesStep3Cell', 'NotesStep4Cell', 'NotesStep5Cell']
    >>> rnnbook.notes_cell(5, 3, 4, literal=True)
    NotesStep5Cell(3, 4, literal=True)
    """
    check_choice("step", step, tuple(_STEPS))
    return _STEPS[step](input_size, hidden_size, **kwargs)


class NotesLSTM(nn.Module):
    r"""Runs one of the notes' step cells over a sequence, like the other rnnbook layers.

    Args: input_size, hidden_size, step (2 to 5), batch_first=False, device, dtype, and
    ``literal`` (step 5 only; see :class:`NotesStep5Cell`).

    ``forward(input, state=None)`` takes (L, N, l), (N, L, l) with batch_first, or unbatched
    (L, l), and the cell's state tuple (each (N, m), or (m) unbatched; zeros when omitted);
    returns ``(output, final_state)``: output (L, N, m) holds the state passed to the next
    step and to any layer above (:math:`h_t` for steps 2 to 4, :math:`a_t` for step 5);
    ``memory`` after a call holds every :math:`c_t`, shaped like ``output``.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> layer = rnnbook.NotesLSTM(3, 4, step=4)
    >>> out, (h_n, c_n) = layer(torch.randn(5, 2, 3))      # steps 2 to 4: out holds h_t
    >>> tuple(out.shape), tuple(layer.memory.shape)        # memory holds every c_t
    ((5, 2, 4), (5, 2, 4))
    >>> torch.equal(layer.memory[-1], c_n)
    True
    """

    def __init__(self, input_size: int, hidden_size: int, step: int = 5, batch_first: bool = False,
                 device=None, dtype=None, **kwargs) -> None:
        super().__init__()
        self.step = check_choice("step", step, tuple(_STEPS))
        self.batch_first = check_bool("batch_first", batch_first)
        self.cell = notes_cell(step, input_size, hidden_size, device=device, dtype=dtype, **kwargs)
        self.memory: Tensor | None = None

    def forward(self, input: Tensor, state: tuple[Tensor, ...] | None = None):
        x = check_tensor("input", input, ndims=(2, 3), dtype=self.cell.W_xhh.dtype)
        if x.dim() == 3 and self.batch_first:
            x = x.transpose(0, 1)
        outputs, memory = [], []
        for t in range(x.shape[0]):  # the cell checks the state and handles unbatched steps
            state = self.cell(x[t], state)
            outputs.append(state[0])
            memory.append(state[1])
        out, self.memory = torch.stack(outputs), torch.stack(memory)
        if x.dim() == 3 and self.batch_first:
            out, self.memory = out.transpose(0, 1), self.memory.transpose(0, 1)
        return out, state


def step5_from_lstm(lstm: nn.Module) -> NotesStep5Cell:
    r"""The step-5 cell (consistent reading) computing exactly what a one-layer LSTM computes.

    ``lstm`` is a ``torch.nn.LSTM``/``rnnbook.LSTM`` with one layer, one direction, no
    projection (or an ``LSTMCell``). Gate ``k`` of torch's order i, f, g, o maps to
    ``W_xh{u,f,h,o}`` = ``[W_hk | W_ik]`` (previous state first) and
    ``b_{u,f,h,o} = b_ik + b_hk``.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> lstm = rnnbook.LSTM(3, 4)
    >>> cell = rnnbook.step5_from_lstm(lstm)
    >>> torch.equal(cell.W_xhu, torch.cat([lstm.weight_hh_l0[:4], lstm.weight_ih_l0[:4]], 1))
    True
    >>> x = torch.randn(5, 2, 3)
    >>> state = None
    >>> for x_t in x:
    ...     state = cell(x_t, state)
    >>> torch.allclose(state[0], lstm(x)[0][-1], atol=1e-6)   # a_T equals the LSTM's h_T
    True
    """
    suffix = "_l0" if hasattr(lstm, "weight_ih_l0") else ""
    if suffix and (lstm.num_layers != 1 or lstm.bidirectional or lstm.proj_size):
        raise ValueError(
            "lstm must have num_layers=1, bidirectional=False and proj_size=0, got "
            f"num_layers={lstm.num_layers}, bidirectional={lstm.bidirectional}, proj_size={lstm.proj_size}"
        )
    w_ih, w_hh = getattr(lstm, "weight_ih" + suffix), getattr(lstm, "weight_hh" + suffix)
    H = w_hh.shape[1]
    b_ih = getattr(lstm, "bias_ih" + suffix, None)
    b_hh = getattr(lstm, "bias_hh" + suffix, None)
    bias = torch.zeros(4 * H, dtype=w_ih.dtype, device=w_ih.device)
    if b_ih is not None:
        bias = b_ih + b_hh
    cell = NotesStep5Cell(w_ih.shape[1], H, device=w_ih.device, dtype=w_ih.dtype)
    with torch.no_grad():
        for k, g in enumerate(("u", "f", "h", "o")):  # torch's i, f, g, o
            rows = slice(k * H, (k + 1) * H)
            getattr(cell, f"W_xh{g}").copy_(torch.cat([w_hh[rows], w_ih[rows]], dim=1))
            getattr(cell, f"b_{g}").copy_(bias[rows])
    return cell
