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
is a linear recurrence in ``c``, computed by :func:`rnnbook.scan.linear_scan`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._sequence import initial_state, restore_layout, sequence_input
from ._validate import check_bool, check_choice, check_int
from .scan import linear_scan

__all__ = ["QRNN"]

_GATES = {"f": "zf", "fo": "zfo", "ifo": "zfoi"}


class QRNN(nn.Module):
    r"""A stack of QRNN layers; forward ``(input, c0=None) -> (output, c_n)``.

    Args:
        input_size, hidden_size, num_layers: as ``torch.nn.RNN``.
        window: the convolution width ``k`` (>= 1; ``k = 1`` looks at ``x_t`` only).
        pooling: ``"f"``, ``"fo"`` or ``"ifo"``.
        bias: whether ``bias_l{l}`` exists.
        batch_first: input and output as ``(N, L, H)``.

    Shapes: input ``(L, N, d)`` or unbatched ``(L, d)``; ``c0`` and ``c_n``
    ``(num_layers, N, H)``; output ``(L, N, H)``: the last layer's ``h_t``.
    Parameters per layer ``l``: ``weight_l{l}`` (g H, d_l, k) stacking the gates in the
    order Z, F, O, I (those the pooling uses, g of them), ``bias_l{l}`` (g H).
    The convolution starts from zero padding: continuing a sequence exactly would also
    need its last ``k − 1`` inputs, which this layer does not carry.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, window: int = 2,
                 pooling: str = "fo", bias: bool = True, batch_first: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = check_int("input_size", input_size, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        self.num_layers = check_int("num_layers", num_layers, minimum=1)
        self.window = check_int("window", window, minimum=1)
        self.pooling = check_choice("pooling", pooling, tuple(_GATES))
        self.bias = check_bool("bias", bias)
        self.batch_first = check_bool("batch_first", batch_first)
        factory = {"device": device, "dtype": dtype}
        g = len(_GATES[pooling])
        for layer in range(num_layers):
            d = input_size if layer == 0 else hidden_size
            setattr(self, f"weight_l{layer}", nn.Parameter(torch.empty(g * hidden_size, d, window, **factory)))
            if bias:
                setattr(self, f"bias_l{layer}", nn.Parameter(torch.empty(g * hidden_size, **factory)))
        self.reset_parameters()

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
        return s + (", batch_first=True" if self.batch_first else "")

    def gates(self, x: Tensor, layer: int = 0) -> dict[str, Tensor]:
        """The gates of ``layer`` for time-major ``x`` (L, N, d): ``{"z": Z, "f": F, ...}``, each (L, N, H)."""
        weight, bias = getattr(self, f"weight_l{layer}"), getattr(self, f"bias_l{layer}", None)
        # causal convolution: k − 1 zero steps on the left, so step t sees x_{t-k+1}, ..., x_t
        padded = F.pad(x.permute(1, 2, 0), (self.window - 1, 0))       # (N, d, L + k − 1)
        pre = F.conv1d(padded, weight, bias).permute(2, 0, 1)           # (L, N, g H)
        out = {}
        for name, block in zip(_GATES[self.pooling], pre.split(self.hidden_size, dim=-1), strict=True):
            # Z = tanh(W_z * X); F, O, I = σ(W * X)
            out[name] = torch.tanh(block) if name == "z" else torch.sigmoid(block)
        return out

    def forward(self, input: Tensor, c0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x, batched = sequence_input("input", input, self.input_size, self.weight_l0.dtype, self.batch_first)
        c0 = initial_state(c0, x, batched, self.num_layers, self.hidden_size, name="c0")
        finals = []
        for layer in range(self.num_layers):
            g = self.gates(x, layer)
            # c_t = f_t ⊙ c_{t-1} + (1 − f_t) ⊙ z_t   (ifo: + i_t ⊙ z_t), all t by a scan
            inflow = g["i"] * g["z"] if self.pooling == "ifo" else (1 - g["f"]) * g["z"]
            c = linear_scan(g["f"], inflow, c0[layer])
            # h_t = c_t (f-pooling) or o_t ⊙ c_t (fo, ifo)
            x = c if self.pooling == "f" else g["o"] * c
            finals.append(c[-1])
        return restore_layout(x, torch.stack(finals), batched, self.batch_first)
