r"""Global attention: Luong's three scores, the scaled dot product, Bahdanau's additive score,
and a decoder that uses them, with or without Luong's input feeding.

The notes ("强化 : Attention 注意力机制") replace the encoder's single context vector by
a context :math:`c_t` computed afresh at every decoder step from *all* encoder states
:math:`h_1, \dots, h_N` (Luong, Pham and Manning 2015, "global" attention). With
:math:`s_t` the decoder's state at step ``t`` and :math:`d` the size of :math:`h_i`:

.. math::

    \operatorname{score}(s_t, h_i) =
    \begin{cases}
        s_t^\top h_i & \text{dot} \\
        s_t^\top R\, h_i & \text{general} \\
        v_a^\top \tanh\left(R\, [s_t; h_i]\right) & \text{concat} \\
        s_t^\top h_i / \sqrt{d} & \text{scaled dot product (Vaswani et al. 2017)}
    \end{cases}

.. math::

    a_t(i) = \frac{\exp \operatorname{score}(s_t, h_i)}{\sum_j \exp \operatorname{score}(s_t, h_j)},
    \qquad c_t = \sum_i a_t(i)\, h_i,

.. math::

    \tilde h_t = \tanh\left(W_{cs\tilde h} [c_t; s_t] + b_{\tilde h}\right), \qquad
    o_t = \mathrm{SoftMax}\left(W_{ho} \tilde h_t + b_o\right).

Bahdanau, Cho and Bengio (2015) score with a small network,
:math:`e_{t,i} = v_a^\top \tanh(W_a s_{t-1} + U_a h_i)` (:class:`AdditiveAttention`), and
put the context *into* the recurrence; their decoder is
:class:`rnnbook.seq.bahdanau.BahdanauDecoder`. Luong's *input feeding* (their §3.3)
concatenates :math:`\tilde h_{t-1}` to the decoder's next input,
:math:`s_t = \mathrm{layer}([E y_{t-1}; \tilde h_{t-1}], s_{t-1})`, so that earlier
alignment decisions inform the next (:class:`AttentionDecoder` with ``input_feeding=True``).

Why :math:`1/\sqrt d`: for queries and keys with independent unit-variance entries,
:math:`s^\top h` has variance :math:`d`, so the softmax of unscaled scores saturates (one
weight near 1, a small Jacobian) as :math:`d` grows; :func:`softmax_saturation` measures it.

Padded source positions (``mask`` False) get weight exactly 0: their scores are set to
:math:`-\infty` before the softmax. The weights are returned, so they can be plotted
("权重数据可以用来画图，看看到底注意了什么").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnbook._validate import check_bool, check_choice, check_int, check_tensor
from rnnbook.seq.decoding import Decoder
from rnnbook.seq.padding import State, _call, _out_size, run_layer

__all__ = ["SCORES", "LuongAttention", "AdditiveAttention", "AttentionDecoder",
           "SaturationTable", "softmax_saturation"]

#: The score functions of :class:`LuongAttention`.
SCORES = ("dot", "general", "concat", "scaled_dot")


def _check_memory(s: Tensor, h: Tensor, mask: Tensor | None, query_size: int,
                  memory_size: int) -> tuple[Tensor, Tensor, Tensor | None, bool]:
    """Validate queries s (T, N, Hs), memory h (L, N, Hh), mask (L, N); add N = 1 if unbatched."""
    s = check_tensor("s", s, ndims=(2, 3))
    h = check_tensor("h", h, ndims=(s.dim(),))
    unbatched = s.dim() == 2
    if unbatched:
        s, h = s.unsqueeze(1), h.unsqueeze(1)
    if s.shape[-1] != query_size:
        raise ValueError(f"s must have {query_size} features (query_size) in its last "
                         f"dimension, got shape {tuple(s.shape)}")
    if h.shape[-1] != memory_size or h.shape[1] != s.shape[1]:
        raise ValueError(f"h must have shape (L, {s.shape[1]}, {memory_size}) = "
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
    return s, h, mask, unbatched


def _weigh(scores: Tensor, h: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """Softmax over the source of scores (T, N, L), padding at exactly 0, and the context."""
    if mask is not None:
        keep = mask.T.unsqueeze(0)                             # (1, N, L)
        scores = scores.masked_fill(~keep, float("-inf"))
    # a_t(i) = exp(score(s_t, h_i)) / sum_j exp(score(s_t, h_j))
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~keep, 0.0)              # exactly 0 at padding
    # c_t = sum_i a_t(i) h_i
    return torch.einsum("tnl,lnd->tnd", weights, h), weights


class _GlobalAttention(nn.Module):
    """Shared forward: check the shapes, score, weigh; subclasses define ``score``."""

    def reset_parameters(self) -> None:
        """Uniform in :math:`\\pm 1/\\sqrt{\\text{fan-in}}`, as torch's linear layers."""
        for p in self.parameters():
            bound = 1.0 / (p.shape[-1] ** 0.5)
            nn.init.uniform_(p, -bound, bound)

    def score(self, s: Tensor, h: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, s: Tensor, h: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        s, h, mask, unbatched = _check_memory(s, h, mask, self.query_size, self.memory_size)
        context, weights = _weigh(self.score(s, h), h, mask)
        if unbatched:
            return context[:, 0], weights[:, 0]
        return context, weights


class LuongAttention(_GlobalAttention):
    r"""Global attention of a query :math:`s_t` over memory vectors :math:`h_1 .. h_N`.

    Args:
        query_size: features of :math:`s_t` (the decoder's hidden size).
        memory_size: features of :math:`h_i` (the encoder's output size); for ``'dot'``
            and ``'scaled_dot'`` it must equal ``query_size``.
        score: ``'dot'``, ``'general'``, ``'concat'`` or ``'scaled_dot'`` (see the module
            docstring; ``'scaled_dot'`` divides the dot product by :math:`\sqrt{d}`).
        attention_size: rows of ``R`` for ``'concat'`` (default ``query_size``).

    Parameters: ``'general'`` has ``R`` of shape (query_size, memory_size); ``'concat'``
    has ``R`` of shape (attention_size, query_size + memory_size) and ``v_a`` of shape
    (attention_size,); ``'dot'`` and ``'scaled_dot'`` have none.

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
    >>> scaled = rnnbook.LuongAttention(6, 6, score="scaled_dot")   # s_t^T h_i / sqrt(6)
    >>> torch.allclose(scaled.score(h, h)[:, 0], h[:, 0] @ h[:, 0].T / 6 ** 0.5)
    True
    """

    def __init__(self, query_size: int, memory_size: int, score: str = "dot", *,
                 attention_size: int | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        self.score_name = check_choice("score", score, SCORES)
        self.query_size = check_int("query_size", query_size, minimum=1)
        self.memory_size = check_int("memory_size", memory_size, minimum=1)
        if score in ("dot", "scaled_dot") and query_size != memory_size:
            raise ValueError(
                f"score={score!r} needs query_size == memory_size (s_t^T h_i), got "
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

    def extra_repr(self) -> str:
        return f"{self.query_size}, {self.memory_size}, score={self.score_name!r}"

    def score(self, s: Tensor, h: Tensor) -> Tensor:
        """Raw scores (T, N, L) of queries s (T, N, Hs) against memory h (L, N, Hh)."""
        if self.score_name == "dot":
            # score = s_t^T h_i
            return torch.einsum("tnd,lnd->tnl", s, h)
        if self.score_name == "scaled_dot":
            # score = s_t^T h_i / sqrt(d)
            return torch.einsum("tnd,lnd->tnl", s, h) / math.sqrt(self.memory_size)
        if self.score_name == "general":
            # score = s_t^T R h_i
            return torch.einsum("tnd,de,lne->tnl", s, self.R, h)
        # score = v_a^T tanh(R [s_t; h_i]), R = [R_s R_h] split by columns
        r_s, r_h = self.R[:, : self.query_size], self.R[:, self.query_size:]
        hidden = torch.tanh((s @ r_s.T).unsqueeze(2) + (h @ r_h.T).transpose(0, 1).unsqueeze(0))
        return hidden @ self.v_a


class AdditiveAttention(_GlobalAttention):
    r"""Bahdanau's additive attention ("alignment model"):

    .. math:: e_{t,i} = v_a^\top \tanh\left(W_a s_{t-1} + U_a h_i\right), \qquad
              \alpha_{t,i} = \frac{\exp e_{t,i}}{\sum_j \exp e_{t,j}}, \qquad
              c_t = \sum_i \alpha_{t,i} h_i .

    Args:
        query_size: features of the query :math:`s_{t-1}` (the decoder's hidden size).
        memory_size: features of :math:`h_i` (the encoder's outputs).
        attention_size: rows of :math:`W_a` and :math:`U_a` (:math:`n'` in the paper;
            default ``query_size``).

    Parameters ``W_a`` (attention_size, query_size), ``U_a`` (attention_size,
    memory_size), ``v_a`` (attention_size,); no bias, as in the paper. :math:`U_a h_i`
    does not depend on :math:`t`: :meth:`keys` computes it once per source, and
    :meth:`score_keys` scores queries against it. ``forward(s, h, mask=None)`` has the
    shapes of :class:`LuongAttention`'s. (Luong's ``'concat'`` score is the same function
    with :math:`R = [W_a\ U_a]`; what differs in Bahdanau's model is the query, the
    previous state, and where the context goes.)

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> attention = rnnbook.AdditiveAttention(4, 6, attention_size=5)
    >>> s, h = torch.randn(3, 2, 4), torch.randn(7, 2, 6)     # queries s_{t-1}, memory h_i
    >>> context, weights = attention(s, h)
    >>> tuple(context.shape), tuple(weights.shape)
    ((3, 2, 6), (3, 2, 7))
    >>> e = torch.tanh(s[0, 0] @ attention.W_a.T + h[:, 0] @ attention.U_a.T) @ attention.v_a
    >>> torch.allclose(weights[0, 0], torch.softmax(e, 0))  # v_a^T tanh(W_a s + U_a h_i)
    True
    """

    def __init__(self, query_size: int, memory_size: int, *, attention_size: int | None = None,
                 dtype: torch.dtype | None = None):
        super().__init__()
        self.query_size = check_int("query_size", query_size, minimum=1)
        self.memory_size = check_int("memory_size", memory_size, minimum=1)
        size = query_size if attention_size is None else check_int("attention_size", attention_size,
                                                                    minimum=1)
        self.attention_size = size
        self.W_a = nn.Parameter(torch.empty(size, query_size, dtype=dtype))
        self.U_a = nn.Parameter(torch.empty(size, memory_size, dtype=dtype))
        self.v_a = nn.Parameter(torch.empty(size, dtype=dtype))
        self.reset_parameters()

    def extra_repr(self) -> str:
        return f"{self.query_size}, {self.memory_size}, attention_size={self.attention_size}"

    def keys(self, h: Tensor) -> Tensor:
        """:math:`U_a h_i` (L, N, attention_size) for memory h (L, N, memory_size)."""
        return h @ self.U_a.T

    def score_keys(self, s: Tensor, keys: Tensor) -> Tensor:
        """Scores (T, N, L) of queries s (T, N, Hs) against ``keys`` = :meth:`keys` (h)."""
        # e_{t,i} = v_a^T tanh(W_a s_{t-1} + U_a h_i)
        hidden = torch.tanh((s @ self.W_a.T).unsqueeze(2) + keys.transpose(0, 1).unsqueeze(0))
        return hidden @ self.v_a

    def score(self, s: Tensor, h: Tensor) -> Tensor:
        """Raw scores (T, N, L) of queries s (T, N, Hs) against memory h (L, N, Hh)."""
        return self.score_keys(s, self.keys(h))


def _state_parts(layer: nn.Module) -> int:
    """How many tensors the layer's state has (1, or 2 for an LSTM's (h, c))."""
    weight = next(layer.parameters())
    with torch.no_grad():
        _, state = _call(layer, weight.new_zeros(1, 1, layer.input_size), None)
    return len(state) if isinstance(state, tuple) else 1


def _keep(new: State, old: State | None, alive: Tensor | None) -> State:
    """Each sequence takes its new state while alive (N,), else keeps the old (past its end;
    an old state of None is zeros)."""
    if alive is None:
        return new
    if old is None:
        old = tuple(torch.zeros_like(v) for v in new) if isinstance(new, tuple) else torch.zeros_like(new)
    a = alive.view(1, -1, 1)
    if isinstance(new, tuple):
        return tuple(torch.where(a, n, o) for n, o in zip(new, old, strict=True))
    return torch.where(a, new, old)


class AttentionDecoder(Decoder):
    r"""A :class:`rnnbook.seq.decoding.Decoder` with Luong attention in its readout:

    .. math:: \tilde h_t = \tanh(W_{cs\tilde h} [c_t; s_t] + b_{\tilde h}), \qquad
              o_t = W_{ho} \tilde h_t + b_o \ \text{(scores; softmax in the loss)}.

    Args:
        layer, vocab_size, embedding_dim, encoding: as :class:`rnnbook.seq.decoding.Decoder`.
            With ``input_feeding`` the layer's ``input_size`` is the token vectors' size
            plus ``attentional_size``.
        memory_size: features of the encoder outputs :math:`h_i`.
        score: ``'dot'``, ``'general'``, ``'concat'`` or ``'scaled_dot'`` (:class:`LuongAttention`).
        attentional_size: size of :math:`\tilde h_t` (default: the layer's hidden size).
        input_feeding: Luong's §3.3: :math:`s_t = \mathrm{layer}([E y_{t-1}; \tilde h_{t-1}],
            s_{t-1})` with :math:`\tilde h_0 = 0` (default False).

    ``combine`` is the linear map :math:`W_{cs\tilde h}, b_{\tilde h}` (shape
    (attentional_size, memory_size + H)); ``head`` maps :math:`\tilde h_t` to the V scores.
    :meth:`attend` returns :math:`\tilde h_t` (T, N, attentional_size) and the weights
    (T, N, L). Without input feeding, :math:`s_t` does not read :math:`\tilde h_{t-1}`, so
    teacher forcing runs all steps in one layer call; with it, the decoder steps one
    token at a time and its state is the flat tuple (layer state..., :math:`\tilde h_t`
    as (1, N, attentional_size)); a layer state alone (e.g. the encoder's) starts it
    with :math:`\tilde h_0 = 0`. :meth:`forward_weights` also returns the weights.

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
    >>> feeding = rnnbook.AttentionDecoder(rnnbook.GRU(4 + 8, 8), vocab_size=6, memory_size=8,
    ...                                    embedding_dim=4, input_feeding=True)
    >>> scores, (s_T, h_tilde_T) = feeding(tokens, memory=memory)   # state: (s_T, h~_T)
    >>> tuple(scores.shape), tuple(h_tilde_T.shape)
    ((3, 2, 6), (1, 2, 8))
    """

    def __init__(self, layer: nn.Module, vocab_size: int, *, memory_size: int, score: str = "dot",
                 attentional_size: int | None = None, embedding_dim: int | None = None,
                 encoding: str = "embedding", input_feeding: bool = False,
                 dtype: torch.dtype | None = None):
        check_choice("score", score, SCORES)
        self.input_feeding = check_bool("input_feeding", input_feeding)
        hidden = _out_size(layer)
        size = hidden if attentional_size is None else check_int("attentional_size", attentional_size,
                                                                 minimum=1)
        super().__init__(layer, vocab_size, embedding_dim=embedding_dim, encoding=encoding, dtype=dtype,
                         extra_input_size=size if input_feeding else 0)
        self.attention = LuongAttention(hidden, memory_size, score, dtype=dtype)
        self.combine = nn.Linear(memory_size + hidden, size, dtype=dtype)
        self.readout_size = size
        self.head = nn.Linear(size, vocab_size, dtype=dtype)
        self._parts = _state_parts(layer) if input_feeding else 0

    def extra_repr(self) -> str:
        return f"input_feeding={self.input_feeding}"

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

    def _split_state(self, state: State | None, batch: int, like: Tensor) -> tuple[State | None, Tensor]:
        """(layer state, h~_{t-1} (N, A)) from a decoder state, a layer state or None."""
        zeros = like.new_zeros(batch, self.readout_size)
        if state is None:
            return None, zeros
        parts = state if isinstance(state, tuple) else (state,)
        if len(parts) == self._parts:
            return state, zeros
        if len(parts) != self._parts + 1:
            raise ValueError(f"state must be the layer's state ({self._parts} tensor(s)) or the "
                             f"decoder's (the layer's and h~_t: {self._parts + 1}), got {len(parts)}")
        layer_state = parts[:-1] if self._parts > 1 else parts[0]
        return layer_state, parts[-1][0]

    def forward_weights(self, tokens: Tensor, state: State | None = None, lengths: object = None,
                        memory: Tensor | None = None,
                        memory_mask: Tensor | None = None) -> tuple[Tensor, State, Tensor]:
        """Teacher forcing as :meth:`forward`; returns scores (T, N, V), the final state and
        the attention weights (T, N, L)."""
        x, lens, mask = self._inputs(tokens, lengths)
        if not self.input_feeding:
            s, state = run_layer(self.layer, x, lens, state)
            h_tilde, weights = self.attend(s, memory, memory_mask)
            return self._scores(h_tilde, mask), state, weights
        if memory is None:
            raise ValueError("memory must be the encoder outputs (L, N, memory_size) for an "
                             "attention decoder, got None")
        state, feed = self._split_state(state, x.shape[1], memory)
        outs, weights = [], []
        for t in range(x.shape[0]):
            # s_t = layer([E y_{t-1}; h~_{t-1}], s_{t-1})
            s, new = _call(self.layer, torch.cat([x[t], feed], -1).unsqueeze(0), state)
            h_tilde, w = self.attend(s, memory, memory_mask)
            alive = None if mask is None else mask[t]
            state = _keep(new, state, alive)
            feed = h_tilde[0] if alive is None else torch.where(alive[:, None], h_tilde[0], feed)
            outs.append(h_tilde[0])
            weights.append(w[0])
        parts = state if isinstance(state, tuple) else (state,)
        return self._scores(torch.stack(outs), mask), parts + (feed.unsqueeze(0),), torch.stack(weights)

    def forward(self, tokens: Tensor, state: State | None = None, lengths: object = None,
                memory: Tensor | None = None, memory_mask: Tensor | None = None) -> tuple[Tensor, State]:
        """Teacher forcing: scores (T, N, V) for the next tokens and the final state."""
        if not self.input_feeding:
            return super().forward(tokens, state, lengths, memory, memory_mask)
        scores, state, _ = self.forward_weights(tokens, state, lengths, memory, memory_mask)
        return scores, state


@dataclass(frozen=True)
class SaturationTable:
    r"""What :func:`softmax_saturation` measured, one entry per dimension in ``dims``.

    ``std_*``: the standard deviation of the scores; ``entropy_*``: the mean entropy of
    the weights in nats (:math:`\log L` is uniform, 0 is one-hot); ``max_weight_*``: the mean
    largest weight; ``jacobian_*``: the mean Frobenius norm of the softmax's Jacobian
    :math:`\operatorname{diag}(a) - a a^\top` (what a gradient through it is multiplied by).
    ``*_raw`` for :math:`q^\top k`, ``*_scaled`` for :math:`q^\top k / \sqrt d`.

    >>> table = rnnbook.softmax_saturation([4], keys=8, queries=16, seed=0)
    >>> table.dims, len(table.entropy_raw)
    ([4], 1)
    """

    dims: list[int]
    keys: int
    std_raw: list[float]
    std_scaled: list[float]
    entropy_raw: list[float]
    entropy_scaled: list[float]
    max_weight_raw: list[float]
    max_weight_scaled: list[float]
    jacobian_raw: list[float]
    jacobian_scaled: list[float]


def softmax_saturation(dims: Sequence[int], *, keys: int = 16, queries: int = 1000,
                       seed: int = 0) -> SaturationTable:
    r"""Measure how the softmax of dot-product scores saturates as the dimension grows.

    For each :math:`d` in ``dims``, draws ``queries`` queries :math:`q` and, for each,
    ``keys`` keys :math:`k_i`, all entries independent :math:`\mathcal N(0, 1)` (float64,
    ``torch.Generator`` seeded with ``seed``), and takes the softmax over the keys of

    .. math:: q^\top k_i \ \ (\mathrm{Var} = d) \qquad \text{and} \qquad
              q^\top k_i / \sqrt d \ \ (\mathrm{Var} = 1).

    Returns a :class:`SaturationTable` (entropies, largest weights, Jacobian norms).

    >>> table = rnnbook.softmax_saturation([1, 64, 512], keys=16, queries=500, seed=0)
    >>> [round(s) for s in table.std_raw], [round(s) for s in table.std_scaled]   # sqrt(d), 1
    ([1, 8, 23], [1, 1, 1])
    >>> table.max_weight_raw[-1] > 0.9 > 0.5 > table.max_weight_scaled[-1]   # unscaled: one-hot
    True
    """
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence) or not dims:
        raise TypeError(f"dims must be a non-empty sequence of ints, got {dims!r}")
    dims = [check_int("dims[i]", d, minimum=1) for d in dims]
    keys = check_int("keys", keys, minimum=2)
    queries = check_int("queries", queries, minimum=1)
    g = torch.Generator().manual_seed(check_int("seed", seed))
    out: dict[str, list[float]] = {}
    for d in dims:
        q = torch.randn(queries, 1, d, generator=g, dtype=torch.float64)
        k = torch.randn(queries, keys, d, generator=g, dtype=torch.float64)
        raw = (q * k).sum(-1)                                   # (queries, keys)
        for name, scores in (("raw", raw), ("scaled", raw / math.sqrt(d))):
            a = torch.softmax(scores, -1)
            entropy = -(a * torch.log(a.clamp_min(1e-300))).sum(-1)
            jac = torch.diag_embed(a) - a.unsqueeze(-1) * a.unsqueeze(-2)
            for key, value in (("std", scores.std()), ("entropy", entropy.mean()),
                               ("max_weight", a.max(-1).values.mean()),
                               ("jacobian", jac.flatten(1).norm(dim=-1).mean())):
                out.setdefault(f"{key}_{name}", []).append(float(value))
    return SaturationTable(dims=dims, keys=keys, **out)
