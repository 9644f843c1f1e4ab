r"""The proof under the result: checks that assert a claim and print it as one plain line.

A chapter folds its checking code (the ``hide-input`` tag) and shows only what was checked:

.. code-block:: text

    ✓ rnnbook.GRU equals torch.nn.GRU: outputs and the gradients of 1 input and 8 parameters within 1e-12

The line names the claim and the tolerance that was *asserted*, never the error that was
*measured*: the measured error moves with the CPU's instruction set and the summation order,
and nbval compares every printed line with the committed one. A check that fails raises
``AssertionError`` with what differed, by how much and where (the measured numbers belong
there, where they help). The functions return ``None``, so a check as a cell's last line
echoes nothing more.

- :func:`check`: a plain claim, ``check(loss < baseline, "the RNN beats the baseline")``;
- :func:`check_close`: tensors (or nested tuples and lists of tensors) equal within a
  tolerance;
- :func:`check_same_module`: two modules with the same parameter names (``rnnbook.LSTM`` and
  ``torch.nn.LSTM`` with one ``state_dict``) give the same outputs, input gradients and
  parameter gradients on the same inputs.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["check", "check_close", "check_same_module"]


def _check_what(what: object) -> str:
    if not isinstance(what, str) or not what.strip():
        raise TypeError(f"what must be a non-empty str saying what is checked, got {what!r}")
    if "\n" in what:
        raise ValueError(f"what must fit on one line, got {what!r}")
    return what.strip()


def _check_tolerance(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return float(value)


def _tolerance(atol: float, rtol: float) -> str:
    """The asserted tolerance in words: ``within 1e-12``, ``within 1e-06 (+ 1e-05 relative)``,
    ``exactly``."""
    if atol == 0 and rtol == 0:
        return "exactly"
    if rtol == 0:
        return f"within {atol:g}"
    return f"within {atol:g} (+ {rtol:g} relative)"


def check(condition: object, what: str) -> None:
    """Assert a plain claim and print it: ``✓ what``.

    ``condition`` must be a ``bool`` (a comparison), a NumPy bool or a one-element bool
    tensor: a number or a list, whose truth Python would guess, raises ``TypeError``.

    >>> rnnbook.check(0.31 < 0.5, "the GRU's loss is below the baseline's 0.5")
    ✓ the GRU's loss is below the baseline's 0.5
    >>> rnnbook.check(1 + 1 == 3, "arithmetic is broken")
    Traceback (most recent call last):
    ...
    AssertionError: ✗ arithmetic is broken
    """
    what = _check_what(what)
    if isinstance(condition, Tensor):
        if condition.dtype != torch.bool or condition.numel() != 1:
            raise TypeError(f"condition must be a bool; got a tensor of dtype {condition.dtype} and "
                            f"shape {tuple(condition.shape)} (reduce it first, e.g. (a < b).all())")
        condition = bool(condition)
    elif isinstance(condition, np.bool_):
        condition = bool(condition)
    elif not isinstance(condition, bool):
        raise TypeError(f"condition must be a bool (a comparison such as a < b), got {condition!r} "
                        f"of type {type(condition).__name__}")
    if not condition:
        raise AssertionError(f"✗ {what}")
    print(f"✓ {what}")


def _leaves(name: str, value: object, path: str = "") -> list[tuple[str, Tensor]]:
    """``value``'s tensors in order, with their place (``[1][0]``): a tensor, or nested tuples
    and lists of tensors."""
    if isinstance(value, Tensor):
        return [(path, value)]
    if isinstance(value, (tuple, list)):
        if not value:
            raise ValueError(f"{name}{path} is an empty {type(value).__name__}; nothing to compare")
        return [leaf for i, v in enumerate(value) for leaf in _leaves(name, v, f"{path}[{i}]")]
    raise TypeError(f"{name}{path} must be a torch.Tensor (or a tuple or list of them), "
                    f"got {type(value).__name__}; convert it with torch.as_tensor")


def _pair(actual: object, expected: object) -> list[tuple[str, Tensor, Tensor]]:
    got, want = _leaves("actual", actual), _leaves("expected", expected)
    if [p for p, _ in got] != [p for p, _ in want]:
        raise ValueError(f"actual and expected must have the same structure; actual holds tensors at "
                         f"{[p or '(top)' for p, _ in got]}, expected at {[p or '(top)' for p, _ in want]}")
    pairs = []
    for (path, a), (_, e) in zip(got, want):
        if a.shape != e.shape:
            raise ValueError(f"actual{path} has shape {tuple(a.shape)} but expected{path} has shape "
                             f"{tuple(e.shape)}; compare tensors of one shape")
        pairs.append((path, a, e))
    return pairs


def _first_failure(pairs: list[tuple[str, Tensor, Tensor]], atol: float, rtol: float) -> str | None:
    """``None`` if every pair agrees within ``atol + rtol * |expected|``; otherwise where and by
    how much the worst value of the first failing pair differs."""
    for label, a, e in pairs:
        wide = torch.complex128 if (a.is_complex() or e.is_complex()) else torch.float64
        a64, e64 = a.detach().cpu().to(wide), e.detach().cpu().to(wide)
        diff = (a64 - e64).abs()
        ok = (a64 == e64) | (diff <= atol + rtol * e64.abs())
        if bool(ok.all()):
            continue
        bad = ~ok
        # the worst value: NaN first (it compares false with everything), then the largest diff
        score = torch.where(bad, torch.nan_to_num(diff, nan=math.inf), torch.zeros_like(diff))
        flat = int(torch.argmax(score.reshape(-1)))
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), a.shape)) if a.dim() else ()
        return (f"{int(bad.sum())} of {a.numel()} values of {label} differ by more than "
                f"{_tolerance(atol, rtol).removeprefix('within ')}; the worst, at index {index}: "
                f"actual {a64.reshape(-1)[flat].item():.17g}, expected {e64.reshape(-1)[flat].item():.17g}, "
                f"|difference| {diff.reshape(-1)[flat].item():.3g}")
    return None


def check_close(actual: object, expected: object, what: str, *, atol: float = 1e-12,
                rtol: float = 0.0) -> None:
    """Assert that ``actual`` equals ``expected`` within ``atol + rtol * |expected|`` element by
    element, and print ``✓ what within atol``.

    ``actual`` and ``expected`` are tensors, or tuples and lists of tensors nested alike (an
    LSTM's ``(output, (h_n, c_n))``); values are compared in float64 (or complex128), so a
    float32 result may be checked against a float64 reference. NaN equals nothing; equal
    infinities are equal. ``atol = rtol = 0`` asserts exact equality (printed ``exactly``).

    >>> import torch
    >>> x = torch.linspace(-1, 1, 5, dtype=torch.float64)
    >>> rnnbook.check_close(2 * torch.sigmoid(2 * x) - 1, torch.tanh(x),
    ...                     "tanh(a) = 2 sigmoid(2a) - 1", atol=1e-15)
    ✓ tanh(a) = 2 sigmoid(2a) - 1 within 1e-15
    >>> rnnbook.check_close((x, [x]), (x, [x]), "a tuple with a list inside", atol=0)
    ✓ a tuple with a list inside exactly
    >>> rnnbook.check_close(x, x + 1e-9, "x equals x + 1e-9", atol=1e-12)
    Traceback (most recent call last):
    ...
    AssertionError: ✗ x equals x + 1e-9: 5 of 5 values of actual differ by more than 1e-12; ...
    """
    what = _check_what(what)
    atol, rtol = _check_tolerance("atol", atol), _check_tolerance("rtol", rtol)
    pairs = [(f"actual{path}" if path else "actual", a, e) for path, a, e in _pair(actual, expected)]
    failure = _first_failure(pairs, atol, rtol)
    if failure is not None:
        raise AssertionError(f"✗ {what}: {failure}")
    print(f"✓ {what} {_tolerance(atol, rtol)}")


def _with_grad(value: object, leaves: list[Tensor]) -> object:
    """A copy of the arguments in which every floating tensor is a fresh leaf that requires
    grad (collected in ``leaves``); tuples and lists are copied, anything else passed as is."""
    if isinstance(value, Tensor) and value.is_floating_point():
        leaf = value.detach().clone().requires_grad_(True)
        leaves.append(leaf)
        return leaf
    if isinstance(value, (tuple, list)) and not hasattr(value, "_fields"):
        return type(value)(_with_grad(v, leaves) for v in value)
    return value


def _outputs(value: object, path: str = "") -> list[tuple[str, Tensor]]:
    """Every tensor a module returned, with its place (``output[1][0]``)."""
    if isinstance(value, Tensor):
        return [(f"output{path}", value)]
    if isinstance(value, (tuple, list)):
        return [leaf for i, v in enumerate(value) for leaf in _outputs(v, f"{path}[{i}]")]
    return []


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def check_same_module(ours: nn.Module, theirs: nn.Module, inputs: object, what: str, *,
                      atol: float = 1e-12, rtol: float = 0.0, seed: int = 0) -> None:
    r"""Assert that two modules with the same parameters compute the same function and the same
    gradients, and print ``✓ what: outputs and the gradients of k inputs and n parameters
    within atol``.

    ``inputs`` is one tensor or a tuple of the positional arguments (tensors, tuples of tensors
    such as an LSTM's ``(h_0, c_0)``, or other values passed as they are). Each module gets its
    own copy, in which every floating tensor requires grad. The loss differentiated is
    :math:`\sum_k \langle w_k, y_k \rangle` over the floating outputs :math:`y_k`, with fixed
    random weights :math:`w_k` (drawn from ``seed``, the same for both), so every output value
    gets its own gradient. Compared: every output tensor, the gradient of every floating input
    and of every parameter, by name: ``ours.named_parameters()`` and ``theirs'`` must have the
    same names and shapes (a ``ValueError`` says which differ). The modules' ``.grad`` are left
    untouched. Modules with dropout should be in ``eval()`` mode.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> theirs = torch.nn.GRU(3, 4, dtype=torch.float64)
    >>> ours = rnnbook.GRU(3, 4, dtype=torch.float64)
    >>> _ = ours.load_state_dict(theirs.state_dict())
    >>> x = torch.randn(5, 2, 3, dtype=torch.float64)       # (L, N, H_in)
    >>> rnnbook.check_same_module(ours, theirs, x, "rnnbook.GRU equals torch.nn.GRU")
    ✓ rnnbook.GRU equals torch.nn.GRU: outputs and the gradients of 1 input and 4 parameters within 1e-12
    """
    for name, module in (("ours", ours), ("theirs", theirs)):
        if not isinstance(module, nn.Module):
            raise TypeError(f"{name} must be a torch.nn.Module, got {type(module).__name__}")
    what = _check_what(what)
    atol, rtol = _check_tolerance("atol", atol), _check_tolerance("rtol", rtol)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r}")
    args = inputs if isinstance(inputs, tuple) else (inputs,)
    ours_params, theirs_params = dict(ours.named_parameters()), dict(theirs.named_parameters())
    if list(ours_params) != list(theirs_params):
        only = sorted(set(ours_params) ^ set(theirs_params))
        raise ValueError(f"ours and theirs must have the same parameter names in the same order; "
                         f"{'these differ: ' + str(only) if only else 'the order differs'}")
    for name, p in ours_params.items():
        if p.shape != theirs_params[name].shape:
            raise ValueError(f"parameter {name} has shape {tuple(p.shape)} in ours but "
                             f"{tuple(theirs_params[name].shape)} in theirs")
    generator = torch.Generator().manual_seed(int(seed))
    weights: list[Tensor] = []
    results = []
    for module, params in ((ours, ours_params), (theirs, theirs_params)):
        leaves: list[Tensor] = []
        with torch.enable_grad():
            outputs = _outputs(module(*_with_grad(args, leaves)))
            floating = [y for _, y in outputs if y.is_floating_point() and y.requires_grad]
            while len(weights) < len(floating):
                y = floating[len(weights)]
                weights.append(torch.randn(y.shape, generator=generator, dtype=torch.float64))
            wrt = leaves + [p for p in params.values() if p.requires_grad]
            grads: tuple = ()
            if floating and wrt:
                loss = sum((y * w.to(device=y.device, dtype=y.dtype)).sum() for y, w in zip(floating, weights))
                grads = torch.autograd.grad(loss, wrt, allow_unused=True)
        grads = tuple(torch.zeros_like(t) if g is None else g for t, g in zip(wrt, grads))
        labels = [f"grad input {i}" for i in range(len(leaves))]
        labels += [f"grad {n}" for n, p in params.items() if p.requires_grad]
        results.append((outputs, list(zip(labels, grads)), len(leaves), len(wrt) - len(leaves)))
    (out_a, grad_a, n_inputs, n_params), (out_b, grad_b, _, _) = results
    if [(p, y.shape) for p, y in out_a] != [(p, y.shape) for p, y in out_b]:
        raise AssertionError(f"✗ {what}: the outputs differ in structure or shape: ours gives "
                             f"{[(p, tuple(y.shape)) for p, y in out_a]}, theirs "
                             f"{[(p, tuple(y.shape)) for p, y in out_b]}")
    pairs = [(p, a, b) for (p, a), (_, b) in zip(out_a, out_b)]
    pairs += [(label, a, b) for (label, a), (_, b) in zip(grad_a, grad_b)]
    failure = _first_failure(pairs, atol, rtol)
    if failure is not None:
        raise AssertionError(f"✗ {what}: {failure}")
    if n_inputs + n_params == 0:
        checked = "outputs"
    else:
        parts = [_count(n, noun) for n, noun in ((n_inputs, "input"), (n_params, "parameter")) if n]
        checked = f"outputs and the gradients of {' and '.join(parts)}"
    print(f"✓ {what}: {checked} {_tolerance(atol, rtol)}")
