"""Machinery shared by every multi-layer recurrent layer in rnnbook.

A *cell* computes one time step, ``cell(x_t, state) -> new_state``. A *layer*
runs a cell's update over a whole sequence, for ``num_layers`` stacked layers and
one or two directions, exactly as ``torch.nn.RNN``, ``GRU`` and ``LSTM`` do:

* input ``(L, N, H_in)``, or ``(N, L, H_in)`` with ``batch_first=True``, or an
  unbatched ``(L, H_in)``;
* state ``(D * num_layers, N, H_out)`` (``(D * num_layers, H_out)`` unbatched),
  where ``D = 2`` if ``bidirectional`` else 1, and entry ``layer * D + direction``
  belongs to that layer and direction;
* output ``(L, N, D * H_out)``: the last layer's states at every step, forward
  and backward directions concatenated in that order;
* parameters ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
  ``bias_hh_l{k}`` (and ``weight_hr_l{k}`` for a projected LSTM), with the suffix
  ``_reverse`` for the backward direction, registered in torch's order, so that a
  ``state_dict`` moves between torch and rnnbook both ways and the same seed gives
  the same initial weights.

Subclasses say how many gate blocks their weights stack (``_num_gates``), which
state tensors they carry (``_state_names``) and how one step updates the state
(``_step``). The input projection ``x_t W_ih^T + b_ih`` of all time steps is done
in one matrix product before the loop over time; only ``h_{t-1} W_hh^T`` stays
inside it.

The layers with a hand-written backward (``bptt="hand"``, the default: RNN, GRU in
either form, LSTM; not the peephole LSTM) run the loop inside a ``torch.autograd.Function`` of
:mod:`rnnbook.kernels` (``_bptt``, given the layer's input: it does the input projection too);
``bptt="autograd"`` runs the readable per-step loop
below and lets autograd record it. The hand-written backward gives first derivatives only:
a backward pass with ``create_graph=True`` (Hessians, ``torch.autograd.functional.jvp``,
gradient penalties) raises a RuntimeError that names ``bptt="autograd"``
(``rnnbook.kernels.autograd``); under forward-mode AD the layers take the autograd path by themselves.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnbook._validate import (
    check_bool,
    check_choice,
    check_int,
    check_probability,
    check_shape,
    check_tensor,
)
from rnnbook.kernels.autograd import has_tangent
from rnnbook.layers.packing import pack_output, run_with_lengths, sequence_lengths, unpack_input

__all__ = ["RecurrentLayer", "CellBase", "BPTT_MODES"]

#: The values of the layers' ``bptt`` argument: ``"hand"`` runs the hand-written BPTT kernel of
#: :mod:`rnnbook.kernels`, ``"autograd"`` the readable per-step loop, differentiated by autograd.
BPTT_MODES = ("hand", "autograd")


# (weight_ih, weight_hh, bias_ih, bias_hh, weight_hr) of one layer and direction, followed by
# the subclass's extra parameters (``_extra_shapes``) if it has any.
Params = tuple[Tensor | None, ...]


class CellBase(nn.Module):
    """Parameters and checks shared by single-step cells (``weight_ih``, ``weight_hh``,
    ``bias_ih``, ``bias_hh``), laid out as in ``torch.nn.RNNCellBase``. Shapes: input (N, H_in)
    or unbatched (H_in,); state (N, H) or (H,); ``weight_ih`` (G H, H_in), ``weight_hh`` (G H, H)
    for G gate blocks.

    >>> import torch
    >>> cell = rnnbook.GRUCell(3, 5)              # a CellBase with G = 3 gate blocks
    >>> isinstance(cell, rnnbook.layers.base.CellBase)
    True
    >>> tuple(cell.weight_ih.shape), tuple(cell.weight_hh.shape), tuple(cell.bias_ih.shape)
    ((15, 3), (15, 5), (15,))
    """

    _num_gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.input_size = check_int("input_size", input_size, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        self.bias = check_bool("bias", bias)
        factory = {"device": device, "dtype": dtype}
        gates = self._num_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gates, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(gates, hidden_size, **factory))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(gates, **factory))
            self.bias_hh = nn.Parameter(torch.empty(gates, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        for name, shape in self._extra_shapes().items():
            setattr(self, name, nn.Parameter(torch.empty(shape, **factory)))
        self.reset_parameters()

    def _extra_shapes(self) -> dict[str, tuple[int, ...]]:
        """Parameters beyond torch's four (e.g. peephole weights), registered after them."""
        return {}

    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as torch does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        return s

    def _check_step_input(self, input: object) -> tuple[Tensor, bool]:
        """Validate ``x_t``; return it as ``(N, H_in)`` and whether it was batched."""
        x = check_tensor("input", input, ndims=(1, 2), dtype=self.weight_ih.dtype, device=self.weight_ih.device)
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"input must have {self.input_size} features (input_size) in its last "
                f"dimension, got shape {tuple(x.shape)}"
            )
        batched = x.dim() == 2
        return (x if batched else x.unsqueeze(0)), batched

    def _check_step_state(self, name: str, value: object, batch: int, batched: bool, size: int) -> Tensor:
        """Validate one state tensor of a cell; return it as ``(N, size)``."""
        ndim = 2 if batched else 1
        h = check_tensor(name, value, ndims=(ndim,), dtype=self.weight_ih.dtype, device=self.weight_ih.device)
        expected = (batch, size) if batched else (size,)
        check_shape(name, h, expected, "(batch, hidden_size)" if batched else "(hidden_size,)")
        return h if batched else h.unsqueeze(0)


class RecurrentLayer(nn.Module):
    """Base class of rnnbook's multi-layer, optionally bidirectional recurrent layers.

    Not used directly: see :class:`rnnbook.layers.rnn.RNN`. Shapes (``D = 2`` if bidirectional
    else 1): input (L, N, H_in), (N, L, H_in) if ``batch_first``, or unbatched (L, H_in); each
    state tensor (D * num_layers, N, H_out); output (L, N, D * H_out).

    >>> import torch
    >>> lstm = rnnbook.LSTM(3, 5, num_layers=2, bidirectional=True)
    >>> isinstance(lstm, rnnbook.layers.base.RecurrentLayer)
    True
    >>> out, (h_n, c_n) = lstm(torch.zeros(7, 2, 3))     # (L, N, H_in)
    >>> tuple(out.shape), tuple(h_n.shape)               # (L, N, D * H), (D * num_layers, N, H)
    ((7, 2, 10), (4, 2, 5))
    >>> [name for name in lstm.state_dict() if name.endswith("_l1_reverse")]
    ['weight_ih_l1_reverse', 'weight_hh_l1_reverse', 'bias_ih_l1_reverse', 'bias_hh_l1_reverse']
    """

    _num_gates = 1
    _state_names: tuple[str, ...] = ("hx",)
    _name = "RecurrentLayer"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        *,
        bptt: str = "hand",
    ) -> None:
        super().__init__()
        self.bptt = check_choice("bptt", bptt, BPTT_MODES)
        self.input_size = check_int("input_size", input_size, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        self.num_layers = check_int("num_layers", num_layers, minimum=1)
        self.bias = check_bool("bias", bias)
        self.batch_first = check_bool("batch_first", batch_first)
        self.dropout = check_probability("dropout", dropout)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        self.proj_size = check_int("proj_size", proj_size, minimum=0)
        if proj_size >= hidden_size:
            raise ValueError(f"proj_size must be smaller than hidden_size ({hidden_size}), got {proj_size}")
        if self.dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout acts between stacked layers (after every layer but the last), so it has "
                f"no effect with num_layers=1; got dropout={dropout}",
                stacklevel=2,
            )
        factory = {"device": device, "dtype": dtype}
        gates = self._num_gates * hidden_size
        out_size = proj_size if proj_size > 0 else hidden_size
        directions = 2 if bidirectional else 1
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else out_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = {"weight_ih": (gates, layer_input), "weight_hh": (gates, out_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                shapes.update(self._extra_shapes())
                names = []
                for stem, shape in shapes.items():
                    setattr(self, stem + suffix, nn.Parameter(torch.empty(shape, **factory)))
                    names.append(stem + suffix)
                self._all_weights.append(names)
        self.reset_parameters()

    # -- torch compatibility -------------------------------------------------
    def reset_parameters(self) -> None:
        """Draw every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), in torch's order."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def flatten_parameters(self) -> None:
        """Does nothing: rnnbook keeps no fused weight buffer (kept so code written for torch runs)."""

    @property
    def all_weights(self) -> list[list[Tensor]]:
        """Parameters grouped per layer and direction, as ``torch.nn.RNNBase.all_weights``."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.bptt != "hand":
            s += f", bptt={self.bptt!r}"
        return s

    # -- what a subclass defines ---------------------------------------------
    def _state_is_output(self) -> bool:
        """Whether the layer's one state is its output at every step, and bounded (so that steps
        past a sequence's end can run: see :func:`rnnbook.layers.packing.run_with_lengths`)."""
        return len(self._state_names) == 1

    def _state_sizes(self) -> tuple[int, ...]:
        """Size of each state tensor, in the order of ``_state_names``."""
        return (self.proj_size or self.hidden_size,)

    def _state_labels(self) -> tuple[str, ...]:
        """How each state's last dimension is named in error messages."""
        return ("proj_size" if self.proj_size else "hidden_size",) + ("hidden_size",) * (len(self._state_names) - 1)

    def _extra_shapes(self) -> dict[str, tuple[int, ...]]:
        """Per layer and direction, parameters beyond torch's (e.g. peephole weights), registered
        after them with the same ``_l{k}`` / ``_reverse`` suffixes; ``_params`` appends them."""
        return {}

    def _step(self, gi_t: Tensor, state: tuple[Tensor, ...], params: Params) -> tuple[Tensor, ...]:
        """One time step given the precomputed input projection ``gi_t = x_t W_ih^T + b_ih``."""
        raise NotImplementedError

    def _bptt(self, x: Tensor, state: tuple[Tensor, ...], params: Params) -> tuple[Tensor, tuple[Tensor, ...]] | None:
        """One layer in one direction with the hand-written backward (:mod:`rnnbook.kernels`),
        the input projection included, given time-major ``x`` (L, N, H_in); returns
        ``(outputs, final state)``, or None where the layer has none (then the autograd loop runs)."""
        return None

    def _pack_state(self, states: tuple[Tensor, ...]):
        """What ``forward`` returns as the final state (a tensor, or a tuple for LSTM)."""
        return states[0]

    def _unpack_state(self, hx: object) -> tuple[object, ...]:
        """Split the user's ``hx`` into one object per state tensor."""
        return (hx,)

    # -- the loop ------------------------------------------------------------
    def _params(self, layer: int, direction: int) -> Params:
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")

        def get(stem: str) -> Tensor | None:
            return getattr(self, stem + suffix, None)

        extra = tuple(get(stem) for stem in self._extra_shapes())
        return (get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), get("weight_hr")) + extra

    def _check_input(self, input: object) -> tuple[Tensor, bool]:
        """Validate the input; return it time-major ``(L, N, H_in)`` and whether it was batched."""
        x = check_tensor("input", input, ndims=(2, 3), dtype=self.weight_ih_l0.dtype, device=self.weight_ih_l0.device)
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"input must have {self.input_size} features (input_size) in its last dimension, "
                f"got shape {tuple(x.shape)}"
            )
        batched = x.dim() == 3
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        if x.shape[0] == 0:
            raise ValueError(f"input must have at least one time step, got shape {tuple(input.shape)}")
        return x, batched

    def _initial_states(self, hx: object, x: Tensor, batched: bool) -> tuple[Tensor, ...]:
        """Validate ``hx`` (or make zeros); return one ``(D*num_layers, N, size)`` tensor per state."""
        directions = 2 if self.bidirectional else 1
        rows, batch = self.num_layers * directions, x.shape[1]
        sizes = self._state_sizes()
        if hx is None:
            return tuple(x.new_zeros(rows, batch, size) for size in sizes)
        parts = self._unpack_state(hx)
        states = []
        for name, part, size, label in zip(self._state_names, parts, sizes, self._state_labels(), strict=True):
            ndim = 3 if batched else 2
            h = check_tensor(name, part, ndims=(ndim,), dtype=x.dtype, device=x.device)
            if batched:
                check_shape(name, h, (rows, batch, size), f"(num_layers * num_directions, batch, {label})")
            else:
                check_shape(name, h, (rows, size), f"(num_layers * num_directions, {label}) for unbatched input")
                h = h.unsqueeze(1)
            states.append(h)
        return tuple(states)

    def _run_direction(self, x: Tensor, state: tuple[Tensor, ...], params: Params) -> tuple[Tensor, tuple[Tensor, ...]]:
        """Run one layer in one direction over time-major ``x``; return outputs and final state."""
        w_ih, b_ih = params[0], params[2]
        # The hand-written Functions define a backward only (reverse mode); under forward-mode
        # AD (dual tensors, e.g. rnnbook.helpers.diagnostics.state_jacobians) the autograd loop runs.
        if self.bptt == "hand" and x.shape[1] > 0 and not has_tangent(x, *state, *params):  # (an empty batch: the loop)
            fused = self._bptt(x, state, params)
            if fused is not None:
                return fused
        gi = F.linear(x, w_ih, b_ih)  # all time steps in one product: (L, N, gates * H)
        outputs = []
        for t in range(x.shape[0]):
            state = self._step(gi[t], state, params)
            outputs.append(state[0])
        return torch.stack(outputs), state

    def forward(self, input: Tensor | PackedSequence, hx=None, *, lengths=None):
        """Run the layer; ``lengths`` (N,) or a ``PackedSequence`` input: see :mod:`rnnbook.layers.packing`."""
        input, lengths, packed = unpack_input(self._name, input, lengths, self.batch_first)
        x, batched = self._check_input(input)
        lengths = sequence_lengths(lengths, x, batched)
        states = self._initial_states(hx, x, batched)
        directions = 2 if self.bidirectional else 1
        finals: list[list[Tensor]] = [[] for _ in states]
        for layer in range(self.num_layers):
            outs = []
            for direction in range(directions):
                row = layer * directions + direction
                params = self._params(layer, direction)
                out, last = run_with_lengths(lambda xs, st, p=params: self._run_direction(xs, st, p), x,
                                             tuple(s[row] for s in states), lengths, reverse=direction == 1,
                                             state_is_output=self._state_is_output())
                outs.append(out)
                for k, s in enumerate(last):
                    finals[k].append(s)
            x = torch.cat(outs, dim=2) if directions == 2 else outs[0]
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        final = tuple(torch.stack(f) for f in finals)
        if not batched:
            x, final = x.squeeze(1), tuple(f.squeeze(1) for f in final)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return pack_output(x, lengths, packed, self.batch_first), self._pack_state(final)
