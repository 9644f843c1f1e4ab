r"""BLEU (Papineni, Roukos, Ward and Zhu 2002): corpus-level n-gram precision with a brevity
penalty, the standard score of machine translation.

For hypotheses :math:`\hat y^{(s)}` and references :math:`y^{(s,r)}` over a corpus of
sentences :math:`s`, the *modified* (clipped) n-gram precision counts each n-gram of a
hypothesis at most as often as it occurs in any one reference:

.. math::

    p_n = \frac{\sum_s \sum_{g \in \text{n-grams}(\hat y^{(s)})}
                \min\left(\mathrm{count}_{\hat y^{(s)}}(g),\ \max_r \mathrm{count}_{y^{(s,r)}}(g)\right)}
               {\sum_s \sum_{g \in \text{n-grams}(\hat y^{(s)})} \mathrm{count}_{\hat y^{(s)}}(g)} .

With :math:`c` the total hypothesis length and :math:`r` the total *effective*
reference length (per sentence, the reference length closest to the hypothesis's,
the shorter on a tie),

.. math::

    \mathrm{BP} = \begin{cases} 1 & c > r \\ e^{1 - r/c} & c \le r \end{cases}, \qquad
    \mathrm{BLEU} = \mathrm{BP} \cdot \exp\left(\frac1N \sum_{n=1}^{N} \log p_n\right),

with :math:`N = 4`, reported ×100. All sums run over the whole corpus before the ratio
(corpus BLEU is not the mean of sentence BLEUs). A zero :math:`p_n` makes BLEU 0
(``smooth=None``, the paper); ``smooth="exp"`` replaces the :math:`k`-th zero precision by
:math:`1 / (2^k \cdot \text{total}_n)` (sacrebleu's default smoothing, Chen and Cherry
2014's method 3). Tokens are compared as given (no tokenisation, no lower-casing): the
same as ``sacrebleu.corpus_bleu(..., tokenize="none")`` on space-joined tokens, which
``tests/seq/test_bleu.py`` checks.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from torch import Tensor

from rnnbook._validate import check_int

__all__ = ["BleuScore", "corpus_bleu", "token_lists"]


@dataclass(frozen=True)
class BleuScore:
    """A corpus BLEU: ``score`` (0-100), the n-gram ``precisions`` (0-100, n = 1..N),
    ``brevity_penalty``, ``hyp_len`` (c) and ``ref_len`` (r), and the clipped ``matches``
    and ``totals`` per order.

    >>> s = rnnbook.corpus_bleu([["a", "b", "c", "d"]], [["a", "b", "c", "d"]])
    >>> s.score, s.brevity_penalty, s.precisions
    (100.0, 1.0, [100.0, 100.0, 100.0, 100.0])
    """

    score: float
    precisions: list[float]
    brevity_penalty: float
    hyp_len: int
    ref_len: int
    matches: list[int]
    totals: list[int]


def _ngrams(tokens: Sequence[Hashable], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _check_corpus(hypotheses: object, references: object) -> list[list[Sequence[Hashable]]]:
    if not isinstance(hypotheses, Sequence) or isinstance(hypotheses, (str, bytes)) or not hypotheses:
        raise TypeError(f"hypotheses must be a non-empty list of token lists, got {type(hypotheses).__name__}")
    if not isinstance(references, Sequence) or len(references) != len(hypotheses):
        n = len(references) if isinstance(references, Sequence) else type(references).__name__
        raise ValueError(f"references must hold one entry per hypothesis ({len(hypotheses)}), got {n}")
    refs = []
    for i, (h, r) in enumerate(zip(hypotheses, references, strict=True)):
        if isinstance(h, str) or not isinstance(h, Sequence):
            raise TypeError(f"hypotheses[{i}] must be a list of tokens (split a string first), got "
                            f"{type(h).__name__}")
        if isinstance(r, str) or not isinstance(r, Sequence):
            raise TypeError(f"references[{i}] must be a list of tokens or a list of such lists, got "
                            f"{type(r).__name__}")
        # one reference (a list of tokens) or several (a list of lists of tokens)
        several = len(r) > 0 and all(isinstance(x, Sequence) and not isinstance(x, str) for x in r)
        refs.append(list(r) if several else [r])
    return refs


def corpus_bleu(hypotheses: Sequence[Sequence[Hashable]], references: Sequence, *, max_n: int = 4,
                smooth: str | None = None) -> BleuScore:
    """Corpus BLEU of token lists ``hypotheses`` against ``references`` (per hypothesis, one
    token list, or a list of token lists for several references); tokens are any hashable
    values (words, ids). ``max_n`` is N; ``smooth`` is None or ``'exp'`` (module docstring).

    >>> hyp = ["the cat sat on the mat".split(), "a dog".split()]
    >>> ref = ["the cat sat on a mat".split(), "a big dog ran".split()]
    >>> bleu = rnnbook.corpus_bleu(hyp, ref)
    >>> bleu.matches, bleu.totals, round(bleu.brevity_penalty, 4)
    ([7, 3, 2, 1], [8, 6, 4, 3], 0.7788)
    >>> round(bleu.score, 2)                               # BP exp(mean log p_n) x 100
    40.47
    """
    refs = _check_corpus(hypotheses, references)
    max_n = check_int("max_n", max_n, minimum=1)
    if smooth not in (None, "exp"):
        raise ValueError(f"smooth must be None or 'exp', got {smooth!r}")
    matches, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for hyp, rs in zip(hypotheses, refs, strict=True):
        hyp_len += len(hyp)
        # effective reference length: the closest to the hypothesis's, the shorter on a tie
        ref_len += min((abs(len(r) - len(hyp)), len(r)) for r in rs)[1]
        for n in range(1, max_n + 1):
            counts = _ngrams(hyp, n)
            most = Counter()
            for r in rs:
                most |= _ngrams(r, n)                          # max over references
            # clipped count: min(count in hypothesis, max count in a reference)
            matches[n - 1] += sum(min(c, most[g]) for g, c in counts.items())
            totals[n - 1] += sum(counts.values())
    precisions, zeros = [], 0
    for m, t in zip(matches, totals, strict=True):
        if m > 0:
            precisions.append(100.0 * m / t)
        elif smooth == "exp" and t > 0:
            zeros += 1
            precisions.append(100.0 / (2 ** zeros * t))
        else:
            precisions.append(0.0)
    # BP = 1 if c > r else exp(1 - r / c)
    bp = 1.0 if hyp_len > ref_len else (math.exp(1 - ref_len / hyp_len) if hyp_len > 0 else 0.0)
    if bp == 0.0 or min(precisions) == 0.0:
        score = 0.0
    else:
        score = bp * math.exp(sum(math.log(p / 100.0) for p in precisions) / max_n) * 100.0
    return BleuScore(score, precisions, bp, hyp_len, ref_len, matches, totals)


def token_lists(tokens: Tensor, lengths: Tensor, *, drop: Sequence[int] = ()) -> list[list[int]]:
    """Decoded or target ids (T, N) with lengths (N,) as N lists of ids, without the ids in
    ``drop`` (e.g. the end token), ready for :func:`corpus_bleu`.

    >>> import torch
    >>> rnnbook.token_lists(torch.tensor([[5, 6], [7, 2], [2, 0]]), torch.tensor([3, 2]), drop=[2])
    [[5, 7], [6]]
    """
    if not isinstance(tokens, Tensor) or tokens.dim() != 2 or tokens.is_floating_point():
        shape = tuple(tokens.shape) if isinstance(tokens, Tensor) else type(tokens).__name__
        raise ValueError(f"tokens must be a 2-D (T, N) integer tensor, got {shape}")
    if not isinstance(lengths, Tensor) or tuple(lengths.shape) != (tokens.shape[1],):
        shape = tuple(lengths.shape) if isinstance(lengths, Tensor) else type(lengths).__name__
        raise ValueError(f"lengths must be a ({tokens.shape[1]},) tensor, got {shape}")
    skip = set(int(d) for d in drop)
    columns = tokens.T.tolist()
    return [[t for t in col[: int(n)] if t not in skip] for col, n in zip(columns, lengths.tolist(), strict=True)]
