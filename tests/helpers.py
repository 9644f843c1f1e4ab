"""Parity helpers shared by the tests of layers that have a PyTorch twin."""

from __future__ import annotations

import torch
from torch import nn

TOL = 1e-12  # float64 parity: outputs, final states and every gradient
F64 = torch.float64


def rand(*shape, lo=-1.0, hi=1.0):
    """Uniform float64 numbers in [lo, hi)."""
    return torch.rand(*shape, dtype=F64) * (hi - lo) + lo


def run_and_grad(module: nn.Module, x: torch.Tensor, hx, weights: list[torch.Tensor]):
    """Forward ``module(x, hx)``, back-propagate a fixed random functional of every output,
    and return (outputs flattened to a list, {param name: grad}, [input grads])."""
    flat, (pass_,) = backward_passes(module, x, hx, weights)
    return flat, *pass_


def backward_passes(module: nn.Module, x: torch.Tensor, hx, weights: list[torch.Tensor], passes: int = 1):
    """As :func:`run_and_grad`, with ``passes`` backward passes through the one graph (all but
    the last with ``retain_graph=True``): (outputs, [({param name: grad}, [input grads]) per pass])."""
    x = x.detach().clone().requires_grad_(True)
    leaves = [x]
    if hx is not None:
        if isinstance(hx, tuple):
            hx = tuple(h.detach().clone().requires_grad_(True) for h in hx)
            leaves += list(hx)
        else:
            hx = hx.detach().clone().requires_grad_(True)
            leaves.append(hx)
    module.zero_grad()
    out, state = module(x, hx)
    flat = [out] + (list(state) if isinstance(state, tuple) else [state])
    loss = sum((f * w).sum() for f, w in zip(flat, weights, strict=True))
    results = []
    for k in range(passes):
        module.zero_grad()
        for leaf in leaves:
            leaf.grad = None
        loss.backward(retain_graph=k < passes - 1)
        results.append(({name: p.grad.clone() for name, p in module.named_parameters()},
                         [leaf.grad.clone() for leaf in leaves]))
    return [f.detach() for f in flat], results


def assert_parity(ours: nn.Module, theirs: nn.Module, x: torch.Tensor, hx=None) -> float:
    """Assert equal outputs, states and gradients (params, input, hx) to TOL; return the max difference."""
    with torch.no_grad():
        out, state = theirs(x, hx)
    flat = [out] + (list(state) if isinstance(state, tuple) else [state])
    weights = [torch.randn_like(f) for f in flat]
    a_out, a_grads, a_in = run_and_grad(ours, x, hx, weights)
    b_out, b_grads, b_in = run_and_grad(theirs, x, hx, weights)
    assert list(a_grads) == list(b_grads), "parameter names or order differ"
    worst = 0.0
    for what, a, b in [("output/state", a_out, b_out), ("input grads", a_in, b_in), ("param grads", list(a_grads.values()), list(b_grads.values()))]:
        for u, v in zip(a, b, strict=True):
            assert u.shape == v.shape, f"{what}: shape {tuple(u.shape)} vs {tuple(v.shape)}"
            d = (u - v).abs().max().item()
            assert d <= TOL, f"{what}: max abs difference {d:.3e} > {TOL}"
            worst = max(worst, d)
    return worst


def all_gradients(module, x, state):
    """Output, final state and the gradients of a fixed loss w.r.t. input, state and parameters."""
    x, state = x.clone().requires_grad_(), state.clone().requires_grad_()
    out, final = module(x, state)
    final = final[0] if isinstance(final, tuple) else final   # the QRNN's state: (c, windows...)
    weights = torch.linspace(-1, 1, out.numel(), dtype=F64).reshape(out.shape)
    ((out * weights).sum() + 0.7 * final.sum()).backward()
    return [out, final, x.grad, state.grad] + [p.grad for p in module.parameters()]
