"""The notes' five-step LSTM cells: literal references, gradchecks, and the exact mappings
(steps 2-4 output = an Elman RNN; step 5 = the standard LSTM)."""

import pytest
import torch

import rnnbook
from helpers import TOL
from rnnbook.notes.lstm_steps import notes_cell, step5_from_lstm

F64 = torch.float64


def _column_reference(cell, xs, state):
    """Each step's equations from the notes, one sample at a time, with column vectors."""
    step = {"NotesStep2Cell": 2, "NotesStep3Cell": 3, "NotesStep4Cell": 4, "NotesStep5Cell": 5}[type(cell).__name__]
    literal = getattr(cell, "literal", False)
    sig = torch.sigmoid
    outs = []
    for x in xs:  # x: (l,), one sample
        if step < 5:
            h_prev, c = state
            v = torch.cat([h_prev, x])                      # [h_{t-1}, x_t]
            h = torch.tanh(cell.W_xhh @ v + cell.b_h)
            if step == 2:
                c = c + h
            elif step == 3:
                c = c + sig(cell.W_xhu @ v + cell.b_u) * h
            else:
                c = sig(cell.W_xhf @ v + cell.b_f) * c + sig(cell.W_xhu @ v + cell.b_u) * h
            state = (h, c)
        else:
            a_prev, c = state[0], state[1]
            v = torch.cat([a_prev, x])                      # [a_{t-1}, x_t]
            h = torch.tanh(cell.W_xhh @ (torch.cat([state[2], x]) if literal else v) + cell.b_h)
            c = sig(cell.W_xhf @ v + cell.b_f) * c + sig(cell.W_xhu @ v + cell.b_u) * h
            a = sig(cell.W_xho @ v + cell.b_o) * torch.tanh(c)
            state = (a, c, h) if literal else (a, c)
        outs.append(state)
    return outs


CELLS = [(2, {}), (3, {}), (4, {}), (5, {}), (5, {"literal": True})]


@pytest.mark.parametrize("step,kw", CELLS)
def test_cell_matches_column_vector_reference(step, kw):
    cell = notes_cell(step, 3, 4, dtype=F64, **kw)
    xs = torch.randn(6, 3, dtype=F64)
    n_state = 3 if kw.get("literal") else 2
    state0 = tuple(torch.randn(4, dtype=F64) for _ in range(n_state))
    expected = _column_reference(cell, xs, state0)
    state = state0
    for t in range(6):
        state = cell(xs[t], state)  # unbatched
        for u, v in zip(state, expected[t], strict=True):
            assert (u - v).abs().max().item() <= TOL


@pytest.mark.parametrize("step,kw", CELLS)
def test_cell_gradcheck(step, kw):
    cell = notes_cell(step, 3, 4, dtype=F64, **kw)
    names = [n for n, _ in cell.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in cell.parameters())
    n_state = 3 if kw.get("literal") else 2
    x = torch.randn(2, 3, dtype=F64, requires_grad=True)
    state = tuple(torch.randn(2, 4, dtype=F64, requires_grad=True) for _ in range(n_state))

    def f(x, *rest):
        return torch.func.functional_call(cell, dict(zip(names, rest[n_state:])), (x, tuple(rest[:n_state])))

    assert torch.autograd.gradcheck(f, (x, *state, *params))


@pytest.mark.parametrize("step", [2, 3, 4])
def test_steps_2_to_4_output_is_an_elman_rnn(step):
    """h_t never reads c: the output of steps 2-4 is exactly rnnbook.RNN with W_xhh split."""
    net = rnnbook.NotesLSTM(3, 4, step=step, dtype=F64)
    rnn = rnnbook.RNN(3, 4, dtype=F64)
    W = net.cell.W_xhh
    rnn.load_state_dict({"weight_ih_l0": W[:, 4:], "weight_hh_l0": W[:, :4],
                         "bias_ih_l0": net.cell.b_h, "bias_hh_l0": torch.zeros(4, dtype=F64)})
    x = torch.randn(7, 2, 3, dtype=F64)
    c0 = torch.randn(2, 4, dtype=F64, requires_grad=True)
    out, _ = net(x, (torch.zeros(2, 4, dtype=F64), c0))
    assert (out - rnn(x)[0]).abs().max().item() <= TOL
    (g,) = torch.autograd.grad(out.sum(), c0, allow_unused=True)
    assert g is None  # the output does not depend on the memory at all


@pytest.mark.parametrize("bias", [True, False])
def test_step5_is_the_standard_lstm(bias):
    lstm = torch.nn.LSTM(3, 5, bias=bias, dtype=F64)
    net = rnnbook.NotesLSTM(3, 5, step=5, dtype=F64)
    net.cell = step5_from_lstm(lstm)
    x = torch.randn(8, 2, 3, dtype=F64)
    h0, c0 = torch.randn(1, 2, 5, dtype=F64), torch.randn(1, 2, 5, dtype=F64)
    out, (a, c) = net(x, (h0[0], c0[0]))
    ref, (h_n, c_n) = lstm(x, (h0, c0))
    assert (out - ref).abs().max().item() <= TOL
    assert (c - c_n[0]).abs().max().item() <= TOL


def test_step5_from_lstm_cell():
    cell = torch.nn.LSTMCell(3, 4, dtype=F64)
    notes = step5_from_lstm(cell)
    x, h, c = torch.randn(2, 3, dtype=F64), torch.randn(2, 4, dtype=F64), torch.randn(2, 4, dtype=F64)
    for u, v in zip(notes(x, (h, c)), cell(x, (h, c))):
        assert (u - v).abs().max().item() <= TOL


def test_literal_step5_is_not_an_lstm():
    """As printed, the candidate h_t runs its own Elman recurrence: a different network."""
    lstm = torch.nn.LSTM(3, 5, dtype=F64)
    consistent = step5_from_lstm(lstm)
    literal = rnnbook.NotesStep5Cell(3, 5, dtype=F64, literal=True)
    literal.load_state_dict(consistent.state_dict())
    x = torch.randn(6, 2, 3, dtype=F64)
    s1, s2 = None, None
    for t in range(6):
        s1, s2 = consistent(x[t], s1), literal(x[t], s2)
    assert (s1[0] - s2[0]).abs().max().item() > 1e-3


def test_notes_layer_batch_first_and_unbatched():
    net = rnnbook.NotesLSTM(3, 4, step=4, batch_first=True, dtype=F64)
    x = torch.randn(2, 6, 3, dtype=F64)
    out, _ = net(x)
    assert out.shape == (2, 6, 4) and net.memory.shape == (2, 6, 4)
    out_u, _ = net(x[0])
    assert (out_u - out[0]).abs().max().item() <= TOL
