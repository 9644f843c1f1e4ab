"""The limits of every hand-written backward: float32 rounding, second derivatives fail loudly,
in-place ops, forward-mode AD, gradient penalties elsewhere."""

from __future__ import annotations


import pytest
import torch

import rnnbook


from helpers import F64, rand

sig = torch.sigmoid


@pytest.mark.parametrize("layer", ["QRNN", "SRU"])
def test_float32_hand_written_paths_round_like_autograd(layer):
    """Float32 rounding apart, the Functions compute what the readable paths compute (the QRNN's
    takes tanh as 2 σ(2a) − 1): differences below 3e-7 of the largest value."""
    reference = "scan" if layer == "QRNN" else "autograd"
    torch.manual_seed(0)
    fast = getattr(rnnbook, layer)(8, 16, num_layers=2)
    torch.manual_seed(0)
    slow = getattr(rnnbook, layer)(8, 16, num_layers=2, bptt=reference)
    x = torch.randn(30, 4, 8) * 3
    def flat(out, state):
        return [out, *state] if isinstance(state, tuple) else [out, state]

    for a, b in zip(flat(*fast(x)), flat(*slow(x)), strict=True):
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
    with pytest.raises(RuntimeError, match="first derivatives only.*bptt='autograd'"):
        torch.autograd.functional.hessian(lambda x: m(x)[0].pow(2).sum(), x)
    m.bptt = "autograd"                      # the readable path has every derivative
    hess = torch.autograd.functional.hessian(lambda x: m(x)[0].pow(2).sum(), x)
    assert hess.abs().max() > 0


def test_second_derivatives_fail_loudly_for_the_gated_layers_too():
    m = rnnbook.LSTM(2, 3, dtype=F64)
    x = rand(4, 1, 2)
    with pytest.raises(RuntimeError, match="first derivatives only.*bptt='autograd'"):
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
    from rnnbook.variants.scan import count_ops
    for bptt in ("hand", "autograd"):
        with count_ops() as ops:
            rnnbook.SRU(2, 3, num_layers=2, version="2017", bptt=bptt)(rand(16, 1, 2).float())
        assert (ops.loops, ops.steps) == (2, 32), bptt


def test_recurrence_is_checked_when_set_after_construction():
    sru = rnnbook.SRU(2, 2)
    with pytest.raises(ValueError, match="version='2017'"):
        sru.bptt = "scan"
    for m in (rnnbook.QRNN(2, 2), rnnbook.MinGRU(2, 2), sru):
        with pytest.raises(ValueError, match="bptt must be one of"):
            m.bptt = "parallel"
        m.bptt = "autograd"
        assert m.bptt == "autograd"


def test_a_gradient_penalty_elsewhere_passes_through_the_hand_written_backward():
    """create_graph=True is fine as long as nothing is differentiated through our backward."""
    results = {}
    for bptt in ("hand", "autograd"):
        torch.manual_seed(0)
        rnn, head = rnnbook.RNN(3, 4, dtype=F64, bptt=bptt), torch.nn.Linear(4, 1, dtype=F64)
        x = rand(5, 2, 3)
        loss = head(rnn(x)[0]).pow(2).mean()
        g = torch.autograd.grad(loss, [head.weight, *rnn.parameters()], create_graph=True)
        (loss + g[0].pow(2).sum()).backward()       # a penalty on the head's gradient only
        results[bptt] = [p.grad for p in rnn.parameters()]
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
    ref = getattr(rnnbook, layer)(2, 3, dtype=F64, bptt="autograd", **kwargs)
    out, _ = ref(x)
    torch.relu_(out)
    out.sum().backward()                           # the readable path accepts it
    assert x.grad is not None
