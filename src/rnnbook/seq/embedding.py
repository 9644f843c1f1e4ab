r"""One-hot encoding versus embedding, their costs, language-model metrics and a 2-D view.

A token id ``w`` in a vocabulary of ``V`` symbols enters a network as a vector. One-hot
encoding gives :math:`e_w \in \{0, 1\}^V`; an embedding gives row ``w`` of a learned
table :math:`E \in \mathbb{R}^{V \times d}`. The two are one operation:

.. math:: E[w] = e_w^\top E,

so an embedding layer is a linear layer on one-hot inputs that skips the multiplications
by zero (:func:`embed_by_one_hot`). What differs is the cost (:func:`input_costs`) and
the geometry: all one-hot vectors are :math:`\sqrt 2` apart, learned rows are not
(:func:`pca_2d`, :func:`nearest_neighbour_agreement`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnbook._validate import check_int, check_tensor
from rnnbook.seq.padding import check_tokens, one_hot

__all__ = [
    "embed_by_one_hot",
    "InputCost",
    "input_costs",
    "pca_2d",
    "nearest_neighbours",
    "nearest_neighbour_agreement",
    "within_between",
    "unigram_perplexity",
    "perplexity",
]


def embed_by_one_hot(tokens: Tensor, weight: Tensor) -> Tensor:
    """``one_hot(tokens) @ weight``: (..., ) ids and a (V, d) table to (..., d) vectors.

    .. math:: x = e_w^\\top E

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> embedding = torch.nn.Embedding(5, 3)               # E: (V, d)
    >>> tokens = torch.tensor([[4, 0], [2, 2]])            # (L, N)
    >>> x = rnnbook.embed_by_one_hot(tokens, embedding.weight)   # e_w^T E
    >>> tuple(x.shape), torch.equal(x, embedding(tokens))
    ((2, 2, 3), True)
    """
    check_tensor("weight", weight, ndims=(2,))
    check_tokens("tokens", tokens, weight.shape[0])
    # x = e_w^T E
    return one_hot(tokens, weight.shape[0], dtype=weight.dtype) @ weight


@dataclass(frozen=True)
class InputCost:
    """What the input stage of a recurrent layer costs, for one encoding.

    ``parameters``: trainable numbers between the token and the first hidden
    pre-activation (the embedding table plus ``W_xh``); ``input_floats``: numbers in one
    batch of input vectors, (steps * batch * size); ``bytes``: the memory of both at
    ``bytes_per_number`` bytes each; ``multiply_adds``: multiply-adds to get
    ``W_xh x_t`` for the batch, if done as a dense product.

    >>> cost = rnnbook.input_costs(1000, 32, 64, steps=10, batch=8)["embedding"]
    >>> cost.parameters == 1000 * 32 + 64 * 32, cost.input_floats, cost.multiply_adds
    (True, 2560, 163840)
    """

    encoding: str
    vocab_size: int
    size: int
    parameters: int
    input_floats: int
    bytes: int
    multiply_adds: int


def input_costs(vocab_size: int, embedding_dim: int, hidden_size: int, steps: int, batch: int,
                bytes_per_number: int = 4) -> dict[str, InputCost]:
    """The cost of feeding tokens to a recurrent layer of ``hidden_size`` one-hot versus embedded.

    One-hot: x_t has V entries, ``W_xh`` is (H, V): ``H V`` parameters, ``T N V`` input
    numbers, ``T N V H`` multiply-adds as a dense product. Embedding: a table of ``V d``
    plus ``W_xh`` (H, d): ``V d + H d`` parameters, ``T N d`` input numbers (the lookup
    copies rows, no multiplications), ``T N d H`` multiply-adds.

    >>> costs = rnnbook.input_costs(vocab_size=1000, embedding_dim=32, hidden_size=64,
    ...                              steps=10, batch=8)
    >>> {name: (c.parameters, c.input_floats) for name, c in costs.items()}
    {'one_hot': (64000, 80000), 'embedding': (34048, 2560)}
    """
    for name, value in (("vocab_size", vocab_size), ("embedding_dim", embedding_dim),
                        ("hidden_size", hidden_size), ("steps", steps), ("batch", batch),
                        ("bytes_per_number", bytes_per_number)):
        check_int(name, value, minimum=1)
    V, d, H, T, N = vocab_size, embedding_dim, hidden_size, steps, batch
    one_hot_params, emb_params = H * V, V * d + H * d
    return {
        "one_hot": InputCost("one_hot", V, V, one_hot_params, T * N * V,
                             bytes_per_number * (one_hot_params + T * N * V), T * N * V * H),
        "embedding": InputCost("embedding", V, d, emb_params, T * N * d,
                               bytes_per_number * (emb_params + T * N * d), T * N * d * H),
    }


def pca_2d(weight: Tensor) -> tuple[Tensor, Tensor]:
    """Project the rows of ``weight`` (V, d) on their first two principal components.

    Returns the (V, 2) coordinates and the fraction of the variance each component keeps.
    Computed from the SVD of the centred rows, :math:`X - \\bar x = U S V^\\top`; the
    coordinates are :math:`U_{:, :2} S_{:2}`.

    >>> import torch
    >>> E = torch.tensor([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, -0.5, 0.0]],
    ...                  dtype=torch.float64)
    >>> coords, kept = rnnbook.pca_2d(E)                   # rows of E (V, d) -> (V, 2)
    >>> coords.abs().round(decimals=6).tolist(), kept.round(decimals=6).tolist()
    ([[1.0, 0.0], [1.0, 0.0], [0.0, 0.5], [0.0, 0.5]], [0.8, 0.2])
    """
    w = check_tensor("weight", weight, ndims=(2,)).detach()
    if w.shape[0] < 2 or w.shape[1] < 2:
        raise ValueError(f"weight must have at least 2 rows and 2 columns, got shape {tuple(w.shape)}")
    centred = w - w.mean(dim=0)
    u, s, _ = torch.linalg.svd(centred, full_matrices=False)
    # coordinates = U[:, :2] S[:2]
    coords = u[:, :2] * s[:2]
    # a sign convention, so the picture does not flip between platforms:
    # each axis points towards its largest |coordinate|
    signs = torch.sign(coords.gather(0, coords.abs().argmax(0, keepdim=True)))[0]
    return coords * signs, (s[:2] ** 2) / (s ** 2).sum()


def _cosine(a: Tensor, b: Tensor) -> Tensor:
    """Cosine similarities (A, B) between the rows of a (A, d) and b (B, d)."""
    # cos(a_i, b_j) = a_i . b_j / (|a_i| |b_j|)
    return (a / a.norm(dim=1, keepdim=True).clamp_min(1e-300)) @ (b / b.norm(dim=1, keepdim=True).clamp_min(1e-300)).T


def nearest_neighbours(weight: Tensor, queries: Sequence[int] | Tensor, k: int = 5) -> tuple[Tensor, Tensor]:
    r"""The ``k`` rows of ``weight`` (V, d) most similar by cosine to each query row, the
    query itself excluded: ids (Q, k) and similarities (Q, k), most similar first.

    .. math:: \cos(w_q, w_j) = \frac{w_q^\top w_j}{\lVert w_q \rVert \lVert w_j \rVert}

    >>> import torch
    >>> E = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.1]], dtype=torch.float64)
    >>> ids, sims = rnnbook.nearest_neighbours(E, [0], k=2)
    >>> ids.tolist(), sims.round(decimals=4).tolist()
    ([[1, 2]], [[0.9939, 0.0]])
    """
    w = check_tensor("weight", weight, ndims=(2,)).detach()
    q = torch.as_tensor(queries, dtype=torch.long).view(-1)
    if q.numel() == 0 or int(q.min()) < 0 or int(q.max()) >= w.shape[0]:
        raise ValueError(f"queries must be row ids in [0, {w.shape[0] - 1}], got {q.tolist()}")
    check_int("k", k, minimum=1)
    if k >= w.shape[0]:
        raise ValueError(f"k must be < the {w.shape[0]} rows of weight, got {k}")
    sim = _cosine(w[q], w)
    sim[torch.arange(len(q)), q] = -math.inf                # not the query itself
    best = sim.topk(k, dim=1)
    return best.indices, best.values


def nearest_neighbour_agreement(vectors: Tensor, groups: Sequence[object]) -> float:
    """The fraction of rows whose nearest other row (cosine similarity) is in the same group.

    >>> import torch
    >>> vectors = torch.tensor([[1.0, 0.1], [1.0, -0.1], [-1.0, 0.2], [-1.0, 0.0]])
    >>> rnnbook.nearest_neighbour_agreement(vectors, ["noun", "noun", "verb", "verb"])
    1.0
    >>> rnnbook.nearest_neighbour_agreement(vectors, ["noun", "verb", "noun", "verb"])
    0.0
    """
    v = check_tensor("vectors", vectors, ndims=(2,)).detach()
    if len(groups) != v.shape[0]:
        raise ValueError(f"groups must have one entry per row ({v.shape[0]}), got {len(groups)}")
    if v.shape[0] < 2:
        raise ValueError(f"vectors must have at least 2 rows (each row's nearest other row), got shape {tuple(v.shape)}")
    norms = v.norm(dim=1, keepdim=True)
    if not bool(torch.isfinite(v).all()) or bool((norms == 0).any()):
        raise ValueError("vectors must be finite and non-zero rows (the cosine of a zero row is undefined), got "
                         f"{int((norms == 0).sum())} zero rows and {int((~torch.isfinite(v)).any(1).sum())} non-finite rows")
    sim = _cosine(v, v)
    sim.fill_diagonal_(-math.inf)
    nearest = sim.argmax(dim=1).tolist()
    return sum(groups[i] == groups[j] for i, j in enumerate(nearest)) / len(groups)


def within_between(vectors: Tensor, groups: Sequence[object]) -> float:
    r"""Mean Euclidean distance between rows of the same group over that between groups.

    .. math:: r = \frac{\operatorname{mean}_{i \ne j,\, g_i = g_j} \lVert v_i - v_j \rVert}
                       {\operatorname{mean}_{g_i \ne g_j} \lVert v_i - v_j \rVert}

    Below 1 when rows of a group sit closer together than rows of different groups.

    >>> import torch
    >>> vectors = torch.tensor([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    >>> round(rnnbook.within_between(vectors, ["a", "a", "b", "b"]), 4)   # < 1: groups cluster
    0.3246
    """
    v = check_tensor("vectors", vectors, ndims=(2,)).detach()
    if len(groups) != v.shape[0]:
        raise ValueError(f"groups must have one entry per row ({v.shape[0]}), got {len(groups)}")
    same = torch.tensor([[a == b for b in groups] for a in groups], dtype=torch.bool)
    off = ~torch.eye(len(groups), dtype=torch.bool)
    if not (same & off).any() or same.all():
        raise ValueError("groups must contain a group of at least 2 rows and at least 2 groups")
    dist = torch.cdist(v, v)
    # r = mean within-group distance / mean between-group distance
    return (dist[same & off].mean() / dist[~same].mean()).item()


def unigram_perplexity(train: Sequence[int], test: Sequence[int], vocab_size: int) -> float:
    """Perplexity on ``test`` of the unigram model fitted on ``train`` (add-one smoothed):

    .. math:: P(w) = \\frac{c(w) + 1}{n + V}, \\qquad
              \\mathrm{PPL} = \\exp\\Big(-\\frac1{|test|} \\sum_{w \\in test} \\ln P(w)\\Big)

    >>> rnnbook.unigram_perplexity(train=[0, 1, 0, 1], test=[0, 1], vocab_size=2)   # P(w) = 1/2
    2.0
    >>> round(rnnbook.unigram_perplexity(train=[0, 0, 0], test=[1], vocab_size=2), 6)   # 1 / (1/5)
    5.0
    """
    check_int("vocab_size", vocab_size, minimum=1)
    if len(test) == 0:
        raise ValueError("test must hold at least one token, got none")
    for name, ids in (("train", train), ("test", test)):
        bad = [w for w in ids if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w < vocab_size]
        if bad:
            raise ValueError(f"{name} must hold token ids in [0, {vocab_size - 1}] (vocab_size={vocab_size}), "
                             f"got {bad[:5]}")
    counts = Counter(train)
    n = len(train)
    # P(w) = (c(w) + 1) / (n + V)
    nll = -sum(math.log((counts[w] + 1) / (n + vocab_size)) for w in test) / len(test)
    return math.exp(nll)


def perplexity(mean_cross_entropy: float) -> float:
    """:math:`\\mathrm{PPL} = e^{\\mathcal{L}}` for a mean cross entropy in nats per token
    (``inf`` beyond the largest float, as ``torch.exp``; NaN gives NaN).

    >>> import math
    >>> round(rnnbook.perplexity(math.log(10)), 9)          # uniform over 10 tokens: PPL = 10
    10.0
    """
    if isinstance(mean_cross_entropy, bool) or not isinstance(mean_cross_entropy, (int, float)):
        raise TypeError(f"mean_cross_entropy must be a real number, got {mean_cross_entropy!r}")
    if mean_cross_entropy < 0:
        raise ValueError(f"mean_cross_entropy must be >= 0 (a cross entropy is never negative), got {mean_cross_entropy}")
    try:
        return math.exp(mean_cross_entropy)
    except OverflowError:
        return math.inf
