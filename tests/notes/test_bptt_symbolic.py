"""SymPy checks of every BPTT derivative of the notes, each at two sizes (l, m, q, T)."""

import re

import pytest
import sympy as sp

from rnnbook.notes import bptt_symbolic as S

SIZES = [(2, 2, 2, 2), (1, 2, 2, 3)]
NAMES = ["W_ho", "b_o", "W_hh", "W_xh", "b_h"]


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: "lmqT=" + "".join(map(str, s)))
def net_and_grads(request):
    net = S.elman(*request.param)
    grads, deltas = S.bptt_gradients(net)
    return net, grads, deltas


@pytest.mark.parametrize("n", [2, 3])
def test_tanh_jacobian_is_the_notes_diagonal(n):
    J, notes = S.tanh_jacobian(n)
    assert sp.simplify(J - notes) == sp.zeros(n, n)


@pytest.mark.parametrize("n", [2, 3])
def test_softmax_jacobian_is_diag_f_minus_f_fT(n):
    J, notes = S.softmax_jacobian(n)
    assert sp.simplify(J - notes) == sp.zeros(n, n)


@pytest.mark.parametrize("q,T", [(2, 1), (3, 4)])
def test_softmax_cross_entropy_gradient(q, T):
    direct, closed = S.softmax_cross_entropy_gradient(q, T)
    assert sp.simplify(direct - closed) == sp.zeros(q, 1)
    o = S._softmax(sp.Matrix(q, 1, lambda i, _: sp.Symbol(f"z({i + 1})", real=True)))
    targets = closed * T + o - o * 1  # (o - ô) with ô summing to one
    assert sp.simplify(closed - targets / T) == sp.zeros(q, 1)


@pytest.mark.parametrize("q", [2, 3])
def test_simplification_needs_targets_summing_to_one(q):
    direct, closed = S.softmax_cross_entropy_gradient(q, 1, targets_sum_to_one=False)
    assert sp.simplify(direct - closed) == sp.zeros(q, 1)
    z = sp.Matrix(q, 1, lambda i, _: sp.Symbol(f"z({i + 1})", real=True))
    y = sp.Matrix(q, 1, lambda i, _: sp.Symbol(f"ô({i + 1})", real=True))
    naive = S._softmax(z) - y  # (o - ô): wrong unless sum(ô) = 1
    assert sp.simplify(direct - naive) != sp.zeros(q, 1)


@pytest.mark.parametrize("name", NAMES)
def test_closed_form_equals_direct_derivative(net_and_grads, name):
    net, grads, _ = net_and_grads
    assert S.is_zero(S.direct_gradient(net, name) - grads[name], net)


@pytest.mark.parametrize("name", ["W_hh", "b_h"])
def test_closed_form_equals_direct_derivative_at_a_rational_point(net_and_grads, name):
    net, grads, _ = net_and_grads
    assert S.is_zero(S.direct_gradient(net, name) - grads[name], net, at=S.rational_point(net, seed=3))


def test_is_zero_can_fail(net_and_grads):
    net, grads, _ = net_and_grads
    wrong = S.direct_gradient(net, "b_o") - 2 * grads["b_o"]
    assert not S.is_zero(wrong, net)
    assert not S.is_zero(wrong, net, at=S.rational_point(net))


def _far_from_zero(matrix, net, seed=0):
    value = S.numeric_value(matrix, net, S.rational_point(net, seed))
    return max(abs(v) for v in value) > 1e-6


def test_numeric_value_of_a_true_identity_is_zero_to_its_digits(net_and_grads):
    net, grads, _ = net_and_grads
    value = S.numeric_value(S.direct_gradient(net, "W_hh") - grads["W_hh"], net, S.rational_point(net))
    assert max(abs(v) for v in value) < 1e-25


def test_backward_recursion_for_dL_dh(net_and_grads):
    net, _, deltas = net_and_grads
    for t in range(1, net.T + 1):
        assert S.is_zero(S.direct_dL_dh(net, t) - deltas[t], net), t


def test_dh_dWhh_recursion_and_closed_form(net_and_grads):
    net = net_and_grads[0]
    for t in range(1, net.T + 1):
        for a in range(net.m):
            for b in range(net.m):
                direct = S.dh_dWhh_direct(net, t, a, b)
                assert S.is_zero(direct - S.dh_dWhh_recursive(net, t, a, b), net)
                assert S.is_zero(direct - S.dh_dWhh_closed_form(net, t, a, b), net)


def test_notes_factor_order_does_not_type_check(net_and_grads):
    net = net_and_grads[0]
    with pytest.raises(sp.ShapeError):
        S.dh_dWhh_notes_order(net, 2, 0, 0)


def test_notes_factor_order_is_right_for_scalars():
    net = S.elman(1, 1, 2, 3)
    direct = S.dh_dWhh_direct(net, 3, 0, 0)
    assert S.is_zero(direct - S.dh_dWhh_notes_order(net, 3, 0, 0), net)


@pytest.mark.parametrize("sizes", [(1, 2, 2, 3), (2, 3, 2, 3)])
def test_notes_closed_form_is_wrong_from_t_3(sizes):
    net = S.elman(*sizes)
    for t in (1, 2):  # with h_0 = 0 the two forms coincide up to t = 2
        assert S.is_zero(S.dh_dWhh_direct(net, t, 0, 1) - S.dh_dWhh_notes_closed_form(net, t, 0, 1), net)
    assert _far_from_zero(S.dh_dWhh_direct(net, 3, 0, 1) - S.dh_dWhh_notes_closed_form(net, 3, 0, 1), net)


def test_notes_immediate_gradients_are_wrong_for_T_above_1(net_and_grads):
    net, grads, _ = net_and_grads
    notes = S.notes_immediate_gradients(net)
    for name in ("W_xh", "b_h"):
        assert _far_from_zero(notes[name] - grads[name], net)


@pytest.mark.parametrize("sizes", [(2, 2, 2, 1), (1, 3, 2, 1)])
def test_notes_immediate_gradients_are_right_for_T_1(sizes):
    net = S.elman(*sizes)
    grads, _ = S.bptt_gradients(net)
    notes = S.notes_immediate_gradients(net)
    for name in ("W_xh", "b_h"):
        assert S.is_zero(notes[name] - grads[name], net)


def test_forward_components_match_the_notes_index_formula():
    net = S.elman(2, 3, 2, 2)
    t = 2
    for j in range(net.m):  # h_t(j) = g(sum_i x_t(i) w_xh(j,i) + sum_s h_{t-1}(s) w_hh(j,s) + b_h(j))
        arg = sum(net.x[t][i] * net.W_xh[j, i] for i in range(net.l)) \
            + sum(net.h[t - 1][s] * net.W_hh[j, s] for s in range(net.m)) + net.b_h[j]
        assert sp.tanh(arg) - net.h[t][j] == 0


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(l=0, m=2, q=2, T=2), ValueError, "l must be >= 1, got 0"),
    (dict(l=2, m=2, q=1, T=2), ValueError, "q must be >= 2 (a softmax over one class is constant), got 1"),
    (dict(l=2, m=2.0, q=2, T=2), TypeError, "m must be an int, got 2.0 of type float"),
])
def test_elman_rejects_bad_sizes(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        S.elman(**kwargs)


def test_direct_dL_dh_rejects_t_beyond_T():
    with pytest.raises(ValueError, match=re.escape("t must be <= T = 2, got 3")):
        S.direct_dL_dh(S.elman(1, 1, 2, 2), 3)
