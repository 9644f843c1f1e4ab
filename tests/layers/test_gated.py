"""rnnbook.GRU / LSTM (and their cells) against torch in float64; the Cho-form GRU and the
peephole LSTM against literal loops; gradchecks."""

import itertools

import pytest
import torch

import rnnbook
from helpers import TOL, assert_parity

F64 = torch.float64
LAYERS = {"GRU": (rnnbook.GRU, torch.nn.GRU), "LSTM": (rnnbook.LSTM, torch.nn.LSTM)}


def _initial_state(kind, rows, batch, hidden, proj, batched=True):
    lead = (rows, batch) if batched else (rows,)
    h0 = torch.randn(*lead, proj or hidden, dtype=F64)
    if kind == "GRU":
        return h0
    return (h0, torch.randn(*lead, hidden, dtype=F64))


CONFIGS = [
    (kind, L, bi, bf, h0, bias, proj)
    for kind, L, bi, bf, h0, bias in itertools.product(LAYERS, [1, 2, 3], [False, True], [False, True],
                                                       [False, True], [True, False])
    for proj in ([0, 3] if kind == "LSTM" else [0])
]


@pytest.mark.parametrize("bptt", ["hand", "autograd"])
@pytest.mark.parametrize("kind,num_layers,bidirectional,batch_first,with_h0,bias,proj_size", CONFIGS)
def test_layer_parity_with_torch(kind, num_layers, bidirectional, batch_first, with_h0, bias, proj_size, bptt):
    ours_cls, theirs_cls = LAYERS[kind]
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias, dtype=F64)
    if proj_size:
        kw["proj_size"] = proj_size
    theirs = theirs_cls(3, 5, **kw)
    ours = ours_cls(3, 5, **kw, bptt=bptt)
    ours.load_state_dict(theirs.state_dict())  # torch -> rnnbook
    T, N, D = 6, 4, 2 if bidirectional else 1
    x = torch.randn((N, T, 3) if batch_first else (T, N, 3), dtype=F64)
    hx = _initial_state(kind, D * num_layers, N, 5, proj_size) if with_h0 else None
    assert_parity(ours, theirs, x, hx)


@pytest.mark.parametrize("bptt", ["hand", "autograd"])
@pytest.mark.parametrize("kind,num_layers,bidirectional,with_h0,proj_size",
                         [(k, L, bi, h0, p) for k, L, bi, h0 in itertools.product(LAYERS, [1, 2], [False, True], [False, True])
                          for p in ([0, 2] if k == "LSTM" else [0])])
def test_unbatched_input_and_reverse_state_dict(kind, num_layers, bidirectional, with_h0, proj_size, bptt):
    ours_cls, theirs_cls = LAYERS[kind]
    kw = dict(bidirectional=bidirectional, batch_first=True, dtype=F64)
    if proj_size:
        kw["proj_size"] = proj_size
    ours = ours_cls(3, 4, num_layers, **kw, bptt=bptt)
    theirs = theirs_cls(3, 4, num_layers, **kw)
    theirs.load_state_dict(ours.state_dict())  # rnnbook -> torch
    D = 2 if bidirectional else 1
    x = torch.randn(5, 3, dtype=F64)
    hx = _initial_state(kind, D * num_layers, None, 4, proj_size, batched=False) if with_h0 else None
    assert_parity(ours, theirs, x, hx)
    out, _ = ours(x, hx)
    assert out.shape == (5, D * (proj_size or 4))


@pytest.mark.parametrize("kind", LAYERS)
def test_same_seed_same_initial_weights_names_and_repr(kind):
    ours_cls, theirs_cls = LAYERS[kind]
    kw = {"proj_size": 3} if kind == "LSTM" else {}
    torch.manual_seed(3)
    theirs = theirs_cls(4, 6, 3, bidirectional=True, **kw)
    torch.manual_seed(3)
    ours = ours_cls(4, 6, 3, bidirectional=True, **kw)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert torch.equal(p, q), n
    assert repr(ours) == repr(theirs)


def test_positional_arguments_in_torch_order():
    ours = rnnbook.LSTM(3, 4, 2, False, True, 0.5, True, 2)
    theirs = torch.nn.LSTM(3, 4, 2, False, True, 0.5, True, 2)
    names = ["input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional", "proj_size"]
    assert [getattr(ours, n) for n in names] == [getattr(theirs, n) for n in names]
    g_ours, g_theirs = rnnbook.GRU(3, 4, 2, False, True, 0.5, True), torch.nn.GRU(3, 4, 2, False, True, 0.5, True)
    assert [getattr(g_ours, n) for n in names[:-1]] == [getattr(g_theirs, n) for n in names[:-1]]
    assert repr(ours) == repr(theirs) and repr(g_ours) == repr(g_theirs)


@pytest.mark.parametrize("kind", LAYERS)
def test_dropout_in_eval_matches_torch(kind):
    ours_cls, theirs_cls = LAYERS[kind]
    ours = ours_cls(3, 6, 2, dropout=0.5, dtype=F64)
    theirs = theirs_cls(3, 6, 2, dropout=0.5, dtype=F64).eval()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(5, 2, 3, dtype=F64)
    ours.train()
    assert not torch.equal(ours(x)[0], ours(x)[0])
    ours.eval()
    assert (ours(x)[0] - theirs(x)[0]).abs().max().item() <= TOL


@pytest.mark.parametrize("bias,batched,with_state", list(itertools.product([True, False], [True, False], [True, False])))
def test_gru_cell_parity_with_torch(bias, batched, with_state):
    theirs = torch.nn.GRUCell(3, 5, bias=bias, dtype=F64)
    ours = rnnbook.GRUCell(3, 5, bias=bias, dtype=F64)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn((4, 3) if batched else (3,), dtype=F64, requires_grad=True)
    h = torch.randn((4, 5) if batched else (5,), dtype=F64, requires_grad=True) if with_state else None
    a, b = ours(x, h), theirs(x, h)
    assert a.shape == b.shape and (a - b).abs().max().item() <= TOL
    w = torch.randn_like(a)
    ga = torch.autograd.grad((a * w).sum(), [x, *ours.parameters()])
    gb = torch.autograd.grad((b * w).sum(), [x, *theirs.parameters()])
    assert max((u - v).abs().max().item() for u, v in zip(ga, gb)) <= TOL
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("bias,batched,with_state", list(itertools.product([True, False], [True, False], [True, False])))
def test_lstm_cell_parity_with_torch(bias, batched, with_state):
    theirs = torch.nn.LSTMCell(3, 5, bias=bias, dtype=F64)
    ours = rnnbook.LSTMCell(3, 5, bias=bias, dtype=F64)
    ours.load_state_dict(theirs.state_dict())
    lead = (4,) if batched else ()
    x = torch.randn(*lead, 3, dtype=F64, requires_grad=True)
    hx = (torch.randn(*lead, 5, dtype=F64), torch.randn(*lead, 5, dtype=F64)) if with_state else None
    (ha, ca), (hb, cb) = ours(x, hx), theirs(x, hx)
    assert ha.shape == hb.shape == ca.shape == cb.shape == (*lead, 5)
    assert max((ha - hb).abs().max().item(), (ca - cb).abs().max().item()) <= TOL
    wh, wc = torch.randn_like(ha), torch.randn_like(ca)
    ga = torch.autograd.grad((ha * wh).sum() + (ca * wc).sum(), [x, *ours.parameters()])
    gb = torch.autograd.grad((hb * wh).sum() + (cb * wc).sum(), [x, *theirs.parameters()])
    assert max((u - v).abs().max().item() for u, v in zip(ga, gb)) <= TOL
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_bidirectional_layout_as_torch(kind):
    """output[..., :H] is the forward direction, output[..., H:] the backward one; h_n[2k + 1]
    is layer k's backward state after reading the sequence from the end to the start."""
    ours = getattr(rnnbook, kind)(3, 4, 2, bidirectional=True, dtype=F64)
    theirs = getattr(torch.nn, kind)(3, 4, 2, bidirectional=True, dtype=F64)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(6, 2, 3, dtype=F64)
    out, state = ours(x)
    h_n = state[0] if kind == "LSTM" else state
    assert (out - theirs(x)[0]).abs().max().item() <= TOL
    assert torch.equal(out[-1, :, :4], h_n[2, :, :])  # forward: last step
    assert torch.equal(out[0, :, 4:], h_n[3, :, :])  # backward: first step
    assert_parity(ours, theirs, x)


def test_layer_equals_cell_unrolled():
    for layer_cls, cell_cls in [(rnnbook.GRU, rnnbook.GRUCell), (rnnbook.LSTM, rnnbook.LSTMCell),
                                (rnnbook.PeepholeLSTM, rnnbook.PeepholeLSTMCell)]:
        layer = layer_cls(3, 4, dtype=F64)
        cell = cell_cls(3, 4, dtype=F64)
        cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
        x = torch.randn(6, 2, 3, dtype=F64)
        state, outs = None, []
        for t in range(6):
            state = cell(x[t], state)
            outs.append(state if isinstance(state, torch.Tensor) else state[0])
        out, _ = layer(x)
        # the layer projects all inputs in one product before the loop: equal up to rounding
        assert (out - torch.stack(outs)).abs().max().item() <= TOL, layer_cls.__name__


def _cho_gru_loop(cell, x, h):
    """The GRU of Cho et al. (2014), written from the paper's equations with explicit gates."""
    H = cell.hidden_size
    W, U = cell.weight_ih, cell.weight_hh
    b = cell.bias_ih + cell.bias_hh
    Wr, Wz, Wn = W[:H], W[H:2 * H], W[2 * H:]
    Ur, Uz, Un = U[:H], U[H:2 * H], U[2 * H:]
    out = []
    for t in range(x.shape[0]):
        r = torch.sigmoid(x[t] @ Wr.T + h @ Ur.T + b[:H])
        z = torch.sigmoid(x[t] @ Wz.T + h @ Uz.T + b[H:2 * H])
        n = torch.tanh(x[t] @ Wn.T + (r * h) @ Un.T + b[2 * H:])
        h = z * h + (1 - z) * n
        out.append(h)
    return torch.stack(out)


def test_cho_form_gru_matches_literal_loop_and_differs_from_torch_form():
    cho = rnnbook.GRUCell(3, 5, dtype=F64, reset_after=False)
    x = torch.randn(7, 2, 3, dtype=F64)
    h0 = torch.randn(2, 5, dtype=F64)
    expected = _cho_gru_loop(cho, x, h0)
    layer = rnnbook.GRU(3, 5, dtype=F64, reset_after=False)
    layer.load_state_dict({k + "_l0": v for k, v in cho.state_dict().items()})
    out, h_n = layer(x, h0[None])
    assert (out - expected).abs().max().item() <= TOL
    torch_form = rnnbook.GRU(3, 5, dtype=F64)
    torch_form.load_state_dict(layer.state_dict())
    assert (torch_form(x, h0[None])[0] - out).abs().max().item() > 1e-3  # the two forms differ


def test_cho_form_equals_torch_form_when_reset_gate_is_one_and_no_recurrent_candidate_bias():
    """With r = 1 and b_hn = 0, r * (W_hn h + b_hn) = W_hn (r * h): the two forms coincide."""
    a = rnnbook.GRU(3, 4, dtype=F64)
    with torch.no_grad():
        a.bias_ih_l0[:4] = 50.0  # r = sigma(large) = 1 in float64
        a.bias_hh_l0[8:] = 0.0
    b = rnnbook.GRU(3, 4, dtype=F64, reset_after=False)
    b.load_state_dict(a.state_dict())
    x = torch.randn(5, 2, 3, dtype=F64)
    assert (a(x)[0] - b(x)[0]).abs().max().item() <= 1e-15


def _peephole_loop(cell, x, h, c):
    """The peephole LSTM (Gers & Schmidhuber 2000) written out unit by unit."""
    H = cell.hidden_size
    W, U, b = cell.weight_ih, cell.weight_hh, cell.bias_ih + cell.bias_hh
    out = []
    for t in range(x.shape[0]):
        h_new, c_new = torch.empty_like(h), torch.empty_like(c)
        for n in range(x.shape[1]):
            for j in range(H):
                def pre(k):
                    return x[t, n] @ W[k * H + j] + h[n] @ U[k * H + j] + b[k * H + j]
                i = torch.sigmoid(pre(0) + cell.weight_ci[j] * c[n, j])
                f = torch.sigmoid(pre(1) + cell.weight_cf[j] * c[n, j])
                g = torch.tanh(pre(2))
                c_new[n, j] = f * c[n, j] + i * g
                o = torch.sigmoid(pre(3) + cell.weight_co[j] * c_new[n, j])
                h_new[n, j] = o * torch.tanh(c_new[n, j])
        h, c = h_new, c_new
        out.append(h)
    return torch.stack(out), c


def test_peephole_lstm_matches_literal_loop():
    layer = rnnbook.PeepholeLSTM(3, 4, dtype=F64)
    cell = rnnbook.PeepholeLSTMCell(3, 4, dtype=F64)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = torch.randn(5, 2, 3, dtype=F64)
    h0, c0 = torch.randn(1, 2, 4, dtype=F64), torch.randn(1, 2, 4, dtype=F64)
    out, (h_n, c_n) = layer(x, (h0, c0))
    expected, c_last = _peephole_loop(cell, x, h0[0], c0[0])
    assert (out - expected).abs().max().item() <= TOL
    assert (c_n[0] - c_last).abs().max().item() <= TOL


def test_peephole_lstm_with_zero_peepholes_is_the_lstm():
    peep = rnnbook.PeepholeLSTM(3, 4, 2, bidirectional=True, dtype=F64)
    with torch.no_grad():
        for name, p in peep.named_parameters():
            if name.startswith(("weight_ci", "weight_cf", "weight_co")):
                p.zero_()
    lstm = torch.nn.LSTM(3, 4, 2, bidirectional=True, dtype=F64)
    lstm.load_state_dict({k: v for k, v in peep.state_dict().items() if not k.startswith("weight_c")})
    x = torch.randn(5, 2, 3, dtype=F64)
    assert (peep(x)[0] - lstm(x)[0]).abs().max().item() <= TOL
    assert (peep(x)[1][1] - lstm(x)[1][1]).abs().max().item() <= TOL


def _gradcheck_cell(cell, x, state):
    names = [n for n, _ in cell.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in cell.parameters())
    n_state = len(state)

    def f(x, *rest):
        st, ps = rest[:n_state], rest[n_state:]
        return torch.func.functional_call(cell, dict(zip(names, ps)), (x, tuple(st)))

    return torch.autograd.gradcheck(f, (x, *state, *params))


def test_peephole_cell_gradcheck():
    cell = rnnbook.PeepholeLSTMCell(3, 4, dtype=F64)
    x = torch.randn(2, 3, dtype=F64, requires_grad=True)
    state = tuple(torch.randn(2, 4, dtype=F64, requires_grad=True) for _ in range(2))
    assert _gradcheck_cell(cell, x, state)


def test_peephole_layer_gradcheck():
    layer = rnnbook.PeepholeLSTM(2, 3, 2, bidirectional=True, dtype=F64)
    x = torch.randn(4, 2, 2, dtype=F64, requires_grad=True)
    h0 = torch.randn(4, 2, 3, dtype=F64, requires_grad=True)
    c0 = torch.randn(4, 2, 3, dtype=F64, requires_grad=True)
    def f(x, h0, c0):
        out, (h_n, c_n) = layer(x, (h0, c0))
        return out, h_n, c_n

    assert torch.autograd.gradcheck(f, (x, h0, c0))


def test_cho_gru_cell_and_layer_gradcheck():
    cell = rnnbook.GRUCell(3, 4, dtype=F64, reset_after=False)
    x = torch.randn(2, 3, dtype=F64, requires_grad=True)
    h = torch.randn(2, 4, dtype=F64, requires_grad=True)
    names = [n for n, _ in cell.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in cell.parameters())
    assert torch.autograd.gradcheck(
        lambda x, h, *ps: torch.func.functional_call(cell, dict(zip(names, ps)), (x, h)), (x, h, *params))
    layer = rnnbook.GRU(2, 3, 2, bidirectional=True, dtype=F64, reset_after=False)
    xs = torch.randn(4, 2, 2, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda xs: layer(xs), (xs,))


def test_lstm_projection_layer_gradcheck():
    layer = rnnbook.LSTM(2, 4, 2, bidirectional=True, proj_size=2, dtype=F64)
    x = torch.randn(3, 2, 2, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: (layer(x)[0], *layer(x)[1]), (x,))
