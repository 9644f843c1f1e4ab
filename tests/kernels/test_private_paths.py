"""The speed paths that rest on more than torch's public API, switched off: the results stay.

rnnbook's kernels take three such paths, each behind a capability check with a public
fallback (:mod:`rnnbook.kernels.private`): oneDNN's private operators (``private.linear``,
``private.pack_weight``), the private keep-graph query (``private.keep_graph``), and the
compiled loops of :mod:`rnnbook.kernels.native` (built with a C compiler on first use; their
products go through the BLAS symbols torch's library exports, ``private.blas_gemm``). A
future torch, or a machine without a compiler, may lose any of them. Here every layer runs
with all of them off (``private.disabled()``) and must give the outputs and gradients it
gives with them on (float64: 1e-12, the parity tolerance with torch; float32: float32
rounding); the Functions' Python loops pass gradcheck; the compiled loops must be built
here, and fall back cleanly when their build fails.
"""

import json
import os
import subprocess
import sys

import pytest
import torch

import rnnbook
from helpers import TOL, backward_passes
from rnnbook.kernels import native, private
from rnnbook.kernels.elman_bptt import ElmanBPTT
from rnnbook.kernels.gru_bptt import GRUBPTT
from rnnbook.kernels.lstm_bptt import LSTMBPTT

F64 = torch.float64
private_paths_off = private.disabled


CASES = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("GRU", {}), ("GRU", {"reset_after": False}),
         ("LSTM", {}), ("LSTM", {"proj_size": 3}), ("LSTM", {"bias": False}), ("GRU", {"bias": False})]


def _passes(layer, x, hx, weights):
    out, passes = backward_passes(layer, x, hx, weights, passes=2)  # a retained graph, then a freed one
    return out, passes


def _compare(a, b, tol, relative=False):
    worst = 0.0
    for u, v in zip(a, b, strict=True):
        d = (u - v).abs().max().item()
        scale = max(v.abs().max().item(), 1e-3) if relative else 1.0
        assert d <= tol * scale, f"max difference {d:.3e} > {tol} x {scale:.3e}"
        worst = max(worst, d / scale)
    return worst


def _run_both(kind, extra, dtype, size):
    torch.manual_seed(0)
    layer = getattr(rnnbook, kind)(5, size, 2, bidirectional=True, dtype=dtype, **extra)
    L, N = 9, 4
    x = torch.randn(L, N, 5, dtype=dtype)
    out_size = extra.get("proj_size") or size
    h0 = torch.randn(4, N, out_size, dtype=dtype)
    hx = (h0, torch.randn(4, N, size, dtype=dtype)) if kind == "LSTM" else h0
    with torch.no_grad():
        flat, state = layer(x, hx)
    shapes = [flat.shape] + [s.shape for s in (state if isinstance(state, tuple) else (state,))]
    weights = [torch.randn(s, dtype=dtype) for s in shapes]
    on = _passes(layer, x, hx, weights)
    with private_paths_off():
        off = _passes(layer, x, hx, weights)
    return on, off


@pytest.mark.parametrize("kind,extra", CASES)
def test_float64_results_equal_with_every_private_path_off(kind, extra):
    """Outputs, final states and every gradient (parameters, input, h_0/c_0), over two backward
    passes (retain_graph, then a pass that frees the graph): equal to 1e-12."""
    (out_on, passes_on), (out_off, passes_off) = _run_both(kind, extra, F64, 6)
    _compare(out_on, out_off, TOL)
    for (grads_on, inputs_on), (grads_off, inputs_off) in zip(passes_on, passes_off, strict=True):
        assert list(grads_on) == list(grads_off)
        _compare(list(grads_on.values()), list(grads_off.values()), TOL)
        _compare(inputs_on, inputs_off, TOL)


@pytest.mark.parametrize("size", [8, 128])  # below and above the size where oneDNN is used
@pytest.mark.parametrize("kind,extra", CASES)
def test_float32_results_agree_with_every_private_path_off(kind, extra, size):
    """In float32 the compiled loops use their own exp (relative error about 2e-7) and oneDNN
    its own summation order: the same results to float32 rounding (relative 1e-4, as the
    hand and autograd paths are compared in test_bptt_kernels)."""
    (out_on, passes_on), (out_off, passes_off) = _run_both(kind, extra, torch.float32, size)
    _compare(out_on, out_off, 1e-4, relative=True)
    for (grads_on, inputs_on), (grads_off, inputs_off) in zip(passes_on, passes_off, strict=True):
        _compare(list(grads_on.values()), list(grads_off.values()), 1e-4, relative=True)
        _compare(inputs_on, inputs_off, 1e-4, relative=True)


@pytest.mark.parametrize("name", ["SRU", "QRNN"])
def test_variants_equal_with_every_private_path_off(name):
    """The SRU's and QRNN's input products go through private.linear (oneDNN) too."""
    torch.manual_seed(0)
    layer = getattr(rnnbook, name)(64, 64, dtype=torch.float32)
    x = torch.randn(40, 16, 64)
    w = torch.randn(40, 16, 64)

    def run():
        layer.zero_grad()
        out = layer(x)[0]
        (out * w).sum().backward()
        return [out.detach()] + [p.grad.clone() for p in layer.parameters()]

    on = run()
    with private_paths_off():
        off = run()
    _compare(on, off, 1e-4, relative=True)


def test_the_switch_reaches_every_path(monkeypatch):
    """Inside private_paths_off nothing private is called: oneDNN's operators, the keep-graph
    query and the compiled loops all raise if reached."""
    def boom(*args, **kwargs):
        raise AssertionError("a private path was taken")

    monkeypatch.setattr(torch._C._autograd, "_get_current_graph_task_keep_graph", boom)
    monkeypatch.setattr(torch.ops.mkldnn, "_linear_pointwise", boom)
    monkeypatch.setattr(torch.ops.mkldnn, "_reorder_linear_weight", boom)
    monkeypatch.setattr(native, "lstm_forward", boom)
    monkeypatch.setattr(native, "gru_forward", boom)
    monkeypatch.setattr(native, "elman_forward", boom)
    with private_paths_off():
        for kind in ("RNN", "GRU", "LSTM", "SRU", "QRNN"):
            layer = getattr(rnnbook, kind)(64, 128)  # large enough for oneDNN when it is on
            out = layer(torch.randn(5, 32, 64))[0]
            out.sum().backward()
    # and the same calls do reach them with the switch on (so the patches above are where they are used)
    for kind in ("LSTM", "SRU"):  # the compiled loop; oneDNN's product of the SRU's inputs
        with pytest.raises(AssertionError, match="a private path was taken"):
            getattr(rnnbook, kind)(64, 128)(torch.randn(5, 32, 64))


def test_the_compiled_loops_are_built_and_used_here():
    """On a machine with gcc (this one, CI) the compiled loops must be available: otherwise every
    layer silently runs its slower Python loop. A layer's forward then calls them."""
    import shutil

    if shutil.which(os.environ.get("CC") or "gcc") is None:
        pytest.skip("no C compiler on this machine: the Python loops run (tested above)")
    assert native.available(), f"the compiled loops are not available: {native.why_unavailable()}"
    calls = []
    real = native.lstm_forward

    def spy(*args):
        calls.append(args[0].shape)
        return real(*args)

    native.lstm_forward = spy
    try:
        rnnbook.LSTM(3, 4)(torch.randn(5, 2, 3))
    finally:
        native.lstm_forward = real
    assert calls == [torch.Size([5, 2, 16])]


_CHILD = r"""
import json, sys, torch
import rnnbook
from rnnbook.kernels import native
torch.manual_seed(0)
layer = rnnbook.LSTM(3, 4, dtype=torch.float64)
x = torch.randn(6, 2, 3, dtype=torch.float64, requires_grad=True)
out = layer(x)[0]
out.sum().backward()
print(json.dumps({"available": native.available(), "why": native.why_unavailable(),
                  "out": out.detach().flatten().tolist(), "grad": x.grad.flatten().tolist()}))
"""


def _child(env_extra, tmp_path):
    env = {**os.environ, "RNNBOOK_NATIVE_CACHE": str(tmp_path / "cache"), **env_extra}
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_failed_build_falls_back_to_the_python_loops(tmp_path):
    """A fresh process whose compiler fails (CC=false) or that switches them off
    (RNNBOOK_NATIVE=0, or every private path with RNNBOOK_PRIVATE=0) runs the Python loops, with
    the results of a process that builds them."""
    built = _child({}, tmp_path)
    failed = _child({"CC": "false"}, tmp_path / "other")
    off = _child({"RNNBOOK_NATIVE": "0"}, tmp_path / "third")
    private_off = _child({"RNNBOOK_PRIVATE": "0"}, tmp_path / "fourth")
    assert not failed["available"] and "false" in failed["why"]
    assert not off["available"] and not private_off["available"]
    for other in (failed, off, private_off):
        for key in ("out", "grad"):
            assert max(abs(a - b) for a, b in zip(built[key], other[key], strict=True)) <= TOL


def _f64_leaf(*shape):
    return torch.randn(*shape, dtype=F64, requires_grad=True)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_python_loops_gradcheck_elman(nonlinearity):
    """With the private paths off the Functions run their Python loops: gradcheck those too (the
    tests of rnnbook.kernels check the compiled loops, which run by default)."""
    L, N, H_in, H = 5, 3, 2, 4
    args = (_f64_leaf(L, N, H_in), _f64_leaf(N, H), _f64_leaf(H, H_in), _f64_leaf(H, H), _f64_leaf(H), _f64_leaf(H))
    with private_paths_off():
        assert torch.autograd.gradcheck(lambda *a: ElmanBPTT.apply(*a, nonlinearity), args)


def test_python_loops_gradcheck_gru():
    L, N, H = 5, 3, 4
    args = (_f64_leaf(L, N, 3 * H), _f64_leaf(N, H), _f64_leaf(3 * H, H), _f64_leaf(3 * H))
    with private_paths_off():
        assert torch.autograd.gradcheck(lambda *a: GRUBPTT.apply(*a)[:2], args)


@pytest.mark.parametrize("proj", [0, 2])
def test_python_loops_gradcheck_lstm(proj):
    L, N, H = 5, 3, 4
    out = proj or H
    args = [_f64_leaf(L, N, 4 * H), _f64_leaf(N, out), _f64_leaf(N, H), _f64_leaf(4 * H, out), _f64_leaf(4 * H)]
    args.append(_f64_leaf(proj, H) if proj else None)
    leaves = tuple(a for a in args if a is not None)

    def f(*leaves):
        it = iter(leaves)
        return LSTMBPTT.apply(*[next(it) if a is not None else None for a in args])[:3]

    with private_paths_off():
        assert torch.autograd.gradcheck(f, leaves)
