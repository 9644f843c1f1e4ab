"""The notes' first version against a literal loop of the notes' figure."""

from __future__ import annotations


import torch

import rnnbook


from helpers import F64, TOL, rand

sig = torch.sigmoid


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
