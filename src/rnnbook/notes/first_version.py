r"""The notes' homemade first version ("自制第一版"): the cell built in their LSTM steps 2–5.

The notes build a memory ``c`` on top of a plain RNN, one step at a time, and end
(step five) with::

    h_t = tanh(W_h [h_{t-1}, x_t] + b_h)          the plain RNN, with its own state h
    Γ_u = σ(W_u [a_{t-1}, x_t] + b_u)              is h_t worth remembering?
    Γ_f = σ(W_f [a_{t-1}, x_t] + b_f)              is the old memory out of date?
    Γ_o = σ(W_o [a_{t-1}, x_t] + b_o)              what to read out of the memory
    c_t = Γ_f ⊙ c_{t-1} + Γ_u ⊙ h_t
    a_t = Γ_o ⊙ tanh(c_t)

(the notes write ``W_xhf, b_f`` in ``Γ_o``, a copying slip: see the chapter's erratum).
``[u, v]`` stacks two column vectors. The state is ``(h, c, a)``; the cell's output, fed
to the next layer, is ``a_t``. The LSTM differs in one place: its candidate is computed
from ``[a_{t-1}, x_t]``, so the separate state ``h`` disappears.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnbook._sequence import initial_state, restore_layout, sequence_input
from rnnbook._validate import check_bool, check_int, check_shape, check_tensor
from rnnbook.layers.packing import pack_output, run_with_lengths, sequence_lengths, unpack_input

__all__ = ["NotesFirstVersionCell", "NotesFirstVersion"]


class NotesFirstVersionCell(nn.Module):
    r"""One step of the notes' first version: ``cell(x_t, (h, c, a)) -> (h', c', a')``.

    Shapes: ``x_t`` (N, H_in) or (H_in); each state tensor (N, H) or (H), zeros when the
    state is omitted. Parameters (the notes' names): ``W_h, W_u, W_f, W_o`` (H, H + H_in)
    acting on ``[state, x_t]``, and ``b_h, b_u, b_f, b_o`` (H).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> cell = rnnbook.NotesFirstVersionCell(3, 4)
    >>> tuple(cell.W_u.shape)                              # acts on [a_{t-1}, x_t]: (H, H + H_in)
    (4, 7)
    >>> h, c, a = cell(torch.randn(2, 3))                  # state (h, c, a), zeros when omitted
    >>> tuple(h.shape), tuple(c.shape), tuple(a.shape)
    ((2, 4), (2, 4), (2, 4))
    """

    def __init__(self, input_size: int, hidden_size: int, device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = check_int("input_size", input_size, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        factory = {"device": device, "dtype": dtype}
        bound = 1.0 / math.sqrt(hidden_size)
        for name in "hufo":
            w = nn.Parameter(torch.empty(hidden_size, hidden_size + input_size, **factory))
            b = nn.Parameter(torch.empty(hidden_size, **factory))
            nn.init.uniform_(w, -bound, bound)
            nn.init.uniform_(b, -bound, bound)
            setattr(self, f"W_{name}", w)
            setattr(self, f"b_{name}", b)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"

    def forward(self, input: Tensor, state: tuple[Tensor, Tensor, Tensor] | None = None):
        x = check_tensor("input", input, ndims=(1, 2), dtype=self.W_h.dtype)
        if x.shape[-1] != self.input_size:
            raise ValueError(f"input must have {self.input_size} features (input_size) in its last "
                             f"dimension, got shape {tuple(x.shape)}")
        batched = x.dim() == 2
        x = x if batched else x.unsqueeze(0)
        H = self.hidden_size
        if state is None:
            h = c = a = x.new_zeros(x.shape[0], H)
        else:
            if not isinstance(state, tuple) or len(state) != 3:
                raise TypeError("state must be a tuple (h, c, a) of three tensors")
            expected = (x.shape[0], H) if batched else (H,)
            parts = []
            for name, s in zip("hca", state, strict=True):
                s = check_tensor(name, s, ndims=(len(expected),), dtype=x.dtype)
                check_shape(name, s, expected, "(batch, hidden_size)" if batched else "(hidden_size,)")
                parts.append(s if batched else s.unsqueeze(0))
            h, c, a = parts
        hx, ax = torch.cat([h, x], dim=1), torch.cat([a, x], dim=1)  # [h_{t-1}, x_t], [a_{t-1}, x_t]
        # h_t = tanh(W_h [h_{t-1}, x_t] + b_h)
        h = torch.tanh(hx @ self.W_h.T + self.b_h)
        # Γ_u, Γ_f, Γ_o = σ(W [a_{t-1}, x_t] + b)
        g_u = torch.sigmoid(ax @ self.W_u.T + self.b_u)
        g_f = torch.sigmoid(ax @ self.W_f.T + self.b_f)
        g_o = torch.sigmoid(ax @ self.W_o.T + self.b_o)
        # c_t = Γ_f ⊙ c_{t-1} + Γ_u ⊙ h_t
        c = g_f * c + g_u * h
        # a_t = Γ_o ⊙ tanh(c_t)
        a = g_o * torch.tanh(c)
        return (h, c, a) if batched else (h[0], c[0], a[0])


class NotesFirstVersion(nn.Module):
    r"""The first version over a sequence: forward ``(input, hx=None) -> (output, (h_n, c_n, a_n))``.

    Input ``(L, N, H_in)`` (``batch_first``: ``(N, L, H_in)``) or unbatched ``(L, H_in)``;
    ``hx`` a tuple ``(h_0, c_0, a_0)``, each ``(1, N, H)`` (``(1, H)`` unbatched); output the
    ``a_t`` of every step. The parameters are the cell's, under ``cell.``.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> layer = rnnbook.NotesFirstVersion(3, 4)
    >>> out, (h_n, c_n, a_n) = layer(torch.randn(5, 2, 3))
    >>> tuple(out.shape), tuple(a_n.shape)                 # out holds a_t; each final state (1, N, H)
    ((5, 2, 4), (1, 2, 4))
    >>> torch.equal(out[-1], a_n[0])
    True
    """

    def __init__(self, input_size: int, hidden_size: int, batch_first: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.batch_first = check_bool("batch_first", batch_first)
        self.cell = NotesFirstVersionCell(input_size, hidden_size, device=device, dtype=dtype)
        self.input_size, self.hidden_size = input_size, hidden_size

    def forward(self, input: Tensor | PackedSequence, hx: tuple[Tensor, Tensor, Tensor] | None = None, *,
                lengths=None):
        """Run the cell over the sequence; ``lengths`` (N,) or a ``PackedSequence`` input: see
        :mod:`rnnbook.layers.packing`."""
        input, lengths, packed = unpack_input("NotesFirstVersion", input, lengths, self.batch_first)
        x, batched = sequence_input("input", input, self.input_size, self.cell.W_h.dtype, self.batch_first,
                                     device=self.cell.W_h.device)
        lengths = sequence_lengths(lengths, x, batched)
        if hx is None:
            state = tuple(x.new_zeros(x.shape[1], self.hidden_size) for _ in range(3))
        else:
            if not isinstance(hx, tuple) or len(hx) != 3:
                raise TypeError("hx must be a tuple (h_0, c_0, a_0) of three tensors, got "
                                f"{type(hx).__name__}{'' if not isinstance(hx, tuple) else f' of {len(hx)} items'}")
            state = tuple(initial_state(s, x, batched, 1, self.hidden_size, name=n)[0]
                          for n, s in zip(("h_0", "c_0", "a_0"), hx, strict=True))

        def run(x: Tensor, state: tuple[Tensor, ...]) -> tuple[Tensor, tuple[Tensor, ...]]:
            outputs = []
            for x_t in x.unbind(0):
                state = self.cell(x_t, state)
                outputs.append(state[2])
            return torch.stack(outputs), state

        out, state = run_with_lengths(run, x, state, lengths)
        out, _ = restore_layout(out, state[2].unsqueeze(0), batched, self.batch_first)
        finals = tuple(s.unsqueeze(0) if batched else s for s in state)
        return pack_output(out, lengths, packed, self.batch_first), finals
