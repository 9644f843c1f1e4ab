r"""The gated recurrent unit (GRU), drop-in compatible with ``torch.nn.GRUCell`` / ``torch.nn.GRU``.

One step, with the gates stacked in torch's order ``r, z, n`` in ``weight_ih`` (3H, H_in),
``weight_hh`` (3H, H), ``bias_ih`` and ``bias_hh`` (3H)::

    r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)          reset gate
    z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)          update gate
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))   candidate  (reset_after=True)
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

``reset_after=True`` is the form torch (and cuDNN) compute: the reset gate multiplies the
*product* ``W_hn h_{t-1} + b_hn``. ``reset_after=False`` is the form of Cho et al. (2014),
where the reset gate multiplies the state *before* the product::

    n_t = tanh(W_in x_t + b_in + W_hn (r_t * h_{t-1}) + b_hn)    (reset_after=False)

Both forms have the same parameters; on the same weights they give different functions.
With reset_after the three recurrent products ``W_h{r,z,n} h_{t-1}`` are one matrix
product ``h_{t-1} W_hh^T``, computed before ``r_t`` is known; the Cho form needs ``r_t``
first, so each step has two matrix products one after the other.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnbook._validate import check_bool
from rnnbook.kernels.gru_bptt import gru_bptt
from rnnbook.kernels.projection import project_inputs
from rnnbook.layers.base import CellBase, Params, RecurrentLayer

__all__ = ["GRUCell", "GRU", "gru_step"]


def gru_step(gi: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, reset_after: bool = True) -> Tensor:
    r"""One GRU step given ``gi = x W_ih^T + b_ih`` (N, 3H) and ``h = h_{t-1}`` (N, H); returns ``h_t``.

    .. math::

        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    with ``reset_after=False`` (Cho et al. 2014)
    :math:`n_t = \tanh(W_{in} x_t + b_{in} + W_{hn} (r_t \odot h_{t-1}) + b_{hn})`.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> cell = rnnbook.GRUCell(3, 4)
    >>> x, h = torch.randn(2, 3), torch.randn(2, 4)
    >>> gi = x @ cell.weight_ih.T + cell.bias_ih          # the r, z, n blocks of W_i x_t + b_i
    >>> h_t = rnnbook.gru_step(gi, h, cell.weight_hh, cell.bias_hh)
    >>> tuple(gi.shape), tuple(h_t.shape), torch.allclose(h_t, cell(x, h))
    ((2, 12), (2, 4), True)
    """
    H = h.shape[-1]
    gi_r, gi_z, gi_n = gi.split(H, dim=-1)
    w_hr, w_hz, w_hn = weight_hh.split(H, dim=0)
    b_hr, b_hz, b_hn = bias_hh.split(H) if bias_hh is not None else (0.0, 0.0, 0.0)
    if reset_after:
        # all three recurrent products in one: h_{t-1} W_hh^T + b_hh
        gh = h @ weight_hh.T
        if bias_hh is not None:
            gh = gh + bias_hh
        gh_r, gh_z, gh_n = gh.split(H, dim=-1)
        # r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        r = torch.sigmoid(gi_r + gh_r)
        # z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        z = torch.sigmoid(gi_z + gh_z)
        # n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
        n = torch.tanh(gi_n + r * gh_n)
    else:
        # r_t = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        r = torch.sigmoid(gi_r + h @ w_hr.T + b_hr)
        # z_t = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        z = torch.sigmoid(gi_z + h @ w_hz.T + b_hz)
        # n_t = tanh(W_in x_t + b_in + W_hn (r_t * h_{t-1}) + b_hn)     (Cho et al. 2014)
        n = torch.tanh(gi_n + (r * h) @ w_hn.T + b_hn)
    # h_t = (1 - z_t) * n_t + z_t * h_{t-1}
    return (1 - z) * n + z * h


class GRUCell(CellBase):
    r"""One GRU step, ``h' = (1 - z) * n + z * h``; as ``torch.nn.GRUCell`` (see the module docstring).

    Args:
        input_size, hidden_size, bias=True, device, dtype: as torch.
        reset_after: keyword only; ``True`` (default) for torch's form, ``False`` for the
            form of Cho et al. (2014), the reset gate applied to ``h`` before ``W_hn``.

    Shapes: ``input`` (N, H_in) or unbatched (H_in); ``hx`` (N, H) or (H), zeros when
    omitted; returns ``h'`` of the same batchedness as ``input``.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> cell = rnnbook.GRUCell(3, 4)
    >>> ref = torch.nn.GRUCell(3, 4)
    >>> _ = ref.load_state_dict(cell.state_dict())
    >>> x, h = torch.randn(2, 3), torch.randn(2, 4)
    >>> tuple(cell(x, h).shape), torch.allclose(cell(x, h), ref(x, h), atol=1e-6)
    ((2, 4), True)
    >>> cho = rnnbook.GRUCell(3, 4, reset_after=False)  # Cho et al. (2014): same shapes
    >>> _ = cho.load_state_dict(cell.state_dict())
    >>> torch.allclose(cho(x, h), cell(x, h))
    False
    """

    _num_gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None, *,
                 reset_after: bool = True):
        self.reset_after = check_bool("reset_after", reset_after)
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.reset_after else s + ", reset_after=False"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, batched = self._check_step_input(input)
        if hx is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        else:
            h = self._check_step_state("hx", hx, x.shape[0], batched, self.hidden_size)
        gi = x @ self.weight_ih.T
        if self.bias_ih is not None:
            gi = gi + self.bias_ih
        h = gru_step(gi, h, self.weight_hh, self.bias_hh, self.reset_after)
        return h if batched else h.squeeze(0)


class GRU(RecurrentLayer):
    r"""Multi-layer GRU; a drop-in for ``torch.nn.GRU`` (gate order r, z, n).

    Each layer computes, for every step ``t``,

    .. math::

        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    (the update of :func:`gru_step`); ``reset_after=False`` (keyword only) switches to the
    form of Cho et al. (2014).

    Args (same order and meaning as torch):
        input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
        dropout=0.0, bidirectional=False, device, dtype; then ``reset_after=True`` and
        ``bptt='hand'``: the loop runs in :class:`rnnbook.kernels.gru_bptt.GRUBPTT` (the Cho form in
        :class:`rnnbook.kernels.gru_bptt.ChoGRUBPTT`) with the hand-written backpropagation through time;
        ``'autograd'`` runs the readable per-step loop.

    Shapes (``D = 2`` if bidirectional else 1): input (L, N, H_in), (N, L, H_in) if
    batch_first, or unbatched (L, H_in); hx (D * num_layers, N, H) or unbatched
    (D * num_layers, H); returns ``(output, h_n)`` with output (L, N, D * H).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> gru = rnnbook.GRU(3, 4, batch_first=True)
    >>> ref = torch.nn.GRU(3, 4, batch_first=True)
    >>> _ = ref.load_state_dict(gru.state_dict())
    >>> x = torch.randn(2, 5, 3)                          # (N, L, H_in) with batch_first
    >>> out, h_n = gru(x)
    >>> tuple(out.shape), tuple(h_n.shape)
    ((2, 5, 4), (1, 2, 4))
    >>> torch.allclose(out, ref(x)[0], atol=1e-6)
    True
    """

    _num_gates = 3
    _name = "GRU"

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
        *,
        reset_after: bool = True,
        bptt: str = "hand",
    ) -> None:
        self.reset_after = check_bool("reset_after", reset_after)
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device=device, dtype=dtype,
            bptt=bptt,
        )

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.reset_after else s + ", reset_after=False"

    def _step(self, gi_t: Tensor, state: tuple[Tensor, ...], params: Params) -> tuple[Tensor, ...]:
        _, w_hh, _, b_hh, _ = params
        return (gru_step(gi_t, state[0], w_hh, b_hh, self.reset_after),)

    def _bptt(self, x: Tensor, state: tuple[Tensor, ...], params: Params):
        w_ih, w_hh, b_ih, b_hh, _ = params
        gi = project_inputs(x, w_ih, b_ih)  # all steps in one product, with its backward written out
        # gi is this layer's own projection, read by nothing else: the Function may write over it
        out, h_n = gru_bptt(gi, state[0], w_hh, b_hh, self.reset_after, overwrite_gi=True)
        return out, (h_n,)
