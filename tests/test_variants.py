"""The variants of chapter 6: each against a plain, literal loop of its paper's equations
(written here, independently of the package), gradcheck, and the invariants the chapter uses."""

from __future__ import annotations

import math
import re

import pytest
import torch

import rnnbook
from rnnbook.scan import (RECURRENCES, linear_recurrence, linear_recurrence_bptt, linear_recurrence_loop,
                          linear_scan, reverse_recurrence)

F64 = torch.float64
TOL = 1e-12
sig = torch.sigmoid


def rand(*shape, lo=-1.0, hi=1.0):
    return torch.rand(*shape, dtype=F64) * (hi - lo) + lo


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
    for method in RECURRENCES:
        assert (linear_recurrence(a, b, h0, method) - ref).abs().max() <= TOL
    with pytest.raises(ValueError, match="recurrence must be one of"):
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



# ---------------------------------------------------------------- Clockwork RNN
def clockwork_loop(cw, xs, h0):
    """Koutník et al. 2014, module by module: module i fires when t mod T_i == 0 (t from 0)
    and then reads every module j with T_j >= T_i."""
    k, periods = cw.module_size, cw.periods
    W_I, W_H, b = cw.weight_ih, cw.weight_hh, cw.bias
    h = h0.clone()
    out = []
    for t in range(xs.shape[0]):
        new = h.clone()
        for i, T_i in enumerate(periods):
            if t % T_i != 0:
                continue                               # inactive: keeps its state
            rows = slice(i * k, (i + 1) * k)
            pre = W_I[rows] @ xs[t] + b[rows]
            for j, T_j in enumerate(periods):
                if T_j >= T_i:                         # slower (or equal) -> faster only
                    pre = pre + W_H[rows, j * k:(j + 1) * k] @ h[j * k:(j + 1) * k]
            new[rows] = torch.tanh(pre)
        h = new
        out.append(h)
    return torch.stack(out)


@pytest.mark.parametrize("periods", [None, (1, 3, 5), (2, 1, 4)])
def test_clockwork_matches_literal_loop(periods):
    cw = rnnbook.ClockworkRNN(2, 6 if periods else 8, periods=periods, dtype=F64)
    xs, h0 = rand(13, 2), rand(cw.hidden_size)
    out, h_n = cw(xs, h0[None])
    ref = clockwork_loop(cw, xs, h0)
    assert (out - ref).abs().max() <= TOL
    assert (h_n[0] - ref[-1]).abs().max() <= TOL


def test_clockwork_layouts_agree():
    cw = rnnbook.ClockworkRNN(2, 8, batch_first=True, dtype=F64)
    x = rand(3, 7, 2)                                  # (N, L, H_in)
    out, h_n = cw(x)
    assert out.shape == (3, 7, 8) and h_n.shape == (1, 3, 8)
    for n in range(3):
        o1, h1 = cw(x[n])                              # unbatched (L, H_in)
        assert (o1 - out[n]).abs().max() <= TOL and (h1 - h_n[:, n]).abs().max() <= TOL


def test_clockwork_inactive_module_keeps_state():
    cw = rnnbook.ClockworkRNN(1, 4, periods=(1, 4), dtype=F64)
    out, _ = cw(rand(9, 1))
    slow = out[:, 2:]
    for t in range(1, 9):
        same = (slow[t] == slow[t - 1]).all().item()
        assert same == (t % 4 != 0)


def test_clockwork_gradcheck():
    cw = rnnbook.ClockworkRNN(2, 4, periods=(1, 2), dtype=F64)
    x = rand(6, 1, 2).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, w: torch.func.functional_call(
        cw, {"weight_ih": w}, (x,))[0], (x, cw.weight_ih.detach().clone().requires_grad_()))


@pytest.mark.parametrize("opt", ["sgd", "adam", "adamw"])
def test_clockwork_mask_invariant_after_optimiser_step(opt):
    cw = rnnbook.ClockworkRNN(3, 12, num_modules=3, dtype=F64)
    forbidden = cw.mask == 0
    assert forbidden.any() and (cw.weight_hh[forbidden] == 0).all()
    make = {"sgd": lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.9, weight_decay=0.1),
            "adam": lambda p: torch.optim.Adam(p, lr=0.1),
            "adamw": lambda p: torch.optim.AdamW(p, lr=0.1, weight_decay=0.1)}[opt]
    optimizer = make(cw.parameters())
    before = cw.weight_hh.detach().clone()
    for _ in range(3):
        out, _ = cw(rand(10, 2, 3))
        optimizer.zero_grad()
        out.square().sum().backward()
        assert (cw.weight_hh.grad[forbidden] == 0).all()
        optimizer.step()
    assert (cw.weight_hh[forbidden] == 0).all()
    assert (cw.weight_hh[~forbidden] != before[~forbidden]).any()   # the allowed blocks did learn


def test_clockwork_free_parameters():
    cw = rnnbook.ClockworkRNN(1, 64, num_modules=8)
    assert cw.num_free_parameters() == 64 + 36 * 64 + 64


# ---------------------------------------------------------------- SRU
def sru_loop(sru, xs, c0):
    """Lei et al. 2018, one layer, step by step (version 2017: no v ⊙ c terms)."""
    H = sru.hidden_size
    hs_layers = xs
    finals = []
    for layer in range(sru.num_layers):
        Wall = getattr(sru, f"weight_l{layer}")
        W, W_f, W_r = Wall[:H], Wall[H:2 * H], Wall[2 * H:3 * H]
        b = getattr(sru, f"bias_l{layer}")
        b_f, b_r = b[:H], b[H:]
        if sru.version == "2018":
            v = getattr(sru, f"weight_c_l{layer}")
            v_f, v_r = v[:H], v[H:]
        else:
            v_f = v_r = torch.zeros(H, dtype=F64)
        alpha = math.sqrt(1 + 2 * math.exp(sru.highway_bias)) if sru.rescale else 1.0
        c = c0[layer].clone()
        hs = []
        for x in hs_layers:
            f = sig(W_f @ x + v_f * c + b_f)
            r = sig(W_r @ x + v_r * c + b_r)
            c = f * c + (1 - f) * (W @ x)
            highway = Wall[3 * H:] @ x if Wall.shape[0] == 4 * H else alpha * x
            hs.append(r * c + (1 - r) * highway)
        hs_layers = torch.stack(hs)
        finals.append(c)
    return hs_layers, torch.stack(finals)


SRU_RECURRENCES = [("2018", "bptt"), ("2018", "autograd"), ("2017", "bptt"), ("2017", "scan"), ("2017", "autograd")]


@pytest.mark.parametrize("version,recurrence", SRU_RECURRENCES)
@pytest.mark.parametrize("rescale", [True, False])
def test_sru_matches_literal_loop(version, recurrence, rescale):
    sru = rnnbook.SRU(3, 5, num_layers=2, version=version, rescale=rescale, highway_bias=-1.0,
                      recurrence=recurrence, dtype=F64)
    with torch.no_grad():
        for p in sru.parameters():
            p.add_(rand(*p.shape) * 0.3)               # bias and v away from their init
    xs, c0 = rand(9, 3), rand(2, 5)
    out, c_n = sru(xs, c0)
    ref, ref_c = sru_loop(sru, xs, c0)
    assert getattr(sru, "weight_l0").shape == (4 * 5, 3) and sru.weight_l1.shape == (3 * 5, 5)
    assert (out - ref).abs().max() <= TOL and (c_n - ref_c).abs().max() <= TOL


@pytest.mark.parametrize("version,recurrence", SRU_RECURRENCES)
@pytest.mark.parametrize("input_size", [2, 3])     # 2 != H: the W_p highway; 3 = H: α x
def test_sru_gradcheck(version, recurrence, input_size):
    sru = rnnbook.SRU(input_size, 3, num_layers=2, version=version, recurrence=recurrence, dtype=F64)
    x, c0 = rand(5, 2, input_size).requires_grad_(), rand(2, 2, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, c0, *p: sru(x, c0), (x, c0, *sru.parameters()))


def all_gradients(module, x, state):
    """Output, final state and the gradients of a fixed loss w.r.t. input, state and parameters."""
    x, state = x.clone().requires_grad_(), state.clone().requires_grad_()
    out, final = module(x, state)
    weights = torch.linspace(-1, 1, out.numel(), dtype=F64).reshape(out.shape)
    ((out * weights).sum() + 0.7 * final.sum()).backward()
    return [out, final, x.grad, state.grad] + [p.grad for p in module.parameters()]


@pytest.mark.parametrize("version,recurrence", SRU_RECURRENCES)
def test_sru_recurrences_agree_with_the_autograd_loop(version, recurrence):
    x, c0 = rand(11, 3, 4), rand(2, 3, 5)
    torch.manual_seed(0)
    ref = rnnbook.SRU(4, 5, num_layers=2, version=version, recurrence="autograd", dtype=F64)
    torch.manual_seed(0)
    sru = rnnbook.SRU(4, 5, num_layers=2, version=version, recurrence=recurrence, dtype=F64)
    for got, want in zip(all_gradients(sru, x, c0), all_gradients(ref, x, c0), strict=True):
        assert (got - want).abs().max() <= TOL


def test_sru_layer_bptt_gradcheck_direct():
    """The Function itself, every input (U, x, bias, v, c0), both forms and both highways."""
    from rnnbook.sru import SRULayerBPTT
    for k, v in ((3, rand(6)), (4, rand(6)), (3, None)):
        U, x = rand(4, 2, k * 3).requires_grad_(), rand(4, 2, 3).requires_grad_()
        bias, c0 = rand(6).requires_grad_(), rand(2, 3).requires_grad_()
        if v is not None:
            v.requires_grad_()
        assert torch.autograd.gradcheck(lambda U, x, b, c0, *v: SRULayerBPTT.apply(U, x, b, v[0] if v else None, c0, 1.3),
                                        (U, x, bias, c0, *([v] if v is not None else [])))


def test_sru_scan_needs_the_2017_form():
    with pytest.raises(ValueError, match="version='2017'"):
        rnnbook.SRU(2, 2, recurrence="scan")
    with pytest.raises(ValueError, match="recurrence must be one of"):
        rnnbook.SRU(2, 2, recurrence="fused")
    assert "recurrence='autograd'" in repr(rnnbook.SRU(2, 2, recurrence="autograd"))


def test_sru_alpha_value():
    assert rnnbook.SRU(2, 2).alpha == pytest.approx(math.sqrt(3), abs=1e-15)
    assert rnnbook.SRU(2, 2, rescale=False).alpha == 1.0


# ---------------------------------------------------------------- QRNN
def qrnn_loop(q, xs, c0):
    """Bradbury et al. 2017, step by step; the window of step t is x_{t-k+1..t} (zeros before 0)."""
    H, k = q.hidden_size, q.window
    seq = xs
    finals = []
    for layer in range(q.num_layers):
        W, b = getattr(q, f"weight_l{layer}"), getattr(q, f"bias_l{layer}")
        names = {"f": "zf", "fo": "zfo", "ifo": "zfoi"}[q.pooling]
        c = c0[layer].clone()
        hs = []
        for t in range(seq.shape[0]):
            pre = b.clone()
            for j in range(k):
                s = t - k + 1 + j
                if s >= 0:
                    pre = pre + W[:, :, j] @ seq[s]
            g = {n: pre[i * H:(i + 1) * H] for i, n in enumerate(names)}
            z, f = torch.tanh(g["z"]), sig(g["f"])
            if q.pooling == "ifo":
                c = f * c + sig(g["i"]) * z
            else:
                c = f * c + (1 - f) * z
            hs.append(c if q.pooling == "f" else sig(g["o"]) * c)
        seq = torch.stack(hs)
        finals.append(c)
    return seq, torch.stack(finals)


@pytest.mark.parametrize("pooling", ["f", "fo", "ifo"])
@pytest.mark.parametrize("window", [1, 2, 3])
@pytest.mark.parametrize("recurrence", RECURRENCES)
def test_qrnn_matches_literal_loop(pooling, window, recurrence):
    q = rnnbook.QRNN(3, 4, num_layers=2, window=window, pooling=pooling, recurrence=recurrence, dtype=F64)
    xs, c0 = rand(7, 3), rand(2, 4)
    out, c_n = q(xs, c0)
    ref, ref_c = qrnn_loop(q, xs, c0)
    assert (out - ref).abs().max() <= TOL and (c_n - ref_c).abs().max() <= TOL


def test_qrnn_is_causal():
    q = rnnbook.QRNN(2, 5, num_layers=2, window=3, pooling="ifo", dtype=F64)
    x = rand(12, 3, 2)
    out, _ = q(x)
    for s in (1, 5, 11):
        x2 = x.clone()
        x2[s:] = rand(12 - s, 3, 2) * 10
        out2, _ = q(x2)
        assert (out2[:s] == out[:s]).all()            # the past does not see the future
        assert (out2[s] != out[s]).any()              # and step s does see its input


@pytest.mark.parametrize("pooling", ["f", "fo", "ifo"])
@pytest.mark.parametrize("recurrence", RECURRENCES)
def test_qrnn_gradcheck(pooling, recurrence):
    q = rnnbook.QRNN(2, 3, num_layers=2, window=2, pooling=pooling, recurrence=recurrence, dtype=F64)
    x, c0 = rand(5, 2, 2).requires_grad_(), rand(2, 2, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, c0, *p: q(x, c0), (x, c0, *q.parameters()))


@pytest.mark.parametrize("pooling", ["f", "fo", "ifo"])
@pytest.mark.parametrize("recurrence", ["bptt", "scan"])
def test_qrnn_recurrences_agree_with_the_autograd_loop(pooling, recurrence):
    x, c0 = rand(9, 3, 4), rand(2, 3, 5)
    torch.manual_seed(0)
    ref = rnnbook.QRNN(4, 5, num_layers=2, window=3, pooling=pooling, recurrence="autograd", dtype=F64)
    torch.manual_seed(0)
    q = rnnbook.QRNN(4, 5, num_layers=2, window=3, pooling=pooling, recurrence=recurrence, dtype=F64)
    for got, want in zip(all_gradients(q, x, c0), all_gradients(ref, x, c0), strict=True):
        assert (got - want).abs().max() <= TOL


@pytest.mark.parametrize("pooling", ["f", "fo", "ifo"])
def test_qrnn_pooling_bptt_gradcheck_direct(pooling):
    from rnnbook.qrnn import QRNNPoolingBPTT
    g = {"f": 2, "fo": 3, "ifo": 4}[pooling]
    pre, c0 = rand(6, 2, g * 3, lo=-2, hi=2).requires_grad_(), rand(2, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda pre, c0: QRNNPoolingBPTT.apply(pre, c0, pooling), (pre, c0))


def test_qrnn_unknown_recurrence():
    with pytest.raises(ValueError, match="recurrence must be one of 'bptt', 'scan', 'autograd'; got 'cuda'"):
        rnnbook.QRNN(2, 2, recurrence="cuda")


@pytest.mark.parametrize("layer,recurrence", [(name, r) for name in ("SRU", "QRNN") for r in ("bptt", "autograd")])
def test_batch_first_and_batch(layer, recurrence):
    """A batch, batch first, equals each sequence run alone (unbatched)."""
    m = getattr(rnnbook, layer)(4, 3, batch_first=True, recurrence=recurrence, dtype=F64)
    x = rand(2, 6, 4)
    out, c_n = m(x)
    for n in range(2):
        o1, c1 = m(x[n])
        assert (o1 - out[n]).abs().max() <= TOL and (c1 - c_n[:, n]).abs().max() <= TOL


# ---------------------------------------------------------------- minGRU / minLSTM
def min_loop(m, xs, h0, kind):
    H = m.hidden_size
    W, b = m.weight_ih, m.bias_ih
    h, out = h0.clone(), []
    for x in xs:
        pre = W @ x + b
        if kind == "gru":
            z, h_tilde = sig(pre[:H]), pre[H:]
            h = (1 - z) * h + z * h_tilde
        else:
            f, i, h_tilde = sig(pre[:H]), sig(pre[H:2 * H]), pre[2 * H:]
            h = f / (f + i) * h + i / (f + i) * h_tilde
        out.append(h)
    return torch.stack(out)


@pytest.mark.parametrize("cls,kind", [(rnnbook.MinGRU, "gru"), (rnnbook.MinLSTM, "lstm")])
@pytest.mark.parametrize("recurrence", RECURRENCES)
def test_min_rnns_match_literal_loop(cls, kind, recurrence):
    m = cls(3, 4, recurrence=recurrence, dtype=F64)
    xs, h0 = rand(20, 3), rand(4)
    out, h_n = m(xs, h0[None])
    ref = min_loop(m, xs, h0, kind)
    assert (out - ref).abs().max() <= TOL and (h_n[0] - ref[-1]).abs().max() <= TOL


@pytest.mark.parametrize("cls", [rnnbook.MinGRU, rnnbook.MinLSTM])
@pytest.mark.parametrize("recurrence", RECURRENCES)
def test_min_rnns_gradcheck(cls, recurrence):
    m = cls(2, 3, recurrence=recurrence, dtype=F64)
    x, h0 = rand(6, 1, 2).requires_grad_(), rand(1, 1, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, h0: m(x, h0), (x, h0))


# ---------------------------------------------------------------- the notes' first version
def first_version_loop(cell, xs):
    H = cell.hidden_size
    h = c = a = torch.zeros(H, dtype=F64)
    out = []
    for x in xs:
        h_new = torch.tanh(cell.W_h @ torch.cat([h, x]) + cell.b_h)
        g_u = sig(cell.W_u @ torch.cat([a, x]) + cell.b_u)
        g_f = sig(cell.W_f @ torch.cat([a, x]) + cell.b_f)
        g_o = sig(cell.W_o @ torch.cat([a, x]) + cell.b_o)
        c = g_f * c + g_u * h_new
        a = g_o * torch.tanh(c)
        h = h_new
        out.append(a)
    return torch.stack(out), (h, c, a)


def test_first_version_matches_literal_loop():
    layer = rnnbook.NotesFirstVersion(3, 4, dtype=F64)
    xs = rand(8, 3)
    out, (h_n, c_n, a_n) = layer(xs)
    ref, (h, c, a) = first_version_loop(layer.cell, xs)
    assert (out - ref).abs().max() <= TOL
    for u, v in ((h_n, h), (c_n, c), (a_n, a)):
        assert (u[0] - v).abs().max() <= TOL


def test_first_version_batched_with_state():
    layer = rnnbook.NotesFirstVersion(2, 3, batch_first=True, dtype=F64)
    x = rand(2, 5, 2)
    hx = tuple(rand(1, 2, 3) for _ in range(3))
    out, finals = layer(x, hx)
    for n in range(2):
        o1, f1 = layer(x[n], tuple(s[:, n] for s in hx))
        assert (o1 - out[n]).abs().max() <= TOL
        assert all((u - v[:, n]).abs().max() <= TOL for u, v in zip(f1, finals, strict=True))


def test_first_version_gradcheck():
    cell = rnnbook.NotesFirstVersionCell(2, 3, dtype=F64)
    x = rand(4, 2).requires_grad_()
    state = tuple(rand(4, 3).requires_grad_() for _ in range(3))
    assert torch.autograd.gradcheck(lambda x, h, c, a: cell(x, (h, c, a)), (x, *state))


# ---------------------------------------------------------------- bad input, one test each
def test_periods_must_be_positive_ints():
    with pytest.raises(ValueError, match=re.escape("periods must contain only positive ints, got [1, 0, 4]")):
        rnnbook.ClockworkRNN(1, 6, periods=[1, 0, 4])


def test_periods_must_be_ints_not_floats():
    with pytest.raises(ValueError, match=re.escape("periods must contain only positive ints, got [1, 2.5]")):
        rnnbook.ClockworkRNN(1, 6, periods=[1, 2.5])


def test_hidden_size_divisible_by_modules():
    with pytest.raises(ValueError, match=re.escape(
            "hidden_size must be divisible by the number of modules (4), got hidden_size=10")):
        rnnbook.ClockworkRNN(1, 10, num_modules=4)


def test_num_modules_must_match_periods():
    with pytest.raises(ValueError, match=re.escape(
            "num_modules (3) must equal the number of periods, got 2 periods [1, 2]")):
        rnnbook.ClockworkRNN(1, 6, num_modules=3, periods=(1, 2))


def test_window_at_least_one():
    with pytest.raises(ValueError, match=re.escape("window must be >= 1, got 0")):
        rnnbook.QRNN(2, 3, window=0)


def test_unknown_pooling():
    with pytest.raises(ValueError, match=re.escape("pooling must be one of 'f', 'fo', 'ifo'; got 'io'")):
        rnnbook.QRNN(2, 3, pooling="io")


def test_unknown_sru_version():
    with pytest.raises(ValueError, match=re.escape("version must be one of '2018', '2017'; got '2019'")):
        rnnbook.SRU(2, 3, version="2019")


def test_variant_input_feature_size():
    with pytest.raises(ValueError, match=re.escape(
            "input must have 2 features (input_size) in its last dimension, got shape (5, 3)")):
        rnnbook.QRNN(2, 3, dtype=F64)(rand(5, 3))


def test_variant_state_shape():
    with pytest.raises(ValueError, match=re.escape(
            "c0 must have shape (1, 2, 3) = (num_layers, batch, hidden_size), got (1, 3, 3)")):
        rnnbook.SRU(2, 3, dtype=F64)(rand(4, 2, 2), rand(1, 3, 3))


# ---------------------------------------------------------------- counting and helpers
@pytest.mark.parametrize("T", [1, 2, 3, 8, 9, 100])
def test_count_ops_scan_rounds_and_products(T):
    from rnnbook.scan import count_ops

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
    from rnnbook.scan import count_ops

    with count_ops() as outer:
        linear_recurrence_loop(rand(7, 4), rand(7, 4))
        assert (outer.loops, outer.steps, outer.products) == (1, 7, 28)
        with count_ops() as inner:
            rnnbook.QRNN(2, 3, num_layers=2, window=2, recurrence="scan", dtype=F64)(rand(16, 1, 2))
    assert (inner.scans, inner.rounds, inner.loops) == (2, 8, 0)
    assert outer.scans == 2 and outer.rounds == 8 and outer.products == 28 + inner.products
    with count_ops() as fused:                    # the default: a loop of T steps per layer
        rnnbook.QRNN(2, 3, num_layers=2, window=2, dtype=F64)(rand(16, 1, 2))
    assert (fused.scans, fused.loops, fused.steps, fused.products) == (0, 2, 32, 2 * 16 * 3)
    with count_ops() as ops:                      # nothing counted outside a block
        pass
    linear_scan(rand(4, 1), rand(4, 1))
    assert ops.scans == 0


def test_last_step_mse_reads_the_last_step():
    from rnnbook.train import last_step_mse

    model = rnnbook.NToN(rnnbook.MinGRU(2, 3, dtype=F64), 1, dtype=F64)
    x, y = rand(5, 4, 2), rand(4, 1)
    scores, _ = model(x)
    assert last_step_mse(model, x, y).item() == pytest.approx(((scores[-1] - y) ** 2).mean().item())


def test_last_step_mse_takes_an_n_to_one_output_as_the_last_step():
    from rnnbook.train import last_step_mse

    layer = rnnbook.MinGRU(2, 3, dtype=F64)
    per_step = rnnbook.NToN(layer, 2, dtype=F64)
    final = rnnbook.NToOne(layer, 2, dtype=F64)
    final.head.load_state_dict(per_step.head.state_dict())
    x, y = rand(5, 4, 2), rand(4, 2)
    assert final(x).shape == (4, 2)
    assert abs(last_step_mse(final, x, y) - last_step_mse(per_step, x, y)).item() <= 1e-12
    assert last_step_mse(final, x, y).item() == pytest.approx(((final(x) - y) ** 2).mean().item())


def test_last_step_mse_rejects_a_flat_target_for_an_n_to_one_model():
    from rnnbook.train import last_step_mse

    model = rnnbook.NToOne(rnnbook.MinGRU(2, 3, dtype=F64), 1, dtype=F64)
    with pytest.raises(ValueError, match=re.escape("y must have shape (4, 1) (the model's output "
                                                   "at the last step, (N, q)), got (4,)")):
        last_step_mse(model, rand(5, 4, 2), rand(4))


def test_last_step_mse_rejects_wrong_target_shape():
    from rnnbook.train import last_step_mse

    model = rnnbook.NToN(rnnbook.MinGRU(2, 3, dtype=F64), 1, dtype=F64)
    with pytest.raises(ValueError, match=re.escape("y must have shape (4, 1)")):
        last_step_mse(model, rand(5, 4, 2), rand(4))


def test_source_lines_finds_and_fails_loudly():
    from rnnbook.introspect import source_lines

    lines = source_lines(linear_scan, "d *= 2")
    assert lines == ["d *= 2"]
    with pytest.raises(ValueError, match="match no line"):
        source_lines(linear_scan, "no such line here")
    with pytest.raises(ValueError, match="at least one"):
        source_lines(linear_scan)


def test_count_torch_calls_grows_once_per_step_in_a_loop():
    from rnnbook.introspect import count_torch_calls

    rnn = rnnbook.RNN(2, 3)
    c = {T: count_torch_calls(rnn, torch.randn(T, 1, 2)) for T in (4, 8, 9)}
    per_step = c[9] - c[8]
    assert per_step > 0 and c[8] - c[4] == 4 * per_step
    with pytest.raises(TypeError, match="fn must be callable"):
        count_torch_calls(3)


def test_source_lines_rejects_a_non_string_needle():
    from rnnbook.introspect import source_lines

    with pytest.raises(TypeError, match="needles must be non-empty strings, got 3"):
        source_lines(linear_scan, 3)


def test_fit_adding_task_draws_its_own_data_and_scores():
    from rnnbook.train import fit_adding_task

    torch.manual_seed(0)
    model = rnnbook.NToN(rnnbook.MinGRU(2, 3), 1)
    state = torch.get_rng_state()
    run = fit_adding_task(model, seed=1, batches=3, batch=4, steps=6, test_size=5)
    assert torch.equal(torch.get_rng_state(), state)      # the global generator untouched
    assert len(run.history) == 3 and run.targets.shape == (3 * 4 + 5, 1)
    y_test = run.targets[-5:]
    assert run.mean_mse == pytest.approx((y_test - 1).pow(2).mean().item())
    gen = torch.Generator().manual_seed(1)
    first = rnnbook.data.adding_problem(4, 6, generator=gen)[1]
    assert torch.equal(run.targets[:4], first[:, None])


def test_fit_adding_task_rejects_a_bad_seed():
    from rnnbook.train import fit_adding_task

    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        fit_adding_task(rnnbook.NToN(rnnbook.MinGRU(2, 3), 1), seed=-1)


@pytest.mark.parametrize("layer", ["QRNN", "SRU"])
def test_float32_hand_written_paths_round_like_autograd(layer):
    """Float32 rounding apart, the Functions compute what the readable paths compute (the QRNN's
    takes tanh as 2 σ(2a) − 1): differences below 3e-7 of the largest value."""
    reference = "scan" if layer == "QRNN" else "autograd"
    torch.manual_seed(0)
    fast = getattr(rnnbook, layer)(8, 16, num_layers=2)
    torch.manual_seed(0)
    slow = getattr(rnnbook, layer)(8, 16, num_layers=2, recurrence=reference)
    x = torch.randn(30, 4, 8) * 3
    for a, b in zip(fast(x), slow(x), strict=True):
        assert (a - b).abs().max() < 3e-7 * max(1.0, b.abs().max().item())


# ---------------------------------------------------------------- review: limits of the hand-written paths
HAND_WRITTEN = [
    ("SRU", {}), ("SRU", {"version": "2017"}), ("QRNN", {"pooling": "f"}), ("QRNN", {"pooling": "fo"}),
    ("QRNN", {"pooling": "ifo"}), ("MinGRU", {}), ("MinLSTM", {}),
]


@pytest.mark.parametrize("layer,kwargs", HAND_WRITTEN)
def test_second_derivatives_fail_loudly_on_the_hand_written_path(layer, kwargs):
    """A Hessian through a first-order backward must raise, not come out as zeros."""
    torch.manual_seed(0)
    m = getattr(rnnbook, layer)(2, 3, dtype=F64, **kwargs)
    x = rand(4, 1, 2)
    with pytest.raises(RuntimeError, match="first derivatives only.*recurrence='autograd'"):
        torch.autograd.functional.hessian(lambda x: m(x)[0].pow(2).sum(), x)
    m.recurrence = "autograd"                      # the readable path has every derivative
    hess = torch.autograd.functional.hessian(lambda x: m(x)[0].pow(2).sum(), x)
    assert hess.abs().max() > 0


def test_second_derivatives_fail_loudly_for_the_gated_layers_too():
    m = rnnbook.LSTM(2, 3, dtype=F64)
    x = rand(4, 1, 2)
    with pytest.raises(RuntimeError, match="first derivatives only.*backward='autograd'"):
        torch.autograd.functional.hessian(lambda x: m(x)[0].pow(2).sum(), x)


@pytest.mark.parametrize("layer,kwargs", HAND_WRITTEN)
def test_in_place_ops_on_the_output_do_not_break_backward(layer, kwargs):
    torch.manual_seed(0)
    m = getattr(rnnbook, layer)(2, 3, dtype=F64, **kwargs)
    x = rand(5, 2, 2).requires_grad_()
    out, _ = m(x)
    torch.relu_(out)
    out.sum().backward()
    assert x.grad is not None


@pytest.mark.parametrize("layer,kwargs", HAND_WRITTEN)
def test_forward_mode_ad_with_a_dual_parameter(layer, kwargs):
    """A tangent on any parameter (not only on the input) takes the autograd path."""
    import torch.autograd.forward_ad as fwAD
    torch.manual_seed(0)
    m = getattr(rnnbook, layer)(2, 3, dtype=F64, **kwargs)
    x = rand(5, 2, 2)
    for name, p in m.named_parameters():
        tangent = rand(*p.shape)
        with fwAD.dual_level():
            params = dict(m.named_parameters())
            params[name] = fwAD.make_dual(p.detach(), tangent)
            got = fwAD.unpack_dual(torch.func.functional_call(m, params, (x,))[0]).tangent
        eps = 1e-6
        with torch.no_grad():
            plus = torch.func.functional_call(m, {**dict(m.named_parameters()), name: p + eps * tangent}, (x,))[0]
            minus = torch.func.functional_call(m, {**dict(m.named_parameters()), name: p - eps * tangent}, (x,))[0]
        assert got is not None and (got - (plus - minus) / (2 * eps)).abs().max() <= 1e-7, name


def test_sru_2017_default_path_is_counted():
    from rnnbook.scan import count_ops
    for recurrence in ("bptt", "autograd"):
        with count_ops() as ops:
            rnnbook.SRU(2, 3, num_layers=2, version="2017", recurrence=recurrence)(rand(16, 1, 2).float())
        assert (ops.loops, ops.steps) == (2, 32), recurrence


def test_recurrence_is_checked_when_set_after_construction():
    sru = rnnbook.SRU(2, 2)
    with pytest.raises(ValueError, match="version='2017'"):
        sru.recurrence = "scan"
    for m in (rnnbook.QRNN(2, 2), rnnbook.MinGRU(2, 2), sru):
        with pytest.raises(ValueError, match="recurrence must be one of"):
            m.recurrence = "parallel"
        m.recurrence = "autograd"
        assert m.recurrence == "autograd"


def test_a_gradient_penalty_elsewhere_passes_through_the_hand_written_backward():
    """create_graph=True is fine as long as nothing is differentiated through our backward."""
    results = {}
    for backward in ("bptt", "autograd"):
        torch.manual_seed(0)
        rnn, head = rnnbook.RNN(3, 4, dtype=F64, backward=backward), torch.nn.Linear(4, 1, dtype=F64)
        x = rand(5, 2, 3)
        loss = head(rnn(x)[0]).pow(2).mean()
        g = torch.autograd.grad(loss, [head.weight, *rnn.parameters()], create_graph=True)
        (loss + g[0].pow(2).sum()).backward()       # a penalty on the head's gradient only
        results[backward] = [p.grad for p in rnn.parameters()]
    for a, b in zip(*results.values(), strict=True):
        assert (a - b).abs().max() <= 1e-12
    torch.manual_seed(0)
    rnn, head = rnnbook.RNN(3, 4, dtype=F64), torch.nn.Linear(4, 1, dtype=F64)
    loss = head(rnn(rand(5, 2, 3))[0]).pow(2).mean()
    g = torch.autograd.grad(loss, list(rnn.parameters()), create_graph=True)
    with pytest.raises(RuntimeError, match="first derivatives only"):
        g[0].pow(2).sum().backward()                # a penalty on the RNN's own gradient


@pytest.mark.parametrize("layer,kwargs", [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("GRU", {}),
                                          ("GRU", {"reset_after": False}), ("LSTM", {}), ("LSTM", {"proj_size": 2})])
def test_in_place_ops_on_the_gated_outputs_fail_loudly_on_the_bptt_path(layer, kwargs):
    """The BPTT Functions save their output (no copy: the peak-memory target); an in-place op on it
    must be caught by autograd's version check, never silently give wrong gradients."""
    torch.manual_seed(0)
    m = getattr(rnnbook, layer)(2, 3, dtype=F64, **kwargs)
    x = rand(5, 2, 2).requires_grad_()
    out, _ = m(x)
    torch.relu_(out)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    ref = getattr(rnnbook, layer)(2, 3, dtype=F64, backward="autograd", **kwargs)
    out, _ = ref(x)
    torch.relu_(out)
    out.sum().backward()                           # the readable path accepts it
    assert x.grad is not None
