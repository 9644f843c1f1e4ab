"""Clockwork RNN against a literal loop of Koutník et al.'s equations; its mask's invariants."""

from __future__ import annotations


import pytest
import torch

import rnnbook


from helpers import F64, TOL, rand

sig = torch.sigmoid


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
    out, (h_n, steps) = cw(xs, h0[None])
    ref = clockwork_loop(cw, xs, h0)
    assert steps.tolist() == [13] and steps.dtype == torch.long
    assert (out - ref).abs().max() <= TOL
    assert (h_n[0] - ref[-1]).abs().max() <= TOL


def test_clockwork_layouts_agree():
    cw = rnnbook.ClockworkRNN(2, 8, batch_first=True, dtype=F64)
    x = rand(3, 7, 2)                                  # (N, L, H_in)
    out, (h_n, steps) = cw(x)
    assert out.shape == (3, 7, 8) and h_n.shape == (1, 3, 8) and steps.tolist() == [[7, 7, 7]]
    for n in range(3):
        o1, (h1, _) = cw(x[n])                         # unbatched (L, H_in)
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
