r"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?").

Take the hidden state out of the gates and what is left is a linear recurrence::

    minGRU:   z_t = σ(W_z x_t + b_z),   h̃_t = W_h x_t + b_h,
              h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t
    minLSTM:  f_t = σ(W_f x_t + b_f),   i_t = σ(W_i x_t + b_i),   h̃_t = W_h x_t + b_h,
              f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t),
              h_t = f'_t ⊙ h_{t-1} + i'_t ⊙ h̃_t

so all steps come from :func:`rnnbook.variants.scan.linear_recurrence`: ``bptt="hand"`` (the
default: a loop with a hand-written backward), ``"scan"`` (the doubling scan
:func:`rnnbook.variants.scan.linear_scan`) or ``"autograd"`` (a loop through autograd); the three
agree to rounding. The hand-written backward of ``"hand"`` gives first derivatives only
(for second derivatives use ``"autograd"``). The paper's log-space
scan also replaces ``h̃`` by a positive ``g(h̃)`` so that logarithms exist; the doubling
scan used here needs no logarithm, so ``h̃`` is kept as is.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnbook._sequence import initial_state, restore_layout, sequence_input
from rnnbook._validate import check_bool, check_int
from rnnbook.layers.packing import pack_output, run_with_lengths, sequence_lengths, unpack_input
from rnnbook.variants.scan import _BPTTModeAttribute, linear_recurrence

__all__ = ["MinGRU", "MinLSTM"]


class _MinBase(nn.Module):
    _num_gates = 2
    bptt = _BPTTModeAttribute()

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, batch_first: bool = False,
                 bptt: str = "hand", device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = check_int("input_size", input_size, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        self.batch_first = check_bool("batch_first", batch_first)
        self.bptt = bptt
        factory = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(self._num_gates * hidden_size, input_size, **factory))
        if check_bool("bias", bias):
            self.bias_ih = nn.Parameter(torch.empty(self._num_gates * hidden_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
        bound = 1.0 / math.sqrt(input_size)  # as nn.Linear
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias_ih is None:
            s += ", bias=False"
        return s + (", batch_first=True" if self.batch_first else "") + ("" if self.bptt == "hand" else f", bptt={self.bptt!r}")

    def _coefficients(self, pre: list[Tensor]) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None, *, lengths=None):
        """Run the layer; returns ``(output, h_n)``. The state ``h`` is all the recurrence
        carries, so a sequence run in chunks equals one pass. ``lengths`` (N,) or a
        ``PackedSequence`` input: see :mod:`rnnbook.layers.packing`."""
        input, lengths, packed = unpack_input(type(self).__name__, input, lengths, self.batch_first)
        x, batched = sequence_input("input", input, self.input_size, self.weight_ih.dtype, self.batch_first,
                                     device=self.weight_ih.device)
        lengths = sequence_lengths(lengths, x, batched)
        h0 = initial_state(hx, x, batched, 1, self.hidden_size)[0]

        def run(x: Tensor, h0: tuple[Tensor]) -> tuple[Tensor, tuple[Tensor]]:
            pre = F.linear(x, self.weight_ih, self.bias_ih).split(self.hidden_size, dim=-1)  # all t at once
            a, b = self._coefficients(list(pre))
            h = linear_recurrence(a, b, h0[0], self.bptt)
            return h, (h[-1],)

        h, (h_n,) = run_with_lengths(run, x, (h0,), lengths)
        out, h_n = restore_layout(h, h_n.unsqueeze(0), batched, self.batch_first)
        return pack_output(out, lengths, packed, self.batch_first), h_n


class MinGRU(_MinBase):
    r"""minGRU; forward ``(input, hx=None) -> (output, h_n)`` in the package's layout.

    :math:`z_t = \sigma(W_z x_t + b_z)`, :math:`\tilde h_t = W_h x_t + b_h`,
    :math:`h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t`.

    ``bptt``: one of :data:`rnnbook.variants.scan.LINEAR_BPTT_MODES` (see the module's docstring).
    Parameters: ``weight_ih`` (2 H, H_in) = ``[W_z; W_h]``, ``bias_ih`` (2 H) = ``[b_z; b_h]``.

    Shapes: ``input`` (L, N, H_in), (N, L, H_in) with ``batch_first``, or unbatched (L, H_in);
    ``hx`` (1, N, H) or unbatched (1, H), zeros when omitted; returns ``output`` (L, N, H) and
    ``h_n`` (1, N, H), in the input's layout.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> layer = rnnbook.MinGRU(3, 4)
    >>> x = torch.randn(6, 2, 3)                           # (L, N, H_in)
    >>> out, h_n = layer(x)
    >>> tuple(out.shape), tuple(h_n.shape)
    ((6, 2, 4), (1, 2, 4))
    >>> layer.bptt = "scan"                                # the same h_t by the doubling scan
    >>> torch.allclose(layer(x)[0], out, atol=1e-6)
    True
    """

    _num_gates = 2

    def _coefficients(self, pre):
        z_pre, h_tilde = pre
        # z_t = σ(W_z x_t + b_z); h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t
        z = torch.sigmoid(z_pre)
        return 1 - z, z * h_tilde


class MinLSTM(_MinBase):
    r"""minLSTM; forward ``(input, hx=None) -> (output, h_n)`` in the package's layout.

    :math:`f_t = \sigma(W_f x_t + b_f)`, :math:`i_t = \sigma(W_i x_t + b_i)`,
    :math:`\tilde h_t = W_h x_t + b_h`,
    :math:`h_t = \frac{f_t}{f_t + i_t} \odot h_{t-1} + \frac{i_t}{f_t + i_t} \odot \tilde h_t`.

    ``bptt``: one of :data:`rnnbook.variants.scan.LINEAR_BPTT_MODES` (see the module's docstring).
    Parameters: ``weight_ih`` (3 H, H_in) = ``[W_f; W_i; W_h]``, ``bias_ih`` (3 H).

    Shapes: ``input`` (L, N, H_in), (N, L, H_in) with ``batch_first``, or unbatched (L, H_in);
    ``hx`` (1, N, H) or unbatched (1, H), zeros when omitted; returns ``output`` (L, N, H) and
    ``h_n`` (1, N, H), in the input's layout.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> layer = rnnbook.MinLSTM(3, 4, batch_first=True)
    >>> tuple(layer.weight_ih.shape)                       # [W_f; W_i; W_h]: (3 H, H_in)
    (12, 3)
    >>> out, h_n = layer(torch.randn(2, 6, 3))             # (N, L, H_in)
    >>> tuple(out.shape), tuple(h_n.shape)
    ((2, 6, 4), (1, 2, 4))
    """

    _num_gates = 3

    def _coefficients(self, pre):
        f_pre, i_pre, h_tilde = pre
        f, i = torch.sigmoid(f_pre), torch.sigmoid(i_pre)
        # f'_t = f_t / (f_t + i_t), i'_t = i_t / (f_t + i_t); h_t = f'_t ⊙ h_{t-1} + i'_t ⊙ h̃_t
        total = f + i
        return f / total, (i / total) * h_tilde
