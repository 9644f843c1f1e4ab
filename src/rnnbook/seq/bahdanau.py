r"""Bahdanau's decoder: the context enters the recurrence.

Bahdanau, Cho and Bengio (2015, "Neural machine translation by jointly learning to align
and translate") score every encoder state :math:`h_i` against the decoder's *previous*
state :math:`s_{t-1}` with a small network, and feed the context into the recurrent
step itself:

.. math::

    e_{t,i} = v_a^\top \tanh\left(W_a s_{t-1} + U_a h_i\right), \qquad
    \alpha_{t,i} = \frac{\exp e_{t,i}}{\sum_j \exp e_{t,j}}, \qquad
    c_t = \sum_i \alpha_{t,i} h_i,

.. math::

    s_t = f\left(s_{t-1}, y_{t-1}, c_t\right) = \mathrm{layer}\left([E y_{t-1}; c_t], s_{t-1}\right),
    \qquad o_t = g\left(y_{t-1}, s_t, c_t\right) = W_{ho} [s_t; c_t; E y_{t-1}] + b_o .

Luong's global attention (:class:`rnnbook.seq.attention.AttentionDecoder`) instead
queries with the *new* state :math:`s_t` and uses the context only after the recurrence,
in :math:`\tilde h_t`. The paper's :math:`f` is a GRU (Cho's form, with the context
through its own matrices :math:`C, C_z, C_r`: the same as a GRU reading the
concatenation :math:`[E y_{t-1}; c_t]`); its :math:`g` is a maxout "deep output" layer,
here one linear layer on the same three inputs. The paper's encoder is bidirectional and
:math:`s_0 = \tanh(W_s \overleftarrow{h}_1)`; in :class:`rnnbook.seq.seq2seq.Seq2Seq`
the decoder starts from the encoder's final state (the bridge), and any encoder works.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnbook._validate import check_int
from rnnbook.seq.attention import AdditiveAttention, _check_memory, _keep, _weigh
from rnnbook.seq.decoding import Decoder
from rnnbook.seq.padding import State, _call, _hidden, _out_size

__all__ = ["BahdanauDecoder"]


class BahdanauDecoder(Decoder):
    r"""A :class:`rnnbook.seq.decoding.Decoder` with Bahdanau's additive attention in its
    recurrence (see the module docstring for the equations).

    Args:
        layer: a unidirectional recurrent layer whose ``input_size`` is the token vectors'
            size plus ``memory_size`` (it reads :math:`[E y_{t-1}; c_t]`).
        vocab_size, embedding_dim, encoding: as :class:`rnnbook.seq.decoding.Decoder`.
        memory_size: features of the encoder outputs :math:`h_i`.
        attention_size: rows of :math:`W_a, U_a` (default: the layer's hidden size).

    ``attention`` is the :class:`rnnbook.seq.attention.AdditiveAttention`; ``head`` is
    :math:`W_{ho}, b_o` of shape (V, H + memory_size + E). The query of a multi-layer
    decoder is the top layer's :math:`s_{t-1}`; a state of None starts from zeros. The
    state is the layer's own, so beam search and scheduled sampling step it unchanged.
    ``forward(tokens, state, lengths, memory, memory_mask) -> (scores (T, N, V), state)``
    steps one token at a time; :meth:`forward_weights` also returns the weights
    :math:`\alpha` (T, N, L).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> decoder = rnnbook.BahdanauDecoder(rnnbook.GRU(4 + 8, 6), vocab_size=5, memory_size=8,
    ...                                   embedding_dim=4)
    >>> memory = torch.randn(7, 2, 8)                      # encoder outputs h_i: (L, N, memory_size)
    >>> tokens = torch.randint(5, (3, 2))                  # y_0 .. y_2, teacher forcing
    >>> scores, state, alpha = decoder.forward_weights(tokens, memory=memory)
    >>> tuple(scores.shape), tuple(state.shape), tuple(alpha.shape)
    ((3, 2, 5), (1, 2, 6), (3, 2, 7))
    >>> torch.allclose(alpha.sum(-1), torch.ones(3, 2))
    True
    """

    def __init__(self, layer: nn.Module, vocab_size: int, *, memory_size: int,
                 attention_size: int | None = None, embedding_dim: int | None = None,
                 encoding: str = "embedding", dtype: torch.dtype | None = None):
        check_int("memory_size", memory_size, minimum=1)
        super().__init__(layer, vocab_size, embedding_dim=embedding_dim, encoding=encoding, dtype=dtype,
                         extra_input_size=memory_size)
        hidden = _out_size(layer)
        self.memory_size = memory_size
        self.attention = AdditiveAttention(hidden, memory_size, attention_size=attention_size, dtype=dtype)
        self.readout_size = hidden + memory_size + self.input.size
        self.head = nn.Linear(self.readout_size, vocab_size, dtype=dtype)

    def forward_weights(self, tokens: Tensor, state: State | None = None, lengths: object = None,
                        memory: Tensor | None = None,
                        memory_mask: Tensor | None = None) -> tuple[Tensor, State, Tensor]:
        """Teacher forcing: scores (T, N, V), the final state and the weights (T, N, L)."""
        x, _, mask = self._inputs(tokens, lengths)
        if memory is None:
            raise ValueError("memory must be the encoder outputs (L, N, memory_size) for an "
                             "attention decoder, got None")
        steps, batch = x.shape[:2]
        hidden = _out_size(self.layer)
        _, memory, memory_mask, _ = _check_memory(x.new_zeros(1, batch, hidden), memory, memory_mask,
                                                  hidden, self.memory_size)
        keys = self.attention.keys(memory)                     # U_a h_i, once per source
        feats, weights = [], []
        for t in range(steps):
            query = x.new_zeros(batch, hidden) if state is None else _hidden(state)[-1]
            # e_{t,i} = v_a^T tanh(W_a s_{t-1} + U_a h_i); c_t = sum_i alpha_{t,i} h_i
            context, alpha = _weigh(self.attention.score_keys(query.unsqueeze(0), keys), memory,
                                    memory_mask)
            # s_t = layer([E y_{t-1}; c_t], s_{t-1})
            s, new = _call(self.layer, torch.cat([x[t], context[0]], -1).unsqueeze(0), state)
            state = _keep(new, state, None if mask is None else mask[t])
            # o_t = W_ho [s_t; c_t; E y_{t-1}] + b_o
            feats.append(torch.cat([s[0], context[0], x[t]], -1))
            weights.append(alpha[0])
        return self._scores(torch.stack(feats), mask), state, torch.stack(weights)

    def forward(self, tokens: Tensor, state: State | None = None, lengths: object = None,
                memory: Tensor | None = None, memory_mask: Tensor | None = None) -> tuple[Tensor, State]:
        """Teacher forcing: scores (T, N, V) for the next tokens and the final state."""
        scores, state, _ = self.forward_weights(tokens, state, lengths, memory, memory_mask)
        return scores, state
