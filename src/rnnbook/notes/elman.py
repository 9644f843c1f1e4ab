r"""The notes' networks, in the notes' notation: the one-hidden-layer MLP and the Elman RNN.

The notes write column vectors and name the parameters after the arrows they carry:

.. math::

    h_t &= \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b_h) \\
    o_t &= \operatorname{softmax}(W_{ho} h_t + b_o)

with :math:`x_t \in \mathbb{R}^l`, :math:`h_t \in \mathbb{R}^m`, :math:`o_t \in \mathbb{R}^q`,
:math:`W_{xh} \in \mathbb{R}^{m \times l}`, :math:`W_{hh} \in \mathbb{R}^{m \times m}`,
:math:`W_{ho} \in \mathbb{R}^{q \times m}`. The MLP is the same network without the
recurrent term: each step sees only its own :math:`x_t`.

Both modules take a batch in the layer convention of :class:`rnnbook.layers.rnn.RNN` (time-major
``(T, N, l)``, or ``(N, T, l)`` with ``batch_first``, or unbatched ``(T, l)``) and return
the *scores* :math:`z_t = W_{ho} h_t + b_o` (the input of the softmax, what a
cross-entropy loss wants); :meth:`ElmanNetwork.probabilities` returns :math:`o_t` itself.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnbook._validate import check_bool, check_int, check_shape, check_tensor

__all__ = ["ElmanNetwork", "MLP"]


class _NotesNetwork(nn.Module):
    """Shared parameters and checks of the notes' two networks."""

    _recurrent = True

    def __init__(self, input_size: int, hidden_size: int, output_size: int, batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        self.input_size = check_int("input_size", input_size, minimum=1)
        self.hidden_size = check_int("hidden_size", hidden_size, minimum=1)
        self.output_size = check_int("output_size", output_size, minimum=1)
        self.batch_first = check_bool("batch_first", batch_first)
        factory = {"device": device, "dtype": dtype}
        m, l, q = hidden_size, input_size, output_size
        self.W_xh = nn.Parameter(torch.empty(m, l, **factory))
        if self._recurrent:
            self.W_hh = nn.Parameter(torch.empty(m, m, **factory))
        self.W_ho = nn.Parameter(torch.empty(q, m, **factory))
        self.b_h = nn.Parameter(torch.empty(m, **factory))
        self.b_o = nn.Parameter(torch.empty(q, **factory))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw ``W_xh``, ``W_hh``, ``b_h`` from U(±1/sqrt(m)) and ``W_ho``, ``b_o`` from U(±1/sqrt(m)),
        the bounds torch uses for ``nn.RNN`` and for an ``nn.Linear`` with ``m`` inputs."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        s = f"l={self.input_size}, m={self.hidden_size}, q={self.output_size}"
        return s + (", batch_first=True" if self.batch_first else "")

    def _time_major(self, input: object) -> tuple[Tensor, bool]:
        x = check_tensor("input", input, ndims=(2, 3), dtype=self.W_xh.dtype)
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"input must have {self.input_size} features (l, input_size) in its last dimension, "
                f"got shape {tuple(x.shape)}"
            )
        batched = x.dim() == 3
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, batched

    def _restore_layout(self, z: Tensor, batched: bool) -> Tensor:
        if not batched:
            return z.squeeze(1)
        return z.transpose(0, 1) if self.batch_first else z


class ElmanNetwork(_NotesNetwork):
    r"""The notes' RNN with its output layer: parameters ``W_xh``, ``W_hh``, ``W_ho``, ``b_h``, ``b_o``.

    ``forward(input, h0=None) -> (z, h_n)`` where ``z[t] = W_ho h_t + b_o`` are the scores
    (apply softmax for :math:`o_t`), shaped like the input with ``q`` features, and ``h_n``
    is the last hidden state, ``(N, m)`` (``(m,)`` unbatched). ``h0`` defaults to zeros.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = rnnbook.ElmanNetwork(3, 4, 2)                # l = 3 inputs, m = 4 hidden, q = 2 outputs
    >>> net
    ElmanNetwork(l=3, m=4, q=2)
    >>> [(name, tuple(p.shape)) for name, p in net.named_parameters()]
    [('W_xh', (4, 3)), ('W_hh', (4, 4)), ('W_ho', (2, 4)), ('b_h', (4,)), ('b_o', (2,))]
    >>> z, h_n = net(torch.randn(5, 2, 3))                 # x: (T, N, l)
    >>> tuple(z.shape), tuple(h_n.shape)                   # scores z_t: (T, N, q); h_T: (N, m)
    ((5, 2, 2), (2, 4))
    >>> o = net.probabilities(torch.randn(5, 2, 3))        # o_t = softmax(z_t)
    >>> torch.allclose(o.sum(-1), torch.ones(5, 2))
    True
    """

    def forward(self, input: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x, batched = self._time_major(input)
        batch = x.shape[1]
        if h0 is None:
            h = x.new_zeros(batch, self.hidden_size)
        else:
            h = check_tensor("h0", h0, ndims=(2 if batched else 1,), dtype=x.dtype)
            check_shape("h0", h, (batch, self.hidden_size) if batched else (self.hidden_size,), "(batch, m)" if batched else "(m,)")
            h = h if batched else h.unsqueeze(0)
        # W_xh x_t + b_h for every t in one product (row vectors: x_t W_xh^T)
        xw = x @ self.W_xh.T + self.b_h
        hs = []
        for t in range(x.shape[0]):
            h = torch.tanh(xw[t] + h @ self.W_hh.T)  # h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)
            hs.append(h)
        z = torch.stack(hs) @ self.W_ho.T + self.b_o  # z_t = W_ho h_t + b_o
        return self._restore_layout(z, batched), (h if batched else h.squeeze(0))

    def probabilities(self, input: Tensor, h0: Tensor | None = None) -> Tensor:
        """:math:`o_t = \\operatorname{softmax}(W_{ho} h_t + b_o)` for every step."""
        return torch.softmax(self(input, h0)[0], dim=-1)

    @classmethod
    def from_torch(cls, rnn: nn.Module, linear: nn.Linear) -> "ElmanNetwork":
        """Build the notes' network from a one-layer tanh ``torch.nn.RNN`` (or ``rnnbook.RNN``)
        followed by a ``torch.nn.Linear``: ``W_xh = weight_ih_l0``, ``W_hh = weight_hh_l0``,
        ``b_h = bias_ih_l0 + bias_hh_l0``, ``W_ho = linear.weight``, ``b_o = linear.bias``.

        >>> import torch
        >>> _ = torch.manual_seed(0)
        >>> rnn, linear = torch.nn.RNN(3, 4), torch.nn.Linear(4, 2)
        >>> net = rnnbook.ElmanNetwork.from_torch(rnn, linear)
        >>> x = torch.randn(5, 2, 3)
        >>> torch.allclose(net(x)[0], linear(rnn(x)[0]), atol=1e-6)
        True
        """
        if getattr(rnn, "num_layers", None) != 1 or getattr(rnn, "bidirectional", True) or getattr(rnn, "nonlinearity", None) != "tanh":
            raise ValueError("from_torch needs a one-layer, unidirectional, tanh RNN")
        if not rnn.bias or linear.bias is None:
            raise ValueError("from_torch needs an RNN and a Linear with biases (bias=True)")
        if linear.in_features != rnn.hidden_size:
            raise ValueError(f"linear.in_features must equal rnn.hidden_size ({rnn.hidden_size}), got {linear.in_features}")
        w = rnn.weight_ih_l0
        net = cls(rnn.input_size, rnn.hidden_size, linear.out_features, batch_first=rnn.batch_first, device=w.device, dtype=w.dtype)
        with torch.no_grad():
            net.W_xh.copy_(rnn.weight_ih_l0)
            net.W_hh.copy_(rnn.weight_hh_l0)
            net.b_h.copy_(rnn.bias_ih_l0 + rnn.bias_hh_l0)
            net.W_ho.copy_(linear.weight)
            net.b_o.copy_(linear.bias)
        return net


class MLP(_NotesNetwork):
    r"""The notes' one-hidden-layer MLP applied to each step on its own (no memory).

    :math:`h_t = \tanh(W_{xh} x_t + b_h)`, :math:`z_t = W_{ho} h_t + b_o`: the Elman network with
    :math:`W_{hh} = 0`. ``forward(input) -> z`` with the same shapes as :class:`ElmanNetwork`.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> mlp = rnnbook.MLP(3, 4, 2)
    >>> x = torch.randn(5, 2, 3)
    >>> tuple(mlp(x).shape)                                # z_t = W_ho tanh(W_xh x_t + b_h) + b_o
    (5, 2, 2)
    >>> torch.allclose(mlp(x)[2], mlp(x[2:3])[0])          # each step on its own: no memory
    True
    """

    _recurrent = False

    def forward(self, input: Tensor) -> Tensor:
        x, batched = self._time_major(input)
        h = torch.tanh(x @ self.W_xh.T + self.b_h)
        return self._restore_layout(h @ self.W_ho.T + self.b_o, batched)
