"""The notes' networks: the Elman equations, their link to torch, and the MLP as W_hh = 0."""

import pytest
import torch

import rnnbook
from rnnbook.seq.padding import IGNORE_INDEX
from rnnbook.helpers.data import echo_task

F64 = torch.float64


def test_elman_network_follows_the_notes_equations():
    net = rnnbook.ElmanNetwork(3, 4, 2, dtype=F64)
    x = torch.randn(5, 3, dtype=F64)  # unbatched: columns x_t of the notes
    z, h_n = net(x)
    h = torch.zeros(4, dtype=F64)
    for t in range(5):
        h = torch.tanh(net.W_xh @ x[t] + net.W_hh @ h + net.b_h)
        o = torch.softmax(net.W_ho @ h + net.b_o, dim=0)
        assert torch.allclose(z[t], net.W_ho @ h + net.b_o, atol=1e-14, rtol=0)
        assert torch.allclose(net.probabilities(x)[t], o, atol=1e-14, rtol=0)
    assert torch.allclose(h_n, h, atol=1e-14, rtol=0)


def test_parameter_names_and_shapes_are_the_notes():
    net = rnnbook.ElmanNetwork(input_size=3, hidden_size=4, output_size=2)
    shapes = {n: tuple(p.shape) for n, p in net.named_parameters()}
    assert shapes == {"W_xh": (4, 3), "W_hh": (4, 4), "W_ho": (2, 4), "b_h": (4,), "b_o": (2,)}
    assert set(dict(rnnbook.MLP(3, 4, 2).named_parameters())) == {"W_xh", "W_ho", "b_h", "b_o"}


@pytest.mark.parametrize("batch_first", [False, True])
def test_from_torch_equals_rnn_plus_linear(batch_first):
    rnn = torch.nn.RNN(3, 4, batch_first=batch_first, dtype=F64)
    linear = torch.nn.Linear(4, 2, dtype=F64)
    net = rnnbook.ElmanNetwork.from_torch(rnn, linear)
    x = torch.randn((2, 6, 3) if batch_first else (6, 2, 3), dtype=F64)
    h0 = torch.randn(2, 4, dtype=F64)
    out, h_n = rnn(x, h0.unsqueeze(0))
    z, h = net(x, h0)
    assert (z - linear(out)).abs().max().item() <= 1e-12
    assert (h - h_n[0]).abs().max().item() <= 1e-12


def test_from_torch_refuses_what_it_cannot_map():
    with pytest.raises(ValueError, match="one-layer, unidirectional, tanh RNN"):
        rnnbook.ElmanNetwork.from_torch(torch.nn.RNN(3, 4, 2), torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match="with biases"):
        rnnbook.ElmanNetwork.from_torch(torch.nn.RNN(3, 4, bias=False), torch.nn.Linear(4, 2))


def test_mlp_is_elman_with_zero_recurrence():
    net = rnnbook.ElmanNetwork(3, 4, 2, dtype=F64)
    mlp = rnnbook.MLP(3, 4, 2, dtype=F64)
    with torch.no_grad():
        net.W_hh.zero_()
    mlp.load_state_dict({k: v for k, v in net.state_dict().items() if k != "W_hh"})
    x = torch.randn(5, 2, 3, dtype=F64)
    assert torch.equal(net(x)[0], mlp(x))


def test_echo_task_targets():
    g = torch.Generator().manual_seed(1)
    x, y = echo_task(3, 7, num_symbols=5, delay=2, generator=g)
    assert x.shape == (7, 3, 5) and y.shape == (7, 3)
    assert (y[:2] == IGNORE_INDEX).all()
    assert torch.equal(y[2:], x.argmax(-1)[:-2])


def test_fit_learns_the_echo_and_mlp_cannot():
    g = rnnbook.seed_everything(0)
    net = rnnbook.ElmanNetwork(4, 16, 4)
    mlp = rnnbook.MLP(4, 16, 4)
    data = [echo_task(32, 20, generator=g) for _ in range(300)]
    rnnbook.fit(net, lambda i: data[i], steps=300, lr=1e-2)
    rnnbook.fit(mlp, lambda i: data[i], steps=300, lr=1e-2)
    x, y = echo_task(256, 20, generator=g)
    assert rnnbook.accuracy(rnnbook.scores_of(net, x), y) > 0.95
    assert rnnbook.accuracy(mlp(x), y) < 0.30


def test_fit_with_a_custom_loss_lowers_it():
    g = rnnbook.seed_everything(0)
    model = torch.nn.Linear(2, 1)
    x = torch.randn(64, 2, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0]])

    def mse(m, x, y):
        return ((m(x) - y) ** 2).mean()

    losses = rnnbook.fit(model, lambda i: (x, y), steps=200, lr=5e-2, loss_fn=mse)
    assert losses[-1] < 0.01 * losses[0]
    with pytest.raises(TypeError, match="loss_fn must be a callable"):
        rnnbook.fit(model, lambda i: (x, y), steps=1, loss_fn="mse")


def test_progress_bar_only_when_asked_and_removed_after(capsys, monkeypatch):
    model = torch.nn.Linear(2, 1)
    x, y = torch.zeros(4, 2), torch.zeros(4, 1)

    def mse(m, x, y):
        return ((m(x) - y) ** 2).mean()

    rnnbook.fit(model, lambda i: (x, y), steps=3, loss_fn=mse, progress=True)
    err = capsys.readouterr().err
    assert "0/3" in err and err.endswith("\r")  # drawn, then erased (leave=False)
    rnnbook.fit(model, lambda i: (x, y), steps=3, loss_fn=mse, progress=False)
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("RNNBOOK_PROGRESS", "0")
    assert rnnbook.show_progress() is False
