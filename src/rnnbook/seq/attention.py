r"""Luong's global attention, and a decoder that uses it.

The notes ("强化 : Attention 注意力机制") replace the encoder's single context vector by
a context :math:`c_t` computed afresh at every decoder step from *all* encoder states
:math:`h_1, \dots, h_N` (Luong, Pham and Manning 2015, "global" attention). With
:math:`s_t` the decoder's state at step ``t``:

.. math::

    \operatorname{score}(s_t, h_i) =
    \begin{cases}
        s_t^\top h_i & \text{dot} \\
        s_t^\top R\, h_i & \text{general} \\
        v_a^\top \tanh\left(R\, [s_t; h_i]\right) & \text{concat}
    \end{cases}

.. math::

    a_t(i) = \frac{\exp \operatorname{score}(s_t, h_i)}{\sum_j \exp \operatorname{score}(s_t, h_j)},
    \qquad c_t = \sum_i a_t(i)\, h_i,

.. math::

    \tilde h_t = \tanh\left(W_{cs\tilde h} [c_t; s_t] + b_{\tilde h}\right), \qquad
    o_t = \mathrm{SoftMax}\left(W_{ho} \tilde h_t + b_o\right).

Padded source positions (``mask`` False) get weight exactly 0: their scores are set to
:math:`-\infty` before the softmax. The weights are returned, so they can be plotted
("权重数据可以用来画图，看看到底注意了什么").

:class:`AttentionDecoder` is a :class:`rnnbook.seq.decoding.Decoder` whose readout is
:math:`\tilde h_t`; put it in an :class:`rnnbook.seq.seq2seq.Seq2Seq` (or
:class:`rnnbook.seq.decoding.NToM`) and the encoder's outputs become its memory.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnbook._validate import check_choice, check_int, check_tensor
from rnnbook.seq.decoding import Decoder
from rnnbook.seq.padding import _out_size

__all__ = ["SCORES", "LuongAttention", "AttentionDecoder"]

#: The score functions of :class:`LuongAttention`.
SCORES = ("dot", "general", "concat")


class LuongAttention(nn.Module):
    r"""Global attention of a query :math:`s_t` over memory vectors :math:`h_1 .. h_N`.

    Args:
        query_size: features of :math:`s_t` (the decoder's hidden size).
        memory_size: features of :math:`h_i` (the encoder's output size); for ``'dot'``
            it must equal ``query_size``.
        score: ``'dot'``, ``'general'`` or ``'concat'`` (see the module docstring).
        attention_size: rows of ``R`` for ``'concat'`` (default ``query_size``).

    Parameters: ``'general'`` has ``R`` of shape (query_size, memory_size); ``'concat'``
    has ``R`` of shape (attention_size, query_size + memory_size) and ``v_a`` of shape
    (attention_size,); ``'dot'`` has none.

    ``forward(s, h, mask=None) -> (context, weights)``: ``s`` (T, N, query_size),
    ``h`` (L, N, memory_size), ``mask`` (L, N) True at real positions; returns
    ``context`` (T, N, memory_size) and ``weights`` (T, N, L). Unbatched: ``s`` (T, Hs),
    ``h`` (L, Hh), ``mask`` (L,) give (T, Hh) and (T, L).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> attention = rnnbook.LuongAttention(4, 6, score="general")   # score = s_t^T R h_i
    >>> s, h = torch.randn(3, 2, 4), torch.randn(5, 2, 6)   # queries (T, N, Hs), memory (L, N, Hh)
    >>> mask = rnnbook.length_mask(torch.tensor([5, 2]), 5) # the second source has 2 steps
    >>> context, weights = attention(s, h, mask)
    >>> tuple(context.shape), tuple(weights.shape)          # c_t (T, N, Hh), a_t (T, N, L)
    ((3, 2, 6), (3, 2, 5))
    >>> torch.allclose(weights.sum(-1), torch.ones(3, 2)), bool((weights[:, 1, 2:] == 0).all())
    (True, True)
    """

    def __init__(self, query_size: int, memory_size: int, score: str = "dot", *,
                 attention_size: int | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        self.score_name = check_choice("score", score, SCORES)
        self.query_size = check_int("query_size", query_size, minimum=1)
        self.memory_size = check_int("memory_size", memory_size, minimum=1)
        if score == "dot" and query_size != memory_size:
            raise ValueError(
                "score='dot' needs query_size == memory_size (s_t^T h_i), got "
                f"query_size={query_size}, memory_size={memory_size}; use 'general' or 'concat'"
            )
        if score == "general":
            self.R = nn.Parameter(torch.empty(query_size, memory_size, dtype=dtype))
        elif score == "concat":
            size = query_size if attention_size is None else check_int(
                "attention_size", attention_size, minimum=1)
            self.R = nn.Parameter(torch.empty(size, query_size + memory_size, dtype=dtype))
            self.v_a = nn.Parameter(torch.empty(size, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform in :math:`\\pm 1/\\sqrt{\\text{fan-in}}`, as torch's linear layers."""
        for p in self.parameters():
            bound = 1.0 / (p.shape[-1] ** 0.5)
            nn.init.uniform_(p, -bound, bound)

    def extra_repr(self) -> str:
        return f"{self.query_size}, {self.memory_size}, score={self.score_name!r}"

    def score(self, s: Tensor, h: Tensor) -> Tensor:
        """Raw scores (T, N, L) of queries s (T, N, Hs) against memory h (L, N, Hh)."""
        if self.score_name == "dot":
            # score = s_t^T h_i
            return torch.einsum("tnd,lnd->tnl", s, h)
        if self.score_name == "general":
            # score = s_t^T R h_i
            return torch.einsum("tnd,de,lne->tnl", s, self.R, h)
        # score = v_a^T tanh(R [s_t; h_i]), R = [R_s R_h] split by columns
        r_s, r_h = self.R[:, : self.query_size], self.R[:, self.query_size:]
        hidden = torch.tanh((s @ r_s.T).unsqueeze(2) + (h @ r_h.T).transpose(0, 1).unsqueeze(0))
        return hidden @ self.v_a

    def forward(self, s: Tensor, h: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        s = check_tensor("s", s, ndims=(2, 3))
        h = check_tensor("h", h, ndims=(s.dim(),))
        unbatched = s.dim() == 2
        if unbatched:
            s, h = s.unsqueeze(1), h.unsqueeze(1)
        if s.shape[-1] != self.query_size:
            raise ValueError(f"s must have {self.query_size} features (query_size) in its last "
                             f"dimension, got shape {tuple(s.shape)}")
        if h.shape[-1] != self.memory_size or h.shape[1] != s.shape[1]:
            raise ValueError(f"h must have shape (L, {s.shape[1]}, {self.memory_size}) = "
                             f"(source steps, batch, memory_size), got {tuple(h.shape)}")
        if h.shape[0] == 0:
            raise ValueError("h must hold at least one source step to attend to (a softmax over no "
                             f"positions has no value), got shape {tuple(h.shape[:1] if unbatched else h.shape)}")
        if mask is not None:
            expected = tuple(h.shape[:1]) if unbatched else tuple(h.shape[:2])
            if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
                raise TypeError(f"mask must be a bool tensor, got {getattr(mask, 'dtype', type(mask).__name__)}")
            if tuple(mask.shape) != expected:
                raise ValueError(f"mask must have shape {expected} = (source steps{'' if unbatched else ', batch'}) "
                                 f"like h, got {tuple(mask.shape)}")
            if unbatched:
                mask = mask.unsqueeze(1)
            if not bool(mask.any(0).all()):
                raise ValueError("mask must keep at least one source position of every sequence")
        scores = self.score(s, h)                                  # (T, N, L)
        if mask is not None:
            keep = mask.T.unsqueeze(0)                             # (1, N, L)
            scores = scores.masked_fill(~keep, float("-inf"))
        # a_t(i) = exp(score(s_t, h_i)) / sum_j exp(score(s_t, h_j))
        weights = torch.softmax(scores, dim=-1)
        if mask is not None:
            weights = weights.masked_fill(~keep, 0.0)              # exactly 0 at padding
        # c_t = sum_i a_t(i) h_i
        context = torch.einsum("tnl,lnd->tnd", weights, h)
        if unbatched:
            return context[:, 0], weights[:, 0]
        return context, weights


class AttentionDecoder(Decoder):
    r"""A :class:`rnnbook.seq.decoding.Decoder` with Luong attention in its readout:

    .. math:: \tilde h_t = \tanh(W_{cs\tilde h} [c_t; s_t] + b_{\tilde h}), \qquad
              o_t = W_{ho} \tilde h_t + b_o \ \text{(scores; softmax in the loss)}.

    Args:
        layer, vocab_size, embedding_dim, encoding: as :class:`rnnbook.seq.decoding.Decoder`.
        memory_size: features of the encoder outputs :math:`h_i`.
        score: ``'dot'``, ``'general'`` or ``'concat'`` (:class:`LuongAttention`).
        attentional_size: size of :math:`\tilde h_t` (default: the layer's hidden size).

    ``combine`` is the linear map :math:`W_{cs\tilde h}, b_{\tilde h}` (shape
    (attentional_size, memory_size + H)); ``head`` maps :math:`\tilde h_t` to the V scores.
    :meth:`attend` returns :math:`\tilde h_t` (T, N, attentional_size) and the weights
    (T, N, L). This is Luong's global attention without input feeding: :math:`s_t` does
    not read :math:`\tilde h_{t-1}`, so teacher forcing runs all steps in one layer call.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> decoder = rnnbook.AttentionDecoder(rnnbook.GRU(4, 8), vocab_size=6, memory_size=8,
    ...                                    embedding_dim=4, score="dot")
    >>> memory = torch.randn(5, 2, 8)                      # encoder outputs h_i: (L, N, memory_size)
    >>> tokens = torch.randint(6, (3, 2))
    >>> scores, state = decoder(tokens, memory=memory)     # o_t = W_ho h~_t + b_o
    >>> tuple(scores.shape)
    (3, 2, 6)
    >>> s, _ = decoder.layer(decoder.input(tokens))
    >>> h_tilde, weights = decoder.attend(s, memory)
    >>> tuple(h_tilde.shape), tuple(weights.shape)
    ((3, 2, 8), (3, 2, 5))
    """

    def __init__(self, layer: nn.Module, vocab_size: int, *, memory_size: int, score: str = "dot",
                 attentional_size: int | None = None, embedding_dim: int | None = None,
                 encoding: str = "embedding", dtype: torch.dtype | None = None):
        check_choice("score", score, SCORES)
        super().__init__(layer, vocab_size, embedding_dim=embedding_dim, encoding=encoding, dtype=dtype)
        hidden = _out_size(layer)
        size = hidden if attentional_size is None else check_int("attentional_size", attentional_size,
                                                                 minimum=1)
        self.attention = LuongAttention(hidden, memory_size, score, dtype=dtype)
        self.combine = nn.Linear(memory_size + hidden, size, dtype=dtype)
        self.readout_size = size
        self.head = nn.Linear(size, vocab_size, dtype=dtype)

    def attend(self, s: Tensor, memory: Tensor, memory_mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """:math:`\\tilde h_t` (T, N, attentional_size) and the weights (T, N, L) for states s (T, N, H)."""
        if memory is None:
            raise ValueError("memory must be the encoder outputs (L, N, memory_size) for an "
                             "attention decoder, got None")
        context, weights = self.attention(s, memory, memory_mask)
        # h~_t = tanh(W [c_t; s_t] + b)
        h_tilde = torch.tanh(self.combine(torch.cat([context, s], dim=-1)))
        return h_tilde, weights

    def readout(self, s: Tensor, memory: Tensor | None = None, memory_mask: Tensor | None = None) -> Tensor:
        """:math:`\\tilde h_t` from the states s (T, N, H) and the memory (L, N, memory_size)."""
        return self.attend(s, memory, memory_mask)[0]
