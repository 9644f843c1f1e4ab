"""Bad input is refused at the door: one test per bad input, each asserting the message."""

import re

import pytest
import torch

import rnnbook
from rnnbook.helpers.data import echo_task
from rnnbook.seq.padding import one_hot

F64 = torch.float64


def rnn(**kw):
    return rnnbook.RNN(3, 4, **kw)


CONSTRUCTOR_CASES = [
    (dict(nonlinearity="sigmoid"), ValueError, "nonlinearity must be one of 'tanh', 'relu'; got 'sigmoid'"),
    (dict(num_layers=0), ValueError, "num_layers must be >= 1, got 0"),
    (dict(num_layers=2.0), TypeError, "num_layers must be an int, got 2.0 of type float"),
    (dict(dropout=1.0), ValueError, "dropout must lie in [0, 1), got 1.0"),
    (dict(dropout=-0.1), ValueError, "dropout must lie in [0, 1), got -0.1"),
    (dict(dropout="0.1"), TypeError, "dropout must be a real number, got '0.1' of type str"),
    (dict(bias=1), TypeError, "bias must be a bool, got 1 of type int"),
    (dict(batch_first=None), TypeError, "batch_first must be a bool, got None of type NoneType"),
    (dict(bidirectional="yes"), TypeError, "bidirectional must be a bool, got 'yes' of type str"),
]


@pytest.mark.parametrize("kwargs,error,message", CONSTRUCTOR_CASES)
def test_constructor_rejects(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        rnn(**kwargs)


@pytest.mark.parametrize("size_name", ["input_size", "hidden_size"])
def test_constructor_rejects_nonpositive_sizes(size_name):
    kw = {"input_size": 3, "hidden_size": 4, size_name: 0}
    with pytest.raises(ValueError, match=re.escape(f"{size_name} must be >= 1, got 0")):
        rnnbook.RNN(**kw)
    with pytest.raises(ValueError, match=re.escape(f"{size_name} must be >= 1, got 0")):
        rnnbook.RNNCell(**kw)


FORWARD_CASES = [
    ("wrong feature size", torch.zeros(5, 2, 7, dtype=F64), None, ValueError,
     "input must have 3 features (input_size) in its last dimension, got shape (5, 2, 7)"),
    ("1-D input", torch.zeros(3, dtype=F64), None, ValueError, "input must be 2-D or 3-D, got a 1-D tensor of shape (3,)"),
    ("4-D input", torch.zeros(5, 2, 1, 3, dtype=F64), None, ValueError,
     "input must be 2-D or 3-D, got a 4-D tensor of shape (5, 2, 1, 3)"),
    ("integer input", torch.zeros(5, 2, 3, dtype=torch.long), None, TypeError,
     "input must be a floating-point tensor, got dtype torch.int64"),
    ("float32 input, float64 layer", torch.zeros(5, 2, 3), None, TypeError,
     "input has dtype torch.float32 but the parameters have dtype torch.float64"),
    ("not a tensor", [[0.0, 0.0, 0.0]], None, TypeError, "input must be a torch.Tensor, got list"),
    ("empty sequence", torch.zeros(0, 2, 3, dtype=F64), None, ValueError, "input must have at least one time step, got shape (0, 2, 3)"),
    ("h0 wrong batch", torch.zeros(5, 2, 3, dtype=F64), torch.zeros(1, 3, 4, dtype=F64), ValueError,
     "hx must have shape (1, 2, 4) = (num_layers * num_directions, batch, hidden_size), got (1, 3, 4)"),
    ("h0 wrong hidden", torch.zeros(5, 2, 3, dtype=F64), torch.zeros(1, 2, 5, dtype=F64), ValueError,
     "hx must have shape (1, 2, 4) = (num_layers * num_directions, batch, hidden_size), got (1, 2, 5)"),
    ("h0 missing layer dim (broadcastable)", torch.zeros(5, 2, 3, dtype=F64), torch.zeros(2, 4, dtype=F64), ValueError,
     "hx must be 3-D, got a 2-D tensor of shape (2, 4)"),
    ("3-D h0 for unbatched input", torch.zeros(5, 3, dtype=F64), torch.zeros(1, 1, 4, dtype=F64), ValueError,
     "hx must be 2-D, got a 3-D tensor of shape (1, 1, 4)"),
    ("integer h0", torch.zeros(5, 2, 3, dtype=F64), torch.zeros(1, 2, 4, dtype=torch.long), TypeError,
     "hx must be a floating-point tensor, got dtype torch.int64"),
]


@pytest.mark.parametrize("case,x,h0,error,message", FORWARD_CASES, ids=[c[0] for c in FORWARD_CASES])
def test_forward_rejects(case, x, h0, error, message):
    layer = rnnbook.RNN(3, 4, dtype=F64)
    with pytest.raises(error, match=re.escape(message)):
        layer(x, h0)


def test_forward_rejects_packed_sequence_with_lengths_too():
    """A PackedSequence is taken as torch takes it (tests/layers/test_packing.py); with lengths as
    well it would carry two sets of lengths."""
    packed = torch.nn.utils.rnn.pack_sequence([torch.zeros(3, 3), torch.zeros(2, 3)])
    with pytest.raises(ValueError, match=re.escape("RNN got a PackedSequence and lengths=[3, 2]: a PackedSequence "
                                                   "carries its own lengths")):
        rnnbook.RNN(3, 4)(packed, lengths=[3, 2])


CELL_CASES = [
    ("wrong feature size", torch.zeros(2, 7, dtype=F64), None, ValueError,
     "input must have 3 features (input_size) in its last dimension, got shape (2, 7)"),
    ("3-D input", torch.zeros(5, 2, 3, dtype=F64), None, ValueError, "input must be 1-D or 2-D, got a 3-D tensor of shape (5, 2, 3)"),
    ("h wrong batch", torch.zeros(2, 3, dtype=F64), torch.zeros(3, 4, dtype=F64), ValueError,
     "hx must have shape (2, 4) = (batch, hidden_size), got (3, 4)"),
    ("1-D h for batched input (broadcastable)", torch.zeros(2, 3, dtype=F64), torch.zeros(4, dtype=F64), ValueError,
     "hx must be 2-D, got a 1-D tensor of shape (4,)"),
    ("integer input", torch.zeros(2, 3, dtype=torch.int32), None, TypeError, "input must be a floating-point tensor, got dtype torch.int32"),
]


@pytest.mark.parametrize("case,x,h,error,message", CELL_CASES, ids=[c[0] for c in CELL_CASES])
def test_cell_rejects(case, x, h, error, message):
    cell = rnnbook.RNNCell(3, 4, dtype=F64)
    with pytest.raises(error, match=re.escape(message)):
        cell(x, h)


def test_cell_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match=re.escape("nonlinearity must be one of 'tanh', 'relu'; got 'gelu'")):
        rnnbook.RNNCell(3, 4, nonlinearity="gelu")


NOTES_CASES = [
    ("wrong feature size", torch.zeros(5, 2, 6), None, ValueError,
     "input must have 3 features (l, input_size) in its last dimension, got shape (5, 2, 6)"),
    ("4-D input", torch.zeros(5, 2, 1, 3), None, ValueError, "input must be 2-D or 3-D, got a 4-D tensor"),
    ("h0 wrong shape", torch.zeros(5, 2, 3), torch.zeros(1, 2, 4), ValueError, "h0 must be 2-D, got a 3-D tensor of shape (1, 2, 4)"),
    ("h0 wrong size", torch.zeros(5, 2, 3), torch.zeros(2, 5), ValueError, "h0 must have shape (2, 4) = (batch, m), got (2, 5)"),
]


@pytest.mark.parametrize("case,x,h0,error,message", NOTES_CASES, ids=[c[0] for c in NOTES_CASES])
def test_elman_network_rejects(case, x, h0, error, message):
    with pytest.raises(error, match=re.escape(message)):
        rnnbook.ElmanNetwork(3, 4, 2)(x, h0)


def test_mlp_rejects_wrong_features():
    with pytest.raises(ValueError, match=re.escape("input must have 3 features")):
        rnnbook.MLP(3, 4, 2)(torch.zeros(5, 2, 4))


def test_data_helpers_reject_bad_arguments():
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        echo_task(2, 5, generator=0)
    with pytest.raises(ValueError, match=re.escape("steps must be >= 3, got 2")):
        echo_task(2, 2, delay=2, generator=torch.Generator())
    with pytest.raises(ValueError, match=re.escape("indices must lie in [0, 2] for num_classes=3, got values in [0, 3]")):
        one_hot(torch.tensor([0, 3]), 3)
    with pytest.raises(TypeError, match="indices must be an integer tensor, got dtype torch.float32"):
        one_hot(torch.tensor([0.0]), 3)


def test_training_helpers_reject_bad_targets():
    scores = torch.zeros(5, 2, 4)
    with pytest.raises(ValueError, match=re.escape("targets must have shape (5, 2) (the scores' shape without the class dimension), got (2, 5)")):
        rnnbook.sequence_loss(scores, torch.zeros(2, 5, dtype=torch.long))
    with pytest.raises(TypeError, match="targets must be an integer tensor"):
        rnnbook.accuracy(scores, torch.zeros(5, 2))
