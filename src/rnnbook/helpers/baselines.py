r"""Honest baselines that a recurrent network must beat: n-gram language models and simple
forecasters, fitted on the same training data.

**Language models.** Both give every symbol of a closed vocabulary of size ``V`` a
non-zero probability and are scored in bits per symbol,
:math:`-\frac{1}{n}\sum_t \log_2 p(w_t \mid w_{<t})`.

* :func:`rnnbook.helpers.baselines.unigram_bits`: add-:math:`\alpha` smoothed symbol frequencies, no context.
* :class:`rnnbook.helpers.baselines.KneserNeyLM`: interpolated Kneser-Ney smoothing (Chen and Goodman 1999) of order
  ``n`` (the last ``n - 1`` symbols as context), with one absolute discount per order,
  :math:`D_k = n_1 / (n_1 + 2 n_2)` from the counts of counts (Ney's estimate; nothing is
  tuned on held-out text). For a context :math:`h` of length :math:`k - 1`,

  .. math::

      p_k(w \mid h) = \frac{\max(c_k(hw) - D_k, 0)}{\sum_v c_k(hv)}
          + \frac{D_k\, N_{1+}(h\,\bullet)}{\sum_v c_k(hv)}\, p_{k-1}(w \mid h'),

  with :math:`h'` the context without its first symbol, :math:`c_n` the raw counts of the
  highest order, :math:`c_k` for :math:`k < n` the continuation counts :math:`N_{1+}(\bullet\,
  h w)` (how many distinct symbols precede :math:`hw`), :math:`N_{1+}(h\,\bullet)` how many
  distinct symbols follow :math:`h`, and :math:`p_0 = 1/V`. An unseen context backs off to
  :math:`p_{k-1}` entirely.

**Forecasters** for a series :math:`y_1, \dots, y_T` and a horizon ``M``:

* :func:`rnnbook.helpers.baselines.seasonal_naive`: :math:`\hat y_{t+m} = y_{t+m-P}` (the value one season ago).
* :func:`rnnbook.helpers.baselines.fit_autoregression` / :func:`rnnbook.helpers.baselines.autoregression_forecast`: a linear autoregression
  of order ``p`` fitted by least squares on windows, one output per horizon step
  (the direct multi-step form, as a recurrent N-to-M model is trained).
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence

import torch
from torch import Tensor

from rnnbook._validate import check_int

__all__ = ["as_symbols", "unigram_bits", "KneserNeyLM", "seasonal_naive", "fit_autoregression",
           "autoregression_forecast", "forecast_windows"]


def as_symbols(seq: object, name: str = "seq") -> str:
    """A sequence of symbols as a ``str`` (the models' internal form): a ``str`` is kept,
    a 1-D integer tensor or a list of non-negative ints becomes ``chr(id)`` per id.

    >>> from rnnbook.helpers.baselines import as_symbols
    >>> as_symbols([104, 105])
    'hi'
    """
    if isinstance(seq, str):
        return seq
    if isinstance(seq, Tensor):
        if seq.dim() != 1 or seq.is_floating_point():
            raise TypeError(f"{name} must be a str, a 1-D integer tensor or a list of ints, "
                            f"got a tensor of shape {tuple(seq.shape)} and dtype {seq.dtype}")
        seq = seq.tolist()
    if not isinstance(seq, (list, tuple)) or not all(
            isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in seq):
        raise TypeError(f"{name} must be a str, a 1-D integer tensor or a list of "
                        f"non-negative ints, got {type(seq).__name__}")
    return "".join(map(chr, seq))


def unigram_bits(train: object, evaluate: object, vocab_size: int, alpha: float = 1.0) -> float:
    r"""Bits per symbol of the add-``alpha`` unigram model of ``train`` on ``evaluate``:
    :math:`p(w) = (c(w) + \alpha) / (n + \alpha V)`.

    Symbols are ids (a 1-D integer tensor or list) below ``vocab_size``, or characters of
    ``str`` arguments, for which ``vocab_size`` must be at least the number of distinct
    characters of both.

    >>> from rnnbook.helpers.baselines import unigram_bits
    >>> round(unigram_bits([0, 0, 1, 1], [0, 1], vocab_size=2), 6)
    1.0
    """
    a, b = as_symbols(train, "train"), as_symbols(evaluate, "evaluate")
    check_int("vocab_size", vocab_size, minimum=1)
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not alpha > 0:
        raise ValueError(f"alpha must be a positive number, got {alpha!r}")
    if not a or not b:
        raise ValueError("train and evaluate must not be empty")
    if len(set(a) | set(b)) > vocab_size:
        raise ValueError(f"vocab_size must be at least the number of distinct symbols "
                         f"({len(set(a) | set(b))}), got {vocab_size}")
    counts = collections.Counter(a)
    total = len(a) + alpha * vocab_size
    return -sum(math.log2((counts[w] + alpha) / total) for w in b) / len(b)


class KneserNeyLM:
    """Interpolated Kneser-Ney n-gram model over a closed vocabulary (see the module).

    Args:
        order: n, the number of symbols in the longest n-gram (context ``n - 1``).
        vocab_size: V, the size of the closed vocabulary (every symbol gets probability
            at least ``D_1 ... / V > 0``).

    ``fit(train)`` counts; ``prob(context, w)`` is :math:`p_n(w \\mid \\text{last } n - 1
    \\text{ symbols of context})`; ``bits(seq)`` the mean of :math:`-\\log_2 p` over
    ``seq[1:]``, each symbol predicted from the symbols of ``seq`` before it (the first
    symbol is the context of the second; contexts shorter than ``n - 1`` at the start use
    what there is). Symbols: ``str`` characters or integer ids, as :func:`rnnbook.helpers.baselines.unigram_bits`.

    >>> from rnnbook.helpers.baselines import KneserNeyLM
    >>> lm = KneserNeyLM(order=2, vocab_size=3).fit("abababab")
    >>> round(lm.prob("a", "b"), 3), round(sum(lm.prob("a", c) for c in "abc"), 12)
    (0.918, 1.0)
    """

    def __init__(self, order: int, vocab_size: int):
        self.order = check_int("order", order, minimum=1)
        self.vocab_size = check_int("vocab_size", vocab_size, minimum=1)
        self.counts: list[dict[str, int]] = []

    def fit(self, train: object) -> KneserNeyLM:
        text = as_symbols(train, "train")
        n = self.order
        if len(text) < n:
            raise ValueError(f"train must hold at least order = {n} symbols, got {len(text)}")
        if len(set(text)) > self.vocab_size:
            raise ValueError(f"vocab_size must be at least the number of distinct symbols "
                             f"({len(set(text))}), got {self.vocab_size}")
        # counts[k] maps a k-gram to its count: raw for k = n, continuation for k < n
        counts: list[dict[str, int]] = [{} for _ in range(n + 1)]
        counts[n] = collections.Counter(text[i:i + n] for i in range(len(text) - n + 1))
        for k in range(n - 1, 0, -1):
            # N1+(. g): the number of distinct (k+1)-grams of the text that end in g
            longer = {text[i:i + k + 1] for i in range(len(text) - k)}
            counts[k] = collections.Counter(g[1:] for g in longer)
            # the text's first k-gram follows the start of the text: count that once
            counts[k].setdefault(text[:k], 1)
        self.counts = counts
        # per order: the context totals and the number of distinct followers
        self.totals: list[dict[str, int]] = [{} for _ in range(n + 1)]
        self.followers: list[dict[str, int]] = [{} for _ in range(n + 1)]
        self.discounts = [0.0] * (n + 1)
        for k in range(1, n + 1):
            tot, fol = collections.Counter(), collections.Counter()
            for g, c in counts[k].items():
                tot[g[:-1]] += c
                fol[g[:-1]] += 1
            self.totals[k], self.followers[k] = dict(tot), dict(fol)
            of = collections.Counter(counts[k].values())
            n1, n2 = of.get(1, 0), of.get(2, 0)
            # D_k = n1 / (n1 + 2 n2), kept inside (0, 1)
            self.discounts[k] = min(max(n1 / (n1 + 2 * n2), 0.05), 0.95) if n1 + n2 else 0.5
        return self

    def _check_fitted(self) -> None:
        if not self.counts:
            raise RuntimeError("call fit(train) before scoring")

    def prob(self, context: object, w: object) -> float:
        """p(w | the last ``order - 1`` symbols of ``context``)."""
        self._check_fitted()
        ctx = as_symbols(context, "context") if not isinstance(context, str) else context
        sym = w if isinstance(w, str) else as_symbols([w], "w")
        if len(sym) != 1:
            raise ValueError(f"w must be one symbol, got {w!r}")
        return self._prob(ctx[max(0, len(ctx) - self.order + 1):], sym)

    def _prob(self, h: str, w: str) -> float:
        p = 1.0 / self.vocab_size
        for k in range(1, len(h) + 2):  # orders 1 .. len(h) + 1, shortest context first
            ctx = h[len(h) - k + 1:]
            total = self.totals[k].get(ctx)
            if not total:
                continue
            d = self.discounts[k]
            c = self.counts[k].get(ctx + w, 0)
            p = max(c - d, 0.0) / total + d * self.followers[k][ctx] / total * p
        return p

    def bits(self, seq: object) -> float:
        """Mean bits per symbol of ``seq[1:]`` (see the class)."""
        self._check_fitted()
        s = as_symbols(seq, "seq")
        if len(s) < 2:
            raise ValueError(f"seq must hold at least 2 symbols, got {len(s)}")
        n = self.order
        total = 0.0
        for t in range(1, len(s)):
            total -= math.log2(self._prob(s[max(0, t - n + 1):t], s[t]))
        return total / (len(s) - 1)


def _check_series(name: str, series: object) -> Tensor:
    if not isinstance(series, Tensor) or series.dim() != 1 or not series.is_floating_point():
        shape = tuple(series.shape) if isinstance(series, Tensor) else type(series).__name__
        raise TypeError(f"{name} must be a 1-D floating-point tensor (T,), got {shape}")
    return series


def forecast_windows(series: Tensor, inputs: int, horizon: int,
                     starts: Sequence[int] | None = None) -> tuple[Tensor, Tensor]:
    """Windows for forecasting: ``x`` (inputs, W, 1), the ``inputs`` values before each
    forecast origin, time-major as the layers take them, and ``y`` (W, horizon), the
    ``horizon`` values after it.

    Window ``j`` starts at ``starts[j]`` (default: every start, ``0 .. T - inputs -
    horizon``): ``x[:, j, 0] = series[s : s + inputs]``, ``y[j] = series[s + inputs :
    s + inputs + horizon]``.

    >>> import torch
    >>> from rnnbook.helpers.baselines import forecast_windows
    >>> x, y = forecast_windows(torch.arange(6.0), inputs=3, horizon=2)
    >>> x[:, :, 0].T, y
    (tensor([[0., 1., 2.],
            [1., 2., 3.]]), tensor([[3., 4.],
            [4., 5.]]))
    """
    _check_series("series", series)
    check_int("inputs", inputs, minimum=1)
    check_int("horizon", horizon, minimum=1)
    last = len(series) - inputs - horizon
    if last < 0:
        raise ValueError(f"series must hold at least inputs + horizon = {inputs + horizon} "
                         f"values, got {len(series)}")
    if starts is None:
        starts = range(last + 1)
    starts = list(starts)
    if not starts or not all(isinstance(s, int) and 0 <= s <= last for s in starts):
        raise ValueError(f"starts must be a non-empty list of ints in [0, {last}], got {starts!r}")
    idx = torch.tensor(starts)[:, None]
    x = series[idx + torch.arange(inputs)].T[..., None]
    y = series[idx + inputs + torch.arange(horizon)]
    return x, y


def seasonal_naive(x: Tensor, horizon: int, period: int) -> Tensor:
    r"""The seasonal-naive forecast from windows ``x`` (inputs, W, 1) (as
    :func:`rnnbook.helpers.baselines.forecast_windows` gives): :math:`\hat y_{m} = y_{m - P}` for ``m = 1..horizon``,
    the value one ``period`` before each forecast step. Returns (W, horizon).

    >>> import torch
    >>> from rnnbook.helpers.baselines import seasonal_naive, forecast_windows
    >>> x, _ = forecast_windows(torch.arange(8.0), inputs=4, horizon=2)
    >>> seasonal_naive(x, horizon=2, period=3)
    tensor([[1., 2.],
            [2., 3.],
            [3., 4.]])
    """
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[-1] != 1:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must have shape (inputs, W, 1), got {shape}")
    check_int("horizon", horizon, minimum=1)
    check_int("period", period, minimum=1)
    if period > x.shape[0] or horizon > period:
        raise ValueError(f"period must lie in [horizon, inputs] = [{horizon}, {x.shape[0]}], "
                         f"got {period}")
    past = x[:, :, 0]
    # y_hat_{t+m} = y_{t+m-P}: row inputs - P + m - 1 of the window
    return past[x.shape[0] - period: x.shape[0] - period + horizon].T


def fit_autoregression(x: Tensor, y: Tensor, ridge: float = 0.0) -> Tensor:
    r"""Least-squares weights of a linear autoregression from windows: ``x`` (p, W, 1),
    ``y`` (W, M); returns ``A`` (p + 1, M) such that :math:`\hat y = [x^\top, 1]\, A`
    (the last row is the intercept), minimising
    :math:`\lVert [x^\top, 1] A - y\rVert^2 + \text{ridge}\,\lVert A\rVert^2`, in float64.

    >>> import torch
    >>> from rnnbook.helpers.baselines import (autoregression_forecast, fit_autoregression,
    ...                                        forecast_windows)
    >>> x, y = forecast_windows(torch.arange(10.0), inputs=2, horizon=1)
    >>> A = fit_autoregression(x, y)
    >>> autoregression_forecast(A, x[:, :1]).item()
    2.0
    """
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[-1] != 1:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must have shape (p, W, 1), got {shape}")
    if not isinstance(y, Tensor) or y.dim() != 2 or y.shape[0] != x.shape[1]:
        shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
        raise ValueError(f"y must have shape (W, M) = ({x.shape[1]}, M), got {shape}")
    if not isinstance(ridge, (int, float)) or isinstance(ridge, bool) or ridge < 0:
        raise ValueError(f"ridge must be a non-negative number, got {ridge!r}")
    design = torch.cat([x[:, :, 0].T, torch.ones(x.shape[1], 1, dtype=x.dtype)], 1).double()
    gram = design.T @ design + ridge * torch.eye(design.shape[1], dtype=torch.float64)
    return torch.linalg.solve(gram, design.T @ y.double())


def autoregression_forecast(A: Tensor, x: Tensor) -> Tensor:
    """The autoregression's forecast ``[x^T, 1] A``: ``A`` (p + 1, M) from
    :func:`rnnbook.helpers.baselines.fit_autoregression`, ``x`` (p, W, 1); returns (W, M) in ``x``'s dtype.

    >>> import torch
    >>> from rnnbook.helpers.baselines import (autoregression_forecast, fit_autoregression,
    ...                                        forecast_windows)
    >>> x, y = forecast_windows(torch.sin(torch.arange(12.0)), inputs=2, horizon=2)
    >>> tuple(autoregression_forecast(fit_autoregression(x, y), x).shape)
    (9, 2)
    """
    if not isinstance(A, Tensor) or A.dim() != 2:
        raise ValueError("A must be a 2-D tensor (p + 1, M) from fit_autoregression")
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[0] + 1 != A.shape[0]:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must have shape ({A.shape[0] - 1}, W, 1) to match A, got {shape}")
    design = torch.cat([x[:, :, 0].T, torch.ones(x.shape[1], 1, dtype=x.dtype)], 1).double()
    return (design @ A).to(x.dtype)
