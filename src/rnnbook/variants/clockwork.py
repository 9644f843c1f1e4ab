r"""The Clockwork RNN (Koutník et al. 2014).

The hidden units are split into ``g`` modules of equal size ``k``; module ``i`` has a
period ``T_i`` (by default ``T_i = 2^{i-1}``: 1, 2, 4, ...). Time steps are counted
from ``t = 0`` for the first input, so *every* module fires at the first step. At step
``t`` module ``i`` is *active* when ``t mod T_i = 0`` and then computes

.. math:: h_t^{(i)} = \tanh\Big(W_{xh}^{(i)} x_t + \sum_{j:\,T_j \ge T_i} W_{hh}^{(i,j)} h_{t-1}^{(j)} + b_h^{(i)}\Big);

otherwise it keeps its state, ``h_t^{(i)} = h_{t-1}^{(i)}``. Recurrent connections run
only from slower (or equally slow) modules to faster ones: block ``(i, j)`` of
``W_hh`` (row block ``i`` receives, column block ``j`` sends) is allowed iff
``T_j >= T_i``. With the periods in increasing order, ``W_hh`` is block upper
triangular. The forbidden blocks are zero at initialisation and the forward pass
multiplies ``W_hh`` by the fixed 0/1 ``mask``, so their gradient is exactly zero and
no optimiser that follows the gradient (SGD, momentum, Adam, weight decay) moves them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnbook._sequence import (
    check_positive_ints,
    initial_state,
    restore_layout,
    sequence_input,
)
from rnnbook._validate import check_bool, check_int, check_shape, check_tensor
from rnnbook.layers.packing import mask_padding, pack_output, run_with_lengths, sequence_lengths, unpack_input

__all__ = ["ClockworkRNN"]


class ClockworkRNN(nn.Module):
    r"""A one-layer Clockwork RNN; forward ``(input, hx=None) -> (output, h_n)``.

    Module :math:`i` fires when :math:`t \bmod T_i = 0` and then sets
    :math:`h_t^{(i)} = \tanh(W_{xh}^{(i)} x_t + \sum_{T_j \ge T_i} W_{hh}^{(i,j)} h_{t-1}^{(j)} + b_h^{(i)})`;
    otherwise :math:`h_t^{(i)} = h_{t-1}^{(i)}`.

    Args:
        input_size: features of ``x_t``.
        hidden_size: total hidden units; must be divisible by the number of modules.
        num_modules: number of modules ``g`` when ``periods`` is omitted (default 4).
        periods: the period of each module (positive ints); default ``(1, 2, 4, ..., 2^{g-1})``.
        bias: whether ``bias`` (``b_h``) exists.
        batch_first: input and output as ``(N, L, H)``.

    Shapes: input ``(L, N, H_in)`` (``(N, L, H_in)`` with ``batch_first``) or unbatched
    ``(L, H_in)``; output ``(L, N, H)``. The state is ``(h, steps)``: ``h`` ``(1, N, H)``
    (unbatched ``(1, H)``) and ``steps`` ``(1, N)`` int64 (unbatched ``(1,)``), the number of
    steps each sequence has taken, which sets where the clock stands; ``hx`` may also be
    ``h_0`` alone (``steps = 0``). The first input of a new sequence is step ``t = 0``, where
    every module fires.
    Parameters: ``weight_ih`` (H, H_in), ``weight_hh`` (H, H) (forbidden blocks zero),
    ``bias`` (H). Buffers: ``mask`` (H, H), ``unit_periods`` (H,).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> cw = rnnbook.ClockworkRNN(3, 8, num_modules=4)     # periods 1, 2, 4, 8; modules of k = 2 units
    >>> cw.periods, cw.module_size
    ((1, 2, 4, 8), 2)
    >>> out, (h_n, steps_n) = cw(torch.randn(6, 2, 3))     # (L, N, H_in); the clock is state
    >>> tuple(out.shape), tuple(h_n.shape), steps_n.tolist()
    ((6, 2, 8), (1, 2, 8), [[6, 6]])
    >>> cw.active(2).view(4, 2)[:, 0].tolist()             # t = 2: modules with T_i = 1, 2 fire
    [True, True, False, False]
    >>> bool((out[3, :, 4:] == out[2, :, 4:]).all())       # t = 3: the slow modules keep their state
    True
    """

    def __init__(self, input_size: int, hidden_size: int, num_modules: int | None = None,
                 periods: Sequence[int] | None = None, bias: bool = True, batch_first: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = check_int("input_size", input_size, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        self.batch_first = check_bool("batch_first", batch_first)
        if periods is None:
            g = 4 if num_modules is None else check_int("num_modules", num_modules, minimum=1)
            periods = tuple(2**i for i in range(g))
        else:
            periods = check_positive_ints("periods", periods)
            if num_modules is not None and check_int("num_modules", num_modules, minimum=1) != len(periods):
                raise ValueError(
                    f"num_modules ({num_modules}) must equal the number of periods, got "
                    f"{len(periods)} periods {list(periods)}"
                )
        self.periods = periods
        g = len(periods)
        if hidden_size % g != 0:
            raise ValueError(
                f"hidden_size must be divisible by the number of modules ({g}), got hidden_size={hidden_size}"
            )
        self.module_size = hidden_size // g
        factory = {"device": device, "dtype": dtype}
        unit_periods = torch.tensor(periods, device=device).repeat_interleave(self.module_size)
        self.register_buffer("unit_periods", unit_periods)
        # mask[u, v] = 1 iff unit v (sender) is in a module at least as slow as unit u's
        self.register_buffer("mask", (unit_periods[None, :] >= unit_periods[:, None]).to(**factory))
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size, **factory))
        if check_bool("bias", bias):
            self.bias = nn.Parameter(torch.empty(hidden_size, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(-1/sqrt(H), 1/sqrt(H)) as torch's RNN, then the forbidden blocks of ``weight_hh`` set to 0."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)
        with torch.no_grad():
            self.weight_hh.mul_(self.mask)

    def num_free_parameters(self) -> int:
        """Parameters that can change: every entry except the forbidden blocks of ``weight_hh``."""
        total = sum(p.numel() for p in self.parameters())
        return total - int((self.mask == 0).sum())

    def active(self, t: int) -> Tensor:
        """Boolean ``(H,)``: which units update at step ``t`` (``t mod T_i == 0``, t from 0)."""
        return torch.remainder(t, self.unit_periods) == 0

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, periods={list(self.periods)}"
        if self.bias is None:
            s += ", bias=False"
        return s + (", batch_first=True" if self.batch_first else "")

    def _initial_state(self, hx: object, x: Tensor, batched: bool) -> tuple[Tensor, Tensor]:
        """Validate ``hx`` (None, ``h_0``, or ``(h_0, steps_0)``); return ``h`` (N, H) and ``steps`` (N,)."""
        steps = None
        if isinstance(hx, (tuple, list)):
            if len(hx) != 2:
                raise ValueError(
                    f"hx must be h_0 or a tuple (h_0, steps_0) of two tensors, got {len(hx)} items"
                )
            hx, steps = hx
        h = initial_state(hx, x, batched, 1, self.hidden_size)[0]
        if steps is None:
            return h, torch.zeros(x.shape[1], dtype=torch.long, device=x.device)
        steps = check_tensor("steps_0", steps, ndims=(2 if batched else 1,), floating=False, device=x.device)
        if steps.is_floating_point() or steps.is_complex() or steps.dtype == torch.bool:
            raise TypeError(f"steps_0 must be an integer tensor (steps taken so far), got dtype {steps.dtype}")
        expected = (1, x.shape[1]) if batched else (1,)
        check_shape("steps_0", steps, expected, "(1, batch)" if batched else "(1,) for unbatched input")
        if steps.numel() and steps.min() < 0:
            raise ValueError(f"steps_0 must be >= 0 (steps taken so far), got {int(steps.min())}")
        return h, steps.reshape(-1).long()

    def forward(self, input: Tensor | PackedSequence, hx=None, *, lengths=None):
        """Run the layer; returns ``(output, (h_n, steps_n))``.

        ``hx`` is None, ``h_0`` (1, N, H) (a new sequence: its first step is ``t = 0``), or the
        state a previous call returned, ``(h_0, steps_0)`` with ``steps_0`` (1, N) int64 the
        steps each sequence has already taken: the clock goes on from there, so a sequence run
        in chunks equals one pass. ``lengths`` (N,) or a ``PackedSequence`` input: see
        :mod:`rnnbook.layers.packing` (each sequence's clock counts its own real steps only).
        """
        input, lengths, packed = unpack_input("ClockworkRNN", input, lengths, self.batch_first)
        x, batched = sequence_input("input", input, self.input_size, self.weight_ih.dtype, self.batch_first,
                                     device=self.weight_ih.device)
        lengths = sequence_lengths(lengths, x, batched)
        h, steps = self._initial_state(hx, x, batched)
        x = mask_padding(x, lengths)
        w_hh = self.weight_hh * self.mask          # forbidden blocks: exactly zero, zero gradient
        gi = F.linear(x, self.weight_ih, self.bias)  # W_xh x_t + b_h for every t in one product

        def loop(gi: Tensor, state: tuple[Tensor, Tensor]) -> tuple[Tensor, tuple[Tensor, Tensor]]:
            h, steps = state                       # steps: (N,) steps each sequence took before
            outputs = []
            for k, gi_t in enumerate(gi.unbind(0)):
                # module i is active at step t = steps + k when t mod T_i = 0: (N, H)
                active = torch.remainder((steps + k).unsqueeze(1), self.unit_periods) == 0
                # h_t^(i) = tanh(W_xh^(i) x_t + sum_{T_j >= T_i} W_hh^(i,j) h_{t-1}^(j) + b_h^(i)) if active
                h = torch.where(active, torch.tanh(gi_t + h @ w_hh.T), h)
                outputs.append(h)
            return torch.stack(outputs), (h, steps + gi.shape[0])

        out, (h, steps) = run_with_lengths(loop, gi, (h, steps), lengths)
        out, h = restore_layout(out, h.unsqueeze(0), batched, self.batch_first)
        steps = steps.unsqueeze(0) if batched else steps
        return pack_output(out, lengths, packed, self.batch_first), (h, steps)
