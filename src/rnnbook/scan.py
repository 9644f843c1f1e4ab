r"""Linear recurrences, all time steps at once.

The recurrence

.. math:: h_t = a_t \odot h_{t-1} + b_t, \qquad t = 1, \dots, T,

(``a_t``, ``b_t`` computed from the inputs alone, not from ``h``) is the loop inside
QRNN pooling, the 2017 SRU and minGRU / minLSTM. Its steps compose: the map
``h -> a h + b`` followed by ``h -> a' h + b'`` is ``h -> (a' a) h + (a' b + b')``,
an associative operation, so every prefix can be formed by a *scan* in
``ceil(log2 T)`` rounds instead of ``T`` sequential steps (Hillis & Steele's
doubling scan; Martin & Cundy 2018 use the same idea on GPUs).

Round ``k`` (offset ``d = 2^k``) replaces each pair ``(A_t, B_t)``, the map from
``h_{t-d}`` (or ``h_0``) to ``h_t``, by its composition with the pair ``d`` steps
earlier::

    B_t <- A_t * B_{t-d} + B_t,   A_t <- A_t * A_{t-d}      (t >= d)

After the last round ``B_t = h_t`` when ``h_0 = 0``; ``h_0`` enters as
``b_1 + a_1 h_0``. Only products and sums of the given numbers appear, so the scan
needs no logarithm: ``a`` may be 0, 1 or negative and ``b`` may have any sign
(a log-space scan, as in Feng et al. 2024, needs ``a > 0`` and ``b > 0`` or complex
numbers). It does ``O(T log T)`` work instead of ``O(T)`` (two products per element
and round, about ``2 log2 T`` times the loop's ``T``), which a CPU pays for;
what it saves is the ``T`` sequential, small, Python-level steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor

from ._validate import check_tensor

__all__ = ["linear_scan", "linear_recurrence_loop", "OpCount", "count_ops"]


@dataclass
class OpCount:
    """What :func:`linear_scan` and :func:`linear_recurrence_loop` did inside a
    :func:`count_ops` block, counted by the functions themselves as they run.

    ``scans``/``loops``: calls of each; ``rounds``: the scan's sequential rounds, summed
    over its calls; ``steps``: the loop's sequential steps, summed; ``products``: the
    element-wise products both computed (one per element of each product tensor;
    an ``addcmul`` counts as one product per element).
    """

    scans: int = 0
    loops: int = 0
    rounds: int = 0
    steps: int = 0
    products: int = 0


_COUNTERS: list[OpCount] = []


def _count(**increments: int) -> None:
    for counter in _COUNTERS:
        for name, value in increments.items():
            setattr(counter, name, getattr(counter, name) + value)


@contextmanager
def count_ops() -> Iterator[OpCount]:
    """``with count_ops() as ops: ...``: count the rounds, steps and products of every
    :func:`linear_scan` and :func:`linear_recurrence_loop` run inside the block (also
    those run by layers such as QRNN, the 2017 SRU or minGRU). Blocks may nest."""
    counter = OpCount()
    _COUNTERS.append(counter)
    try:
        yield counter
    finally:
        _COUNTERS.remove(counter)


def _check(a: object, b: object, h0: object) -> tuple[Tensor, Tensor, Tensor | None]:
    a = check_tensor("a", a, ndims=range(1, 9))
    b = check_tensor("b", b, ndims=range(1, 9), dtype=a.dtype)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[0] == 0:
        raise ValueError(f"a must have at least one time step (dimension 0), got shape {tuple(a.shape)}")
    if h0 is not None:
        h0 = check_tensor("h0", h0, ndims=(a.dim() - 1,), dtype=a.dtype)
        if h0.shape != a.shape[1:]:
            raise ValueError(
                f"h0 must have shape {tuple(a.shape[1:])} (a's shape without the time dimension), "
                f"got {tuple(h0.shape)}"
            )
    return a, b, h0


def linear_scan(a: Tensor, b: Tensor, h0: Tensor | None = None) -> Tensor:
    r"""All of ``h_t = a_t * h_{t-1} + b_t`` (t = 1..T) by a doubling scan over dimension 0.

    Args:
        a, b: tensors of the same shape ``(T, ...)``, time first.
        h0: the initial state, shape ``a.shape[1:]``; zeros when omitted.

    Returns ``h`` of shape ``(T, ...)`` with ``h[t-1] = h_t``. Differentiable (plain
    tensor operations, out of place); ``ceil(log2 T)`` rounds, each with two products
    per element from the offset on (``2 * sum_k (T - 2^k)`` per feature in all;
    :func:`count_ops` counts them).
    """
    a, b, h0 = _check(a, b, h0)
    _count(scans=1)
    if h0 is not None:
        # h_1 = a_1 h_0 + b_1: fold h_0 into the first step
        b = torch.cat([(b[0] + a[0] * h0).unsqueeze(0), b[1:]])
        _count(products=a[0].numel())
    T, d = a.shape[0], 1
    while d < T:
        # B_t <- A_t B_{t-d} + B_t and A_t <- A_t A_{t-d}, for t >= d
        b = torch.cat([b[:d], torch.addcmul(b[d:], a[d:], b[:-d])])
        a = torch.cat([a[:d], a[d:] * a[:-d]])
        _count(rounds=1, products=2 * a[d:].numel())  # the addcmul and the product on a
        d *= 2
    return b


def linear_recurrence_loop(a: Tensor, b: Tensor, h0: Tensor | None = None) -> Tensor:
    r"""The same recurrence, one step at a time: ``T`` sequential steps (the baseline)."""
    a, b, h0 = _check(a, b, h0)
    h = torch.zeros_like(b[0]) if h0 is None else h0
    out = []
    _count(loops=1)
    for a_t, b_t in zip(a.unbind(0), b.unbind(0), strict=True):  # unbind: one backward, not T
        # h_t = a_t * h_{t-1} + b_t
        h = a_t * h + b_t
        out.append(h)
        _count(steps=1, products=a_t.numel())
    return torch.stack(out)
