"""SRU against a literal loop of Lei et al.'s equations, gradcheck, its three paths."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

import rnnbook


from helpers import F64, TOL, rand, all_gradients

sig = torch.sigmoid


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
            g_c = torch.tanh(c) if sru.activation == "tanh" else c
            hs.append(r * g_c + (1 - r) * highway)
        hs_layers = torch.stack(hs)
        finals.append(c)
    return hs_layers, torch.stack(finals)


SRU_RECURRENCES = [("2018", "hand"), ("2018", "autograd"), ("2017", "hand"), ("2017", "scan"), ("2017", "autograd")]


@pytest.mark.parametrize("version,bptt", SRU_RECURRENCES)
@pytest.mark.parametrize("rescale", [True, False])
@pytest.mark.parametrize("activation", ["identity", "tanh"])
def test_sru_matches_literal_loop(version, bptt, rescale, activation):
    sru = rnnbook.SRU(3, 5, num_layers=2, version=version, rescale=rescale, highway_bias=-1.0,
                      bptt=bptt, dtype=F64, activation=activation)
    with torch.no_grad():
        for p in sru.parameters():
            p.add_(rand(*p.shape) * 0.3)               # bias and v away from their init
    xs, c0 = rand(9, 3), rand(2, 5)
    out, c_n = sru(xs, c0)
    ref, ref_c = sru_loop(sru, xs, c0)
    assert getattr(sru, "weight_l0").shape == (4 * 5, 3) and sru.weight_l1.shape == (3 * 5, 5)
    assert (out - ref).abs().max() <= TOL and (c_n - ref_c).abs().max() <= TOL


@pytest.mark.parametrize("version,bptt", SRU_RECURRENCES)
@pytest.mark.parametrize("input_size", [2, 3])     # 2 != H: the W_p highway; 3 = H: α x
@pytest.mark.parametrize("activation", ["identity", "tanh"])
def test_sru_gradcheck(version, bptt, input_size, activation):
    sru = rnnbook.SRU(input_size, 3, num_layers=2, version=version, bptt=bptt, dtype=F64,
                      activation=activation)
    x, c0 = rand(5, 2, input_size).requires_grad_(), rand(2, 2, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, c0, *p: sru(x, c0), (x, c0, *sru.parameters()))


@pytest.mark.parametrize("version,bptt", SRU_RECURRENCES)
@pytest.mark.parametrize("activation", ["identity", "tanh"])
def test_sru_recurrences_agree_with_the_autograd_loop(version, bptt, activation):
    x, c0 = rand(11, 3, 4), rand(2, 3, 5)
    torch.manual_seed(0)
    ref = rnnbook.SRU(4, 5, num_layers=2, version=version, bptt="autograd", dtype=F64, activation=activation)
    torch.manual_seed(0)
    sru = rnnbook.SRU(4, 5, num_layers=2, version=version, bptt=bptt, dtype=F64, activation=activation)
    for got, want in zip(all_gradients(sru, x, c0), all_gradients(ref, x, c0), strict=True):
        assert (got - want).abs().max() <= TOL


def test_sru_layer_bptt_gradcheck_direct():
    """The Function itself, every input (U, x, bias, v, c0), both forms and both highways."""
    from rnnbook.variants.sru import SRULayerBPTT
    for (k, v), tanh in itertools.product(((3, rand(6)), (4, rand(6)), (3, None)), (False, True)):
        U, x = rand(4, 2, k * 3).requires_grad_(), rand(4, 2, 3).requires_grad_()
        bias, c0 = rand(6).requires_grad_(), rand(2, 3).requires_grad_()
        if v is not None:
            v.requires_grad_()
        assert torch.autograd.gradcheck(
            lambda U, x, b, c0, *v: SRULayerBPTT.apply(U, x, b, v[0] if v else None, c0, 1.3, tanh),
            (U, x, bias, c0, *([v] if v is not None else [])))


def test_sru_scan_needs_the_2017_form():
    with pytest.raises(ValueError, match="version='2017'"):
        rnnbook.SRU(2, 2, bptt="scan")
    with pytest.raises(ValueError, match="bptt must be one of"):
        rnnbook.SRU(2, 2, bptt="fused")
    assert "bptt='autograd'" in repr(rnnbook.SRU(2, 2, bptt="autograd"))


def test_sru_alpha_value():
    assert rnnbook.SRU(2, 2).alpha == pytest.approx(math.sqrt(3), abs=1e-15)
    assert rnnbook.SRU(2, 2, rescale=False).alpha == 1.0


# ------------------------------------------- the 2017 paper's output h_t = r_t ⊙ g(c_t) + ...
def test_sru_2017_paper_equations_by_hand():
    """Lei et al. 2017 (Training RNNs as Fast as CNNs), one layer, d = H, written out step by step:
    x~_t = W x_t, f_t = σ(W_f x_t + b_f), r_t = σ(W_r x_t + b_r),
    c_t = f_t ⊙ c_{t-1} + (1 − f_t) ⊙ x~_t, h_t = r_t ⊙ g(c_t) + (1 − r_t) ⊙ x_t, g = tanh."""
    for bptt in ("hand", "scan", "autograd"):
        torch.manual_seed(3)
        sru = rnnbook.SRU(4, 4, version="2017", rescale=False, activation="tanh", bptt=bptt, dtype=F64)
        W, W_f, W_r = sru.weight_l0.detach().split(4)
        b_f, b_r = sru.bias_l0.detach().split(4)
        xs = rand(7, 4)
        c, hs = torch.zeros(4, dtype=F64), []
        for x in xs:
            f, r = torch.sigmoid(W_f @ x + b_f), torch.sigmoid(W_r @ x + b_r)
            c = f * c + (1 - f) * (W @ x)
            hs.append(r * torch.tanh(c) + (1 - r) * x)
        out, c_n = sru(xs)
        assert (out - torch.stack(hs)).abs().max() <= 1e-15
        assert (c_n[0] - c).abs().max() <= 1e-15


def test_sru_activation_default_is_unchanged():
    torch.manual_seed(0)
    plain = rnnbook.SRU(3, 4, num_layers=2)
    torch.manual_seed(0)
    named = rnnbook.SRU(3, 4, num_layers=2, activation="identity")
    x = torch.randn(6, 2, 3)
    assert plain.activation == "identity" and torch.equal(plain(x)[0], named(x)[0])
    assert "activation" not in repr(plain)
    assert "activation='tanh'" in repr(rnnbook.SRU(3, 4, activation="tanh"))
    # tanh changes h_t, never the state c_t
    torch.manual_seed(0)
    paper = rnnbook.SRU(3, 4, num_layers=1, activation="tanh")
    torch.manual_seed(0)
    same = rnnbook.SRU(3, 4, num_layers=1)
    (h_a, c_a), (h_b, c_b) = paper(x), same(x)
    assert torch.equal(c_a, c_b) and not torch.allclose(h_a, h_b)


@pytest.mark.parametrize("value,error", [("relu", ValueError), ("Tanh", ValueError), ("", ValueError),
                                         (None, TypeError), (torch.tanh, TypeError), (1, TypeError)])
def test_sru_activation_refuses_bad_values(value, error):
    with pytest.raises(error, match="activation"):
        rnnbook.SRU(3, 4, activation=value)


def test_sru_activation_is_keyword_only():
    with pytest.raises(TypeError):
        rnnbook.SRU(3, 4, 1, False, "2017", True, 0.0, "hand", None, None, "tanh")
