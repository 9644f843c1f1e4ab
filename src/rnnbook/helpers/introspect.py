"""Looking inside the code the chapters run: the source lines that compute an equation,
and how many torch operations a call performs.

Chapters print the lines of ``rnnbook`` that compute an equation with
:func:`show_source`, and count operations with :func:`count_torch_calls` (for instance
to show that a layer's loop runs its body once per time step).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["source_lines", "show_source", "count_torch_calls"]


def source_lines(obj: object, *needles: str) -> list[str]:
    """The lines (stripped) of ``obj``'s source that contain at least one of ``needles``.

    Raises ValueError if no needle is given or a needle matches no line (a renamed
    variable then fails loudly instead of printing nothing).

    >>> rnnbook.source_lines(rnnbook.gru_step, "h_t = (1 - z_t)")
    ['# h_t = (1 - z_t) * n_t + z_t * h_{t-1}']
    """
    if not needles:
        raise ValueError("needles must name at least one string to look for, got none")
    for n in needles:
        if not isinstance(n, str) or not n:
            raise TypeError(f"needles must be non-empty strings, got {n!r}")
    lines = [line.strip() for line in inspect.getsource(obj).splitlines()]
    missing = [n for n in needles if not any(n in line for line in lines)]
    if missing:
        name = getattr(obj, "__qualname__", type(obj).__name__)
        raise ValueError(f"needles {missing} match no line of the source of {name}")
    return [line for line in lines if any(n in line for n in needles)]


def show_source(obj: object, *needles: str) -> None:
    """Print the lines of ``obj``'s source that contain one of ``needles`` (see
    :func:`source_lines`).

    >>> rnnbook.show_source(rnnbook.gru_step, "n = torch.tanh(gi_n + r", "return (1 - z)")
    n = torch.tanh(gi_n + r * gh_n)
    return (1 - z) * n + z * h
    """
    for line in source_lines(obj, *needles):
        print(line)


class _Counter(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        self.calls += 1
        return func(*args, **(kwargs or {}))


def count_torch_calls(fn: Callable[..., object], *args: object, **kwargs: object) -> int:
    """How many torch functions and tensor methods ``fn(*args, **kwargs)`` calls (counted
    with a ``torch.overrides.TorchFunctionMode``; run without gradient tracking).

    A C++ kernel counts as one call, whatever it does inside: ``torch.nn.LSTM`` runs
    its whole loop over time in one call.

    >>> import torch
    >>> rnn, elman = torch.nn.RNN(3, 4), rnnbook.ElmanNetwork(3, 4, 2)
    >>> calls = lambda model, L: rnnbook.count_torch_calls(model, torch.zeros(L, 1, 3))
    >>> calls(rnn, 20) - calls(rnn, 10)                    # torch's loop runs in C++: no more calls
    0
    >>> (calls(elman, 20) - calls(elman, 10)) // 10        # a Python loop: calls per time step
    5
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    counter = _Counter()
    with torch.no_grad(), counter:
        fn(*args, **kwargs)
    return counter.calls
