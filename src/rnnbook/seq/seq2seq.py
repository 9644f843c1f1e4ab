r"""Sequence to sequence: the N-to-M model of :mod:`rnnbook.seq.structures`, with beam search,
attention weights for plotting, and exact-match evaluation.

The model is :class:`rnnbook.seq.decoding.NToM` (an :class:`rnnbook.seq.structures.Encoder`
reads the source; its final state, the single *context* of the notes' "举例：Seq2Seq
模型", starts a :class:`rnnbook.seq.decoding.Decoder`). :class:`Seq2Seq` adds:

* **beam search** (:meth:`Seq2Seq.beam_search`, :meth:`Seq2Seq.n_best`, by
  :func:`rnnbook.seq.beam.beam_search`): keep the ``k`` best partial outputs by total
  log-probability :math:`\sum_t \log p(y_t \mid y_{<t}, x)` (optionally length-normalised)
  at every step; an output that has emitted the end token is finished. ``k = 1`` is greedy
  decoding (:meth:`rnnbook.seq.decoding.NToM.greedy`).
* the attention weights of an :class:`rnnbook.seq.attention.AttentionDecoder` for given decoder
  inputs (:meth:`Seq2Seq.attention_weights`), to plot what each output token attends to.

:func:`build_seq2seq` makes one from sizes; :func:`exact_match` scores decoded outputs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnbook._validate import check_bool, check_choice, check_int
from rnnbook.seq.attention import SCORES, AttentionDecoder
from rnnbook.seq.bahdanau import BahdanauDecoder
from rnnbook.seq.beam import Hypotheses, beam_search
from rnnbook.seq.decoding import Decoder, NToM
from rnnbook.seq.padding import check_lengths, check_tokens, length_mask, shift_right
from rnnbook.seq.structures import Encoder, make_layer

__all__ = ["Seq2Seq", "ATTENTIONS", "build_seq2seq", "exact_match", "sequence_log_prob", "decode"]


class Seq2Seq(NToM):
    """:class:`rnnbook.seq.decoding.NToM` with beam search and attention weights.

    Arguments as :class:`rnnbook.seq.decoding.NToM`. Shapes: ``src`` (L, N) token ids,
    ``src_lengths`` (N,); decoded tokens (T, N) with ``pad_token`` after each end token,
    lengths (N,) counting the end token.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = rnnbook.build_seq2seq(10, 6, hidden_size=8, embedding_dim=4, attention="dot",
    ...                               start_token=1, end_token=2)
    >>> isinstance(model, rnnbook.Seq2Seq)
    True
    >>> src = torch.randint(3, 10, (5, 2))                 # (L, N)
    >>> tokens, lengths, log_p = model.beam_search(src, [5, 3], beam_width=3, max_steps=4)
    >>> tokens.shape[1], tuple(lengths.shape), tuple(log_p.shape)
    (2, (2,), (2,))
    >>> weights = model.attention_weights(src, rnnbook.shift_right(tokens, 1), [5, 3])
    >>> weights.shape[0] == tokens.shape[0], tuple(weights.shape[1:])   # (T, N, L)
    (True, (2, 5))
    """

    @torch.no_grad()
    def n_best(self, src: Tensor, src_lengths: object = None, *, beam_width: int = 5, n_best: int = 5,
               max_steps: int = 50, normalize: str | None = None, alpha: float = 0.6,
               pad_token: int = 0) -> Hypotheses:
        """The ``n_best`` best outputs of every source by :func:`rnnbook.seq.beam.beam_search`
        (width ``beam_width``, length penalty ``normalize``/``alpha``), with their
        log-probabilities and scores: a :class:`rnnbook.seq.beam.Hypotheses`.

        >>> import torch
        >>> _ = torch.manual_seed(0)
        >>> model = rnnbook.build_seq2seq(10, 6, hidden_size=8, embedding_dim=4, start_token=1, end_token=2)
        >>> found = model.n_best(torch.randint(3, 10, (5, 2)), beam_width=4, n_best=3, max_steps=5)
        >>> tuple(found.log_probs.shape), bool((found.log_probs[:, :-1] >= found.log_probs[:, 1:]).all())
        ((2, 3), True)
        """
        enc = self.encode(src, src_lengths)
        first = torch.full((enc.outputs.shape[1],), self.start_token, dtype=torch.long,
                           device=enc.outputs.device)
        return beam_search(self.decoder, first, self.bridge(enc.state), beam_width=beam_width,
                           max_steps=max_steps, end_token=self.end_token, n_best=n_best,
                           normalize=normalize, alpha=alpha, pad_token=pad_token,
                           memory=enc.outputs, memory_mask=enc.mask)

    @torch.no_grad()
    def beam_search(self, src: Tensor, src_lengths: object = None, beam_width: int = 3,
                    max_steps: int = 50, pad_token: int = 0, *, normalize: str | None = None,
                    alpha: float = 0.6) -> tuple[Tensor, Tensor, Tensor]:
        r"""The best output of beam search of width ``beam_width``
        (:func:`rnnbook.seq.beam.beam_search`): hypotheses are ranked by their total
        log-probability

        .. math:: \log p(y_{1..t} \mid x) = \sum_{u \le t} \log \mathrm{softmax}(o_u)[y_u],

        divided by a length penalty if ``normalize`` is given; an output that has emitted
        ``end_token`` is finished. Returns the best output's tokens (T, N) (``pad_token``
        after the end token), lengths (N,) (end token included) and log-probabilities (N,),
        in the model's dtype. Without normalisation, ``beam_width=1`` is greedy decoding.

        >>> import torch
        >>> _ = torch.manual_seed(0)
        >>> model = rnnbook.build_seq2seq(10, 6, hidden_size=8, embedding_dim=4, start_token=1, end_token=2)
        >>> src = torch.randint(3, 10, (5, 2))
        >>> greedy, g_len = model.greedy(src, max_steps=4)
        >>> beam, b_len, _ = model.beam_search(src, beam_width=1, max_steps=4)   # k = 1 is greedy
        >>> torch.equal(greedy, beam), torch.equal(g_len, b_len)
        (True, True)
        """
        found = self.n_best(src, src_lengths, beam_width=beam_width, n_best=1, max_steps=max_steps,
                            normalize=normalize, alpha=alpha, pad_token=pad_token)
        tokens, lengths, log_p = found.best()
        dtype = self.decoder.head.weight.dtype
        return tokens, lengths, log_p.to(dtype=dtype, device=tokens.device)

    @torch.no_grad()
    def attention_weights(self, src: Tensor, tgt_in: Tensor, src_lengths: object = None) -> Tensor:
        """The attention weights (T, N, L) of an :class:`rnnbook.seq.attention.AttentionDecoder`
        or :class:`rnnbook.seq.bahdanau.BahdanauDecoder` reading the decoder inputs ``tgt_in``
        (T, N) (e.g. ``shift_right`` of the decoded tokens: the decoder's states, hence its
        weights, are those of the decoding run)."""
        if not isinstance(self.decoder, (AttentionDecoder, BahdanauDecoder)):
            raise TypeError(f"attention_weights needs an AttentionDecoder or a BahdanauDecoder, this "
                            f"model's decoder is a {type(self.decoder).__name__}")
        enc = self.encode(src, src_lengths)
        return self.decoder.forward_weights(tgt_in, self.bridge(enc.state), None, enc.outputs,
                                            enc.mask)[2]


#: The attention choices of :func:`build_seq2seq`: Luong's scores and Bahdanau's decoder.
ATTENTIONS = SCORES + ("bahdanau",)


def build_seq2seq(src_vocab: int, tgt_vocab: int, *, hidden_size: int, embedding_dim: int,
                  layer: str = "gru", attention: str | None = None, input_feeding: bool = False,
                  start_token: int, end_token: int, dtype: torch.dtype | None = None) -> Seq2Seq:
    """A :class:`Seq2Seq` over two layers built by :func:`rnnbook.seq.structures.make_layer`
    (``layer``: rnnbook's ``'gru'`` by default, or ``'rnn'``, ``'lstm'``, or torch's
    ``'torch_gru'`` to compare with) with the same ``hidden_size``; the decoder is a plain
    :class:`rnnbook.seq.decoding.Decoder` (``attention=None``, the single context of shape
    (num_layers, N, H)), an :class:`rnnbook.seq.attention.AttentionDecoder` with that score
    (``'dot'``, ``'general'``, ``'concat'``, ``'scaled_dot'``; with ``input_feeding``, Luong's
    §3.3) or a :class:`rnnbook.seq.bahdanau.BahdanauDecoder` (``'bahdanau'``).

    >>> model = rnnbook.build_seq2seq(10, 6, hidden_size=8, embedding_dim=4, layer="lstm",
    ...                               attention="general", start_token=1, end_token=2)
    >>> type(model.encoder.layer).__name__, type(model.decoder).__name__
    ('LSTM', 'AttentionDecoder')
    >>> model.decoder.attention
    LuongAttention(8, 8, score='general')
    >>> model = rnnbook.build_seq2seq(10, 6, hidden_size=8, embedding_dim=4, attention="bahdanau",
    ...                               start_token=1, end_token=2)
    >>> model.decoder.layer.input_size                     # [E y_{t-1}; c_t]: 4 + 8
    12
    """
    if attention is not None:
        check_choice("attention", attention, ATTENTIONS)
    check_bool("input_feeding", input_feeding)
    if input_feeding and attention not in SCORES:
        raise ValueError(f"input_feeding=True needs one of Luong's scores as attention "
                         f"({', '.join(map(repr, SCORES))}), got attention={attention!r}")
    enc = Encoder(make_layer(layer, embedding_dim, hidden_size, dtype=dtype), vocab_size=src_vocab,
                  embedding_dim=embedding_dim, dtype=dtype)
    extra = hidden_size if (input_feeding or attention == "bahdanau") else 0
    dec_layer = make_layer(layer, embedding_dim + extra, hidden_size, dtype=dtype)
    if attention is None:
        dec: nn.Module = Decoder(dec_layer, tgt_vocab, embedding_dim=embedding_dim, dtype=dtype)
    elif attention == "bahdanau":
        dec = BahdanauDecoder(dec_layer, tgt_vocab, memory_size=hidden_size,
                              embedding_dim=embedding_dim, dtype=dtype)
    else:
        dec = AttentionDecoder(dec_layer, tgt_vocab, memory_size=hidden_size, score=attention,
                               embedding_dim=embedding_dim, input_feeding=input_feeding, dtype=dtype)
    return Seq2Seq(enc, dec, start_token=start_token, end_token=end_token)


def _check_decoded(tokens: Tensor, lengths: Tensor, targets: Tensor, tgt_lengths: Tensor) -> None:
    if tokens.dim() != 2 or targets.dim() != 2 or tokens.shape[1] != targets.shape[1]:
        raise ValueError(f"tokens (T, N) and targets (M, N) must be 2-D with the same N, got "
                         f"{tuple(tokens.shape)} and {tuple(targets.shape)}")
    n = targets.shape[1]
    if tuple(lengths.shape) != (n,) or tuple(tgt_lengths.shape) != (n,):
        raise ValueError(f"lengths and tgt_lengths must have shape ({n},), got "
                         f"{tuple(lengths.shape)} and {tuple(tgt_lengths.shape)}")
    for name, lens, steps in (("lengths", lengths, tokens.shape[0]), ("tgt_lengths", tgt_lengths, targets.shape[0])):
        if lens.numel() and (lens.min() < 0 or lens.max() > steps):
            raise ValueError(f"{name} must lie in [0, {steps}] (the steps of its tokens), got values in "
                             f"[{int(lens.min())}, {int(lens.max())}]")


def exact_match(tokens: Tensor, lengths: Tensor, targets: Tensor, tgt_lengths: Tensor) -> Tensor:
    """Per sequence, whether the decoded output equals the target exactly, end token included:
    bool (N,) from decoded ``tokens`` (T, N), ``lengths`` (N,), ``targets`` (M, N),
    ``tgt_lengths`` (N,).

    >>> import torch
    >>> tokens = torch.tensor([[5, 5], [2, 6], [0, 2]])    # decoded (T, N), END = 2
    >>> targets = torch.tensor([[5, 5], [2, 7], [0, 2]])
    >>> rnnbook.exact_match(tokens, torch.tensor([2, 3]), targets, torch.tensor([2, 3])).tolist()
    [True, False]
    """
    _check_decoded(tokens, lengths, targets, tgt_lengths)
    steps = max(tokens.shape[0], targets.shape[0])
    pad = lambda x: torch.cat([x, x.new_zeros(steps - x.shape[0], x.shape[1])])  # noqa: E731
    a = pad(tokens).masked_fill(~length_mask(lengths.cpu(), steps, tokens.device), 0)
    b = pad(targets).masked_fill(~length_mask(tgt_lengths.cpu(), steps, targets.device), 0)
    return (lengths.cpu() == tgt_lengths.cpu()) & (a == b).all(0).cpu()


@torch.no_grad()
def sequence_log_prob(model: NToM, src: Tensor, tokens: Tensor, lengths: Tensor,
                      src_lengths: object = None) -> Tensor:
    r""":math:`\log p(y \mid x) = \sum_t \log \mathrm{softmax}(o_t)[y_t]` (N,) of the outputs
    ``tokens`` (T, N) with ``lengths`` (N,) under ``model`` (teacher-forced scoring).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = rnnbook.build_seq2seq(10, 6, hidden_size=8, embedding_dim=4, start_token=1, end_token=2)
    >>> src = torch.randint(3, 10, (5, 2))
    >>> tokens, lengths, log_p = model.beam_search(src, beam_width=2, max_steps=4)
    >>> torch.allclose(rnnbook.sequence_log_prob(model, src, tokens, lengths), log_p, atol=1e-5)
    True
    """
    lens = check_lengths(lengths, tokens.shape[1] if isinstance(tokens, Tensor) and tokens.dim() == 2 else -1,
                         tokens.shape[0] if isinstance(tokens, Tensor) else 0)
    check_tokens("tokens", tokens, model.decoder.vocab_size, length_mask(lens, tokens.shape[0], tokens.device))
    scores = model(src, shift_right(tokens, model.start_token), src_lengths, lengths)
    logp = torch.log_softmax(scores, -1).gather(-1, tokens.unsqueeze(-1))[..., 0]
    mask = length_mask(lengths.cpu(), tokens.shape[0], tokens.device)
    return (logp * mask).sum(0)


@torch.no_grad()
def decode(model: Seq2Seq, pairs: object, *, beam_width: int = 1, max_steps: int | None = None,
           batch_size: int = 512, normalize: str | None = None,
           alpha: float = 0.6) -> tuple[Tensor, Tensor, Tensor]:
    """Decode every source of ``pairs`` greedily (``beam_width=1`` without ``normalize``) or
    by beam search (:meth:`Seq2Seq.beam_search`, length penalty ``normalize``/``alpha``), in
    batches; returns tokens (T, N), lengths (N,) and exact-match (N,) bool against
    ``pairs.tgt``. ``max_steps`` defaults to the targets' length + 5.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> pairs = rnnbook.date_pairs(4, generator=torch.Generator().manual_seed(0))
    >>> V_src, V_tgt = len(rnnbook.DATE_SOURCE_CHARS) + 3, len(rnnbook.DATE_TARGET_CHARS) + 3
    >>> model = rnnbook.build_seq2seq(V_src, V_tgt, hidden_size=8, embedding_dim=4,
    ...                               start_token=rnnbook.START, end_token=rnnbook.END)
    >>> tokens, lengths, correct = rnnbook.decode(model, pairs, max_steps=12)
    >>> tuple(tokens.shape), tuple(lengths.shape), correct.tolist()     # untrained: no date right
    ((12, 4), (4,), [False, False, False, False])
    """
    check_int("beam_width", beam_width, minimum=1)
    model.eval()
    n = len(pairs.src_lengths)
    steps = pairs.tgt.shape[0] + 5 if max_steps is None else max_steps
    out = torch.zeros(steps, n, dtype=torch.long)
    lengths = torch.zeros(n, dtype=torch.long)
    for a in range(0, n, batch_size):
        b = pairs.subset(torch.arange(a, min(a + batch_size, n)))
        if beam_width == 1 and normalize is None:
            tok, lens = model.greedy(b.src, b.src_lengths, max_steps=steps)
        else:
            tok, lens, _ = model.beam_search(b.src, b.src_lengths, beam_width, max_steps=steps,
                                             normalize=normalize, alpha=alpha)
        out[: tok.shape[0], a: a + tok.shape[1]] = tok
        lengths[a: a + tok.shape[1]] = lens
    return out, lengths, exact_match(out, lengths, pairs.tgt, pairs.tgt_lengths)
