r"""The Elman recurrent layer, drop-in compatible with ``torch.nn.RNNCell`` / ``torch.nn.RNN``.

One step, in torch's row-vector convention (a batch of row vectors ``x_t``)::

    h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)          (or relu)

which is the notes' column-vector equation

.. math:: h_t = \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b_h)

with ``W_xh = weight_ih``, ``W_hh = weight_hh`` and ``b_h = bias_ih + bias_hh``
(torch keeps two bias vectors for cuDNN; only their sum matters).
"""

from __future__ import annotations

from torch import Tensor

from rnnbook._validate import check_choice
from rnnbook.kernels.elman_bptt import elman_bptt
from rnnbook.layers.base import CellBase, Params, RecurrentLayer

__all__ = ["RNNCell", "RNN", "elman_step"]

_NONLINEARITIES = ("tanh", "relu")


def elman_step(gi: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, nonlinearity: str) -> Tensor:
    """``act(gi + h W_hh^T + b_hh)``, where ``gi = x W_ih^T + b_ih`` is already computed.

    Shapes: ``gi`` (N, H), ``h`` (N, H), ``weight_hh`` (H, H), ``bias_hh`` (H,) or None.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> cell = rnnbook.RNNCell(3, 4)
    >>> x, h = torch.randn(2, 3), torch.randn(2, 4)
    >>> gi = x @ cell.weight_ih.T + cell.bias_ih          # x_t W_ih^T + b_ih
    >>> h_t = rnnbook.elman_step(gi, h, cell.weight_hh, cell.bias_hh, "tanh")
    >>> tuple(h_t.shape), torch.allclose(h_t, cell(x, h))
    ((2, 4), True)
    """
    pre = gi + h @ weight_hh.T
    if bias_hh is not None:
        pre = pre + bias_hh
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


class RNNCell(CellBase):
    r"""One Elman step, ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``; as ``torch.nn.RNNCell``.

    Args:
        input_size: features of ``x`` (H_in).
        hidden_size: features of ``h`` (H).
        bias: whether ``bias_ih`` and ``bias_hh`` exist.
        nonlinearity: ``'tanh'`` or ``'relu'``.

    Shapes: ``input`` (N, H_in) or unbatched (H_in); ``hx`` (N, H) or (H), zeros when
    omitted; returns ``h'`` of the same batchedness as ``input``.
    Parameters: ``weight_ih`` (H, H_in), ``weight_hh`` (H, H), ``bias_ih`` (H), ``bias_hh`` (H).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> cell = rnnbook.RNNCell(3, 4)
    >>> x, h = torch.randn(2, 3), torch.zeros(2, 4)
    >>> h = cell(x, h)                                    # h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)
    >>> tuple(h.shape)
    (2, 4)
    >>> ref = torch.nn.RNNCell(3, 4)
    >>> _ = ref.load_state_dict(cell.state_dict())
    >>> torch.allclose(ref(x), cell(x))
    True
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", device=None, dtype=None):
        self.nonlinearity = check_choice("nonlinearity", nonlinearity, _NONLINEARITIES)
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity}"

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, batched = self._check_step_input(input)
        if hx is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        else:
            h = self._check_step_state("hx", hx, x.shape[0], batched, self.hidden_size)
        gi = x @ self.weight_ih.T
        if self.bias_ih is not None:
            gi = gi + self.bias_ih
        h = elman_step(gi, h, self.weight_hh, self.bias_hh, self.nonlinearity)
        return h if batched else h.squeeze(0)


class RNN(RecurrentLayer):
    r"""Multi-layer Elman RNN; a drop-in for ``torch.nn.RNN``.

    Each layer computes, for every step ``t``,

    .. math:: h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})

    (``relu`` instead of ``tanh`` with ``nonlinearity='relu'``); layer ``k > 0`` takes
    the outputs of layer ``k - 1`` (both directions concatenated) as its ``x_t``, with
    dropout between layers in training mode.

    Args (same order and meaning as torch):
        input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
        batch_first=False, dropout=0.0 (in [0, 1)), bidirectional=False, device, dtype;
        then (keyword only, rnnbook's) ``bptt``: ``'hand'`` (default) runs the loop
        in :class:`rnnbook.kernels.elman_bptt.ElmanBPTT` with the hand-written backpropagation through
        time, ``'autograd'`` runs the readable per-step loop and lets autograd derive it.

    Shapes (``D = 2`` if bidirectional else 1):
        input: (L, N, H_in), (N, L, H_in) if batch_first, or unbatched (L, H_in).
        hx: (D * num_layers, N, H) or unbatched (D * num_layers, H); zeros when omitted.
        returns ``(output, h_n)``: output (L, N, D * H) (batch first if batch_first),
        h_n (D * num_layers, N, H).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> rnn = rnnbook.RNN(3, 4, num_layers=2)
    >>> ref = torch.nn.RNN(3, 4, num_layers=2)
    >>> _ = ref.load_state_dict(rnn.state_dict())         # the same parameter names and shapes
    >>> x = torch.randn(5, 2, 3)                          # (L, N, H_in)
    >>> out, h_n = rnn(x)
    >>> tuple(out.shape), tuple(h_n.shape)                # (L, N, H), (num_layers, N, H)
    ((5, 2, 4), (2, 2, 4))
    >>> torch.allclose(out, ref(x)[0], atol=1e-6)
    True
    """

    _name = "RNN"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        *,
        bptt: str = "hand",
    ) -> None:
        self.nonlinearity = check_choice("nonlinearity", nonlinearity, _NONLINEARITIES)
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device=device, dtype=dtype,
            bptt=bptt,
        )

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity}"

    def _state_is_output(self) -> bool:
        # a ReLU state is unbounded: steps run past a sequence's end could overflow
        return self.nonlinearity == "tanh"

    def _step(self, gi_t: Tensor, state: tuple[Tensor, ...], params: Params) -> tuple[Tensor, ...]:
        _, w_hh, _, b_hh, _ = params
        return (elman_step(gi_t, state[0], w_hh, b_hh, self.nonlinearity),)

    def _bptt(self, x: Tensor, state: tuple[Tensor, ...], params: Params):
        w_ih, w_hh, b_ih, b_hh, _ = params
        # the Function does the input projection too: its backward needs no (L, N, H) δ buffer
        out, h_n = elman_bptt(x, state[0], w_ih, w_hh, b_ih, b_hh, self.nonlinearity)
        return out, (h_n,)
