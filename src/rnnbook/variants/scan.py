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

Three ways to compute the same ``h``, selected by the layers' ``bptt`` argument
(:data:`LINEAR_BPTT_MODES`):

* ``"hand"``, :func:`linear_recurrence_bptt`: the sequential loop inside a
  ``torch.autograd.Function`` whose backward is written out. The adjoint of a linear
  recurrence is a linear recurrence run backwards in time,

  .. math:: \bar h_T = g_T, \qquad \bar h_t = g_t + a_{t+1} \odot \bar h_{t+1}, \qquad
            \frac{\partial L}{\partial a_t} = \bar h_t \odot h_{t-1}, \qquad
            \frac{\partial L}{\partial b_t} = \bar h_t,

  (``g_t = ∂L/∂h_t`` from outside the recurrence, ``h̄_t`` the total gradient), so each
  direction is one fused multiply-add per step. First derivatives only
  (``rnnbook.kernels.autograd``).
* ``"scan"``, :func:`linear_scan`: ``ceil(log2 T)`` rounds, differentiated by autograd.
* ``"autograd"``, :func:`linear_recurrence_loop`: the loop, differentiated by autograd
  (the readable reference).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnbook._validate import check_choice, check_tensor
from rnnbook.kernels.autograd import first_order_only, has_tangent, with_previous

__all__ = ["linear_scan", "linear_recurrence_loop", "linear_recurrence_bptt", "linear_recurrence",
           "reverse_recurrence", "LinearRecurrenceBPTT", "LINEAR_BPTT_MODES", "OpCount", "count_ops"]

#: The values of the ``bptt`` argument of the layers built on a linear recurrence
#: (``rnnbook.SRU`` with ``version="2017"``, ``rnnbook.QRNN``, ``rnnbook.MinGRU``, ``rnnbook.MinLSTM``).
LINEAR_BPTT_MODES = ("hand", "scan", "autograd")


@dataclass
class OpCount:
    """What :func:`linear_scan`, :func:`linear_recurrence_loop` and the loops of
    :func:`linear_recurrence_bptt` (and of the QRNN's and the 2017 SRU's hand-written
    Functions) did inside a :func:`count_ops` block, counted by the functions themselves
    as they run.

    ``scans``/``loops``: calls of each; ``rounds``: the scan's sequential rounds, summed
    over its calls; ``steps``: the loop's sequential steps, summed; ``products``: the
    element-wise products both computed (one per element of each product tensor;
    an ``addcmul`` counts as one product per element).

    >>> import torch
    >>> with rnnbook.count_ops() as ops:
    ...     _ = rnnbook.linear_scan(torch.rand(8, 1), torch.rand(8, 1))
    >>> ops
    OpCount(scans=1, loops=0, rounds=3, steps=0, products=34)
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
    :func:`linear_scan`, :func:`linear_recurrence_loop` and :func:`linear_recurrence_bptt`
    run inside the block, and of the loops of the QRNN's and the 2017 SRU's hand-written
    Functions: so every layer built on a linear recurrence (QRNN, 2017 SRU, minGRU,
    minLSTM) is counted, on any path. Blocks may nest.

    >>> import torch
    >>> a, b = torch.rand(16, 1), torch.rand(16, 1)
    >>> with rnnbook.count_ops() as ops:
    ...     _ = rnnbook.linear_recurrence_loop(a, b)
    ...     _ = rnnbook.linear_scan(a, b)
    >>> ops.steps, ops.rounds                              # T sequential steps against log2 T rounds
    (16, 4)
    """
    counter = OpCount()
    _COUNTERS.append(counter)
    try:
        yield counter
    finally:
        _COUNTERS.remove(counter)


def _check(a: object, b: object, h0: object) -> tuple[Tensor, Tensor, Tensor | None]:
    a = check_tensor("a", a, ndims=range(1, 9))
    b = check_tensor("b", b, ndims=range(1, 9), dtype=a.dtype, device=a.device, dtype_of="a")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[0] == 0:
        raise ValueError(f"a must have at least one time step (dimension 0), got shape {tuple(a.shape)}")
    if h0 is not None:
        h0 = check_tensor("h0", h0, ndims=(a.dim() - 1,), dtype=a.dtype, device=a.device, dtype_of="a")
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

    >>> import torch
    >>> a = torch.tensor([[0.5], [2.0], [-1.0], [0.0]])    # (T, 1): any sign, zeros allowed
    >>> b = torch.tensor([[1.0], [1.0], [1.0], [3.0]])
    >>> rnnbook.linear_scan(a, b).flatten().tolist()       # h_t = a_t h_{t-1} + b_t, h_0 = 0
    [1.0, 3.0, -2.0, 3.0]
    >>> rnnbook.linear_scan(a, b, h0=torch.tensor([2.0])).flatten().tolist()
    [2.0, 5.0, -4.0, 3.0]
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
    r"""The same recurrence, one step at a time: ``T`` sequential steps (the baseline).

    >>> import torch
    >>> a, b = torch.full((4, 1), 0.5), torch.ones(4, 1)
    >>> rnnbook.linear_recurrence_loop(a, b).flatten().tolist()   # h_t = 0.5 h_{t-1} + 1
    [1.0, 1.5, 1.75, 1.875]
    """
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


class _BPTTModeAttribute:
    """The ``bptt`` attribute of the layers built on a linear recurrence: one of
    :data:`LINEAR_BPTT_MODES`, checked whenever it is set (in the constructor or later), and
    also by the layer's ``_check_bptt`` if it has one."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj: object, owner: type | None = None):
        return self if obj is None else getattr(obj, self.slot)

    def __set__(self, obj: object, value: object) -> None:
        value = check_choice("bptt", value, LINEAR_BPTT_MODES)
        check = getattr(obj, "_check_bptt", None)
        if check is not None:
            check(value)
        setattr(obj, self.slot, value)


def reverse_recurrence(a: Tensor, g: Tensor, out: Tensor | None = None) -> Tensor:
    r"""The adjoint loop: ``d_{T} = g_{T}``, ``d_t = g_t + a_{t+1} * d_{t+1}`` (0-based over
    dimension 0, so ``a[0]`` is not used). No autograd; one ``addcmul`` per step into one
    tensor: ``out`` if given (it may be ``g`` itself: each ``g_t`` is read before ``d_t``
    overwrites it), else a new one. Used by the hand-written backwards of this module, of
    :mod:`rnnbook.variants.sru` and of :mod:`rnnbook.variants.qrnn`.

    >>> import torch
    >>> a = torch.tensor([[9.0], [0.5], [0.5]])            # a[0] is not used
    >>> g = torch.ones(3, 1)
    >>> rnnbook.reverse_recurrence(a, g).flatten().tolist() # d_t = g_t + a_{t+1} d_{t+1}
    [1.75, 1.5, 1.0]
    """
    d = torch.empty_like(g) if out is None else out
    ds, gs, as_ = d.unbind(0), g.unbind(0), a.unbind(0)
    if out is not g:
        ds[-1].copy_(gs[-1])
    for t in range(len(ds) - 2, -1, -1):
        # d_t = g_t + a_{t+1} ⊙ d_{t+1}
        torch.addcmul(gs[t], as_[t + 1], ds[t + 1], out=ds[t])
    return d


class LinearRecurrenceBPTT(torch.autograd.Function):
    """``h_t = a_t ⊙ h_{t-1} + b_t`` by a loop, with the backward written out (the adjoint
    recurrence, see the module's docstring). Inputs ``a``, ``b`` (T, ...), ``h0`` (...).

    >>> import torch
    >>> a, b = torch.full((3, 1), 0.5, requires_grad=True), torch.ones(3, 1, requires_grad=True)
    >>> h = rnnbook.LinearRecurrenceBPTT.apply(a, b, torch.zeros(1))
    >>> h.flatten().tolist()
    [1.0, 1.5, 1.75]
    >>> h[-1].sum().backward()                             # dL/db_t = h-bar_t = a_{t+1} ... a_T
    >>> b.grad.flatten().tolist()
    [0.25, 0.5, 1.0]
    """

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
        h = torch.empty_like(b)
        hs = h.unbind(0)
        prev = h0
        for a_t, b_t, h_t in zip(a.unbind(0), b.unbind(0), hs, strict=True):
            # h_t = a_t ⊙ h_{t-1} + b_t, written into the output in place
            torch.addcmul(b_t, a_t, prev, out=h_t)
            prev = h_t
        ctx.save_for_backward(a, h, h0)
        return h.clone()  # a copy: an in-place operation on the output must not reach the saved h

    @staticmethod
    @first_order_only
    def backward(ctx, g: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        a, h, h0 = ctx.saved_tensors
        d = reverse_recurrence(a, g)                       # h̄_t, the total ∂L/∂h_t = ∂L/∂b_t
        da = with_previous(torch.mul, h, h0, d, torch.empty_like(d))   # ∂L/∂a_t = h̄_t ⊙ h_{t-1}
        return da, d, a[0] * d[0]                          # ..., ∂L/∂h_0 = a_1 ⊙ h̄_1


def linear_recurrence_bptt(a: Tensor, b: Tensor, h0: Tensor | None = None) -> Tensor:
    r"""The same recurrence, one step at a time, with a hand-written backward.

    Args and returns as :func:`linear_scan`. ``T`` sequential steps of one fused
    multiply-add each, in both directions (the adjoint recurrence of the module
    docstring, :class:`LinearRecurrenceBPTT`). Reverse-mode only: under
    forward-mode AD (a dual tensor among the inputs) it falls back to
    :func:`linear_recurrence_loop`. :func:`count_ops` counts it as a loop of ``T`` steps.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> a = torch.rand(6, 2, 3, requires_grad=True)        # (T, ...)
    >>> b = torch.randn(6, 2, 3, requires_grad=True)
    >>> h = rnnbook.linear_recurrence_bptt(a, b)
    >>> torch.allclose(h, rnnbook.linear_recurrence_loop(a, b))
    True
    >>> h.sum().backward()                                 # the adjoint recurrence, by hand
    >>> tuple(a.grad.shape), tuple(b.grad.shape)
    ((6, 2, 3), (6, 2, 3))
    """
    a, b, h0 = _check(a, b, h0)
    if has_tangent(a, b, h0):
        return linear_recurrence_loop(a, b, h0)
    _count(loops=1, steps=a.shape[0], products=a.numel())
    return LinearRecurrenceBPTT.apply(a, b, torch.zeros_like(b[0]) if h0 is None else h0)


def linear_recurrence(a: Tensor, b: Tensor, h0: Tensor | None = None, bptt: str = "hand") -> Tensor:
    """``h_t = a_t ⊙ h_{t-1} + b_t`` by the method named in ``bptt`` (one of
    :data:`LINEAR_BPTT_MODES`): :func:`linear_recurrence_bptt`, :func:`linear_scan` or
    :func:`linear_recurrence_loop`.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> a, b = torch.rand(8, 3), torch.randn(8, 3)
    >>> hs = [rnnbook.linear_recurrence(a, b, bptt=mode) for mode in rnnbook.LINEAR_BPTT_MODES]
    >>> [torch.allclose(h, hs[0], atol=1e-6) for h in hs]
    [True, True, True]
    """
    methods = {"hand": linear_recurrence_bptt, "scan": linear_scan, "autograd": linear_recurrence_loop}
    return methods[check_choice("bptt", bptt, LINEAR_BPTT_MODES)](a, b, h0)
