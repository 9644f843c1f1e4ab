"""Bad input to the gated layers, the notes' cells and the new data helpers: one test each."""

import re

import pytest
import torch

import rnnbook
from rnnbook.helpers.data import adding_problem, future_task
from rnnbook.notes.lstm_steps import step5_from_lstm

F64 = torch.float64
X = torch.zeros(5, 2, 3, dtype=F64)


def _z(*shape):
    return torch.zeros(*shape, dtype=F64)


CASES = [
    ("LSTM hx is a tensor", lambda: rnnbook.LSTM(3, 4, dtype=F64)(X, _z(1, 2, 4)), TypeError,
     "hx must be a tuple (h_0, c_0) of two tensors for LSTM, got Tensor"),
    ("LSTM hx has three items", lambda: rnnbook.LSTM(3, 4, dtype=F64)(X, (_z(1, 2, 4),) * 3), ValueError,
     "hx must be a tuple (h_0, c_0) of two tensors for LSTM, got 3 items"),
    ("LSTM c0 wrong shape", lambda: rnnbook.LSTM(3, 4, dtype=F64)(X, (_z(1, 2, 4), _z(1, 2, 5))), ValueError,
     "c_0 must have shape (1, 2, 4) = (num_layers * num_directions, batch, hidden_size), got (1, 2, 5)"),
    ("LSTM c0 missing layer dim", lambda: rnnbook.LSTM(3, 4, dtype=F64)(X, (_z(1, 2, 4), _z(2, 4))), ValueError,
     "c_0 must be 3-D, got a 2-D tensor of shape (2, 4)"),
    ("LSTM h0 of hidden_size with proj_size", lambda: rnnbook.LSTM(3, 4, proj_size=2, dtype=F64)(X, (_z(1, 2, 4), _z(1, 2, 4))),
     ValueError, "h_0 must have shape (1, 2, 2) = (num_layers * num_directions, batch, proj_size), got (1, 2, 4)"),
    ("LSTM c0 of proj_size", lambda: rnnbook.LSTM(3, 4, proj_size=2, dtype=F64)(X, (_z(1, 2, 2), _z(1, 2, 2))),
     ValueError, "c_0 must have shape (1, 2, 4) = (num_layers * num_directions, batch, hidden_size), got (1, 2, 2)"),
    ("LSTM h0 for a bidirectional layer", lambda: rnnbook.LSTM(3, 4, bidirectional=True, dtype=F64)(X, (_z(1, 2, 4), _z(2, 2, 4))),
     ValueError, "h_0 must have shape (2, 2, 4) = (num_layers * num_directions, batch, hidden_size), got (1, 2, 4)"),
    ("LSTM unbatched c0 3-D", lambda: rnnbook.LSTM(3, 4, dtype=F64)(_z(5, 3), (_z(1, 4), _z(1, 1, 4))), ValueError,
     "c_0 must be 2-D, got a 3-D tensor of shape (1, 1, 4)"),
    ("proj_size == hidden_size", lambda: rnnbook.LSTM(3, 4, proj_size=4), ValueError,
     "proj_size must be smaller than hidden_size (4), got 4"),
    ("proj_size > hidden_size", lambda: rnnbook.LSTM(3, 4, proj_size=6), ValueError,
     "proj_size must be smaller than hidden_size (4), got 6"),
    ("negative proj_size", lambda: rnnbook.LSTM(3, 4, proj_size=-1), ValueError, "proj_size must be >= 0, got -1"),
    ("float proj_size", lambda: rnnbook.LSTM(3, 4, proj_size=2.0), TypeError, "proj_size must be an int, got 2.0 of type float"),
    ("GRU hx is a tuple", lambda: rnnbook.GRU(3, 4, dtype=F64)(X, (_z(1, 2, 4), _z(1, 2, 4))), TypeError,
     "hx must be a torch.Tensor, got tuple"),
    ("GRU hx wrong hidden", lambda: rnnbook.GRU(3, 4, dtype=F64)(X, _z(1, 2, 5)), ValueError,
     "hx must have shape (1, 2, 4) = (num_layers * num_directions, batch, hidden_size), got (1, 2, 5)"),
    ("GRU wrong input features", lambda: rnnbook.GRU(3, 4, dtype=F64)(_z(5, 2, 2)), ValueError,
     "input must have 3 features (input_size) in its last dimension, got shape (5, 2, 2)"),
    ("GRU reset_after not a bool", lambda: rnnbook.GRU(3, 4, reset_after="no"), TypeError,
     "reset_after must be a bool, got 'no' of type str"),
    ("GRUCell reset_after not a bool", lambda: rnnbook.GRUCell(3, 4, reset_after=0), TypeError,
     "reset_after must be a bool, got 0 of type int"),
    ("GRUCell h wrong batch", lambda: rnnbook.GRUCell(3, 4, dtype=F64)(_z(2, 3), _z(3, 4)), ValueError,
     "hx must have shape (2, 4) = (batch, hidden_size), got (3, 4)"),
    ("LSTMCell hx is a tensor", lambda: rnnbook.LSTMCell(3, 4, dtype=F64)(_z(2, 3), _z(2, 4)), TypeError,
     "hx must be a tuple (h_0, c_0) of two tensors for LSTMCell, got Tensor"),
    ("LSTMCell c wrong shape", lambda: rnnbook.LSTMCell(3, 4, dtype=F64)(_z(2, 3), (_z(2, 4), _z(2, 5))), ValueError,
     "c_0 must have shape (2, 4) = (batch, hidden_size), got (2, 5)"),
    ("LSTMCell 1-D c for batched input", lambda: rnnbook.LSTMCell(3, 4, dtype=F64)(_z(2, 3), (_z(2, 4), _z(4))), ValueError,
     "c_0 must be 2-D, got a 1-D tensor of shape (4,)"),
    ("PeepholeLSTMCell hx with one item", lambda: rnnbook.PeepholeLSTMCell(3, 4, dtype=F64)(_z(2, 3), (_z(2, 4),)), ValueError,
     "hx must be a tuple (h_0, c_0) of two tensors for PeepholeLSTMCell, got 1 items"),
    ("PeepholeLSTM hx is a tensor", lambda: rnnbook.PeepholeLSTM(3, 4, dtype=F64)(X, _z(1, 2, 4)), TypeError,
     "hx must be a tuple (h_0, c_0) of two tensors for PeepholeLSTM, got Tensor"),
    ("PeepholeLSTM takes no proj_size", lambda: rnnbook.PeepholeLSTM(3, 4, proj_size=2), TypeError,
     "unexpected keyword argument 'proj_size'"),
    ("notes cell state not a tuple", lambda: rnnbook.NotesStep4Cell(3, 4, dtype=F64)(_z(2, 3), _z(2, 4)), TypeError,
     "state must be a tuple (h, c) of 2 tensors, got Tensor"),
    ("literal step 5 state of two", lambda: rnnbook.NotesStep5Cell(3, 4, dtype=F64, literal=True)(_z(2, 3), (_z(2, 4),) * 2),
     ValueError, "state must be a tuple (a, c, h) of 3 tensors, got 2 items"),
    ("notes cell c wrong shape", lambda: rnnbook.NotesStep5Cell(3, 4, dtype=F64)(_z(2, 3), (_z(2, 4), _z(2, 5))), ValueError,
     "c must have shape (2, 4) = (batch, hidden_size), got (2, 5)"),
    ("notes cell wrong input features", lambda: rnnbook.NotesStep2Cell(3, 4, dtype=F64)(_z(2, 5)), ValueError,
     "input must have 3 features (input_size) in its last dimension, got shape (2, 5)"),
    ("notes layer unknown step", lambda: rnnbook.NotesLSTM(3, 4, step=6), ValueError, "step must be one of 2, 3, 4, 5; got 6"),
    ("notes layer 4-D input", lambda: rnnbook.NotesLSTM(3, 4, dtype=F64)(_z(5, 2, 1, 3)), ValueError,
     "input must be 2-D or 3-D, got a 4-D tensor of shape (5, 2, 1, 3)"),
    ("step5_from_lstm of a 2-layer LSTM", lambda: step5_from_lstm(torch.nn.LSTM(3, 4, 2)), ValueError,
     "lstm must have num_layers=1, bidirectional=False and proj_size=0, got num_layers=2, bidirectional=False, proj_size=0"),
    ("adding_problem one step", lambda: adding_problem(2, 1, generator=torch.Generator()), ValueError,
     "steps must be >= 2, got 1"),
    ("adding_problem no generator", lambda: adding_problem(2, 10, generator=None), TypeError,
     "generator must be a torch.Generator"),
    ("future_task shorter than the shift", lambda: future_task(2, 3, shift=3, generator=torch.Generator()), ValueError,
     "steps must be >= 4, got 3"),
    ("future_task zero shift", lambda: future_task(2, 5, shift=0, generator=torch.Generator()), ValueError,
     "shift must be >= 1, got 0"),
]


@pytest.mark.parametrize("case,call,error,message", CASES, ids=[c[0] for c in CASES])
def test_rejects(case, call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
