"""The check helpers: one deterministic line when the claim holds, a loud and useful
AssertionError when it does not, and clear errors for bad input."""

import numpy as np
import pytest
import torch

import rnnbook
from rnnbook.helpers.checks import check, check_close, check_same_module

F64 = torch.float64


def test_check_prints_the_claim_or_raises_it(capsys):
    check(2 < 3, "two is below three")
    check(np.float64(1.0) < 2, "a NumPy comparison")
    check(torch.tensor([1.0, 2.0]).lt(3).all(), "a reduced tensor comparison")
    assert capsys.readouterr().out.splitlines() == [
        "✓ two is below three", "✓ a NumPy comparison", "✓ a reduced tensor comparison"]
    with pytest.raises(AssertionError, match="^✗ three is below two$"):
        check(3 < 2, "three is below two")
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("condition", [1, 0.0, [True], "yes", None, torch.tensor([True, False]),
                                       torch.tensor(1.0)])
def test_check_refuses_what_is_not_a_bool(condition):
    with pytest.raises(TypeError, match="condition must be a bool"):
        check(condition, "a claim")


@pytest.mark.parametrize("what, error", [("", TypeError), ("  ", TypeError), (None, TypeError),
                                         ("two\nlines", ValueError)])
def test_the_claim_must_be_one_line_of_text(what, error):
    with pytest.raises(error, match="what must"):
        check(True, what)
    with pytest.raises(error, match="what must"):
        check_close(torch.zeros(2), torch.zeros(2), what)


def test_check_close_prints_the_tolerance_never_the_measured_error(capsys):
    x = torch.linspace(-1, 1, 7, dtype=F64)
    for error in (0.0, 3e-15, 7e-13):  # three CPUs, three measured errors: one line
        check_close(x + error, x, "x equals itself", atol=1e-12)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["✓ x equals itself within 1e-12"] * 3


def test_check_close_phrases_each_kind_of_tolerance(capsys):
    x = torch.ones(3, dtype=F64)
    check_close(x, x, "exact", atol=0)
    check_close(x * (1 + 1e-7), x, "relative", atol=1e-9, rtol=1e-6)
    check_close(x.float(), x, "float32 against float64", atol=1e-6)
    check_close(torch.tensor([float("inf"), 1.0]), torch.tensor([float("inf"), 1.0]), "infinities", atol=0)
    assert capsys.readouterr().out.splitlines() == [
        "✓ exact exactly", "✓ relative within 1e-09 (+ 1e-06 relative)",
        "✓ float32 against float64 within 1e-06", "✓ infinities exactly"]


def test_check_close_says_where_the_worst_value_is():
    expected = torch.zeros(2, 3, dtype=F64)
    actual = expected.clone()
    actual[0, 0], actual[1, 2] = 1e-9, 1e-3
    with pytest.raises(AssertionError) as info:
        check_close(actual, expected, "a claim", atol=1e-6)
    message = str(info.value)
    assert message.startswith("✗ a claim: 1 of 6 values of actual differ by more than 1e-06")
    assert "at index (1, 2)" in message and "|difference| 0.001" in message
    # NaN is the worst of all, and equals nothing, itself included
    actual[0, 1] = float("nan")
    with pytest.raises(AssertionError, match=r"2 of 6 values .* at index \(0, 1\): actual nan"):
        check_close(actual, expected, "a claim", atol=1e-6)
    nan = torch.full((2,), float("nan"))
    with pytest.raises(AssertionError, match="2 of 2 values"):
        check_close(nan, nan, "NaN equals NaN", atol=1.0)


def test_check_close_names_the_item_of_a_nested_structure(capsys):
    h, c = torch.zeros(2, 4, dtype=F64), torch.ones(2, 4, dtype=F64)
    out = torch.zeros(5, 2, 4, dtype=F64)
    check_close((out, (h, c)), (out, (h, c)), "an LSTM's output and state", atol=0)
    assert capsys.readouterr().out == "✓ an LSTM's output and state exactly\n"
    with pytest.raises(AssertionError, match=r"values of actual\[1\]\[1\] differ"):
        check_close((out, (h, c)), (out, (h, c + 1)), "an LSTM's output and state")


@pytest.mark.parametrize("actual, expected, error, match", [
    (np.zeros(3), torch.zeros(3), TypeError, "actual must be a torch.Tensor"),
    (torch.zeros(3), [torch.zeros(3), 1.0], TypeError, r"expected\[1\] must be a torch.Tensor"),
    (torch.zeros(3), torch.zeros(4), ValueError, r"actual has shape \(3,\) but expected has shape \(4,\)"),
    ((torch.zeros(2), torch.zeros(3)), (torch.zeros(2), torch.zeros(2)), ValueError,
     r"actual\[1\] has shape \(3,\) but expected\[1\] has shape \(2,\)"),
    ((torch.zeros(2),), (torch.zeros(2), torch.zeros(2)), ValueError, "the same structure"),
    ((), (), ValueError, "empty tuple"),
])
def test_check_close_refuses_bad_input(actual, expected, error, match):
    with pytest.raises(error, match=match):
        check_close(actual, expected, "a claim")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"atol": -1e-12}, ValueError, "atol must be a finite number >= 0, got -1e-12"),
    ({"rtol": float("nan")}, ValueError, "rtol must be a finite number >= 0"),
    ({"atol": True}, TypeError, "atol must be a real number"),
    ({"atol": "1e-12"}, TypeError, "atol must be a real number"),
])
def test_check_close_refuses_bad_tolerances(kwargs, error, match):
    with pytest.raises(error, match=match):
        check_close(torch.zeros(2), torch.zeros(2), "a claim", **kwargs)


def _twins(seed=0):
    torch.manual_seed(seed)
    theirs = torch.nn.LSTM(3, 4, num_layers=2, dtype=F64)
    ours = rnnbook.LSTM(3, 4, num_layers=2, dtype=F64)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(6, 2, 3, dtype=F64)
    state = (torch.randn(2, 2, 4, dtype=F64), torch.randn(2, 2, 4, dtype=F64))
    return ours, theirs, x, state


def test_check_same_module_counts_what_it_compared(capsys):
    ours, theirs, x, state = _twins()
    check_same_module(ours, theirs, (x, state), "rnnbook.LSTM equals torch.nn.LSTM")
    check_same_module(ours, theirs, x, "without a state", atol=1e-10)
    assert capsys.readouterr().out.splitlines() == [
        "✓ rnnbook.LSTM equals torch.nn.LSTM: outputs and the gradients of 3 inputs and 8 parameters "
        "within 1e-12",
        "✓ without a state: outputs and the gradients of 1 input and 8 parameters within 1e-10"]
    assert all(p.grad is None for p in ours.parameters())  # the modules' .grad are untouched
    frozen = torch.nn.Embedding(5, 2, dtype=F64).requires_grad_(False)
    check_same_module(frozen, frozen, torch.tensor([[0, 4, 1]]), "integer inputs, frozen weights", atol=0)
    assert capsys.readouterr().out == "✓ integer inputs, frozen weights: outputs exactly\n"


def test_check_same_module_catches_a_wrong_weight_and_a_wrong_gradient():
    ours, theirs, x, state = _twins()
    with torch.no_grad():
        ours.weight_hh_l1[0, 0] += 1e-9
    with pytest.raises(AssertionError, match=r"✗ twins: \d+ of \d+ values of output\[0\] differ"):
        check_same_module(ours, theirs, (x, state), "twins")

    class WrongGradient(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1.0

        @staticmethod
        def backward(ctx, grad):
            return 2 * grad  # the forward is right, the backward is not

    class Scale(torch.nn.Module):
        def __init__(self, wrong):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(3, dtype=F64))
            self.wrong = wrong

        def forward(self, a):
            return (WrongGradient.apply(a) if self.wrong else a) * self.w

    with pytest.raises(AssertionError, match="values of grad input 0 differ"):
        check_same_module(Scale(True), Scale(False), torch.ones(3, dtype=F64), "gradients")


def test_check_same_module_refuses_bad_input():
    ours, theirs, x, _ = _twins()
    with pytest.raises(TypeError, match="theirs must be a torch.nn.Module, got function"):
        check_same_module(ours, lambda x: x, x, "a claim")
    with pytest.raises(ValueError, match="the same parameter names .*'weight_hh_l1'"):
        check_same_module(ours, torch.nn.LSTM(3, 4, dtype=F64), x, "a claim")
    with pytest.raises(ValueError, match=r"weight_ih_l0 has shape \(16, 3\) in ours but \(16, 5\)"):
        check_same_module(rnnbook.LSTM(3, 4), torch.nn.LSTM(5, 4), x, "a claim")
    with pytest.raises(ValueError, match="atol must be a finite number >= 0"):
        check_same_module(ours, theirs, x, "a claim", atol=-1.0)
    with pytest.raises(TypeError, match="seed must be an int"):
        check_same_module(ours, theirs, x, "a claim", seed=0.5)
