r"""The Simple Recurrent Unit, SRU (Lei et al. 2018; the 2017 form as an option).

For each layer, with ``x_t`` its input (``d`` features) and ``c_t`` its state (``H``)::

    f_t = σ(W_f x_t + v_f ⊙ c_{t-1} + b_f)            forget gate
    r_t = σ(W_r x_t + v_r ⊙ c_{t-1} + b_r)            reset (highway) gate
    c_t = f_t ⊙ c_{t-1} + (1 − f_t) ⊙ (W x_t)
    h_t = r_t ⊙ c_t + (1 − r_t) ⊙ α x_t

The 2017 form (``version="2017"``) has no ``v ⊙ c_{t-1}`` terms, so its gates depend on
``x`` alone and ``c`` is a linear recurrence, computed by :func:`rnnbook.scan.linear_scan`.
Every matrix product depends on ``x`` only: ``W``, ``W_f``, ``W_r`` of all time steps are
one product before the loop; what stays inside is element-wise.

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

from ._sequence import initial_state, restore_layout, sequence_input
from ._validate import check_bool, check_choice, check_int
from .scan import linear_scan

__all__ = ["SRU"]

_VERSIONS = ("2018", "2017")


class SRU(nn.Module):
    r"""A stack of SRU layers; forward ``(input, c0=None) -> (output, c_n)``.

    Args:
        input_size, hidden_size, num_layers: as ``torch.nn.RNN``.
        batch_first: input and output as ``(N, L, H)``.
        version: ``"2018"`` (with ``v ⊙ c_{t-1}`` in the gates) or ``"2017"`` (without).
        rescale: use the scaling ``α`` in the highway term (else ``α = 1``).
        highway_bias: initial value of ``b_r``.

    Shapes: input ``(L, N, d)`` or unbatched ``(L, d)``; ``c0`` and ``c_n``
    ``(num_layers, N, H)``; output ``(L, N, H)``, the last layer's ``h_t``.
    Parameters per layer ``l``: ``weight_l{l}`` (k H, d_l) stacking ``W, W_f, W_r``
    (and ``W_p`` when ``d_l != H``: k = 4, else 3); ``weight_c_l{l}`` (2 H) = ``[v_f; v_r]``
    (2018 only); ``bias_l{l}`` (2 H) = ``[b_f; b_r]``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, batch_first: bool = False,
                 version: str = "2018", rescale: bool = True, highway_bias: float = 0.0,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = check_int("input_size", input_size, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        self.num_layers = check_int("num_layers", num_layers, minimum=1)
        self.batch_first = check_bool("batch_first", batch_first)
        self.version = check_choice("version", version, _VERSIONS)
        self.rescale = check_bool("rescale", rescale)
        if isinstance(highway_bias, bool) or not isinstance(highway_bias, (int, float)):
            raise TypeError(f"highway_bias must be a real number, got {highway_bias!r}")
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
        return s + (", batch_first=True" if self.batch_first else "")

    def _layer(self, x: Tensor, c: Tensor, layer: int) -> tuple[Tensor, Tensor]:
        H = self.hidden_size
        weight, bias = getattr(self, f"weight_l{layer}"), getattr(self, f"bias_l{layer}")
        U = x @ weight.T                       # W x_t, W_f x_t, W_r x_t (, W_p x_t) for all t at once
        u, uf, ur = U[..., :H], U[..., H:2 * H] + bias[:H], U[..., 2 * H:3 * H] + bias[H:]
        # the highway input: α x_t, or W_p x_t when the sizes differ
        x_hw = U[..., 3 * H:] if weight.shape[0] == 4 * H else self.alpha * x
        if self.version == "2017":
            f, r = torch.sigmoid(uf), torch.sigmoid(ur)
            # c_t = f_t ⊙ c_{t-1} + (1 − f_t) ⊙ (W x_t): a linear recurrence, scanned
            cs = linear_scan(f, (1 - f) * u, c)
            # h_t = r_t ⊙ c_t + (1 − r_t) ⊙ α x_t
            return r * cs + (1 - r) * x_hw, cs[-1]
        v_f, v_r = getattr(self, f"weight_c_l{layer}").split(H)
        hs = []
        for u_t, uf_t, ur_t, xh_t in zip(u.unbind(0), uf.unbind(0), ur.unbind(0), x_hw.unbind(0), strict=True):
            # f_t = σ(W_f x_t + v_f ⊙ c_{t-1} + b_f), r_t = σ(W_r x_t + v_r ⊙ c_{t-1} + b_r)
            f_t, r_t = torch.sigmoid(uf_t + v_f * c), torch.sigmoid(ur_t + v_r * c)
            # c_t = f_t ⊙ c_{t-1} + (1 − f_t) ⊙ (W x_t)
            c = f_t * c + (1 - f_t) * u_t
            # h_t = r_t ⊙ c_t + (1 − r_t) ⊙ α x_t
            hs.append(r_t * c + (1 - r_t) * xh_t)
        return torch.stack(hs), c

    def forward(self, input: Tensor, c0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x, batched = sequence_input("input", input, self.input_size, self.weight_l0.dtype, self.batch_first)
        c = initial_state(c0, x, batched, self.num_layers, self.hidden_size, name="c0")
        finals = []
        for layer in range(self.num_layers):
            x, c_n = self._layer(x, c[layer], layer)
            finals.append(c_n)
        return restore_layout(x, torch.stack(finals), batched, self.batch_first)
