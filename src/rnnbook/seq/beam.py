r"""Beam search for any :class:`rnnbook.seq.decoding.Decoder`: n-best lists with their scores.

A hypothesis :math:`y = y_1 \dots y_T` is scored by its log-probability

.. math:: \log p(y \mid x) = \sum_{t=1}^{T} \log \mathrm{softmax}(o_t)[y_t],

optionally divided by a *length penalty* :math:`lp(|y|)` (:func:`length_penalty`), since
a sum of negative terms favours short outputs:

* ``normalize=None``: :math:`lp = 1`, the raw log-probability;
* ``normalize="average"``: :math:`lp = |y|`, the mean log-probability per token;
* ``normalize="gnmt"``: :math:`lp = ((5 + |y|) / 6)^\alpha` (Wu et al. 2016, Google's
  NMT; :math:`\alpha = 0` is no normalisation, :math:`\alpha = 1` is close to the average).

:math:`|y|` counts the end token. The search (:func:`beam_search`) keeps ``beam_width`` live
(unfinished) hypotheses per sequence. At each step it extends every live hypothesis by
every token and ranks the extensions by log-probability; an extension that ends with the
end token is *finished* and moved to the sequence's list of finished hypotheses if it is
among the ``beam_width`` best extensions; the ``beam_width`` best extensions that do not
end fill the beam again. A sequence is done when its ``n_best``-th finished hypothesis
scores at least what the best live one could still reach: its log-probability can only
fall, and :math:`lp` is largest at ``max_steps``, so the bound is
:math:`\log p(y_{\le t}) / lp(\texttt{max\_steps})`. At ``max_steps`` the live hypotheses
are cut and join the list (``ended`` False). Hence:

* ``beam_width=1`` without normalisation is greedy decoding (the argmax at each step;
  when it is the end token the search stops, since every other extension scores less);
* a beam at least as wide as the extensions of the last step, :math:`V (V-1)^{T-1}` for
  ``max_steps`` :math:`T` and :math:`V` tokens (then no hypothesis is ever dropped), finds
  the exact best of all outputs of at most ``max_steps`` tokens, whatever the normalisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnbook._validate import check_choice, check_int
from rnnbook.seq.padding import State, map_state

__all__ = ["LENGTH_NORMS", "length_penalty", "Hypotheses", "beam_search"]

#: The length normalisations of :func:`length_penalty` (and None, no normalisation).
LENGTH_NORMS = ("average", "gnmt")


def _check_norm(normalize: object, alpha: object) -> tuple[str | None, float]:
    if normalize is not None:
        check_choice("normalize", normalize, LENGTH_NORMS)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(f"alpha must be a real number >= 0, got {alpha!r}")
    return normalize, float(alpha)


def length_penalty(length: int, normalize: str | None = None, alpha: float = 0.6) -> float:
    r"""The divisor :math:`lp(|y|)` of a hypothesis's log-probability (see the module docstring):
    1 (``None``), :math:`|y|` (``'average'``) or :math:`((5 + |y|)/6)^\alpha` (``'gnmt'``).

    >>> rnnbook.length_penalty(7), rnnbook.length_penalty(7, "average")
    (1.0, 7.0)
    >>> round(rnnbook.length_penalty(7, "gnmt", alpha=0.6), 4)   # ((5 + 7) / 6) ** 0.6
    1.5157
    """
    normalize, alpha = _check_norm(normalize, alpha)
    check_int("length", length, minimum=1)
    if normalize is None:
        return 1.0
    if normalize == "average":
        return float(length)
    return ((5.0 + length) / 6.0) ** alpha


@dataclass
class Hypotheses:
    """The n-best lists of a beam search, best first, for a batch of N sequences.

    ``tokens`` (T, N, n_best), padded with the pad token after each hypothesis;
    ``lengths`` (N, n_best), counting the end token; ``log_probs`` (N, n_best), the sum of
    the tokens' log-probabilities; ``scores`` (N, n_best), what the search ranked by
    (``log_probs / length_penalty(lengths)``); ``ended`` (N, n_best), False for a hypothesis
    cut at ``max_steps``. A list shorter than n_best (too few outputs exist) is filled
    with length 0 and scores :math:`-\\infty`.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> decoder = rnnbook.Decoder(rnnbook.GRU(4, 8), vocab_size=5, embedding_dim=4)
    >>> found = rnnbook.beam_search(decoder, torch.tensor([1]), beam_width=3, n_best=2,
    ...                             max_steps=4, end_token=2)
    >>> tuple(found.tokens.shape[1:]), tuple(found.log_probs.shape)
    ((1, 2), (1, 2))
    >>> bool(found.scores[0, 0] >= found.scores[0, 1])   # best first
    True
    >>> tokens, lengths, log_p = found.best()             # (T, N), (N,), (N,)
    >>> tuple(lengths.shape)
    (1,)
    """

    tokens: Tensor
    lengths: Tensor
    log_probs: Tensor
    scores: Tensor
    ended: Tensor

    def best(self) -> tuple[Tensor, Tensor, Tensor]:
        """The best hypothesis of each sequence: tokens (T, N) cut to its longest, lengths
        (N,), log-probabilities (N,)."""
        steps = max(int(self.lengths[:, 0].max()) if self.lengths.numel() else 0, 1)
        return self.tokens[:steps, :, 0], self.lengths[:, 0], self.log_probs[:, 0]


@torch.no_grad()
def beam_search(decoder: nn.Module, first_tokens: Tensor, state: State | None = None, *,
                beam_width: int, max_steps: int, end_token: int | None, n_best: int = 1,
                normalize: str | None = None, alpha: float = 0.6, pad_token: int = 0,
                memory: Tensor | None = None, memory_mask: Tensor | None = None) -> Hypotheses:
    r"""Beam search over a decoder's outputs (the algorithm is in the module docstring).

    Args:
        decoder: a :class:`rnnbook.seq.decoding.Decoder` (any subclass: attention,
            Bahdanau, input feeding); it is stepped with :meth:`~rnnbook.seq.decoding.Decoder.step`.
        first_tokens: (N,) the first input of each sequence (the start token).
        state: the decoder's initial state (batch dimension 1), or None.
        beam_width: live hypotheses kept per sequence.
        max_steps: the longest output; longer ones are cut (``ended`` False).
        end_token: the token that finishes a hypothesis (None: every hypothesis runs
            ``max_steps`` tokens).
        n_best: how many hypotheses to return per sequence (at most ``beam_width``).
        normalize, alpha: the length penalty (:func:`length_penalty`).
        memory, memory_mask: the encoder outputs (L, N, H) and mask (L, N), for attention.

    Returns :class:`Hypotheses`.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = rnnbook.build_seq2seq(10, 6, hidden_size=8, embedding_dim=4, attention="bahdanau",
    ...                               start_token=1, end_token=2)
    >>> enc = model.encode(torch.randint(3, 10, (5, 2)))
    >>> found = rnnbook.beam_search(model.decoder, torch.tensor([1, 1]), model.bridge(enc.state),
    ...                             beam_width=4, n_best=3, max_steps=6, end_token=2,
    ...                             normalize="gnmt", memory=enc.outputs, memory_mask=enc.mask)
    >>> tuple(found.scores.shape), bool((found.scores[:, :-1] >= found.scores[:, 1:]).all())
    ((2, 3), True)
    """
    k = check_int("beam_width", beam_width, minimum=1)
    steps = check_int("max_steps", max_steps, minimum=1)
    n_best = check_int("n_best", n_best, minimum=1)
    if n_best > k:
        raise ValueError(f"n_best must be <= beam_width = {k}, got {n_best}")
    normalize, alpha = _check_norm(normalize, alpha)
    vocab = decoder.vocab_size
    if end_token is not None:
        check_int("end_token", end_token, minimum=0)
        if end_token >= vocab:
            raise ValueError(f"end_token must be a token id in [0, {vocab - 1}], got {end_token}")
    if check_int("pad_token", pad_token, minimum=0) >= vocab:
        raise ValueError(f"pad_token must be a token id in [0, {vocab - 1}] (vocab_size={vocab}), got {pad_token}")
    if not isinstance(first_tokens, Tensor) or first_tokens.dim() != 1:
        shape = tuple(first_tokens.shape) if isinstance(first_tokens, Tensor) else type(first_tokens).__name__
        raise ValueError(f"first_tokens must be a 1-D (N,) tensor of token ids, got {shape}")
    batch, device = first_tokens.shape[0], first_tokens.device
    expand = lambda x: x.repeat_interleave(k, dim=1)  # noqa: E731  sequence n -> rows n*k .. n*k+k-1
    state = None if state is None else map_state(expand, state)
    memory = None if memory is None else expand(memory)
    memory_mask = None if memory_mask is None else expand(memory_mask)
    tokens = first_tokens.repeat_interleave(k)
    lp_max = length_penalty(steps, normalize, alpha)
    score: Tensor | None = None                                # (N, k) log p of the live slots
    history: list[list[tuple[int, ...]]] = [[()] for _ in range(batch)]
    finished: list[list[tuple[float, float, tuple[int, ...], bool]]] = [[] for _ in range(batch)]
    done = [False] * batch
    for t in range(steps):
        out, state = decoder.step(tokens, state, memory, memory_mask)
        logp = torch.log_softmax(out, dim=-1).view(batch, k, vocab)
        if score is None:                                      # only slot 0 is live at the start
            score = torch.full((batch, k), float("-inf"), dtype=logp.dtype, device=device)
            score[:, 0] = 0.0
        # log p(y_{<=t}) = log p(y_{<t}) + log softmax(o_t)[y_t]
        total = (score.unsqueeze(-1) + logp).view(batch, k * vocab)
        values, index = total.topk(min(2 * k, k * vocab), dim=-1)
        values, index = values.tolist(), index.tolist()
        new_score = [[float("-inf")] * k for _ in range(batch)]
        parent, new_tokens = [[0] * k for _ in range(batch)], [[pad_token] * k for _ in range(batch)]
        for n in range(batch):
            if done[n]:
                continue
            kept: list[tuple[int, ...]] = []
            for rank, (v, flat) in enumerate(zip(values[n], index[n], strict=True)):
                if v == float("-inf") or (len(kept) == k and rank >= k):
                    break
                j, token = divmod(flat, vocab)
                seq = history[n][j] + (token,)
                if token == end_token:
                    if rank < k:
                        finished[n].append((v / length_penalty(len(seq), normalize, alpha), v, seq, True))
                elif len(kept) < k:
                    new_score[n][len(kept)], parent[n][len(kept)] = v, j
                    new_tokens[n][len(kept)] = token
                    kept.append(seq)
            history[n] = kept or [()]
            if t == steps - 1:                                 # cut the live hypotheses
                finished[n] += [(new_score[n][i] / lp_max, new_score[n][i], seq, False)
                                for i, seq in enumerate(kept)]
            # done when the n_best-th finished beats the best the live ones can still reach
            ranked = sorted((f[0] for f in finished[n]), reverse=True)
            if not kept or (len(ranked) >= n_best and ranked[n_best - 1] >= new_score[n][0] / lp_max):
                done[n] = True
                new_score[n] = [float("-inf")] * k
        if all(done):
            break
        score = torch.tensor(new_score, dtype=logp.dtype, device=device)
        rows = torch.tensor([[n * k + j for j in parent[n]] for n in range(batch)], device=device).view(-1)
        state = map_state(lambda s: s.index_select(1, rows), state)
        tokens = torch.tensor(new_tokens, dtype=torch.long, device=device).view(-1)
    return _collect(finished, n_best, pad_token, device)


def _collect(finished: list, n_best: int, pad_token: int, device: torch.device) -> Hypotheses:
    """The n_best finished hypotheses of each sequence, best first, as tensors."""
    batch = len(finished)
    best = [sorted(f, key=lambda h: -h[0])[:n_best] for f in finished]   # stable: ties keep order
    steps = max([len(h[2]) for b in best for h in b] + [1])
    tokens = torch.full((steps, batch, n_best), pad_token, dtype=torch.long)
    lengths = torch.zeros(batch, n_best, dtype=torch.long)
    log_probs = torch.full((batch, n_best), float("-inf"), dtype=torch.float64)
    scores, ended = log_probs.clone(), torch.zeros(batch, n_best, dtype=torch.bool)
    for n, hyps in enumerate(best):
        for i, (rank_score, lp, seq, end) in enumerate(hyps):
            tokens[:len(seq), n, i] = torch.tensor(seq, dtype=torch.long)
            lengths[n, i], log_probs[n, i], scores[n, i], ended[n, i] = len(seq), lp, rank_score, end
    return Hypotheses(tokens.to(device), lengths, log_probs, scores, ended)
