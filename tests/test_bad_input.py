"""Bad input across the public API, one table organised by class of input.

Each case says what happens: it works as torch does (compared with torch where a twin
exists), or it is refused with a ValueError/TypeError whose message names the argument,
what was expected and what was given (the fragments listed). ``tests/test_errors.py``,
``tests/layers/test_gated_errors.py`` and ``tests/variants/test_variant_errors.py`` keep the
older one-per-input cases of the constructors and shapes; this table adds the classes of
input they did not cover. ``python -m pytest tests/test_bad_input.py -q -k count -s``
prints the table's size by class and by module.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass
from typing import Callable

import pytest
import torch

import rnnbook
from rnnbook.helpers import data
from rnnbook.helpers.train import fit, last_step_mse
from rnnbook.seq.losses import masked_cross_entropy, sequence_loss

F64 = torch.float64
NAN = float("nan")
INF = float("inf")


@dataclass
class Refused:
    error: type
    fragments: tuple[str, ...]   # the argument's name, what was expected, what was given


@dataclass
class Works:
    check: Callable[[object], None]   # raises AssertionError unless the result is right


@dataclass
class Case:
    klass: str
    module: str
    name: str
    call: Callable[[], object]
    expect: Refused | Works


def refused(error, *fragments):
    return Refused(error, fragments)


# -- helpers building inputs -----------------------------------------------------------------
LAYER_NAMES = ["RNN", "GRU", "LSTM", "PeepholeLSTM", "ClockworkRNN", "SRU", "QRNN", "MinGRU", "MinLSTM",
               "NotesFirstVersion"]
MODULE_OF = {"RNN": "layers.rnn", "GRU": "layers.gru", "LSTM": "layers.lstm", "PeepholeLSTM": "layers.lstm",
             "ClockworkRNN": "variants.clockwork", "SRU": "variants.sru", "QRNN": "variants.qrnn",
             "MinGRU": "variants.mingru", "MinLSTM": "variants.mingru", "NotesFirstVersion": "notes.first_version"}
STATE_NAME = {"RNN": "hx", "GRU": "hx", "LSTM": "h_0", "PeepholeLSTM": "h_0", "ClockworkRNN": "hx", "SRU": "c0",
              "QRNN": "c0", "MinGRU": "hx", "MinLSTM": "hx", "NotesFirstVersion": "h_0"}


def layer(name, **kw):
    torch.manual_seed(0)
    if name == "ClockworkRNN":
        kw.setdefault("num_modules", 3)             # 6 units in 3 modules
    return getattr(rnnbook, name)(3, 6, dtype=F64, **kw)


def state_on(name, device, batch=2):
    h = torch.zeros(1, batch, 6, dtype=F64, device=device)
    if name in ("LSTM", "PeepholeLSTM"):
        return (h, h)
    if name == "NotesFirstVersion":
        return (h, h, h)
    return h


def x(*shape, value=0.0, dtype=F64):
    return torch.full(shape, value, dtype=dtype)


def torch_twin(name, **kw):
    ours = layer(name, **kw)
    theirs = getattr(torch.nn, name)(3, 6, dtype=F64, **kw)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def same_as_torch(name, input, **kw):
    """Works as torch: the same output and state (NaN where torch has NaN)."""
    def call():
        ours, theirs = torch_twin(name, **kw)
        return ours(input), theirs(input)

    def check(result):
        (a_out, a_state), (b_out, b_state) = result
        flat_a = [a_out, *(a_state if isinstance(a_state, tuple) else (a_state,))]
        flat_b = [b_out, *(b_state if isinstance(b_state, tuple) else (b_state,))]
        for a, b in zip(flat_a, flat_b, strict=True):
            assert a.shape == b.shape
            assert torch.equal(a.isnan(), b.isnan())
            assert torch.allclose(a.nan_to_num(), b.nan_to_num(), rtol=0, atol=1e-12)
    return call, Works(check)


def empty_result(shape):
    def check(result):
        out = result[0] if isinstance(result, tuple) else result
        assert tuple(out.shape) == shape, (tuple(out.shape), shape)
    return Works(check)


def seq2seq():
    torch.manual_seed(0)
    return rnnbook.build_seq2seq(6, 7, hidden_size=8, embedding_dim=4, start_token=1, end_token=2)


# -- the table ---------------------------------------------------------------------------------
CASES: list[Case] = []


def add(klass, module, name, call, expect):
    CASES.append(Case(klass, module, name, call, expect))


# wrong rank or size
for n in LAYER_NAMES:
    add("rank or size", MODULE_OF[n], f"{n}: 4-D input", lambda n=n: layer(n)(x(5, 2, 1, 3)),
        refused(ValueError, "input must be 2-D or 3-D", "got a 4-D tensor of shape (5, 2, 1, 3)"))
    add("rank or size", MODULE_OF[n], f"{n}: wrong feature size", lambda n=n: layer(n)(x(5, 2, 4)),
        refused(ValueError, "input must have 3 features (input_size)", "got shape (5, 2, 4)"))
    add("rank or size", MODULE_OF[n], f"{n}: lengths of the wrong batch",
        lambda n=n: layer(n)(x(5, 2, 3), lengths=[5, 4, 3]),
        refused(ValueError, "lengths must hold one length per sequence: shape (2,)", "got (3,)"))
    add("rank or size", MODULE_OF[n], f"{n}: lengths longer than the input",
        lambda n=n: layer(n)(x(5, 2, 3), lengths=[6, 4]),
        refused(ValueError, "lengths must be <= 5", "got 6 for sequence 0"))
    add("rank or size", MODULE_OF[n], f"{n}: lengths with an unbatched input",
        lambda n=n: layer(n)(x(5, 3), lengths=[5]),
        refused(ValueError, "lengths must be None for an unbatched input", "got lengths=[5]"))
add("rank or size", "variants.qrnn", "QRNN: state window of the wrong size",
    lambda: layer("QRNN", window=3)(x(4, 2, 3), (x(1, 2, 6), x(1, 2, 3))),
    refused(ValueError, "window_0 must have shape (2, 2, 3)", "got (1, 2, 3)"))
add("rank or size", "variants.qrnn", "QRNN: state tuple of the wrong length",
    lambda: layer("QRNN")(x(4, 2, 3), (x(1, 2, 6),)),
    refused(ValueError, "c0 must be c_0 or a tuple (c_0, window_0) of 2 tensors", "got 1 items"))
add("rank or size", "variants.clockwork", "ClockworkRNN: steps_0 of the wrong shape",
    lambda: layer("ClockworkRNN")(x(4, 2, 3), (x(1, 2, 6), torch.zeros(2, dtype=torch.long))),
    refused(ValueError, "steps_0 must be 2-D", "got a 1-D tensor of shape (2,)"))
add("rank or size", "seq.attention", "LuongAttention: memory of the wrong batch",
    lambda: rnnbook.LuongAttention(4, 4)(x(3, 2, 4), x(5, 3, 4)),
    refused(ValueError, "h must have shape (L, 2, 4)", "got (5, 3, 4)"))
add("rank or size", "helpers.diagnostics", "state_jacobians: h0 of the wrong size",
    lambda: rnnbook.state_jacobians(layer("RNN"), x(4, 3), x(5)),
    refused(ValueError, "h0 must have shape (6,) = (hidden_size,)", "got (5,)"))
add("rank or size", "helpers.diagnostics", "state_jacobians: a layer whose state is a tuple",
    lambda: rnnbook.state_jacobians(layer("LSTM"), x(4, 3)),
    refused(ValueError, "layer must carry its state in one tensor", "got LSTM"))
add("rank or size", "seq.losses", "sequence_loss: targets of the wrong shape",
    lambda: sequence_loss(x(3, 2, 4), torch.zeros(3, 3, dtype=torch.long)),
    refused(ValueError, "targets must have shape (3, 2)", "got (3, 3)"))
add("rank or size", "helpers.train", "last_step_mse: y of the wrong shape",
    lambda: last_step_mse(rnnbook.NToOne(layer("RNN"), 2, dtype=F64), x(4, 3, 3), x(3, 1)),
    refused(ValueError, "y must have shape (3, 2)", "got (3, 1)"))

# dtype mix
for n in LAYER_NAMES:
    add("dtype mix", MODULE_OF[n], f"{n}: float32 input, float64 layer",
        lambda n=n: layer(n)(x(5, 2, 3, dtype=torch.float32)),
        refused(TypeError, "input has dtype torch.float32 but the parameters have dtype torch.float64"))
    add("dtype mix", MODULE_OF[n], f"{n}: integer input", lambda n=n: layer(n)(torch.zeros(5, 2, 3, dtype=torch.long)),
        refused(TypeError, "input must be a floating-point tensor", "got dtype torch.int64"))
    add("dtype mix", MODULE_OF[n], f"{n}: float lengths", lambda n=n: layer(n)(x(5, 2, 3), lengths=x(2)),
        refused(TypeError, "lengths must be an integer tensor", "got dtype torch.float64"))
add("dtype mix", "variants.clockwork", "ClockworkRNN: float steps_0",
    lambda: layer("ClockworkRNN")(x(4, 2, 3), (x(1, 2, 6), x(1, 2))),
    refused(TypeError, "steps_0 must be an integer tensor", "got dtype torch.float64"))
add("dtype mix", "seq.losses", "sequence_loss: float targets",
    lambda: sequence_loss(x(3, 2, 4), x(3, 2)),
    refused(TypeError, "targets must be an integer tensor", "float64"))
add("dtype mix", "seq.padding", "one_hot: float indices", lambda: rnnbook.one_hot(x(3), 4),
    refused(TypeError, "indices must be an integer tensor", "got dtype torch.float64"))

# device mix (meta)
for n in LAYER_NAMES:
    add("device mix", MODULE_OF[n], f"{n}: initial state on meta", lambda n=n: layer(n)(x(5, 2, 3), state_on(n, "meta")),
        refused(ValueError, f"{STATE_NAME[n]} must be on device cpu", "got a tensor on meta"))
    add("device mix", MODULE_OF[n], f"{n}: input on meta",
        lambda n=n: layer(n)(torch.zeros(5, 2, 3, dtype=F64, device="meta")),
        refused(ValueError, "input must be on device cpu", "got a tensor on meta"))
for n in ("RNNCell", "GRUCell", "LSTMCell"):
    add("device mix", "layers", f"{n}: input on meta",
        lambda n=n: getattr(rnnbook, n)(3, 4, dtype=F64)(torch.zeros(2, 3, dtype=F64, device="meta")),
        refused(ValueError, "input must be on device cpu", "got a tensor on meta"))
add("device mix", "helpers.diagnostics", "state_jacobians: h0 on meta",
    lambda: rnnbook.state_jacobians(layer("RNN"), x(4, 3), torch.zeros(6, dtype=F64, device="meta")),
    refused(ValueError, "h0 must be on device cpu", "got a tensor on meta"))

# empty batch: torch returns an empty result, so do we
for n in ("RNN", "GRU", "LSTM"):
    call, expect = same_as_torch(n, x(5, 0, 3))
    add("empty batch", MODULE_OF[n], f"{n}: batch of 0, as torch.nn.{n}", call, expect)
    call, expect = same_as_torch(n, x(5, 0, 3), bidirectional=True, num_layers=2)
    add("empty batch", MODULE_OF[n], f"{n}: batch of 0, bidirectional, as torch.nn.{n}", call, expect)
for n in ("PeepholeLSTM", "ClockworkRNN", "SRU", "QRNN", "MinGRU", "MinLSTM", "NotesFirstVersion"):
    add("empty batch", MODULE_OF[n], f"{n}: batch of 0", lambda n=n: layer(n)(x(5, 0, 3)), empty_result((5, 0, 6)))
for n in ("RNNCell", "GRUCell", "LSTMCell", "PeepholeLSTMCell"):
    add("empty batch", "layers", f"{n}: batch of 0", lambda n=n: getattr(rnnbook, n)(3, 4, dtype=F64)(x(0, 3)),
        empty_result((0, 4)))
add("empty batch", "seq.structures", "NToN: batch of 0", lambda: rnnbook.NToN(layer("GRU"), 2, dtype=F64)(x(4, 0, 3)),
    empty_result((4, 0, 2)))
add("empty batch", "seq.structures", "NToOne: batch of 0",
    lambda: rnnbook.NToOne(layer("LSTM"), 2, dtype=F64)(x(4, 0, 3)), empty_result((0, 2)))
add("empty batch", "helpers.train", "fit: a batch of 0 samples",
    lambda: fit(rnnbook.NToN(layer("RNN"), 2, dtype=F64), lambda i: (x(3, 0, 3), torch.zeros(3, 0, dtype=torch.long)),
                steps=1, progress=False),
    refused(ValueError, "batches(0) must return a batch with samples", "got x of shape (3, 0, 3)"))
add("empty batch", "helpers.train", "last_step_mse: no sequence",
    lambda: last_step_mse(rnnbook.NToOne(layer("RNN"), 2, dtype=F64), x(4, 0, 3), x(0, 2)),
    refused(ValueError, "x must hold at least one sequence", "got outputs of shape (0, 2)"))
add("empty batch", "seq.losses", "sequence_loss: every target ignored",
    lambda: sequence_loss(x(3, 2, 4), torch.full((3, 2), -100)),
    refused(ValueError, "targets must hold at least one step to score", "got targets of shape (3, 2) with none"))
add("empty batch", "seq.losses", "masked_cross_entropy: no step at all",
    lambda: masked_cross_entropy(x(0, 2, 4), torch.zeros(0, 2, dtype=torch.long)),
    refused(ValueError, "targets must hold at least one step to score", "got targets of shape (0, 2)"))
add("empty batch", "helpers.train", "accuracy: no step to score",
    lambda: rnnbook.accuracy(x(3, 2, 4), torch.full((3, 2), -100)),
    refused(ValueError, "targets contain no step to score"))
add("empty batch", "seq.embedding", "nearest_neighbour_agreement: one row",
    lambda: rnnbook.nearest_neighbour_agreement(x(1, 3, value=1.0), ["a"]),
    refused(ValueError, "vectors must have at least 2 rows", "got shape (1, 3)"))

# empty sequence
for n in LAYER_NAMES:
    add("empty sequence", MODULE_OF[n], f"{n}: no time step", lambda n=n: layer(n)(x(0, 2, 3)),
        refused(ValueError, "input must have at least one time step", "got shape (0, 2, 3)"))
    add("empty sequence", MODULE_OF[n], f"{n}: a length of 0", lambda n=n: layer(n)(x(4, 2, 3), lengths=[4, 0]),
        refused(ValueError, "lengths must be >= 1", "got 0 for sequence 1"))
add("empty sequence", "seq.padding", "pad_sequences: an empty sequence", lambda: rnnbook.pad_sequences([[1], []]),
    refused(ValueError, "sequences must be a non-empty list of non-empty sequences", "got lengths [1, 0]"))
add("empty sequence", "variants.scan", "linear_scan: no time step", lambda: rnnbook.linear_scan(x(0, 2, 2), x(0, 2, 2)),
    refused(ValueError, "a must have at least one time step", "got shape (0, 2, 2)"))
add("empty sequence", "helpers.diagnostics", "state_jacobians: no time step",
    lambda: rnnbook.state_jacobians(layer("RNN"), x(0, 3)),
    refused(ValueError, "x must have at least one time step", "got shape (0, 3)"))
add("empty sequence", "seq.structures", "NToN: no time step", lambda: rnnbook.NToN(layer("RNN"), 2, dtype=F64)(x(0, 2, 3)),
    refused(ValueError, "input must have at least one time step", "got shape (0, 2, 3)"))

# empty memory
add("empty memory", "seq.attention", "LuongAttention: memory of 0 source steps",
    lambda: rnnbook.LuongAttention(4, 4)(x(3, 2, 4, dtype=torch.float32), x(0, 2, 4, dtype=torch.float32)),
    refused(ValueError, "h must hold at least one source step", "got shape (0, 2, 4)"))
add("empty memory", "seq.attention", "LuongAttention: every position masked",
    lambda: rnnbook.LuongAttention(4, 4)(torch.zeros(3, 2, 4), torch.zeros(5, 2, 4),
                                        torch.zeros(5, 2, dtype=torch.bool)),
    refused(ValueError, "mask must keep at least one source position of every sequence"))

# NaN/Inf in inputs (propagate, as torch) and in hyperparameters (refused)
for n in ("RNN", "GRU", "LSTM"):
    nan_x = x(5, 2, 3)
    nan_x[2, 1, 0] = NAN
    call, expect = same_as_torch(n, nan_x)
    add("NaN/Inf", MODULE_OF[n], f"{n}: NaN in the input propagates as in torch.nn.{n}", call, expect)
    inf_x = x(5, 2, 3)
    inf_x[1, 0, 2] = INF
    call, expect = same_as_torch(n, inf_x)
    add("NaN/Inf", MODULE_OF[n], f"{n}: Inf in the input, as torch.nn.{n}", call, expect)
for n, kw in [("RNN", "dropout"), ("GRU", "dropout")]:
    add("NaN/Inf", MODULE_OF[n], f"{n}: dropout=nan", lambda n=n: getattr(rnnbook, n)(3, 4, dropout=NAN),
        refused(ValueError, "dropout must lie in [0, 1)", "got nan"))
for value in (NAN, INF, 1e6):
    add("NaN/Inf", "variants.sru", f"SRU: highway_bias={value}", lambda v=value: rnnbook.SRU(3, 4, highway_bias=v),
        refused(ValueError, "highway_bias must be a finite number <= 700", f"got {value!r}"))
add("NaN/Inf", "helpers.train", "fit: lr=nan",
    lambda: fit(rnnbook.NToN(layer("RNN"), 2, dtype=F64), lambda i: (x(3, 2, 3), torch.zeros(3, 2, dtype=torch.long)),
                steps=1, lr=NAN, progress=False),
    refused(ValueError, "lr must be a finite number > 0", "got nan"))
add("NaN/Inf", "helpers.train", "fit: clip=inf",
    lambda: fit(rnnbook.NToN(layer("RNN"), 2, dtype=F64), lambda i: (x(3, 2, 3), torch.zeros(3, 2, dtype=torch.long)),
                steps=1, clip=INF, progress=False),
    refused(ValueError, "clip must be None or a finite number > 0", "got inf"))
add("NaN/Inf", "helpers.data", "sum_of_sines: a NaN period", lambda: rnnbook.sum_of_sines(10, (NAN,)),
    refused(ValueError, "periods must be a non-empty tuple of positive ints", "got (nan,)"))
add("NaN/Inf", "seq.embedding", "nearest_neighbour_agreement: a zero row (cosine undefined)",
    lambda: rnnbook.nearest_neighbour_agreement(torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]), [0, 0, 1]),
    refused(ValueError, "vectors must be finite and non-zero rows", "got 1 zero rows"))
add("NaN/Inf", "seq.embedding", "nearest_neighbour_agreement: a NaN row",
    lambda: rnnbook.nearest_neighbour_agreement(torch.tensor([[1.0, 0.0], [NAN, 1.0], [0.0, 1.0]]), [0, 0, 1]),
    refused(ValueError, "vectors must be finite and non-zero rows", "1 non-finite rows"))

# negative or out-of-range ids and tokens
add("ids and tokens", "seq.padding", "one_hot: a negative index", lambda: rnnbook.one_hot(torch.tensor([-1]), 3),
    refused(ValueError, "indices must lie in [0, 2] for num_classes=3", "got values in [-1, -1]"))
add("ids and tokens", "seq.structures", "TokenInput: a token id beyond the vocabulary",
    lambda: rnnbook.TokenInput(5, 4)(torch.tensor([[5]])),
    refused(ValueError, "tokens must be token ids in [0, 4] (vocab_size=5)", "got values in [5, 5]"))
add("ids and tokens", "seq.seq2seq", "beam_search: pad_token=-1",
    lambda: seq2seq().beam_search(torch.tensor([[3], [4]]), pad_token=-1),
    refused(ValueError, "pad_token must be >= 0", "got -1"))
add("ids and tokens", "seq.seq2seq", "beam_search: pad_token beyond the vocabulary",
    lambda: seq2seq().beam_search(torch.tensor([[3], [4]]), pad_token=7),
    refused(ValueError, "pad_token must be a token id in [0, 6] (vocab_size=7)", "got 7"))
add("ids and tokens", "helpers.data", "decode_chars: a negative id", lambda: rnnbook.decode_chars([4, -1], "xyz"),
    refused(ValueError, "ids must lie in [0, 5]", "got -1"))
add("ids and tokens", "helpers.data", "decode_chars: an id beyond the characters",
    lambda: rnnbook.decode_chars([9], "xyz"), refused(ValueError, "ids must lie in [0, 5]", "got 9"))
add("ids and tokens", "helpers.data", "encode_chars: unknown characters", lambda: rnnbook.encode_chars("abc", "xyz"),
    refused(ValueError, "text must use only the vocabulary's characters", "['a', 'b', 'c'] are not in it"))
add("ids and tokens", "seq.losses", "masked_cross_entropy: a target beyond the classes",
    lambda: masked_cross_entropy(x(2, 1, 3), torch.tensor([[0], [3]])),
    refused(ValueError, "targets must be token ids in [0, 2] (vocab_size=3)", "got values in [0, 3]"))
add("ids and tokens", "seq.padding", "pad_sequences: pad=0.5", lambda: rnnbook.pad_sequences([[1]], pad=0.5),
    refused(TypeError, "pad must be an int", "got 0.5 of type float"))

add("ids and tokens", "seq.losses", "sequence_loss: a negative target that is not IGNORE_INDEX",
    lambda: sequence_loss(x(2, 1, 3), torch.tensor([[0], [-3]])),
    refused(ValueError, "targets must be class ids in [0, 2] or IGNORE_INDEX (-100)", "got values in [-3, 0]"))
add("ids and tokens", "helpers.train", "accuracy: a target beyond the classes",
    lambda: rnnbook.accuracy(x(3, 4), torch.tensor([0, 1, 9])),
    refused(ValueError, "targets must be class ids in [0, 3] or IGNORE_INDEX (-100)", "got values in [0, 9]"))
add("ids and tokens", "helpers.data", "count_up_task: a start above top",
    lambda: rnnbook.count_up_task(torch.tensor([5]), 3),
    refused(ValueError, "starts must lie in [0, 3] (top=3)", "got values in [5, 5]"))
add("ids and tokens", "helpers.data", "CharVocab.decode: a negative id", lambda: rnnbook.CharVocab("abc").decode([-1]),
    refused(ValueError, "ids must lie in [0, 2]", "got [-1]"))
add("ids and tokens", "helpers.data", "CharVocab.decode: an id beyond the vocabulary",
    lambda: rnnbook.CharVocab("abc").decode([99]), refused(ValueError, "ids must lie in [0, 2]", "got [99]"))
add("ids and tokens", "seq.embedding", "unigram_perplexity: a token beyond the vocabulary",
    lambda: rnnbook.unigram_perplexity([1, 2], [5], 3),
    refused(ValueError, "test must hold token ids in [0, 2] (vocab_size=3)", "got [5]"))
add("ids and tokens", "seq.embedding", "unigram_perplexity: a negative token",
    lambda: rnnbook.unigram_perplexity([1, -1], [1], 3),
    refused(ValueError, "train must hold token ids in [0, 2] (vocab_size=3)", "got [-1]"))
add("ids and tokens", "seq.decoding", "OneToN.generate: pad_token=-1",
    lambda: rnnbook.OneToN(rnnbook.GRU(4, 5), 6, embedding_dim=4).generate(3, torch.tensor([0]), end_token=2,
                                                                        pad_token=-1),
    refused(ValueError, "pad_token must be >= 0", "got -1"))
add("ids and tokens", "seq.decoding", "OneToN.generate: pad_token beyond the vocabulary",
    lambda: rnnbook.OneToN(rnnbook.GRU(4, 5), 6, embedding_dim=4).generate(3, torch.tensor([0]), end_token=2,
                                                                        pad_token=99),
    refused(ValueError, "pad_token must be a token id in [0, 5]", "got 99"))
add("ids and tokens", "seq.seq2seq", "sequence_log_prob: a token beyond the vocabulary",
    lambda: rnnbook.sequence_log_prob(seq2seq(), torch.tensor([[3], [4]]), torch.tensor([[9]]), torch.tensor([1])),
    refused(ValueError, "tokens must be token ids in [0, 6] (vocab_size=7)", "got values in [9, 9]"))
add("ids and tokens", "seq.seq2seq", "exact_match: a negative length",
    lambda: rnnbook.exact_match(torch.zeros(2, 2, dtype=torch.long), torch.tensor([-1, 1]),
                                torch.zeros(2, 2, dtype=torch.long), torch.tensor([1, 1])),
    refused(ValueError, "lengths must lie in [0, 2]", "got values in [-1, 1]"))

# out-of-range probabilities, rates and counts
add("rates and counts", "layers.base", "RNN: dropout=1", lambda: rnnbook.RNN(3, 4, dropout=1.0),
    refused(ValueError, "dropout must lie in [0, 1)", "got 1.0"))
add("rates and counts", "variants.qrnn", "QRNN: window=0", lambda: rnnbook.QRNN(3, 4, window=0),
    refused(ValueError, "window must be >= 1", "got 0"))
add("rates and counts", "variants.clockwork", "ClockworkRNN: a negative steps_0",
    lambda: layer("ClockworkRNN")(x(4, 2, 3), (x(1, 2, 6), torch.tensor([[0, -1]]))),
    refused(ValueError, "steps_0 must be >= 0", "got -1"))
add("rates and counts", "seq.seq2seq", "beam_search: beam_width=0",
    lambda: seq2seq().beam_search(torch.tensor([[3], [4]]), beam_width=0),
    refused(ValueError, "beam_width must be >= 1", "got 0"))
add("rates and counts", "helpers.train", "fit: steps=0",
    lambda: fit(rnnbook.NToN(layer("RNN"), 2, dtype=F64), lambda i: (x(3, 2, 3), torch.zeros(3, 2, dtype=torch.long)),
                steps=0),
    refused(ValueError, "steps must be >= 1", "got 0"))
add("rates and counts", "helpers.train", "fit: lr=-1",
    lambda: fit(rnnbook.NToN(layer("RNN"), 2, dtype=F64), lambda i: (x(3, 2, 3), torch.zeros(3, 2, dtype=torch.long)),
                steps=1, lr=-1.0),
    refused(ValueError, "lr must be a finite number > 0", "got -1.0"))
add("rates and counts", "helpers.train", "fit: clip=0",
    lambda: fit(rnnbook.NToN(layer("RNN"), 2, dtype=F64), lambda i: (x(3, 2, 3), torch.zeros(3, 2, dtype=torch.long)),
                steps=1, clip=0.0),
    refused(ValueError, "clip must be None or a finite number > 0", "got 0.0"))
add("rates and counts", "helpers.train", "seed_everything: a negative seed", lambda: rnnbook.seed_everything(-1),
    refused(ValueError, "seed must be >= 0", "got -1"))
add("rates and counts", "helpers.train", "seed_everything: a seed beyond 2**32 - 1",
    lambda: rnnbook.seed_everything(2**40), refused(ValueError, "seed must be <= 2**32 - 1", f"got {2**40}"))
add("rates and counts", "seq.embedding", "perplexity: a negative cross entropy", lambda: rnnbook.perplexity(-1.0),
    refused(ValueError, "mean_cross_entropy must be >= 0", "got -1.0"))
add("rates and counts", "seq.embedding", "perplexity: beyond the largest float gives inf, as torch.exp",
    lambda: (rnnbook.perplexity(1e6), torch.exp(torch.tensor(1e6, dtype=F64)).item()),
    Works(lambda r: None if r[0] == r[1] == INF else (_ for _ in ()).throw(AssertionError(r))))
add("rates and counts", "seq.sampling", "linear_schedule: epsilon=2", lambda: rnnbook.linear_schedule(3, c=0.01, epsilon=2.0),
    refused(ValueError, "epsilon must lie in [0, 1]", "got 2.0"))
add("rates and counts", "seq.sampling", "exponential_schedule: k=nan", lambda: rnnbook.exponential_schedule(3, k=NAN),
    refused(ValueError, "k must lie in (0, 1) for the exponential schedule", "got nan"))
add("rates and counts", "seq.sampling", "scheduled_sampling_loss: epsilon=nan",
    lambda: rnnbook.scheduled_sampling_loss(seq2seq(), torch.tensor([[3], [4]]), torch.tensor([[3], [2]]), NAN),
    refused(ValueError, "epsilon must lie in [0, 1]", "got nan"))
add("rates and counts", "helpers.data", "echo_task: a delay longer than the sequence",
    lambda: rnnbook.echo_task(2, 3, delay=5, generator=torch.Generator().manual_seed(0)),
    refused(ValueError, "steps must be >= 6", "got 3"))
add("rates and counts", "helpers.data", "date_pairs: n=0", lambda: rnnbook.date_pairs(0, generator=torch.Generator()),
    refused(ValueError, "n must be >= 1", "got 0"))
add("rates and counts", "helpers.data", "sum_of_sines: 0 steps", lambda: rnnbook.sum_of_sines(0, (8,)),
    refused(ValueError, "steps must be >= 1", "got 0"))

# wrong types
add("wrong type", "layers.base", "RNN: num_layers=True", lambda: rnnbook.RNN(3, 4, num_layers=True),
    refused(TypeError, "num_layers must be an int", "got True of type bool"))
add("wrong type", "variants.sru", "SRU: highway_bias='1'", lambda: rnnbook.SRU(3, 4, highway_bias="1"),
    refused(TypeError, "highway_bias must be a real number", "got '1'"))
add("wrong type", "layers.packing", "RNN: lengths='abc'", lambda: layer("RNN")(x(5, 2, 3), lengths="ab"),
    refused(TypeError, "lengths must be a 1-D integer tensor or a sequence of ints", "got str"))
add("wrong type", "layers.packing", "GRU: a PackedSequence and lengths",
    lambda: layer("GRU")(torch.nn.utils.rnn.pack_sequence([x(3, 3), x(2, 3)]), lengths=[3, 2]),
    refused(ValueError, "GRU got a PackedSequence and lengths=[3, 2]", "carries its own lengths"))
add("wrong type", "seq.padding", "pad_sequences: strings", lambda: rnnbook.pad_sequences([["a"]]),
    refused(TypeError, "sequences must hold int token ids", "got ['a']"))
add("wrong type", "seq.padding", "pad_sequences: not a list", lambda: rnnbook.pad_sequences("abc"),
    refused(TypeError, "sequences must be a list of lists of token ids", "got str"))
add("wrong type", "helpers.data", "decode_chars: a float id", lambda: rnnbook.decode_chars([3.5], "xyz"),
    refused(TypeError, "ids must be integer character ids", "got 3.5 of type float"))
add("wrong type", "helpers.diagnostics", "state_jacobians: not a layer",
    lambda: rnnbook.state_jacobians("rnn", x(4, 3)),
    refused(TypeError, "layer must be a recurrent layer", "got str"))
add("wrong type", "helpers.train", "seed_everything: a float seed", lambda: rnnbook.seed_everything(1.5),
    refused(TypeError, "seed must be an int", "got 1.5 of type float"))
add("wrong type", "helpers.data", "count_up_task: float starts",
    lambda: rnnbook.count_up_task(torch.tensor([1.5]), 3),
    refused(TypeError, "starts must be an integer tensor of start digits", "got torch.float32"))
add("wrong type", "helpers.data", "adding_problem: no generator",
    lambda: rnnbook.adding_problem(2, 5, generator=None), refused(TypeError, "generator must be a torch.Generator",
                                                                    "got NoneType"))
add("wrong type", "seq.embedding", "perplexity: a string", lambda: rnnbook.perplexity("1"),
    refused(TypeError, "mean_cross_entropy must be a real number", "got '1'"))
add("device mix", "variants.scan", "linear_recurrence_bptt: h0 on meta",
    lambda: rnnbook.linear_recurrence_bptt(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(2, device="meta")),
    refused(ValueError, "h0 must be on device cpu", "got a tensor on meta"))
add("dtype mix", "variants.scan", "linear_scan: b of another dtype than a",
    lambda: rnnbook.linear_scan(torch.zeros(3, 2), torch.zeros(3, 2, dtype=F64)),
    refused(TypeError, "b has dtype torch.float64 but a has dtype torch.float32"))
add("empty batch", "seq.decoding", "OneToN.generate: batch of 0",
    lambda: rnnbook.OneToN(rnnbook.GRU(4, 5), 6, embedding_dim=4).generate(3, torch.zeros(0, dtype=torch.long)),
    empty_result((3, 0)))
add("empty batch", "seq.seq2seq", "beam_search: batch of 0",
    lambda: seq2seq().beam_search(torch.zeros(2, 0, dtype=torch.long)), empty_result((1, 0)))
add("NaN/Inf", "seq.embedding", "perplexity: NaN gives NaN, as torch.exp", lambda: rnnbook.perplexity(NAN),
    Works(lambda r: None if r != r else (_ for _ in ()).throw(AssertionError(r))))
add("NaN/Inf", "variants.scan", "linear_scan: NaN propagates from its step on, as the loop",
    lambda: (rnnbook.linear_scan(torch.tensor([[1.0], [NAN], [1.0]]), torch.ones(3, 1)),
             rnnbook.linear_recurrence_loop(torch.tensor([[1.0], [NAN], [1.0]]), torch.ones(3, 1))),
    Works(lambda r: None if r[0][0].item() == 1.0 and bool(r[0][1:].isnan().all()) and torch.equal(r[0].isnan(), r[1].isnan())
          else (_ for _ in ()).throw(AssertionError(r))))
add("wrong type", "helpers.data", "CharVocab: an empty text", lambda: rnnbook.CharVocab(""),
    refused(TypeError, "text must be a non-empty str"))

# unknown names
add("unknown name", "seq.structures", "make_layer: 'foo'", lambda: rnnbook.make_layer("foo", 2, 3),
    refused(ValueError, "layer must be one of 'rnn'", "got 'foo'"))
add("unknown name", "seq.sampling", "make_schedule: 'foo'", lambda: rnnbook.make_schedule("foo"),
    refused(ValueError, "schedule must be one of 'linear', 'exponential', 'inverse_sigmoid'", "got 'foo'"))
add("unknown name", "variants.scan", "linear_recurrence: bptt='foo'",
    lambda: rnnbook.linear_recurrence(x(3, 2, 2), x(3, 2, 2), None, "foo"),
    refused(ValueError, "bptt must be one of 'hand', 'scan', 'autograd'", "got 'foo'"))
add("unknown name", "layers.rnn", "RNN: nonlinearity='sigmoid'", lambda: rnnbook.RNN(3, 4, nonlinearity="sigmoid"),
    refused(ValueError, "nonlinearity must be one of 'tanh', 'relu'", "got 'sigmoid'"))
add("unknown name", "variants.sru", "SRU: version='2019'", lambda: rnnbook.SRU(3, 4, version="2019"),
    refused(ValueError, "version must be one of '2018', '2017'", "got '2019'"))
add("unknown name", "variants.qrnn", "QRNN: pooling='io'", lambda: rnnbook.QRNN(3, 4, pooling="io"),
    refused(ValueError, "pooling must be one of 'f', 'fo', 'ifo'", "got 'io'"))
add("unknown name", "seq.attention", "LuongAttention: score='foo'", lambda: rnnbook.LuongAttention(4, 4, score="foo"),
    refused(ValueError, "score must be one of", "got 'foo'"))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.klass}: {c.name}" for c in CASES])
def test_bad_input(case):
    if isinstance(case.expect, Refused):
        with pytest.raises(case.expect.error) as caught:
            case.call()
        message = str(caught.value)
        for fragment in case.expect.fragments:
            assert fragment in message, f"{fragment!r} not in {message!r}"
    else:
        case.expect.check(case.call())


def test_count(capsys):
    """The table's size by class and by module (printed with -s); every class is present."""
    by_class = collections.Counter(c.klass for c in CASES)
    by_module = collections.Counter(c.module for c in CASES)
    works = sum(isinstance(c.expect, Works) for c in CASES)
    assert set(by_class) == {"rank or size", "dtype mix", "device mix", "empty batch", "empty sequence",
                             "empty memory", "NaN/Inf", "ids and tokens", "rates and counts", "wrong type",
                             "unknown name"}
    print(f"\n{len(CASES)} cases: {len(CASES) - works} refused, {works} work as torch does")
    for name, counter in (("class", by_class), ("module", by_module)):
        print(f"by {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counter.items())))


def test_every_refusal_names_what_was_given():
    """A refusal lists at least the argument and what was given (or a rule that names it)."""
    for case in CASES:
        if isinstance(case.expect, Refused):
            assert case.expect.fragments and re.search(r"[\w)\]=]+ (must|has|got|contain)", case.expect.fragments[0]), case.name
