"""minGRU and minLSTM against a literal loop of Feng et al.'s equations."""

from __future__ import annotations


import pytest
import torch

import rnnbook
from rnnbook.variants.scan import (LINEAR_BPTT_MODES)


from helpers import F64, TOL, rand

sig = torch.sigmoid


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
@pytest.mark.parametrize("bptt", LINEAR_BPTT_MODES)
def test_min_rnns_match_literal_loop(cls, kind, bptt):
    m = cls(3, 4, bptt=bptt, dtype=F64)
    xs, h0 = rand(20, 3), rand(4)
    out, h_n = m(xs, h0[None])
    ref = min_loop(m, xs, h0, kind)
    assert (out - ref).abs().max() <= TOL and (h_n[0] - ref[-1]).abs().max() <= TOL


@pytest.mark.parametrize("cls", [rnnbook.MinGRU, rnnbook.MinLSTM])
@pytest.mark.parametrize("bptt", LINEAR_BPTT_MODES)
def test_min_rnns_gradcheck(cls, bptt):
    m = cls(2, 3, bptt=bptt, dtype=F64)
    x, h0 = rand(6, 1, 2).requires_grad_(), rand(1, 1, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda x, h0: m(x, h0), (x, h0))
