"""The performance appendix's own statements (book/appendix_performance.md, "Where the time of a
step goes"), checked against the committed benchmark run; the others are in test_benchmarks.py."""

from __future__ import annotations

import json
import pathlib
import sys

import torch
from torch.overrides import TorchFunctionMode

import rnnbook

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "book" / "figures"))
import performance  # noqa: E402  (the appendix's figures read the same file)

SMALL, MIDDLE = (500, 16, 32, 64), (100, 32, 64, 128)


def _per_step_ms(rows, impl, size):
    return rows[(impl, *size)]["ms"] / size[0]


def test_eight_times_less_arithmetic_per_step():
    assert performance.macs_per_step("LSTM", MIDDLE) == 8 * performance.macs_per_step("LSTM", SMALL)


def test_the_recorded_loop_costs_per_operation_the_fused_kernel_per_multiply_add():
    """'spends more than half as long on each step as before' (every layer: the figure shows all
    three); 'torch.nn.LSTM's time per step falls with the arithmetic'."""
    rows = performance.rows()
    for layer in performance.LAYERS:
        name = f"rnnbook.{layer} (autograd)"
        assert _per_step_ms(rows, name, SMALL) > 0.5 * _per_step_ms(rows, name, MIDDLE), layer
    fused = _per_step_ms(rows, "torch.nn.LSTM", SMALL) / _per_step_ms(rows, "torch.nn.LSTM", MIDDLE)
    assert fused < 0.5


class _Calls(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.names = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names.append(getattr(func, "__name__", str(func)))
        return func(*args, **(kwargs or {}))


def _calls(steps: int) -> list[str]:
    layer = rnnbook.LSTM(8, 16, bptt="autograd")
    with _Calls() as calls:
        layer(torch.randn(steps, 2, 8))
    return calls.names


def test_an_lstm_step_is_one_recurrent_product_and_about_a_dozen_other_operations():
    two, three = _calls(2), _calls(3)
    step = list(three)
    for name in two:          # what one more step adds
        step.remove(name)
    products = [n for n in step if n in ("matmul", "mm", "linear", "addmm")]
    elementwise = [n for n in step if n in ("add", "mul", "sigmoid", "tanh", "chunk", "sub", "add_", "mul_")]
    assert len(products) == 1, step
    assert 10 <= len(elementwise) <= 14, step


def test_the_table_is_included_without_the_list_of_goals():
    """The appendix includes benchmark.md up to its list of goals ("| target |"): that marker must exist."""
    text = (ROOT / "book" / "_static" / "benchmark.md").read_text()
    assert text.count("| target |") == 1 and "| rnnbook.LSTM (hand) |" in text.split("| target |")[0]
    assert ':end-before: "| target |"' in (ROOT / "book" / "appendix_performance.md").read_text()
    assert json.loads((ROOT / "book" / "_static" / "benchmark.json").read_text())["rows"]
