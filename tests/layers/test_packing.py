"""Variable lengths and continued sequences, for every recurrent layer of rnnbook.

* padded == alone: a padded batch with ``lengths`` gives each sequence what it gives alone
  (outputs, zeros at padding, every state tensor, and the gradients of every parameter),
  with NaN in the padding to prove it is never read;
* ``PackedSequence`` in, ``PackedSequence`` out, equal to torch's own layers (float64, 1e-12);
* chunked == one pass: a sequence run in chunks of 1, 2, 3 and T steps, the state handed on,
  equals one pass.
"""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pack_sequence

import rnnbook
from rnnbook.layers.packing import reverse_within_lengths

from helpers import F64, TOL

LENGTHS = [5, 2, 7, 1]
STEPS = 8   # longer than every sequence: the last step is padding for all

# name -> a factory of the layer (float64); every recurrent layer and variant of rnnbook
LAYERS = {
    "RNN": lambda: rnnbook.RNN(3, 4, num_layers=2, dtype=F64),
    "RNN relu bidirectional": lambda: rnnbook.RNN(3, 4, num_layers=2, nonlinearity="relu",
                                                   bidirectional=True, dtype=F64),
    "RNN autograd": lambda: rnnbook.RNN(3, 4, bptt="autograd", dtype=F64),
    "GRU": lambda: rnnbook.GRU(3, 4, num_layers=2, dtype=F64),
    "GRU Cho bidirectional": lambda: rnnbook.GRU(3, 4, bidirectional=True, reset_after=False, dtype=F64),
    "GRU batch_first": lambda: rnnbook.GRU(3, 4, batch_first=True, dtype=F64),
    "LSTM": lambda: rnnbook.LSTM(3, 4, num_layers=2, dtype=F64),
    "LSTM proj bidirectional": lambda: rnnbook.LSTM(3, 4, num_layers=2, proj_size=2, bidirectional=True,
                                                     dtype=F64),
    "LSTM autograd": lambda: rnnbook.LSTM(3, 4, bptt="autograd", dtype=F64),
    "PeepholeLSTM": lambda: rnnbook.PeepholeLSTM(3, 4, num_layers=2, dtype=F64),
    "PeepholeLSTM bidirectional": lambda: rnnbook.PeepholeLSTM(3, 4, bidirectional=True, dtype=F64),
    "ClockworkRNN": lambda: rnnbook.ClockworkRNN(3, 8, periods=(1, 2, 3, 5), dtype=F64),
    "ClockworkRNN batch_first": lambda: rnnbook.ClockworkRNN(3, 6, batch_first=True, num_modules=3, dtype=F64),
    "SRU": lambda: rnnbook.SRU(3, 4, num_layers=2, dtype=F64),
    "SRU autograd": lambda: rnnbook.SRU(3, 4, bptt="autograd", dtype=F64),
    "SRU 2017 scan": lambda: rnnbook.SRU(3, 4, num_layers=2, version="2017", bptt="scan", dtype=F64),
    "QRNN f k=1": lambda: rnnbook.QRNN(3, 4, window=1, pooling="f", dtype=F64),
    "QRNN fo k=2": lambda: rnnbook.QRNN(3, 4, num_layers=2, window=2, pooling="fo", dtype=F64),
    "QRNN ifo k=3": lambda: rnnbook.QRNN(3, 4, num_layers=2, window=3, pooling="ifo", dtype=F64),
    "QRNN fo k=3 scan": lambda: rnnbook.QRNN(3, 4, window=3, pooling="fo", bptt="scan", dtype=F64),
    "QRNN f k=4 autograd": lambda: rnnbook.QRNN(3, 4, num_layers=2, window=4, pooling="f", bptt="autograd",
                                                dtype=F64),
    "MinGRU": lambda: rnnbook.MinGRU(3, 4, dtype=F64),
    "MinLSTM scan": lambda: rnnbook.MinLSTM(3, 4, bptt="scan", dtype=F64),
    "NotesFirstVersion": lambda: rnnbook.NotesFirstVersion(3, 4, dtype=F64),
}


def _states(state) -> list[torch.Tensor]:
    """The state's tensors (a QRNN with window 1 carries an empty window: left out)."""
    return [s for s in (state if isinstance(state, tuple) else (state,)) if s.numel()]


def _time_major(layer, x):
    """``x`` time-major (L, N, d) in the layer's layout."""
    return x.transpose(0, 1) if getattr(layer, "batch_first", False) else x


def _seq(layer, out, n):
    """Sequence n of an output in the layer's layout, time-major (L, H)."""
    return (out[n] if getattr(layer, "batch_first", False) else out[:, n])


def _loss(out, state, w_out, w_states):
    loss = (out * w_out).sum()
    for s, w in zip(_states(state), w_states, strict=True):
        if s.is_floating_point():
            loss = loss + (s * w).sum()
    return loss


def _grads(layer):
    return {name: p.grad.clone() for name, p in layer.named_parameters() if p.grad is not None}


def padded_vs_alone(layer) -> float:
    """The largest difference between the padded batch and each sequence alone: outputs,
    states and parameter gradients; asserts exact zeros at padded steps."""
    gen = torch.Generator().manual_seed(0)
    lengths = torch.tensor(LENGTHS)
    x = torch.randn(STEPS, len(LENGTHS), layer.input_size, dtype=F64, generator=gen)
    for n, length in enumerate(LENGTHS):
        x[length:, n] = float("nan")        # the padding is never read
    layer.zero_grad()
    out, state = layer(_time_major(layer, x), lengths=lengths)
    w_out = torch.randn(out.shape, dtype=F64, generator=gen)
    w_states = [torch.randn(s.shape, dtype=F64, generator=gen) if s.is_floating_point() else None
                for s in _states(state)]
    _loss(out, state, w_out, w_states).backward()
    batch_grads = _grads(layer)
    worst = 0.0
    summed = {}
    for n, length in enumerate(LENGTHS):
        layer.zero_grad()
        xn = x[:length, n:n + 1]
        out_n, state_n = layer(_time_major(layer, xn))
        w_n = _time_major(layer, _time_major(layer, w_out)[:length, n:n + 1])
        ws_n = [None if w is None else w[:, n:n + 1] for w in w_states]
        _loss(out_n, state_n, w_n, ws_n).backward()
        for k, g in _grads(layer).items():
            summed[k] = summed.get(k, 0) + g
        seq, seq_n = _seq(layer, out, n), _seq(layer, out_n, 0)
        assert torch.equal(seq[length:], torch.zeros_like(seq[length:])), "padded outputs must be 0"
        worst = max(worst, (seq[:length] - seq_n).abs().max().item())
        for a, b in zip(_states(state), _states(state_n), strict=True):
            if a.is_floating_point():
                worst = max(worst, (a[:, n:n + 1] - b).abs().max().item())
            else:
                assert torch.equal(a[:, n:n + 1], b), "integer state (the clock) differs"
    assert batch_grads.keys() == summed.keys()
    for k, g in batch_grads.items():
        assert torch.isfinite(g).all(), f"NaN from the padding reached the gradient of {k}"
        worst = max(worst, (g - summed[k]).abs().max().item())
    return worst


@pytest.mark.parametrize("name", list(LAYERS))
def test_padded_batch_equals_each_sequence_alone(name):
    assert padded_vs_alone(LAYERS[name]()) < TOL


@pytest.mark.parametrize("name", list(LAYERS))
def test_packed_sequence_in_gives_packed_sequence_out(name):
    layer = LAYERS[name]()
    gen = torch.Generator().manual_seed(1)
    seqs = [torch.randn(length, layer.input_size, dtype=F64, generator=gen) for length in LENGTHS]
    packed = pack_sequence(seqs, enforce_sorted=False)
    out, state = layer(packed)
    assert isinstance(out, PackedSequence)
    assert torch.equal(out.batch_sizes, packed.batch_sizes)
    assert torch.equal(out.sorted_indices, packed.sorted_indices)
    assert torch.equal(out.unsorted_indices, packed.unsorted_indices)
    padded = torch.nn.utils.rnn.pad_sequence(seqs)
    ref_out, ref_state = layer(_time_major(layer, padded), lengths=LENGTHS)
    ref = pack_padded_sequence(_time_major(layer, ref_out), torch.tensor(LENGTHS), enforce_sorted=False)
    assert torch.equal(out.data, ref.data)
    for a, b in zip(_states(state), _states(ref_state), strict=True):
        assert torch.equal(a, b)


TWINS = [
    ("RNN", dict(num_layers=2, bidirectional=True)),
    ("RNN", dict(nonlinearity="relu")),
    ("GRU", dict(num_layers=2, bidirectional=True)),
    ("GRU", dict(batch_first=True)),
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(proj_size=2, bidirectional=True)),
]


@pytest.mark.parametrize("cls,kwargs", TWINS, ids=[f"{c} {k}" for c, k in TWINS])
@pytest.mark.parametrize("bptt", ["hand", "autograd"])
def test_packed_sequence_equals_torch(cls, kwargs, bptt):
    """Outputs, states and every gradient (parameters, inputs, initial state) as torch's layer."""
    torch.manual_seed(0)
    ours = getattr(rnnbook, cls)(3, 4, dtype=F64, bptt=bptt, **kwargs)
    theirs = getattr(torch.nn, cls)(3, 4, dtype=F64, **kwargs)
    theirs.load_state_dict(ours.state_dict())
    gen = torch.Generator().manual_seed(2)
    seqs = [torch.randn(length, 3, dtype=F64, generator=gen) for length in LENGTHS]
    directions = 2 if kwargs.get("bidirectional") else 1
    rows = directions * kwargs.get("num_layers", 1)
    h0 = torch.randn(rows, len(LENGTHS), kwargs.get("proj_size") or 4, dtype=F64, generator=gen)
    c0 = torch.randn(rows, len(LENGTHS), 4, dtype=F64, generator=gen)
    results = []
    for layer in (ours, theirs):
        xs = [s.clone().requires_grad_() for s in seqs]
        hx = (h0.clone().requires_grad_(), c0.clone().requires_grad_()) if cls == "LSTM" else h0.clone().requires_grad_()
        out, state = layer(pack_sequence(xs, enforce_sorted=False), hx)
        flat = [out.data] + _states(state)
        loss = sum((f * torch.linspace(-1, 1, f.numel(), dtype=F64).view(f.shape)).sum() for f in flat)
        layer.zero_grad()
        loss.backward()
        leaves = xs + list(hx if isinstance(hx, tuple) else (hx,))
        results.append((flat, [p.grad for p in layer.parameters()], [v.grad for v in leaves], out))
    (a_flat, a_pg, a_in, a_out), (b_flat, b_pg, b_in, b_out) = results
    assert torch.equal(a_out.batch_sizes, b_out.batch_sizes)
    assert torch.equal(a_out.sorted_indices, b_out.sorted_indices)
    for a, b in zip(a_flat + a_pg + a_in, b_flat + b_pg + b_in, strict=True):
        assert a.shape == b.shape and (a - b).abs().max().item() < TOL


def chunked_vs_one_pass(layer, chunk: int, steps: int = 7) -> float:
    """The largest difference between one pass and running the same batch in chunks of
    ``chunk`` steps, each chunk starting from the state the previous one returned."""
    if getattr(layer, "bidirectional", False):
        raise ValueError("a bidirectional layer cannot continue a sequence (its backward direction reads the future)")
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(steps, 2, layer.input_size, dtype=F64, generator=gen)
    with torch.no_grad():
        whole, whole_state = layer(_time_major(layer, x))
        state, outs = None, []
        for start in range(0, steps, chunk):
            out, state = layer(_time_major(layer, x[start:start + chunk]), state)
            outs.append(_time_major(layer, out))
    worst = (torch.cat(outs) - _time_major(layer, whole)).abs().max().item()
    for a, b in zip(_states(state), _states(whole_state), strict=True):
        if a.is_floating_point():
            worst = max(worst, (a - b).abs().max().item())
        else:
            assert torch.equal(a, b)
    return worst


UNIDIRECTIONAL = [name for name in LAYERS if "bidirectional" not in name]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
@pytest.mark.parametrize("name", UNIDIRECTIONAL)
def test_chunked_run_equals_one_pass(name, chunk):
    assert chunked_vs_one_pass(LAYERS[name](), chunk) < TOL


def test_chunks_with_lengths_continue_each_sequence_at_its_own_step():
    """Chunks of a padded batch: each chunk's lengths, the state handed on, equal one pass."""
    for layer in (rnnbook.ClockworkRNN(2, 6, periods=(1, 2, 3), dtype=F64),
                  rnnbook.QRNN(2, 3, num_layers=2, window=3, dtype=F64)):
        gen = torch.Generator().manual_seed(4)
        x = torch.randn(6, 2, 2, dtype=F64, generator=gen)
        whole, whole_state = layer(x, lengths=[6, 4])
        first, state = layer(x[:3], lengths=[3, 3])
        second, state = layer(x[3:], state, lengths=[3, 1])
        assert (torch.cat([first, second])[:, 0] - whole[:, 0]).abs().max() < TOL
        assert (torch.cat([first, second])[:4, 1] - whole[:4, 1]).abs().max() < TOL
        for a, b in zip(state, whole_state, strict=True):
            assert (a.double() - b.double()).abs().max() < TOL


def test_reverse_within_lengths_is_its_own_inverse():
    x = torch.arange(12.0).view(4, 3, 1)
    lengths = torch.tensor([4, 2, 1])
    r = reverse_within_lengths(x, lengths)
    assert r[:, 0, 0].tolist() == [9.0, 6.0, 3.0, 0.0]
    assert r[:, 1, 0].tolist() == [4.0, 1.0, 7.0, 10.0]
    assert r[:, 2, 0].tolist() == [2.0, 5.0, 8.0, 11.0]
    assert torch.equal(reverse_within_lengths(r, lengths), x)


def test_without_lengths_the_layer_runs_as_before():
    """Full lengths take the one-call path: the very same numbers as no lengths at all."""
    layer = rnnbook.LSTM(3, 4, bidirectional=True, dtype=F64)
    x = torch.randn(5, 2, 3, dtype=F64)
    out, (h, c) = layer(x)
    out2, (h2, c2) = layer(x, lengths=[5, 5])
    assert torch.equal(out, out2) and torch.equal(h, h2) and torch.equal(c, c2)


def test_structures_agree_with_each_sequence_alone_for_clockwork_and_qrnn():
    """The bug of issue 16: NToN, NToOne and Encoder around a Clockwork RNN or a QRNN (k >= 2)."""
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(8, 4, 2, dtype=F64, generator=gen)
    lengths = torch.tensor(LENGTHS)
    for layer in (rnnbook.ClockworkRNN(2, 8, dtype=F64), rnnbook.QRNN(2, 4, window=3, dtype=F64),
                  rnnbook.GRU(2, 4, bidirectional=True, dtype=F64)):
        ntn, nto = rnnbook.NToN(layer, 3, dtype=F64), rnnbook.NToOne(layer, 3, dtype=F64)
        enc = rnnbook.Encoder(layer)
        scores, one, memory = ntn(x, lengths)[0], nto(x, lengths), enc(x, lengths).outputs
        for n, length in enumerate(LENGTHS):
            alone = x[:length, n:n + 1]
            assert (scores[:length, n] - ntn(alone)[0][:, 0]).abs().max() < TOL
            assert (one[n] - nto(alone)[0]).abs().max() < TOL
            assert (memory[:length, n] - enc(alone).outputs[:, 0]).abs().max() < TOL


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_one_run_over_all_steps_equals_one_run_per_length(reverse):
    """``state_is_output``: the GRU and the tanh RNN run once over all steps and take each
    sequence's final state at its own last step; outputs, final states and every gradient
    equal the run per distinct length (float64, 1e-13)."""
    from rnnbook.layers.packing import run_with_lengths

    torch.manual_seed(0)
    layer = rnnbook.GRU(3, 4, dtype=F64)
    params = layer._params(0, 0)
    x = torch.randn(STEPS, len(LENGTHS), 3, dtype=F64, requires_grad=True)
    h0 = torch.randn(len(LENGTHS), 4, dtype=F64, requires_grad=True)
    lengths = torch.tensor(LENGTHS)
    calls = {True: 0, False: 0}
    results = {}
    for one_run in (True, False):
        def run(xs, st, one_run=one_run):
            calls[one_run] += 1
            return layer._run_direction(xs, st, params)
        out, (h,) = run_with_lengths(run, x, (h0,), lengths, reverse=reverse, state_is_output=one_run)
        weights = torch.randn_like(out, generator=torch.Generator().manual_seed(1))
        loss = (out * weights).sum() + (h ** 2).sum()
        grads = torch.autograd.grad(loss, [x, h0, *[p for p in params if p is not None]])
        results[one_run] = (out, h, grads)
    assert calls == {True: 1, False: len(set(LENGTHS))}
    for a, b in zip(results[True][:2] + results[True][2], results[False][:2] + results[False][2], strict=True):
        assert (a - b).abs().max() < 1e-13


def test_only_bounded_one_state_layers_run_once_over_all_steps():
    assert rnnbook.GRU(3, 4)._state_is_output() and rnnbook.RNN(3, 4)._state_is_output()
    assert not rnnbook.RNN(3, 4, nonlinearity="relu")._state_is_output()   # its padded steps could overflow
    assert not rnnbook.LSTM(3, 4)._state_is_output()                      # c is not an output
