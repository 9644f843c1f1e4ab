"""QRNN against a literal loop of Bradbury et al.'s equations, gradcheck, its three paths."""

from __future__ import annotations


import pytest
import torch

import rnnbook
from rnnbook.variants.scan import (LINEAR_BPTT_MODES)


from helpers import F64, TOL, rand, all_gradients

sig = torch.sigmoid


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
@pytest.mark.parametrize("bptt", LINEAR_BPTT_MODES)
def test_qrnn_matches_literal_loop(pooling, window, bptt):
    q = rnnbook.QRNN(3, 4, num_layers=2, window=window, pooling=pooling, bptt=bptt, dtype=F64)
    xs, c0 = rand(7, 3), rand(2, 4)
    out, (c_n, *windows) = q(xs, c0)
    ref, ref_c = qrnn_loop(q, xs, c0)
    assert len(windows) == 2 and windows[0].shape == (window - 1, 3) and windows[1].shape == (window - 1, 4)
    assert torch.equal(windows[0], xs[7 - (window - 1):])     # the last k − 1 inputs, oldest first
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
@pytest.mark.parametrize("bptt", LINEAR_BPTT_MODES)
def test_qrnn_gradcheck(pooling, bptt):
    q = rnnbook.QRNN(2, 3, num_layers=2, window=2, pooling=pooling, bptt=bptt, dtype=F64)
    x, c0 = rand(5, 2, 2).requires_grad_(), rand(2, 2, 3).requires_grad_()
    def flat(x, c0, *p):
        out, state = q(x, c0)
        return (out, *state)                           # c_n and both layers' windows

    assert torch.autograd.gradcheck(flat, (x, c0, *q.parameters()))


@pytest.mark.parametrize("pooling", ["f", "fo", "ifo"])
@pytest.mark.parametrize("bptt", ["hand", "scan"])
def test_qrnn_recurrences_agree_with_the_autograd_loop(pooling, bptt):
    x, c0 = rand(9, 3, 4), rand(2, 3, 5)
    torch.manual_seed(0)
    ref = rnnbook.QRNN(4, 5, num_layers=2, window=3, pooling=pooling, bptt="autograd", dtype=F64)
    torch.manual_seed(0)
    q = rnnbook.QRNN(4, 5, num_layers=2, window=3, pooling=pooling, bptt=bptt, dtype=F64)
    for got, want in zip(all_gradients(q, x, c0), all_gradients(ref, x, c0), strict=True):
        assert (got - want).abs().max() <= TOL


@pytest.mark.parametrize("pooling", ["f", "fo", "ifo"])
def test_qrnn_pooling_bptt_gradcheck_direct(pooling):
    from rnnbook.variants.qrnn import QRNNPoolingBPTT
    g = {"f": 2, "fo": 3, "ifo": 4}[pooling]
    pre, c0 = rand(6, 2, g * 3, lo=-2, hi=2).requires_grad_(), rand(2, 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda pre, c0: QRNNPoolingBPTT.apply(pre, c0, pooling), (pre, c0))


def test_qrnn_unknown_recurrence():
    with pytest.raises(ValueError, match="bptt must be one of 'hand', 'scan', 'autograd'; got 'cuda'"):
        rnnbook.QRNN(2, 2, bptt="cuda")


@pytest.mark.parametrize("layer,bptt", [(name, r) for name in ("SRU", "QRNN") for r in ("hand", "autograd")])
def test_batch_first_and_batch(layer, bptt):
    """A batch, batch first, equals each sequence run alone (unbatched)."""
    m = getattr(rnnbook, layer)(4, 3, batch_first=True, bptt=bptt, dtype=F64)
    x = rand(2, 6, 4)
    out, c_n = m(x)
    c_n = c_n[0] if layer == "QRNN" else c_n               # the QRNN's state: (c, windows...)
    for n in range(2):
        o1, c1 = m(x[n])
        c1 = c1[0] if layer == "QRNN" else c1
        assert (o1 - out[n]).abs().max() <= TOL and (c1 - c_n[:, n]).abs().max() <= TOL
