"""The linear recurrence h_t = a_t h_{t-1} + b_t: the scan, the loop and the hand-written
backward against a literal loop; op counting."""

from __future__ import annotations

import math
import re

import pytest
import torch

import rnnbook
from rnnbook.variants.scan import (LINEAR_BPTT_MODES, linear_recurrence, linear_recurrence_bptt, linear_recurrence_loop, linear_scan, reverse_recurrence)


from helpers import F64, TOL, rand

sig = torch.sigmoid


# ---------------------------------------------------------------- scan
def loop_recurrence(a, b, h0):
    """h_t = a_t h_{t-1} + b_t, scalar by scalar."""
    T, rest = a.shape[0], a.shape[1:]
    af, bf, hf = a.reshape(T, -1), b.reshape(T, -1), h0.reshape(-1).clone()
    out = torch.empty(T, af.shape[1], dtype=a.dtype)
    for t in range(T):
        for j in range(af.shape[1]):
            hf[j] = af[t, j] * hf[j] + bf[t, j]
            out[t, j] = hf[j]
    return out.reshape(T, *rest)


@pytest.mark.parametrize("T", [1, 2, 5, 8, 33, 100])
def test_scan_equals_loop_random(T):
    a, b, h0 = rand(T, 2, 3), rand(T, 2, 3, lo=-3, hi=3), rand(2, 3)
    ref = loop_recurrence(a, b, h0)
    assert (linear_scan(a, b, h0) - ref).abs().max() <= TOL
    assert (linear_recurrence_loop(a, b, h0) - ref).abs().max() <= TOL


def test_scan_with_a_near_zero_and_one_and_negative_b():
    T = 64
    a = torch.rand(T, 4, dtype=F64)
    a[::3] = 1e-12        # near 0: the past is almost wiped
    a[1::3] = 1 - 1e-12   # near 1: the past is almost kept
    a[5] = 0.0            # exactly 0
    a[7] = 1.0            # exactly 1
    b = rand(T, 4, lo=-2, hi=2)
    assert (b < 0).any()
    h0 = rand(4)
    assert (linear_scan(a, b, h0) - loop_recurrence(a, b, h0)).abs().max() <= TOL


def test_scan_zero_initial_state_by_default():
    a, b = rand(9, 3), rand(9, 3)
    assert (linear_scan(a, b) - loop_recurrence(a, b, torch.zeros(3, dtype=F64))).abs().max() <= TOL


def test_scan_gradcheck():
    a, b, h0 = (rand(11, 2).requires_grad_(), rand(11, 2).requires_grad_(), rand(2).requires_grad_())
    assert torch.autograd.gradcheck(linear_scan, (a, b, h0))


def test_scan_gradient_equals_loop_gradient():
    a, b, h0 = rand(40, 3), rand(40, 3), rand(3)
    w = rand(40, 3)
    grads = []
    for f in (linear_scan, linear_recurrence_loop):
        leaves = [t.clone().requires_grad_() for t in (a, b, h0)]
        (f(*leaves) * w).sum().backward()
        grads.append([leaf.grad for leaf in leaves])
    for g1, g2 in zip(*grads, strict=True):
        assert (g1 - g2).abs().max() <= TOL


LINEAR_RECURRENCES = [linear_scan, linear_recurrence_loop, linear_recurrence_bptt]


@pytest.mark.parametrize("f", LINEAR_RECURRENCES)
def test_scan_rejects_mismatched_shapes(f):
    with pytest.raises(ValueError, match=re.escape("a and b must have the same shape, got (4, 2) and (4, 3)")):
        f(rand(4, 2), rand(4, 3))


@pytest.mark.parametrize("f", LINEAR_RECURRENCES)
def test_scan_rejects_bad_h0(f):
    with pytest.raises(ValueError, match=re.escape("h0 must have shape (2,) (a's shape without the time dimension), got (3,)")):
        f(rand(4, 2), rand(4, 2), rand(3))


@pytest.mark.parametrize("f", LINEAR_RECURRENCES)
def test_linear_recurrences_reject_non_tensors_and_mixed_dtypes(f):
    with pytest.raises(TypeError):
        f([[0.5]], rand(1, 1))
    with pytest.raises((TypeError, ValueError), match="dtype"):
        f(rand(3, 2), rand(3, 2).float())


# ---------------------------------------------------------------- the hand-written backward
@pytest.mark.parametrize("T", [1, 2, 7])
@pytest.mark.parametrize("with_h0", [True, False])
def test_linear_recurrence_bptt_gradcheck_and_value(T, with_h0):
    a, b = rand(T, 2, 3).requires_grad_(), rand(T, 2, 3, lo=-3, hi=3).requires_grad_()
    args = (a, b, rand(2, 3).requires_grad_()) if with_h0 else (a, b)
    assert torch.autograd.gradcheck(linear_recurrence_bptt, args)
    h0 = args[2] if with_h0 else torch.zeros(2, 3, dtype=F64)
    assert (linear_recurrence_bptt(*args) - loop_recurrence(a, b, h0)).abs().max() <= TOL


def test_reverse_recurrence_is_the_adjoint_loop():
    a, g = rand(6, 4), rand(6, 4)
    d = reverse_recurrence(a, g)
    want = g[-1].clone()
    assert (d[-1] == want).all()
    for t in range(4, -1, -1):
        want = g[t] + a[t + 1] * want
        assert (d[t] - want).abs().max() <= TOL


def test_linear_recurrence_bptt_keeps_only_a_h_and_h0():
    """What the docstring promises: autograd saves a, h and h0 (the scan saves every round)."""
    def saved(f):
        a, b, h0 = rand(64, 8).requires_grad_(), rand(64, 8).requires_grad_(), rand(8).requires_grad_()
        storages = {}

        def pack(t):
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            f(a, b, h0)
        return sum(storages.values())
    assert saved(linear_recurrence_bptt) == (2 * 64 * 8 + 8) * 8      # a and h (64 x 8), h0 (8), float64
    assert saved(linear_scan) > 4 * saved(linear_recurrence_bptt)


def test_linear_recurrence_dispatch_and_forward_mode_fallback():
    a, b, h0 = rand(5, 3), rand(5, 3), rand(3)
    ref = loop_recurrence(a, b, h0)
    for method in LINEAR_BPTT_MODES:
        assert (linear_recurrence(a, b, h0, method) - ref).abs().max() <= TOL
    with pytest.raises(ValueError, match="bptt must be one of"):
        linear_recurrence(a, b, h0, "parallel")
    import torch.autograd.forward_ad as fwAD
    ta = rand(5, 3)
    with fwAD.dual_level():                       # forward mode: falls back to the autograd loop
        tangent = fwAD.unpack_dual(linear_recurrence_bptt(fwAD.make_dual(a, ta), b, h0)).tangent
    eps = 1e-6
    numeric = (loop_recurrence(a + eps * ta, b, h0) - loop_recurrence(a - eps * ta, b, h0)) / (2 * eps)
    assert (tangent - numeric).abs().max() <= 1e-8


@pytest.mark.parametrize("layer", ["SRU", "QRNN"])
def test_hand_written_layers_under_forward_mode_ad(layer):
    import torch.autograd.forward_ad as fwAD
    torch.manual_seed(0)
    m = getattr(rnnbook, layer)(3, 4, dtype=F64)
    x, tx = rand(6, 2, 3), rand(6, 2, 3)
    with fwAD.dual_level():
        out, _ = m(fwAD.make_dual(x, tx))
        tangent = fwAD.unpack_dual(out).tangent
    eps = 1e-6
    with torch.no_grad():
        numeric = (m(x + eps * tx)[0] - m(x - eps * tx)[0]) / (2 * eps)
    assert tangent is not None and (tangent - numeric).abs().max() <= 1e-7





# ---------------------------------------------------------------- counting and helpers
@pytest.mark.parametrize("T", [1, 2, 3, 8, 9, 100])
def test_count_ops_scan_rounds_and_products(T):
    from rnnbook.variants.scan import count_ops

    a, b = rand(T, 3, 2), rand(T, 3, 2)
    with count_ops() as ops:
        linear_scan(a, b)
    rounds = math.ceil(math.log2(T)) if T > 1 else 0
    assert (ops.scans, ops.loops, ops.rounds, ops.steps) == (1, 0, rounds, 0)
    # two products per element from the offset d = 2^k on, in every round
    assert ops.products == 6 * sum(2 * (T - 2**k) for k in range(rounds))
    with count_ops() as ops:
        linear_scan(a, b, rand(3, 2))
    assert ops.products == 6 * sum(2 * (T - 2**k) for k in range(rounds)) + 6


def test_count_ops_loop_nests_and_sees_layers():
    from rnnbook.variants.scan import count_ops

    with count_ops() as outer:
        linear_recurrence_loop(rand(7, 4), rand(7, 4))
        assert (outer.loops, outer.steps, outer.products) == (1, 7, 28)
        with count_ops() as inner:
            rnnbook.QRNN(2, 3, num_layers=2, window=2, bptt="scan", dtype=F64)(rand(16, 1, 2))
    assert (inner.scans, inner.rounds, inner.loops) == (2, 8, 0)
    assert outer.scans == 2 and outer.rounds == 8 and outer.products == 28 + inner.products
    with count_ops() as fused:                    # the default: a loop of T steps per layer
        rnnbook.QRNN(2, 3, num_layers=2, window=2, dtype=F64)(rand(16, 1, 2))
    assert (fused.scans, fused.loops, fused.steps, fused.products) == (0, 2, 32, 2 * 16 * 3)
    with count_ops() as ops:                      # nothing counted outside a block
        pass
    linear_scan(rand(4, 1), rand(4, 1))
    assert ops.scans == 0
