"""rnnbook.RNN / RNNCell against torch.nn.RNN / RNNCell: drop-in parity in float64."""

import itertools
import warnings

import pytest
import torch

import rnnbook
from helpers import TOL, assert_parity

CONFIGS = list(itertools.product([1, 2, 3], [False, True], [False, True], [False, True], [True, False], ["tanh", "relu"]))


@pytest.mark.parametrize("bptt", ["hand", "autograd"])
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,with_h0,bias,nonlinearity", CONFIGS)
def test_layer_parity_with_torch(num_layers, bidirectional, batch_first, with_h0, bias, nonlinearity, bptt):
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias,
              nonlinearity=nonlinearity, dtype=torch.float64)
    theirs = torch.nn.RNN(3, 5, **kw)
    ours = rnnbook.RNN(3, 5, **kw, bptt=bptt)
    ours.load_state_dict(theirs.state_dict())  # torch -> rnnbook
    T, N, D = 6, 4, 2 if bidirectional else 1
    x = torch.randn((N, T, 3) if batch_first else (T, N, 3), dtype=torch.float64)
    h0 = torch.randn(D * num_layers, N, 5, dtype=torch.float64) if with_h0 else None
    assert_parity(ours, theirs, x, h0)


@pytest.mark.parametrize("bptt", ["hand", "autograd"])
@pytest.mark.parametrize("num_layers,bidirectional,with_h0", list(itertools.product([1, 2], [False, True], [False, True])))
def test_unbatched_input_and_reverse_state_dict(num_layers, bidirectional, with_h0, bptt):
    ours = rnnbook.RNN(3, 4, num_layers, bidirectional=bidirectional, batch_first=True, dtype=torch.float64,
                       bptt=bptt)
    theirs = torch.nn.RNN(3, 4, num_layers, bidirectional=bidirectional, batch_first=True, dtype=torch.float64)
    theirs.load_state_dict(ours.state_dict())  # rnnbook -> torch
    D = 2 if bidirectional else 1
    x = torch.randn(5, 3, dtype=torch.float64)  # (L, H_in): batch_first is ignored, as in torch
    h0 = torch.randn(D * num_layers, 4, dtype=torch.float64) if with_h0 else None
    assert_parity(ours, theirs, x, h0)
    out, h_n = ours(x, h0)
    assert out.shape == (5, D * 4) and h_n.shape == (D * num_layers, 4)


def test_same_seed_same_initial_weights_and_names():
    torch.manual_seed(3)
    theirs = torch.nn.RNN(4, 6, 3, bidirectional=True)
    torch.manual_seed(3)
    ours = rnnbook.RNN(4, 6, 3, bidirectional=True)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert torch.equal(p, q), n
    assert repr(ours) == repr(theirs)
    assert [[p.shape for p in ws] for ws in ours.all_weights] == [[p.shape for p in ws] for ws in theirs.all_weights]


def test_positional_arguments_in_torch_order():
    ours = rnnbook.RNN(3, 4, 2, "relu", False, True, 0.5, True)
    theirs = torch.nn.RNN(3, 4, 2, "relu", False, True, 0.5, True)
    names = ["input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout", "bidirectional"]
    assert [getattr(ours, n) for n in names] == [getattr(theirs, n) for n in names]
    # torch's repr omits nonlinearity; ours shows it
    assert repr(ours) == repr(theirs)[:-1] + ", nonlinearity=relu)"
    assert set(ours.state_dict()) == set(theirs.state_dict())


def test_dropout_between_layers_only_in_training():
    rnn = rnnbook.RNN(3, 8, 2, dropout=0.5, dtype=torch.float64)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    rnn.train()
    a, _ = rnn(x)
    b, _ = rnn(x)
    assert not torch.equal(a, b)  # dropout masks differ between calls
    rnn.eval()
    c, _ = rnn(x)
    d, _ = rnn(x)
    assert torch.equal(c, d)
    theirs = torch.nn.RNN(3, 8, 2, dropout=0.5, dtype=torch.float64).eval()
    theirs.load_state_dict(rnn.state_dict())
    assert (theirs(x)[0] - c).abs().max().item() <= TOL


def test_dropout_warning_with_one_layer():
    with pytest.warns(UserWarning, match="no effect with num_layers=1"):
        rnnbook.RNN(3, 4, 1, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rnnbook.RNN(3, 4, 2, dropout=0.2)


@pytest.mark.parametrize("bias,nonlinearity,batched", list(itertools.product([True, False], ["tanh", "relu"], [True, False])))
def test_cell_parity_with_torch(bias, nonlinearity, batched):
    theirs = torch.nn.RNNCell(3, 5, bias=bias, nonlinearity=nonlinearity, dtype=torch.float64)
    ours = rnnbook.RNNCell(3, 5, bias=bias, nonlinearity=nonlinearity, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn((4, 3) if batched else (3,), dtype=torch.float64)
    h = torch.randn((4, 5) if batched else (5,), dtype=torch.float64)
    for hx in (None, h):
        assert (ours(x, hx) - theirs(x, hx)).abs().max().item() <= TOL
    assert repr(ours) == repr(theirs)


def test_cell_gradcheck():
    cell = rnnbook.RNNCell(3, 4, dtype=torch.float64)
    x = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    h = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    params = tuple(cell.parameters())

    def f(x, h, *ps):
        return torch.func.functional_call(cell, dict(zip([n for n, _ in cell.named_parameters()], ps)), (x, h))

    assert torch.autograd.gradcheck(f, (x, h, *params))


def test_layer_gradcheck():
    rnn = rnnbook.RNN(2, 3, 2, bidirectional=True, dtype=torch.float64)
    x = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, h0: rnn(x, h0), (x, h0))


@pytest.mark.parametrize("bptt", ["hand", "autograd"])
def test_layer_equals_cell_unrolled(bptt):
    rnn = rnnbook.RNN(3, 4, dtype=torch.float64, bptt=bptt)
    cell = rnnbook.RNNCell(3, 4, dtype=torch.float64)
    cell.load_state_dict({k[:-3]: v for k, v in rnn.state_dict().items()})  # weight_ih_l0 -> weight_ih
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    h = torch.zeros(2, 4, dtype=torch.float64)
    steps = []
    for t in range(6):
        h = cell(x[t], h)
        steps.append(h)
    out, h_n = rnn(x)
    if bptt == "autograd":  # the same operations in the same order: bit for bit
        assert torch.equal(out, torch.stack(steps)) and torch.equal(h_n[0], h)
    else:  # the bptt loop adds b_hh to gi before h W_hh^T: equal up to rounding
        assert (out - torch.stack(steps)).abs().max().item() <= TOL and torch.equal(h_n[0], out[-1])


def test_state_dict_round_trip_keeps_outputs():
    ours = rnnbook.RNN(3, 4, 2, bidirectional=True, dtype=torch.float64)
    theirs = torch.nn.RNN(3, 4, 2, bidirectional=True, dtype=torch.float64)
    theirs.load_state_dict(ours.state_dict())
    again = rnnbook.RNN(3, 4, 2, bidirectional=True, dtype=torch.float64)
    again.load_state_dict(theirs.state_dict())
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    assert torch.equal(ours(x)[0], again(x)[0])
