"""The hand-written BPTT backward (rnnbook.kernels): gradcheck of each autograd.Function and of the
layers that run it (h0/c0 included, both directions, several layers), parity of the two paths
(bptt="hand" and bptt="autograd"), which path each layer runs, and the argument's checks."""

import itertools

import pytest
import torch

import rnnbook
from helpers import TOL, backward_passes, run_and_grad
from rnnbook.kernels.gru_bptt import ChoGRUBPTT, GRUBPTT
from rnnbook.kernels.elman_bptt import ElmanBPTT
from rnnbook.kernels.lstm_bptt import LSTMBPTT

F64 = torch.float64


def _leaf(*shape):
    return torch.randn(*shape, dtype=F64, requires_grad=True)


@pytest.mark.parametrize("nonlinearity,biases", list(itertools.product(["tanh", "relu"], ["both", "ih", "hh", "none"])))
def test_elman_function_gradcheck(nonlinearity, biases):
    """ElmanBPTT does the input projection too: gradients of x, h0, W_ih, W_hh and each bias,
    with more steps than one backward block (so the blocks' sums meet)."""
    from rnnbook.kernels import elman_bptt
    L, N, H_in, H = 7, 3, 2, 4
    x, h0, w_ih, w_hh = _leaf(L, N, H_in), _leaf(N, H), _leaf(H, H_in), _leaf(H, H)
    b_ih = _leaf(H) if biases in ("both", "ih") else None
    b_hh = _leaf(H) if biases in ("both", "hh") else None
    inputs = [x, h0, w_ih, w_hh, b_ih, b_hh]
    leaves = tuple(t for t in inputs if t is not None)

    def f(*leaves):
        it = iter(leaves)
        args = [next(it) if t is not None else None for t in inputs]
        return ElmanBPTT.apply(*args, nonlinearity)

    old = elman_bptt._BLOCK_ROWS
    elman_bptt._BLOCK_ROWS = 2 * N  # blocks of two steps: 7 steps make four blocks, the first one short
    try:
        assert torch.autograd.gradcheck(f, leaves)
    finally:
        elman_bptt._BLOCK_ROWS = old


@pytest.mark.parametrize("function,bias", list(itertools.product([GRUBPTT, ChoGRUBPTT], [True, False])))
def test_gru_function_gradcheck(function, bias):
    L, N, H = 5, 3, 4
    inputs = (_leaf(L, N, 3 * H), _leaf(N, H), _leaf(3 * H, H)) + ((_leaf(3 * H),) if bias else ())
    assert torch.autograd.gradcheck(lambda gi, h0, w, b=None: function.apply(gi, h0, w, b)[:2], inputs)


@pytest.mark.parametrize("bias,proj", list(itertools.product([True, False], [0, 2])))
def test_lstm_function_gradcheck(bias, proj):
    """Gradients of gi, h0, c0, W_hh, b_hh (and W_hr), through both outputs (all h_t and c_L)."""
    L, N, H = 5, 3, 4
    out = proj or H
    inputs = [_leaf(L, N, 4 * H), _leaf(N, out), _leaf(N, H), _leaf(4 * H, out)]
    inputs.append(_leaf(4 * H) if bias else None)
    inputs.append(_leaf(proj, H) if proj else None)
    leaves = tuple(t for t in inputs if t is not None)

    def f(*leaves):
        it = iter(leaves)
        args = [next(it) if t is not None else None for t in inputs]
        return LSTMBPTT.apply(*args)

    assert torch.autograd.gradcheck(f, leaves)


def _state(kind, rows, batch, hidden, proj=0):
    h0 = _leaf(rows, batch, proj or hidden)
    return h0 if kind != "LSTM" else (h0, _leaf(rows, batch, hidden))


LAYER_CASES = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("GRU", {}), ("GRU", {"reset_after": False}),
               ("GRU", {"reset_after": False, "bias": False}), ("LSTM", {}),
               ("LSTM", {"proj_size": 2}), ("LSTM", {"bias": False})]


@pytest.mark.parametrize("kind,extra", LAYER_CASES)
def test_layer_gradcheck_on_the_bptt_path(kind, extra):
    """Two layers, both directions, with h0 (and c0): the gradients of the input, the initial
    state and every parameter, checked against finite differences."""
    layer = getattr(rnnbook, kind)(2, 3, 2, bidirectional=True, dtype=F64, **extra)
    names = [n for n, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in layer.parameters())
    x = _leaf(4, 2, 2)
    state = _state(kind, 4, 2, 3, extra.get("proj_size", 0))
    state = state if isinstance(state, tuple) else (state,)
    n_state = len(state)

    def f(x, *rest):
        st, ps = rest[:n_state], rest[n_state:]
        hx = tuple(st) if kind == "LSTM" else st[0]
        out, hn = torch.func.functional_call(layer, dict(zip(names, ps)), (x, hx))
        return (out, *hn) if isinstance(hn, tuple) else (out, hn)

    out = f(x, *state, *params)[0]
    assert "BPTT" in type(out.grad_fn).__name__ or any(
        "BPTT" in type(g[0]).__name__ for g in out.grad_fn.next_functions if g[0] is not None)
    assert torch.autograd.gradcheck(f, (x, *state, *params))


PARITY_CASES = [
    (kind, L, bi, bf, with_state, extra)
    for kind, extra in LAYER_CASES
    for L, bi, bf, with_state in itertools.product([1, 3], [False, True], [False, True], [False, True])
]


@pytest.mark.parametrize("kind,num_layers,bidirectional,batch_first,with_state,extra", PARITY_CASES)
def test_bptt_and_autograd_paths_agree(kind, num_layers, bidirectional, batch_first, with_state, extra):
    """Same weights, both paths: outputs, final states and every gradient within TOL."""
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, dtype=F64, **extra)
    fast = getattr(rnnbook, kind)(3, 5, **kw)
    slow = getattr(rnnbook, kind)(3, 5, **kw, bptt="autograd")
    slow.load_state_dict(fast.state_dict())
    D = 2 if bidirectional else 1
    x = torch.randn((4, 7, 3) if batch_first else (7, 4, 3), dtype=F64)
    hx = None
    if with_state:
        hx = _state(kind, D * num_layers, 4, 5, extra.get("proj_size", 0))
        hx = tuple(h.detach() for h in hx) if isinstance(hx, tuple) else hx.detach()
    with torch.no_grad():
        out, state = slow(x, hx)
    flat = [out] + (list(state) if isinstance(state, tuple) else [state])
    weights = [torch.randn_like(t) for t in flat]
    a = run_and_grad(fast, x, hx, weights)
    b = run_and_grad(slow, x, hx, weights)
    worst = 0.0
    for u, v in zip(a[0] + list(a[1].values()) + a[2], b[0] + list(b[1].values()) + b[2], strict=True):
        assert u.shape == v.shape
        worst = max(worst, (u - v).abs().max().item())
    assert worst <= TOL


@pytest.mark.parametrize("used", ["final state", "output"])
@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_only_one_output_used(kind, used):
    """A loss on c_n (or h_n) alone, or on the output alone: the backward starts from the one
    gradient it is given (the other stays None, never made into zeros)."""
    fast = getattr(rnnbook, kind)(3, 4, dtype=F64)
    slow = getattr(rnnbook, kind)(3, 4, dtype=F64, bptt="autograd")
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(6, 2, 3, dtype=F64)
    grads = []
    for m in (fast, slow):
        out, state = m(x)
        last = state[1] if kind == "LSTM" else state
        grads.append(torch.autograd.grad((last if used == "final state" else out).square().sum(), list(m.parameters())))
    assert max((u - v).abs().max().item() for u, v in zip(*grads)) <= TOL


def test_no_grad_forward_equals_grad_forward():
    for kind in ["RNN", "GRU", "LSTM"]:
        m = getattr(rnnbook, kind)(3, 4, 2, bidirectional=True, dtype=F64)
        x = torch.randn(5, 2, 3, dtype=F64)
        with torch.no_grad():
            a = m(x)[0]
        assert torch.equal(a, m(x)[0]), kind


@pytest.mark.parametrize("layer,expected", [
    (lambda: rnnbook.RNN(3, 4, dtype=F64), "ElmanBPTTBackward"),
    (lambda: rnnbook.GRU(3, 4, dtype=F64), "GRUBPTTBackward"),
    (lambda: rnnbook.LSTM(3, 4, dtype=F64), "LSTMBPTTBackward"),
    (lambda: rnnbook.LSTM(3, 4, proj_size=2, dtype=F64), "LSTMBPTTBackward"),
    (lambda: rnnbook.LSTM(3, 4, dtype=F64, bptt="autograd"), "StackBackward0"),
    (lambda: rnnbook.GRU(3, 4, dtype=F64, reset_after=False), "ChoGRUBPTTBackward"),
    (lambda: rnnbook.GRU(3, 4, dtype=F64, reset_after=False, bptt="autograd"), "StackBackward0"),
    (lambda: rnnbook.PeepholeLSTM(3, 4, dtype=F64), "StackBackward0"),
])
def test_which_path_runs(layer, expected):
    out, _ = layer()(torch.randn(5, 2, 3, dtype=F64))
    assert type(out.grad_fn).__name__ == expected


def test_default_is_bptt_and_repr_shows_autograd_only():
    assert rnnbook.LSTM(3, 4).bptt == "hand"
    assert repr(rnnbook.LSTM(3, 4)) == repr(torch.nn.LSTM(3, 4))
    assert repr(rnnbook.GRU(3, 4, bptt="autograd")) == "GRU(3, 4, bptt='autograd')"


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_bad_backward_argument(kind):
    with pytest.raises(ValueError, match=r"bptt must be one of 'hand', 'autograd'; got 'fused'"):
        getattr(rnnbook, kind)(3, 4, bptt="fused")


@pytest.mark.parametrize("size", [8, 128])
@pytest.mark.parametrize("kind,extra", LAYER_CASES)
def test_float32_paths_agree(kind, extra, size):
    """In float32 on the CPU the bptt path's larger matrix products go through oneDNN (where
    torch has it; hidden size 128 with batch 32 is above the threshold, 8 below): the same
    results as the autograd path up to float32 rounding (relative 1e-4)."""
    fast = getattr(rnnbook, kind)(16, size, 2, bidirectional=True, **extra)
    slow = getattr(rnnbook, kind)(16, size, 2, bidirectional=True, **extra, bptt="autograd")
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(5, 32, 16)
    weights = [torch.randn(5, 32, 2 * (extra.get("proj_size") or size))]
    outs, grads = [], []
    for m in (fast, slow):
        m.zero_grad()
        xx = x.clone().requires_grad_(True)
        out, _ = m(xx)
        (out * weights[0]).sum().backward()
        outs.append(out.detach())
        grads.append([xx.grad] + [p.grad for p in m.parameters()])
    assert (outs[0] - outs[1]).abs().max().item() <= 1e-4 * outs[1].abs().max().item()
    for u, v in zip(*grads, strict=True):
        assert (u - v).abs().max().item() <= 1e-4 * max(v.abs().max().item(), 1e-3)


def test_linear_helper_matches_matmul():
    from rnnbook.kernels.private import linear as _linear

    for dtype, tol in [(torch.float32, 1e-5), (F64, 1e-14)]:
        for n in (1, 5, 32):
            x, w, b = torch.randn(n, 7, dtype=dtype), torch.randn(12, 7, dtype=dtype), torch.randn(12, dtype=dtype)
            assert (_linear(x, w) - x @ w.T).abs().max().item() <= tol
            assert (_linear(x, w, b) - (x @ w.T + b)).abs().max().item() <= tol
            assert (_linear(x.T.contiguous().T, w) - x @ w.T).abs().max().item() <= tol  # strided x


def test_tanh_through_sigmoid_is_tanh_up_to_rounding():
    from rnnbook.kernels.ops import tanh_ as _tanh_

    for dtype, tol in [(torch.float32, 3e-7), (F64, 1e-15)]:
        for n in (20001, 100):  # above and below the size where the identity is used
            x = torch.linspace(-12, 12, n, dtype=dtype)
            assert (_tanh_(x.clone()) - torch.tanh(x)).abs().max().item() <= tol


def test_packed_weight_and_row_sum_products():
    from rnnbook.kernels.ops import t_product as _t_product
    from rnnbook.kernels.private import linear as _linear, pack_weight as _pack

    for dtype, tol in [(torch.float32, 1e-5), (F64, 1e-14)]:
        for size in (9, 128):  # below and above the size where oneDNN is used
            w = torch.randn(4 * size, size, dtype=dtype)
            for n in (1, 4, 32):
                x = torch.randn(n, size, dtype=dtype)
                scale = (x @ w.T).abs().max().item()
                assert (_linear(x, _pack(w, n)) - x @ w.T).abs().max().item() <= tol * scale
            a, b = torch.randn(3000, 4 * size, dtype=dtype), torch.randn(3000, size, dtype=dtype)
            assert (_t_product(a, b) - a.T @ b).abs().max().item() <= tol * (a.T @ b).abs().max().item()


@pytest.mark.parametrize("bias", [True, False])
def test_input_projection_gradcheck_and_equals_linear(bias):
    from rnnbook.kernels.projection import InputProjection

    x, w = _leaf(4, 3, 5), _leaf(6, 5)
    b = _leaf(6) if bias else None
    args = (x, w, b) if bias else (x, w)
    assert torch.autograd.gradcheck(lambda x, w, b=None: InputProjection.apply(x, w, b), args)
    assert (InputProjection.apply(x, w, b) - torch.nn.functional.linear(x, w, b)).abs().max().item() <= TOL
    xt = _leaf(3, 4, 5).transpose(0, 1)  # a non-contiguous input, as batch_first gives
    assert torch.autograd.gradcheck(lambda x, w, b=None: InputProjection.apply(x, w, b), (xt,) + args[1:])


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_forward_mode_ad_falls_back_to_the_autograd_loop(kind):
    """The hand-written Functions have no jvp; forward-mode AD must still work, and agree with
    reverse mode, on the default (bptt) path."""
    import torch.autograd.forward_ad as fwAD

    layer = getattr(rnnbook, kind)(2, 3, dtype=torch.float64)
    x = torch.randn(4, 1, 2, dtype=torch.float64)
    tangent = torch.randn_like(x)
    with fwAD.dual_level():
        out = layer(fwAD.make_dual(x, tangent))[0]
        jvp = fwAD.unpack_dual(out).tangent
    # reference: the reverse-mode Jacobian (through the hand-written backward) times the tangent
    jac = torch.autograd.functional.jacobian(lambda x: layer(x)[0], x)
    ref = (jac.reshape(out.numel(), x.numel()) @ tangent.reshape(-1)).reshape(out.shape)
    assert (jvp - ref).abs().max().item() <= 1e-12


def _grads_of(module, x, weights, retain=False):
    """Gradients of x and every parameter for the loss Σ output ⊙ w + Σ h_n ⊙ w' (+ Σ c_n ⊙ w''
    for an LSTM), one list per backward pass: two passes through one graph with ``retain``."""
    _, passes = backward_passes(module, x, None, weights, passes=2 if retain else 1)
    return [[leaves[0], *grads.values()] for grads, leaves in passes]


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_a_retained_graph_gives_the_same_gradients_twice(kind):
    """The GRU's and LSTM's backwards write each step's gradients over that step's saved factors,
    but only when autograd frees the graph after the pass: with retain_graph=True the factors stay
    intact, so a second backward through the same graph gives the same gradients, which are
    those of a fresh pass and of the autograd path (150 steps of batch 4: three of the RNN's
    backward blocks of 64 steps)."""
    fast = getattr(rnnbook, kind)(3, 5, 2, bidirectional=True, dtype=F64)
    slow = getattr(rnnbook, kind)(3, 5, 2, bidirectional=True, dtype=F64, bptt="autograd")
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(150, 4, 3, dtype=F64)
    weights = [torch.randn(150, 4, 10, dtype=F64), torch.randn(4, 4, 5, dtype=F64)]
    if kind == "LSTM":
        weights.append(torch.randn(4, 4, 5, dtype=F64))  # for c_n
    first, second = _grads_of(fast, x, weights, retain=True)
    (fresh,) = _grads_of(fast, x, weights)
    (reference,) = _grads_of(slow, x, weights)
    for a, b, c, d in zip(first, second, fresh, reference, strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)
        assert (a - d).abs().max().item() <= TOL


def test_without_the_private_keep_graph_call_nothing_is_overwritten(monkeypatch):
    """``keep_graph`` reads a private torch call; where it is missing it answers True (the
    GRU's backward then writes into buffers of its own) and the gradients stay right."""
    from rnnbook.kernels import private
    assert private.keep_graph() is True  # outside a backward pass autograd keeps nothing to free
    monkeypatch.delattr(torch._C._autograd, "_get_current_graph_task_keep_graph")
    assert private.keep_graph() is True
    fast, slow = rnnbook.GRU(3, 5, dtype=F64), rnnbook.GRU(3, 5, dtype=F64, bptt="autograd")
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(6, 2, 3, dtype=F64)
    weights = [torch.randn(6, 2, 5, dtype=F64), torch.randn(1, 2, 5, dtype=F64)]
    for a, b in zip(_grads_of(fast, x, weights)[0], _grads_of(slow, x, weights)[0], strict=True):
        assert (a - b).abs().max().item() <= TOL


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_bptt_functions_overwrite_gi_only_when_allowed(kind):
    from rnnbook.kernels.gru_bptt import gru_bptt
    from rnnbook.kernels.lstm_bptt import lstm_bptt
    h0 = torch.randn(2, 3, dtype=F64)
    if kind == "GRU":
        gi, w = torch.randn(4, 2, 9, dtype=F64), torch.randn(9, 3, dtype=F64)
        run = lambda gi, **kw: gru_bptt(gi, h0, w, None, **kw)  # noqa: E731
    else:
        gi, w, b = torch.randn(4, 2, 12, dtype=F64), torch.randn(12, 3, dtype=F64), torch.randn(12, dtype=F64)
        run = lambda gi, **kw: lstm_bptt(gi, h0, h0.flip(0), w, b, **kw)  # noqa: E731
    kept = gi.clone()
    first = run(gi)
    assert torch.equal(gi, kept)
    second = run(gi, overwrite_gi=True)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    assert not torch.equal(gi, kept)  # its memory now holds the gates (no gradient wanted: no factors)
    with pytest.raises(TypeError, match="overwrite_gi must be a bool, got int"):
        run(kept, overwrite_gi=1)


@pytest.mark.parametrize("steps", [1, 16, 17, 40])
def test_elman_float32_blocks(steps):
    """In float32 with batch 32 the RNN's backward runs in blocks of 8 steps (256 rows) through
    oneDNN: 1, 16, 17 and 40 steps (one short block, exactly two, two and one step, five)
    agree with the autograd path up to float32 rounding (relative 1e-4)."""
    from rnnbook.kernels import elman_bptt
    assert elman_bptt._BLOCK_ROWS == 256
    fast = rnnbook.RNN(16, 128)
    slow = rnnbook.RNN(16, 128, bptt="autograd")
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(steps, 32, 16)
    weights = [torch.randn(steps, 32, 128), torch.randn(1, 32, 128)]
    for a, b in zip(_grads_of(fast, x, weights)[0], _grads_of(slow, x, weights)[0], strict=True):
        assert (a - b).abs().max().item() <= 1e-4 * b.abs().max().item()


@pytest.mark.parametrize("retain", [False, True])
@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_backward_writes_over_its_factors_only_when_the_graph_is_freed(kind, retain):
    """Where ∂L/∂gi lives: in the buffer of saved factors (the Function's last output) after a
    pass that frees the graph, in a tensor of its own after one that keeps it."""
    from rnnbook.kernels.gru_bptt import GRUBPTT
    from rnnbook.kernels.lstm_bptt import LSTMBPTT
    gates = 3 if kind == "GRU" else 4
    gi = _leaf(5, 3, 4 * gates).clone()
    seen = []
    gi.register_hook(lambda g: seen.append(g.data_ptr()))
    if kind == "GRU":
        *outs, buf = GRUBPTT.apply(gi, _leaf(3, 4), _leaf(12, 4), _leaf(12))
    else:
        *outs, buf = LSTMBPTT.apply(gi, _leaf(3, 4), _leaf(3, 4), _leaf(16, 4), _leaf(16), None)
    assert not buf.requires_grad  # scratch, not a result
    sum(t.sum() for t in outs).backward(retain_graph=retain)
    assert (seen[0] == buf.data_ptr()) is not retain


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_create_graph_without_retain_graph(kind):
    """create_graph=True with retain_graph=False: autograd frees the graph after the pass, so the
    GRU's and LSTM's backwards write over their saved factors, and the first-order check must
    have read what it needs before that (it used to fail autograd's version check)."""
    fast = getattr(rnnbook, kind)(3, 5, dtype=F64)
    slow = getattr(rnnbook, kind)(3, 5, dtype=F64, bptt="autograd")
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(6, 2, 3, dtype=F64)
    grads = [torch.autograd.grad(m(x)[0].square().sum(), list(m.parameters()), create_graph=True,
                                 retain_graph=False) for m in (fast, slow)]
    assert max((u - v).abs().max().item() for u, v in zip(*grads)) <= TOL
    with pytest.raises(RuntimeError, match="first derivatives only"):
        grads[0][1].square().sum().backward()  # through the hand-written backward: refused


def test_gru_factors_computed_in_several_blocks(monkeypatch):
    """GRUBPTT computes the backward's factors a block of steps at a time (``_FACTOR_BLOCK``
    elements) in its Python path (the compiled loop, switched off here, computes them step by
    step); blocks of one, two and three steps give the gradients of the autograd path."""
    from rnnbook.kernels import gru_bptt
    monkeypatch.setenv("RNNBOOK_NATIVE", "0")
    fast, slow = rnnbook.GRU(3, 5, dtype=F64), rnnbook.GRU(3, 5, dtype=F64, bptt="autograd")
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(7, 2, 3, dtype=F64)
    weights = [torch.randn(7, 2, 5, dtype=F64), torch.randn(1, 2, 5, dtype=F64)]
    (reference,) = _grads_of(slow, x, weights)
    for steps in (1, 2, 3):
        monkeypatch.setattr(gru_bptt, "_FACTOR_BLOCK", steps * 2 * 5)
        (got,) = _grads_of(fast, x, weights)
        for a, b in zip(got, reference, strict=True):
            assert (a - b).abs().max().item() <= TOL, steps
