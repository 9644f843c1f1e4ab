"""The NumPy BPTT network: gradients against torch autograd (float64), the gradient checker
(it must fail on a wrong gradient), clipping, truncation, the vanishing-gradient bound and
bad input (one test each, asserting the message)."""

import re

import numpy as np
import pytest
import torch

import rnnbook
from rnnbook.notes import bptt as B
from rnnbook.seq.losses import sequence_loss

TOL = 1e-10  # relative error, hand-written backward vs autograd


def problem(T=6, N=3, l=3, m=5, q=4, seed=0, batched=True):
    rng = np.random.default_rng(seed)
    params = B.init_params(l, m, q, rng=rng)
    shape = (T, N) if batched else (T,)
    return params, rng.normal(size=shape + (l,)), rng.integers(0, q, size=shape)


@pytest.mark.parametrize("batched", [True, False])
def test_backward_matches_autograd(batched):
    params, x, y = problem(batched=batched)
    L, grads = B.backward(params, x, y)
    L_ref, ref = B.autograd_gradients(params, x, y)
    assert abs(L - L_ref) <= 1e-12
    assert list(grads) == list(B.PARAM_NAMES)
    for name in B.PARAM_NAMES:
        assert B.relative_error(grads[name], ref[name]) <= TOL, name


def test_backward_matches_torch_elman_network():
    """A second, separately written reference: rnnbook.ElmanNetwork + nn cross entropy."""
    params, x, y = problem(T=9, N=2)
    net = rnnbook.ElmanNetwork(3, 5, 4, dtype=torch.float64)
    net.load_state_dict({k: torch.tensor(v) for k, v in params.items()})
    loss = sequence_loss(net(torch.tensor(x))[0], torch.tensor(y))
    loss.backward()
    L, grads = B.backward(params, x, y)
    assert abs(L - loss.item()) <= 1e-12
    for name in B.PARAM_NAMES:
        assert B.relative_error(grads[name], getattr(net, name).grad.numpy()) <= TOL, name


def test_backward_with_initial_state_matches_autograd():
    params, x, y = problem()
    h0 = np.random.default_rng(1).normal(size=(3, 5))
    _, grads = B.backward(params, x, y, h0)
    _, ref = B.autograd_gradients(params, x, y, h0)
    assert max(B.relative_error(grads[k], ref[k]) for k in grads) <= TOL


def test_hidden_gradients_match_autograd():
    params, x, y = problem(T=5, N=2)
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h, hs, scores = torch.zeros(2, 5, dtype=torch.float64), [], []
    for t in range(5):
        h = torch.tanh(torch.tensor(x[t]) @ P["W_xh"].T + h @ P["W_hh"].T + P["b_h"])
        h.retain_grad()
        hs.append(h)
        scores.append(h @ P["W_ho"].T + P["b_o"])
    torch.nn.functional.cross_entropy(torch.stack(scores).reshape(-1, 4), torch.tensor(y).reshape(-1)).backward()
    deltas = B.hidden_gradients(params, x, y)
    for t in range(5):
        assert B.relative_error(deltas[t], hs[t].grad.numpy()) <= TOL, t


@pytest.mark.parametrize("k", [1, 2, 4])
def test_truncated_bptt_matches_detach_every_k_steps(k):
    params, x, y = problem(T=9)
    _, grads = B.backward(params, x, y, truncate=k)
    _, ref = B.autograd_gradients(params, x, y, truncate=k)
    _, full = B.backward(params, x, y)
    for name in B.PARAM_NAMES:
        assert B.relative_error(grads[name], ref[name]) <= TOL, name
    assert B.relative_error(grads["W_hh"], full["W_hh"]) > 1e-3  # truncation changes the gradient
    assert B.relative_error(grads["W_ho"], full["W_ho"]) == 0.0  # the output layer is untouched


def test_truncation_at_T_is_the_full_gradient():
    params, x, y = problem(T=7)
    _, full = B.backward(params, x, y)
    for k in (7, 50):
        _, grads = B.backward(params, x, y, truncate=k)
        assert all(np.array_equal(grads[n], full[n]) for n in B.PARAM_NAMES)


def test_gradient_check_passes_on_the_hand_written_gradient():
    params, x, y = problem(T=4, N=2)
    _, grads = B.backward(params, x, y)
    errors = B.gradient_check(lambda p: B.loss(p, x, y), params, grads)
    assert set(errors) == set(B.PARAM_NAMES)
    assert max(errors.values()) < 1e-7


def test_gradient_check_fails_on_a_wrong_gradient():
    params, x, y = problem(T=4, N=2)
    _, grads = B.backward(params, x, y)
    wrong = {k: v.copy() for k, v in grads.items()}
    wrong["W_hh"][1, 2] += 1e-3 * np.abs(grads["W_hh"]).max()
    with pytest.raises(B.GradientCheckError, match="relative error of 'W_hh' is"):
        B.gradient_check(lambda p: B.loss(p, x, y), params, wrong)


def test_gradient_check_fails_on_the_notes_immediate_W_xh_gradient():
    """The notes' dh_t/dW_xh = g' x_t drops the path through h_{t-1}: the checker catches it."""
    params, x, y = problem(T=5, N=1)
    _, grads = B.backward(params, x, y)
    immediate = {k: v.copy() for k, v in grads.items()}
    _, flat = B.backward(params, x, y, truncate=1)  # every step its own chunk: no path back in time
    immediate["W_xh"] = flat["W_xh"]
    with pytest.raises(B.GradientCheckError, match="'W_xh'"):
        B.gradient_check(lambda p: B.loss(p, x, y), params, immediate)


def test_gradient_check_leaves_params_untouched_and_calls_f_unmodified():
    params, x, y = problem(T=3, N=1)
    before = {k: v.copy() for k, v in params.items()}
    seen = []

    def f(p):
        seen.append(p is params)
        return B.loss(p, x, y)

    B.gradient_check(f, params, B.backward(params, x, y)[1])
    assert all(np.array_equal(before[k], params[k]) for k in params)
    assert not any(seen)  # f always sees copies
    assert len(seen) == 2 * sum(v.size for v in params.values())


def test_numerical_gradient_of_a_cubic():
    a = np.array([0.5, -1.5, 2.0])
    num = B.numerical_gradient(lambda p: float((p["a"] ** 3).sum()), {"a": a}, eps=1e-4)
    assert np.allclose(num["a"], 3 * a**2 + 1e-8, rtol=0, atol=1e-7)  # error eps^2 = 1e-8 exactly


def test_clip_by_norm():
    params, x, y = problem()
    _, grads = B.backward(params, x, y)
    norm = B.global_norm(grads)
    clipped, before = B.clip_by_norm(grads, norm / 4)
    assert before == norm
    assert abs(B.global_norm(clipped) - norm / 4) <= 1e-15 * norm
    for k in grads:  # same direction
        assert np.allclose(clipped[k] * 4, grads[k], rtol=1e-14, atol=0)
    unchanged, _ = B.clip_by_norm(grads, 2 * norm)
    assert all(np.array_equal(unchanged[k], grads[k]) for k in grads)
    tensors = [torch.tensor(grads[k]) for k in B.PARAM_NAMES]
    for t in tensors:
        t.grad = t.clone()
    torch.nn.utils.clip_grad_norm_(tensors, norm / 4)
    for k, t in zip(B.PARAM_NAMES, tensors):
        assert np.allclose(t.grad.numpy(), clipped[k], rtol=1e-5, atol=0)  # torch adds 1e-6 to the norm


def test_last_loss_gradients_obey_the_singular_value_bound():
    rng = np.random.default_rng(3)
    params = B.init_params(2, 8, 3, rng=rng)
    for rho in (0.5, 1.0, 1.5):
        params["W_hh"] = B.scale_to_spectral_radius(rng.normal(size=(8, 8)), rho)
        x, y = rng.normal(size=(30, 2)), rng.integers(0, 3, size=30)
        d, _ = B.last_loss_hidden_gradients(params, x, y)
        norms = np.linalg.norm(d, axis=-1)[::-1]
        s_max = np.linalg.svd(params["W_hh"], compute_uv=False)[0]
        assert all(norms[k] <= norms[0] * s_max**k * (1 + 1e-12) for k in range(30))
        assert B.growth_rate(norms) <= s_max


def test_last_loss_gradients_match_autograd():
    params, x, y = problem(T=6, N=1, batched=False)
    d, _ = B.last_loss_hidden_gradients(params, x, y)
    xs = torch.tensor(x, requires_grad=False)
    P = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    h, hs = torch.zeros(5, dtype=torch.float64), []
    for t in range(6):
        h = torch.tanh(P["W_xh"] @ xs[t] + P["W_hh"] @ h + P["b_h"])
        h.retain_grad()
        hs.append(h)
    L_T = -torch.log_softmax(P["W_ho"] @ h + P["b_o"], 0)[int(y[-1])]
    L_T.backward()
    for t in range(6):
        assert B.relative_error(d[t], hs[t].grad.numpy()) <= TOL


def test_growth_rate_and_spectral_radius():
    assert abs(B.growth_rate(3.0 * 0.7 ** np.arange(10)) - 0.7) < 1e-12
    W = np.array([[0.0, 2.0], [0.5, 0.0]])  # eigenvalues ±1, largest singular value 2
    assert abs(B.spectral_radius(W) - 1.0) < 1e-12
    assert abs(B.spectral_radius(B.scale_to_spectral_radius(W, 0.3)) - 0.3) < 1e-12


def test_plot_gradient_decay_draws_measured_and_bounds():
    import matplotlib

    matplotlib.use("Agg")
    norms = {"a": 0.5 ** np.arange(5), "b": 2.0 ** np.arange(5)}
    ax = rnnbook.helpers.plot.gradient_decay(norms, {"a": np.ones(5)})
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 3 and ax.lines[1].get_linestyle() == "--"
    assert np.allclose(ax.lines[0].get_ydata(), norms["a"])
    with pytest.raises(ValueError, match=re.escape("bounds has names with no measured curve: ['c']")):
        rnnbook.helpers.plot.gradient_decay(norms, {"c": np.ones(5)})


# ----------------------------------------------------------------------------- bad input

def _bad_shape_params():
    params, _, _ = problem()
    params["W_hh"] = np.zeros((5, 4))
    return params


BAD_INPUT = [
    ("missing parameter", lambda p, x, y: B.loss({k: v for k, v in p.items() if k != "b_o"}, x, y), ValueError,
     "params must have exactly the keys ['W_hh', 'W_ho', 'W_xh', 'b_h', 'b_o'], got ['W_hh', 'W_ho', 'W_xh', 'b_h']"),
    ("W_hh wrong shape", lambda p, x, y: B.loss(_bad_shape_params(), x, y), ValueError,
     "params['W_hh'] must have shape (5, 5) = (m, m) (m = 5 from W_xh, q = 4 from W_ho), got (5, 4)"),
    ("float32 parameter", lambda p, x, y: B.loss({**p, "b_h": p["b_h"].astype(np.float32)}, x, y), TypeError,
     "params['b_h'] must have dtype float64, got float32"),
    ("x wrong feature size", lambda p, x, y: B.loss(p, np.zeros((6, 3, 2)), y), ValueError,
     "x must have 3 features (l, from W_xh) in its last dimension, got shape (6, 3, 2)"),
    ("x 1-D", lambda p, x, y: B.loss(p, np.zeros(3), y), ValueError, "x must be 2-D or 3-D, got a 1-D array of shape (3,)"),
    ("x a list", lambda p, x, y: B.loss(p, x.tolist(), y), TypeError, "x must be a numpy.ndarray, got list"),
    ("x integer", lambda p, x, y: B.loss(p, np.zeros((6, 3, 3), dtype=int), y), TypeError,
     "x must have dtype float64, got int64"),
    ("x empty", lambda p, x, y: B.loss(p, np.zeros((0, 3, 3)), y[:0]), ValueError,
     "x must have at least one time step, got shape (0, 3, 3)"),
    ("targets out of range", lambda p, x, y: B.loss(p, x, np.where(np.arange(18).reshape(6, 3) == 7, 4, y)), ValueError,
     "targets must lie in [0, q) = [0, 4), got 4 at index (2, 1)"),
    ("negative target", lambda p, x, y: B.backward(p, x, np.where(np.arange(18).reshape(6, 3) == 0, -1, y)), ValueError,
     "targets must lie in [0, q) = [0, 4), got -1 at index (0, 0)"),
    ("targets wrong shape", lambda p, x, y: B.loss(p, x, y[:5]), ValueError,
     "targets must have shape (6, 3) (x's shape without the feature dimension), got (5, 3)"),
    ("targets float", lambda p, x, y: B.loss(p, x, y.astype(float)), TypeError,
     "targets must hold integer class indices, got dtype float64"),
    ("h0 wrong shape", lambda p, x, y: B.loss(p, x, y, np.zeros((3, 4))), ValueError,
     "h0 must have shape (3, 5) = (N, m), got (3, 4)"),
    ("truncate 0", lambda p, x, y: B.backward(p, x, y, truncate=0), ValueError, "truncate must be >= 1, got 0"),
    ("clip max_norm 0", lambda p, x, y: B.clip_by_norm(B.backward(p, x, y)[1], 0.0), ValueError,
     "max_norm must be a positive number, got 0.0"),
    ("gradient_check wrong grads", lambda p, x, y: B.gradient_check(lambda q: B.loss(q, x, y), p, {"W_xh": p["W_xh"]}),
     ValueError, "grads must be a dict with the keys of params ['W_hh', 'W_ho', 'W_xh', 'b_h', 'b_o'], got ['W_xh']"),
    ("gradient_check grad wrong shape",
     lambda p, x, y: B.gradient_check(lambda q: B.loss(q, x, y), p, {**p, "b_o": np.zeros(3)}), ValueError,
     "grads['b_o'] must be an array of shape (4,), got (3,)"),
    ("numerical_gradient eps 0", lambda p, x, y: B.numerical_gradient(lambda q: 0.0, p, eps=0), ValueError,
     "eps must be a positive number, got 0"),
    ("numerical_gradient f not callable", lambda p, x, y: B.numerical_gradient(1.0, p), TypeError,
     "f must be a callable params -> float, got float"),
    ("numerical_gradient f returns an array", lambda p, x, y: B.numerical_gradient(lambda q: q["b_o"], p), TypeError,
     "f must return a finite float, got array("),
    ("spectral radius of a non-square matrix", lambda p, x, y: B.spectral_radius(np.zeros((2, 3))), ValueError,
     "W must be square, got shape (2, 3)"),
]


@pytest.mark.parametrize("case,call,error,message", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input(case, call, error, message):
    params, x, y = problem()
    with pytest.raises(error, match=re.escape(message)):
        call(params, x, y)
