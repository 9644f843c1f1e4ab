r"""word2vec: skip-gram with negative sampling (Mikolov, Sutskever, Chen, Corrado and Dean 2013,
"Distributed representations of words and phrases and their compositionality").

Every word :math:`w` has two vectors: :math:`v_w` when it is the centre word (the
*embedding*, ``model.v``) and :math:`u_w` when it is a context word (``model.u``). For a
centre word :math:`c` and a word :math:`o` within ``window`` positions of it, skip-gram
with negative sampling (SGNS) maximises

.. math::

    \log \sigma(u_o^\top v_c) + \sum_{k=1}^{K} \log \sigma(-u_{w_k}^\top v_c), \qquad
    w_k \sim P_n(w) \propto f(w)^{3/4},

that is, tells the true context word apart from :math:`K` *noise* words drawn from the
unigram distribution raised to the power 3/4 (:func:`noise_distribution`). The loss is
its negative, averaged over the pairs (:func:`sgns_loss`). Its gradients have a closed
form (:func:`sgns_gradients`): with :math:`s_o = \sigma(u_o^\top v_c)` and
:math:`s_k = \sigma(u_{w_k}^\top v_c)`,

.. math::

    \frac{\partial \ell}{\partial v_c} = -(1 - s_o)\, u_o + \sum_k s_k\, u_{w_k}, \qquad
    \frac{\partial \ell}{\partial u_o} = -(1 - s_o)\, v_c, \qquad
    \frac{\partial \ell}{\partial u_{w_k}} = s_k\, v_c .

Frequent words may be *subsampled*: each occurrence of :math:`w` is kept with probability
:math:`\min(1, \sqrt{t / f(w)})` (the paper discards it with :math:`1 - \sqrt{t/f(w)}`;
:func:`subsample`). The window here is fixed (the original tool also draws a smaller one
per centre word). Nearest neighbours by cosine: :func:`rnnbook.seq.embedding.nearest_neighbours`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnbook._validate import check_int

__all__ = ["noise_distribution", "subsample", "skipgram_pairs", "sgns_loss", "sgns_gradients",
           "SkipGram", "Word2VecRun", "train_word2vec"]


def _check_ids(ids: object, vocab_size: int | None = None) -> Tensor:
    if not isinstance(ids, Tensor) or ids.dim() != 1 or ids.is_floating_point() or ids.numel() == 0:
        shape = tuple(ids.shape) if isinstance(ids, Tensor) else type(ids).__name__
        raise ValueError(f"ids must be a non-empty 1-D integer tensor of word ids, got {shape}")
    if vocab_size is not None and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(f"ids must lie in [0, {vocab_size - 1}] (vocab_size), got "
                         f"[{int(ids.min())}, {int(ids.max())}]")
    return ids


def noise_distribution(counts: Tensor, power: float = 0.75) -> Tensor:
    r""":math:`P_n(w) = f(w)^{p} / \sum_{w'} f(w')^{p}` from word counts (V,) (float64).

    >>> import torch
    >>> rnnbook.noise_distribution(torch.tensor([16, 1, 0])).round(decimals=4).tolist()  # 8 : 1 : 0
    [0.8889, 0.1111, 0.0]
    """
    if not isinstance(counts, Tensor) or counts.dim() != 1 or bool((counts < 0).any()) or not bool((counts > 0).any()):
        raise ValueError("counts must be a 1-D tensor of non-negative word counts, not all 0")
    weights = counts.double() ** power
    # P_n(w) = f(w)^p / sum f^p
    return weights / weights.sum()


def subsample(ids: Tensor, counts: Tensor, t: float = 1e-4, *, generator: torch.Generator) -> Tensor:
    r"""Keep each occurrence of word :math:`w` with probability :math:`\min(1, \sqrt{t / f(w)})`,
    :math:`f(w)` its frequency in ``counts``; returns the kept ids, in order.

    >>> import torch
    >>> ids = torch.tensor([0] * 90 + [1] * 10)
    >>> kept = rnnbook.subsample(ids, torch.bincount(ids), t=0.1, generator=torch.Generator().manual_seed(0))
    >>> int((kept == 1).sum()), int((kept == 0).sum()) < 45   # f = 0.1: all kept; f = 0.9: ~1/3
    (10, True)
    """
    ids = _check_ids(ids, len(counts))
    if not isinstance(t, float) or not t > 0:
        raise ValueError(f"t must be a positive float, got {t!r}")
    freq = counts.double() / counts.sum()
    keep = torch.clamp((t / freq.clamp_min(1e-300)).sqrt(), max=1.0)
    coins = torch.rand(len(ids), generator=generator, dtype=torch.float64)
    return ids[coins < keep[ids]]


def skipgram_pairs(ids: Tensor, window: int) -> tuple[Tensor, Tensor]:
    """Every (centre, context) pair of ``ids`` (L,) at distance 1..``window``: two (P,) tensors,
    ordered by offset, then position.

    >>> import torch
    >>> c, o = rnnbook.skipgram_pairs(torch.tensor([5, 6, 7]), window=1)
    >>> list(zip(c.tolist(), o.tolist()))
    [(5, 6), (6, 7), (6, 5), (7, 6)]
    """
    ids = _check_ids(ids)
    check_int("window", window, minimum=1)
    centres, contexts = [], []
    for d in range(1, window + 1):
        if d >= len(ids):
            break
        centres += [ids[:-d], ids[d:]]
        contexts += [ids[d:], ids[:-d]]
    if not centres:
        raise ValueError(f"ids must hold at least 2 words to make a pair, got {len(ids)}")
    return torch.cat(centres), torch.cat(contexts)


def sgns_loss(v_c: Tensor, u_o: Tensor, u_neg: Tensor) -> Tensor:
    r"""The SGNS loss :math:`-\log \sigma(u_o^\top v_c) - \sum_k \log \sigma(-u_k^\top v_c)`,
    averaged over the B pairs: ``v_c`` (B, d), ``u_o`` (B, d), ``u_neg`` (B, K, d).

    >>> import torch
    >>> v, u = torch.zeros(1, 3), torch.zeros(1, 3)
    >>> round(rnnbook.sgns_loss(v, u, torch.zeros(1, 5, 3)).item(), 4)   # 6 log 2 at zero
    4.1589
    """
    pos = (u_o * v_c).sum(-1)                                   # u_o^T v_c
    neg = torch.einsum("bkd,bd->bk", u_neg, v_c)               # u_k^T v_c
    # -log sigma(u_o^T v_c) - sum_k log sigma(-u_k^T v_c)
    return -(F.logsigmoid(pos) + F.logsigmoid(-neg).sum(-1)).mean()


def sgns_gradients(v_c: Tensor, u_o: Tensor, u_neg: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The closed-form gradients of :func:`sgns_loss` (summed, not averaged, over the pairs:
    divide by B to match it) with respect to ``v_c``, ``u_o`` and ``u_neg``.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> v, u, n = (torch.randn(2, 3, dtype=torch.float64, requires_grad=True),
    ...            torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, 3, dtype=torch.float64))
    >>> (rnnbook.sgns_loss(v, u, n) * 2).backward()
    >>> torch.allclose(v.grad, rnnbook.sgns_gradients(v.detach(), u, n)[0])
    True
    """
    s_o = torch.sigmoid((u_o * v_c).sum(-1, keepdim=True))     # (B, 1)
    s_k = torch.sigmoid(torch.einsum("bkd,bd->bk", u_neg, v_c)).unsqueeze(-1)   # (B, K, 1)
    # d/dv_c = -(1 - s_o) u_o + sum_k s_k u_k;  d/du_o = -(1 - s_o) v_c;  d/du_k = s_k v_c
    d_v = -(1 - s_o) * u_o + (s_k * u_neg).sum(1)
    return d_v, -(1 - s_o) * v_c, s_k * v_c.unsqueeze(1)


class SkipGram(nn.Module):
    r"""The two tables of skip-gram: ``v`` (the centre-word vectors, the embedding) and ``u``
    (the context-word vectors), each a ``torch.nn.Embedding`` (V, d). Initialised as the
    original tool: :math:`v \sim U(-0.5/d, 0.5/d)`, :math:`u = 0`.

    ``forward(centres (B,), contexts (B,), negatives (B, K)) -> loss`` (:func:`sgns_loss`).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = rnnbook.SkipGram(10, 4)
    >>> tuple(model.v.weight.shape), bool((model.u.weight == 0).all())
    ((10, 4), True)
    >>> loss = model(torch.tensor([1, 2]), torch.tensor([3, 4]), torch.randint(10, (2, 5)))
    >>> round(loss.item(), 4)                              # u = 0: 6 log 2
    4.1589
    """

    def __init__(self, vocab_size: int, dim: int, *, dtype: torch.dtype | None = None):
        super().__init__()
        check_int("vocab_size", vocab_size, minimum=2)
        check_int("dim", dim, minimum=1)
        self.v = nn.Embedding(vocab_size, dim, dtype=dtype)
        self.u = nn.Embedding(vocab_size, dim, dtype=dtype)
        with torch.no_grad():
            self.v.weight.uniform_(-0.5 / dim, 0.5 / dim)
            self.u.weight.zero_()

    def forward(self, centres: Tensor, contexts: Tensor, negatives: Tensor) -> Tensor:
        return sgns_loss(self.v(centres), self.u(contexts), self.u(negatives))


@dataclass
class Word2VecRun:
    """What :func:`train_word2vec` returns: the ``model`` (:class:`SkipGram`), the ``losses`` of
    every step, and the ``pairs`` and ``steps`` it trained on.

    >>> import torch
    >>> run = rnnbook.train_word2vec(torch.tensor([0, 1, 2, 0, 1, 2] * 5), 3, dim=2, steps=2,
    ...                              batch_size=4, seed=0)
    >>> run.steps, len(run.losses), run.pairs
    (2, 2, 114)
    """

    model: SkipGram
    losses: list[float]
    pairs: int
    steps: int


def train_word2vec(ids: Tensor, vocab_size: int, *, dim: int = 50, window: int = 2, negatives: int = 5,
                   steps: int = 2000, batch_size: int = 512, lr: float = 0.01, power: float = 0.75,
                   subsample_t: float | None = None, ignore: tuple[int, ...] = (),
                   seed: int = 0) -> Word2VecRun:
    """Train :class:`SkipGram` with negative sampling on the word ids ``ids`` (L,) of a text.

    The noise distribution is :func:`noise_distribution` of the counts of ``ids`` (``power``);
    with ``subsample_t`` the text is first thinned by :func:`subsample`. Pairs within ``window`` are made
    by :func:`skipgram_pairs`, dropping those whose centre or context is in ``ignore`` (e.g.
    the ``<unk>`` id); each step draws ``batch_size`` pairs and ``negatives`` noise words per
    pair, all from ``torch.Generator().manual_seed(seed)``, and takes one Adam step (``lr``).

    >>> import torch
    >>> ids = torch.tensor([0, 1, 2, 3] * 50)
    >>> run = rnnbook.train_word2vec(ids, 4, dim=8, window=1, steps=60, batch_size=32, lr=0.05, seed=0)
    >>> run.losses[-1] < run.losses[0]
    True
    """
    ids = _check_ids(ids, check_int("vocab_size", vocab_size, minimum=2))
    for name, value in (("window", window), ("negatives", negatives), ("steps", steps),
                        ("batch_size", batch_size)):
        check_int(name, value, minimum=1)
    g = torch.Generator().manual_seed(check_int("seed", seed))
    counts = torch.bincount(ids, minlength=vocab_size)
    noise = noise_distribution(counts, power)
    if subsample_t is not None:
        ids = subsample(ids, counts, subsample_t, generator=g)
    centres, contexts = skipgram_pairs(ids, window)
    if ignore:
        bad = torch.tensor(list(ignore))
        keep = ~(torch.isin(centres, bad) | torch.isin(contexts, bad))
        centres, contexts = centres[keep], contexts[keep]
    if len(centres) == 0:
        raise ValueError("no (centre, context) pair is left to train on")
    model = SkipGram(vocab_size, dim)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model.v.weight.data.uniform_(-0.5 / dim, 0.5 / dim)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        pick = torch.randint(len(centres), (batch_size,), generator=g)
        noise_ids = torch.multinomial(noise, batch_size * negatives, replacement=True, generator=g)
        loss = model(centres[pick], contexts[pick], noise_ids.view(batch_size, negatives))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return Word2VecRun(model, losses, len(centres), steps)
