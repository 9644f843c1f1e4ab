"""rnnbook.structures: every structure with every layer type; padded batches equal one-by-one runs."""

import copy
import re

import pytest
import torch
from torch import nn

import rnnbook
from rnnbook.seq.decoding import Decoder, NToM, OneToN, make_structure
from rnnbook.seq.structures import Encoder, NToN, NToOne, available_layers, make_layer
from rnnbook.seq.losses import masked_cross_entropy
from rnnbook.seq.padding import run_layer, shift_right

F64 = torch.float64
TOL = 1e-12
V, E, H = 7, 5, 6

# layer factories: rnnbook's own and torch's stand-ins (GRU; LSTM for a tuple state)
LAYERS = {
    "rnnbook.RNN": lambda i: rnnbook.RNN(i, H, dtype=F64),
    "rnnbook.RNN 2 layers": lambda i: rnnbook.RNN(i, H, num_layers=2, dtype=F64),
    "rnnbook.RNN batch_first": lambda i: rnnbook.RNN(i, H, batch_first=True, dtype=F64),
    "torch GRU": lambda i: nn.GRU(i, H, dtype=F64),
    "torch LSTM": lambda i: nn.LSTM(i, H, dtype=F64),
    "torch LSTM 2 layers proj": lambda i: nn.LSTM(i, H, num_layers=2, proj_size=3, dtype=F64),
}
NAMES = list(LAYERS)
LENGTHS = [5, 2, 4, 1]  # padded to 5
STEPS = 5


def _state_equal(a, b, n):
    """Max abs difference between sequence n of a batched state and an unbatched-run state b."""
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    return max((u[:, n] - v[:, 0]).abs().max().item() for u, v in zip(a, b, strict=True))


def _tokens(steps=STEPS, batch=len(LENGTHS), vocab=V, pad=-1):
    x = torch.randint(vocab, (steps, batch))
    for n, ell in enumerate(LENGTHS[:batch]):
        x[ell:, n] = pad  # padding may hold anything, even an invalid id
    return x


# -- padding and lengths -----------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_run_layer_padded_equals_one_by_one(name):
    layer = LAYERS[name](3)
    x = torch.randn(STEPS, len(LENGTHS), 3, dtype=F64)
    lengths = torch.tensor(LENGTHS)
    out, state = run_layer(layer, x, lengths)
    for n, ell in enumerate(LENGTHS):
        alone_out, alone_state = run_layer(layer, x[:ell, n:n + 1])
        assert (out[:ell, n] - alone_out[:, 0]).abs().max() <= TOL
        assert _state_equal(state, alone_state, n) <= TOL
        assert torch.all(out[ell:, n] == 0)


def test_run_layer_all_shorter_than_padding():
    layer = rnnbook.RNN(3, H, dtype=F64)
    x = torch.randn(6, 2, 3, dtype=F64)
    out, h = run_layer(layer, x, torch.tensor([2, 3]))
    _, h1 = layer(x[:3, 1:2])
    assert out.shape == (6, 2, H) and (h[:, 1] - h1[:, 0]).abs().max() <= TOL


@pytest.mark.parametrize("name", NAMES)
def test_n_to_n_padded_equals_one_by_one_and_loss_ignores_padding(name):
    model = NToN(LAYERS[name](E), 4, vocab_size=V, embedding_dim=E, dtype=F64)
    x, lengths = _tokens(), torch.tensor(LENGTHS)
    y = torch.randint(4, (STEPS, len(LENGTHS)))
    scores, state = model(x, lengths)
    assert scores.shape == (STEPS, len(LENGTHS), 4)
    total, count = 0.0, 0
    for n, ell in enumerate(LENGTHS):
        alone, alone_state = model(x[:ell, n:n + 1])
        assert (scores[:ell, n] - alone[:, 0]).abs().max() <= TOL
        assert torch.all(scores[ell:, n] == 0)
        assert _state_equal(state, alone_state, n) <= TOL
        total += nn.functional.cross_entropy(alone[:, 0], y[:ell, n], reduction="sum").item()
        count += ell
    y_garbage = y.clone()
    for n, ell in enumerate(LENGTHS):
        y_garbage[ell:, n] = 99  # not a class: padding targets are never read
    loss = model.loss(x, y_garbage, lengths)
    assert abs(loss.item() - total / count) <= TOL


@pytest.mark.parametrize("name", NAMES)
def test_n_to_1_reads_each_sequence_at_its_true_last_step(name):
    model = NToOne(LAYERS[name](E), 3, vocab_size=V, embedding_dim=E, dtype=F64)
    x, lengths = _tokens(), torch.tensor(LENGTHS)
    scores = model(x, lengths)
    assert scores.shape == (len(LENGTHS), 3)
    for n, ell in enumerate(LENGTHS):
        alone = model(x[:ell, n:n + 1])
        assert (scores[n] - alone[0]).abs().max() <= TOL
    # and not at the padded last step: padding with valid ids would change the answer
    x_valid = x.clamp(min=0)
    assert (model(x_valid)[1] - scores[1]).abs().max() > 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_n_to_1_with_feature_input(name):
    model = NToOne(LAYERS[name](3), 2, dtype=F64)
    x = torch.randn(STEPS, len(LENGTHS), 3, dtype=F64)
    scores = model(x, LENGTHS)  # a list of ints works too
    for n, ell in enumerate(LENGTHS):
        assert (scores[n] - model(x[:ell, n:n + 1])[0]).abs().max() <= TOL


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("encoding", ["embedding", "one_hot"])
def test_1_to_n_shapes_padding_and_condition(name, encoding):
    size = E if encoding == "embedding" else V
    model = OneToN(LAYERS[name](size), V, condition_size=2, encoding=encoding,
                   embedding_dim=E if encoding == "embedding" else None, dtype=F64)
    x, lengths = _tokens(), torch.tensor(LENGTHS)
    c = torch.randn(len(LENGTHS), 2, dtype=F64)
    scores, _ = model(x, c, lengths)
    assert scores.shape == (STEPS, len(LENGTHS), V)
    for n, ell in enumerate(LENGTHS):
        alone, _ = model(x[:ell, n:n + 1], c[n:n + 1])
        assert (scores[:ell, n] - alone[:, 0]).abs().max() <= TOL
    # the condition matters
    other, _ = model(x, torch.zeros_like(c), lengths)
    assert (other - scores).abs().max() > 1e-6
    tokens, out_lengths = model.generate(4, torch.zeros(3, dtype=torch.long), condition=c[:3])
    assert tokens.shape == (4, 3) and out_lengths.tolist() == [4, 4, 4]


@pytest.mark.parametrize("name", NAMES)
def test_n_to_m_padded_equals_one_by_one(name):
    enc = Encoder(LAYERS[name](E), vocab_size=V, embedding_dim=E, dtype=F64)
    dec = Decoder(LAYERS[name](E), V + 2, embedding_dim=E, dtype=F64)
    model = NToM(enc, dec, start_token=V, end_token=V + 1)
    src, src_len = _tokens(), torch.tensor(LENGTHS)
    tgt_len = torch.tensor([2, 3, 1, 3])
    targets = torch.randint(V + 2, (3, 4))
    tgt_in = shift_right(targets, V)
    scores = model(src, tgt_in, src_len, tgt_len)
    assert scores.shape == (3, 4, V + 2)
    for n, (ell, m) in enumerate(zip(LENGTHS, tgt_len.tolist(), strict=True)):
        alone = model(src[:ell, n:n + 1], tgt_in[:m, n:n + 1])
        assert (scores[:m, n] - alone[:, 0]).abs().max() <= TOL
    enc_out = model.encode(src, src_len)
    assert enc_out.mask.tolist() == [[t < ell for ell in LENGTHS] for t in range(STEPS)]
    assert torch.all(enc_out.outputs[~enc_out.mask] == 0)
    tokens, lengths = model.greedy(src, src_len, max_steps=6)
    assert tokens.shape[1] == 4 and tokens.shape[0] <= 6
    for n, ell in enumerate(LENGTHS):
        alone, alone_len = model.greedy(src[:ell, n:n + 1], max_steps=6)
        k = int(lengths[n])
        assert k == int(alone_len[0]) and torch.equal(tokens[:k, n], alone[:k, 0])


def test_greedy_stops_at_end_token_and_pads():
    dec = Decoder(rnnbook.RNN(E, H, dtype=F64), V, embedding_dim=E, dtype=F64)
    with torch.no_grad():
        dec.head.weight.zero_()
        dec.head.bias.copy_(torch.arange(V, dtype=F64))  # always predicts V-1
    tokens, lengths = dec.generate(torch.zeros(3, dtype=torch.long), 10, end_token=V - 1, pad_token=0)
    assert tokens.shape == (1, 3) and lengths.tolist() == [1, 1, 1]
    assert tokens.tolist() == [[V - 1] * 3]


def test_unroll_with_teacher_forcing_equals_forward():
    dec = Decoder(nn.LSTM(E, H, dtype=F64), V, embedding_dim=E, dtype=F64)
    tokens = torch.randint(V, (6, 3))
    scores, state = dec(tokens)
    free, free_state = dec.unroll(tokens[0], 6, next_tokens=lambda t, o: tokens[t + 1])
    assert (scores - free).abs().max() <= TOL
    assert _state_equal(state, (free_state[0][:, :1], free_state[1][:, :1]), 0) <= TOL


def test_readout_hook_is_used():
    class Halved(Decoder):
        def readout(self, s, memory=None, memory_mask=None):
            return s * 0.5 if memory is None else s + memory.sum(0)

    dec = Halved(rnnbook.RNN(E, H, dtype=F64), V, embedding_dim=E, dtype=F64)
    plain = Decoder(rnnbook.RNN(E, H, dtype=F64), V, embedding_dim=E, dtype=F64)
    plain.load_state_dict(dec.state_dict())
    tokens = torch.randint(V, (4, 2))
    s, _ = run_layer(dec.layer, dec.input(tokens))
    assert (dec(tokens)[0] - dec.head(0.5 * s)).abs().max() <= TOL
    assert (dec(tokens)[0] - plain(tokens)[0]).abs().max() > 1e-6


@pytest.mark.parametrize("structure", ["n_to_n", "n_to_1", "1_to_n", "n_to_m"])
@pytest.mark.parametrize("name", NAMES)
def test_a_training_step_lowers_the_loss_on_a_fixed_batch(structure, name):
    x, lengths = _tokens(), torch.tensor(LENGTHS)
    if structure == "n_to_n":
        model = NToN(LAYERS[name](E), 4, vocab_size=V, embedding_dim=E, dtype=F64)
        y = torch.randint(4, x.shape)
        loss_of = lambda: model.loss(x, y, lengths)  # noqa: E731
    elif structure == "n_to_1":
        model = NToOne(LAYERS[name](E), 3, vocab_size=V, embedding_dim=E, dtype=F64)
        y = torch.randint(3, (len(LENGTHS),))
        loss_of = lambda: model.loss(x, y, lengths)  # noqa: E731
    elif structure == "1_to_n":
        model = OneToN(LAYERS[name](E), V, condition_size=2, embedding_dim=E, dtype=F64)
        c = torch.randn(len(LENGTHS), 2, dtype=F64)
        y = torch.randint(V, x.shape)
        loss_of = lambda: model.loss(x, y, c, lengths)  # noqa: E731
    else:
        model = NToM(Encoder(LAYERS[name](E), vocab_size=V, embedding_dim=E, dtype=F64),
                     Decoder(LAYERS[name](E), V, embedding_dim=E, dtype=F64), start_token=0, end_token=1)
        y = torch.randint(V, (3, len(LENGTHS)))
        loss_of = lambda: model.loss(x, y, lengths, [3, 1, 2, 3])  # noqa: E731
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    before = loss_of()
    opt.zero_grad()
    before.backward()
    assert all(p.grad is not None for p in model.parameters())
    opt.step()
    assert loss_of().item() < before.item()


def test_bidirectional_without_padding_is_handled():
    layer = rnnbook.RNN(3, H, bidirectional=True, dtype=F64)
    model = NToOne(layer, 2, dtype=F64)
    x = torch.randn(STEPS, 2, 3, dtype=F64)
    _, h_n = layer(x)
    expected = model.head(torch.cat([h_n[0], h_n[1]], dim=-1))
    assert (model(x) - expected).abs().max() <= TOL
    assert (model(x, [STEPS, STEPS]) - expected).abs().max() <= TOL


@pytest.mark.parametrize("layer", [rnnbook.RNN(3, H, bidirectional=True, dtype=F64),
                                   nn.LSTM(3, H, num_layers=2, bidirectional=True, dtype=F64),
                                   nn.GRU(3, H, num_layers=2, dtype=F64)],
                         ids=["rnnbook.RNN", "torch.nn.LSTM", "torch.nn.GRU unidirectional"])
def test_bidirectional_with_padding_reads_each_sequence_within_its_length(layer):
    """Was refused before issue 16; now the backward direction starts at each sequence's last step
    (rnnbook's layers take lengths=, torch's bidirectional ones a PackedSequence); NaN in the
    padding reaches neither scores nor gradients (a unidirectional torch layer runs by stretches)."""
    model = NToOne(layer, 2, dtype=F64)
    x = torch.randn(STEPS, 2, 3, dtype=F64)
    x[2:, 1] = float("nan")                            # padding: never read
    scores = model(x, [STEPS, 2])
    scores.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert (scores[0] - model(x[:, :1])[0]).abs().max() <= TOL
    assert (scores[1] - model(x[:2, 1:])[0]).abs().max() <= TOL


def test_sampling_is_deterministic_under_a_seed_and_differs_across_seeds():
    model = OneToN(rnnbook.RNN(E, H, dtype=F64), V, embedding_dim=E, dtype=F64)
    first = torch.zeros(4, dtype=torch.long)

    def sample(seed, temperature=1.5):
        g = torch.Generator().manual_seed(seed)
        return model.generate(20, first, temperature=temperature, generator=g)[0]

    assert torch.equal(sample(0), sample(0))
    assert not torch.equal(sample(0), sample(1))
    greedy = model.generate(20, first)[0]
    assert torch.equal(greedy, model.generate(20, first)[0])
    # a very low temperature is greedy
    assert torch.equal(sample(3, temperature=1e-4), greedy)


def test_masked_cross_entropy_matches_flat_cross_entropy():
    scores = torch.randn(4, 3, 5, dtype=F64)
    y = torch.randint(5, (4, 3))
    assert (masked_cross_entropy(scores, y) - nn.functional.cross_entropy(scores.reshape(-1, 5),
                                                                           y.reshape(-1))).abs() <= TOL
    picked = torch.cat([scores[:2, 0], scores[:4, 1], scores[:1, 2]])
    targets = torch.cat([y[:2, 0], y[:4, 1], y[:1, 2]])
    expected = nn.functional.cross_entropy(picked, targets)
    assert (masked_cross_entropy(scores, y, [2, 4, 1]) - expected).abs() <= TOL


def test_make_layer_and_make_structure_by_name():
    assert {"rnn", "torch_rnn", "torch_gru", "torch_lstm"} <= set(available_layers())
    assert isinstance(make_layer("rnn", 3, 4), rnnbook.RNN)
    assert isinstance(make_layer("torch_lstm", 3, 4, num_layers=2), nn.LSTM)
    model = make_structure("n_to_1", "torch_gru", 2, layer_kwargs=dict(input_size=3, hidden_size=4))
    assert isinstance(model, NToOne) and isinstance(model.layer, nn.GRU)
    model = make_structure("n_to_n", rnnbook.RNN(E, 4), 3, vocab_size=V, embedding_dim=E)
    assert model(torch.zeros(2, 1, dtype=torch.long))[0].shape == (2, 1, 3)


def test_state_dict_round_trip():
    model = NToN(rnnbook.RNN(E, H, dtype=F64), 3, vocab_size=V, embedding_dim=E, dtype=F64)
    twin = copy.deepcopy(model)
    assert set(model.state_dict()) == {"input.embedding.weight", "layer.weight_ih_l0", "layer.weight_hh_l0",
                                       "layer.bias_ih_l0", "layer.bias_hh_l0", "head.weight", "head.bias"}
    twin.load_state_dict(model.state_dict())
    x = torch.randint(V, (3, 2))
    assert torch.equal(model(x)[0], twin(x)[0])


# -- bad input: one test each, asserting the message ----------------------------------------------
def _lm():
    return OneToN(rnnbook.RNN(E, H, dtype=F64), V, embedding_dim=E, dtype=F64)


def _classifier():
    return NToOne(rnnbook.RNN(E, H, dtype=F64), 2, vocab_size=V, embedding_dim=E, dtype=F64)


def test_rejects_token_ids_out_of_range():
    x = torch.tensor([[0], [V]])
    with pytest.raises(ValueError, match=re.escape(f"tokens must be token ids in [0, {V - 1}] (vocab_size={V}), "
                                                   f"got values in [0, {V}]")):
        _classifier()(x)


def test_rejects_negative_token_ids_within_lengths():
    x = torch.tensor([[0, 1], [-1, 2]])
    with pytest.raises(ValueError, match=re.escape("got values in [-1, 2]")):
        _classifier()(x, [2, 2])


def test_rejects_float_tokens():
    with pytest.raises(TypeError, match=re.escape("tokens must be an integer tensor of token ids, got dtype torch.float64")):
        _classifier()(torch.zeros(2, 1, dtype=F64))


def test_rejects_zero_length():
    with pytest.raises(ValueError, match=re.escape("lengths must be >= 1 (every sequence has at least one step), "
                                                   "got 0 for sequence 1")):
        _classifier()(torch.zeros(3, 2, dtype=torch.long), [3, 0])


def test_rejects_negative_length():
    with pytest.raises(ValueError, match=re.escape("lengths must be >= 1 (every sequence has at least one step), "
                                                   "got -2 for sequence 0")):
        _classifier()(torch.zeros(3, 2, dtype=torch.long), torch.tensor([-2, 3]))


def test_rejects_length_longer_than_the_sequence():
    with pytest.raises(ValueError, match=re.escape("lengths must be <= 3 (the number of time steps in the padded "
                                                   "input), got 4 for sequence 1")):
        _classifier()(torch.zeros(3, 2, dtype=torch.long), [3, 4])


def test_rejects_lengths_of_the_wrong_count():
    with pytest.raises(ValueError, match=re.escape("lengths must hold one length per sequence: shape (2,), got (3,)")):
        _classifier()(torch.zeros(3, 2, dtype=torch.long), [3, 3, 3])


def test_rejects_float_lengths():
    with pytest.raises(TypeError, match=re.escape("lengths must be an integer tensor, got dtype torch.float32")):
        _classifier()(torch.zeros(3, 2, dtype=torch.long), torch.tensor([3.0, 2.0]))


def test_rejects_zero_temperature():
    with pytest.raises(ValueError, match=re.escape("temperature must be > 0 (softmax(o / T) is undefined at T <= 0; "
                                                   "use temperature=None for greedy decoding, the limit T -> 0), got 0")):
        _lm().generate(3, torch.zeros(1, dtype=torch.long), temperature=0, generator=torch.Generator())


def test_rejects_negative_temperature():
    with pytest.raises(ValueError, match=re.escape("temperature must be > 0 (softmax(o / T) is undefined at T <= 0; "
                                                   "use temperature=None for greedy decoding, the limit T -> 0), got -1.0")):
        _lm().generate(3, torch.zeros(1, dtype=torch.long), temperature=-1.0, generator=torch.Generator())


def test_rejects_sampling_without_a_generator():
    with pytest.raises(TypeError, match=re.escape("generator must be a torch.Generator when sampling")):
        _lm().generate(3, torch.zeros(1, dtype=torch.long), temperature=1.0)


def test_rejects_unknown_structure_name():
    with pytest.raises(ValueError, match=re.escape("structure must be one of 'n_to_n', 'n_to_1', '1_to_n'; got 'n_to_2'")):
        make_structure("n_to_2", rnnbook.RNN(3, 4), 2)


def test_rejects_unknown_layer_name():
    with pytest.raises(ValueError, match=r"layer must be one of 'rnn', .*'torch_lstm'; got 'transformer'"):
        make_layer("transformer", 3, 4)


def test_rejects_layer_of_the_wrong_input_size():
    with pytest.raises(ValueError, match=re.escape("layer.input_size must be 5 (the size of the N-to-N model's input "
                                                   "vectors), got 3")):
        NToN(rnnbook.RNN(3, 4), 2, vocab_size=V, embedding_dim=5)


def test_rejects_bidirectional_decoder():
    with pytest.raises(ValueError, match=re.escape("a decoder's layer must not be bidirectional")):
        Decoder(rnnbook.RNN(E, H, bidirectional=True), V, embedding_dim=E)


def test_rejects_unknown_encoding():
    with pytest.raises(ValueError, match=re.escape("encoding must be one of 'embedding', 'one_hot'; got 'onehot'")):
        NToN(rnnbook.RNN(V, 4), 2, vocab_size=V, encoding="onehot")


def test_rejects_encoder_state_that_cannot_start_the_decoder():
    model = NToM(Encoder(nn.LSTM(E, H, dtype=F64), vocab_size=V, embedding_dim=E, dtype=F64),
                 Decoder(nn.GRU(E, H, dtype=F64), V, embedding_dim=E, dtype=F64), start_token=0, end_token=1)
    with pytest.raises(ValueError, match=re.escape("the encoder's final state must have the decoder's state shape")):
        model(torch.zeros(3, 2, dtype=torch.long), torch.zeros(2, 2, dtype=torch.long))


def test_rejects_feature_input_of_the_wrong_size():
    with pytest.raises(ValueError, match=re.escape("input must have 3 features (layer.input_size) in its last "
                                                   "dimension, got shape (4, 2, 5)")):
        NToOne(rnnbook.RNN(3, 4, dtype=F64), 2, dtype=F64)(torch.zeros(4, 2, 5, dtype=F64))


def test_rejects_condition_when_built_without_one():
    with pytest.raises(ValueError, match=re.escape("condition must be None: this model was built with condition_size=None")):
        _lm()(torch.zeros(2, 1, dtype=torch.long), torch.zeros(1, 2, dtype=F64))


def test_rejects_end_token_outside_the_vocabulary():
    with pytest.raises(ValueError, match=re.escape(f"end_token must be a token id in [0, {V - 1}], got {V}")):
        NToM(Encoder(rnnbook.RNN(E, H), vocab_size=V, embedding_dim=E),
             Decoder(rnnbook.RNN(E, H), V, embedding_dim=E), start_token=0, end_token=V)


@pytest.mark.parametrize("name", NAMES)
def test_run_layer_without_state_gives_the_same_outputs(name):
    layer = LAYERS[name](3)
    x = torch.randn(STEPS, len(LENGTHS), 3, dtype=F64)
    out, state = run_layer(layer, x, torch.tensor(LENGTHS))
    fast, none = run_layer(layer, x, torch.tensor(LENGTHS), need_state=False)
    assert none is None and (out - fast).abs().max() <= TOL


def test_select_state_reorders_lstm_states_along_the_batch():
    from rnnbook.seq.padding import select_state

    h, c = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    picked = select_state((h, c), torch.tensor([2, 2, 0]))
    assert torch.equal(picked[0], h[:, [2, 2, 0]]) and torch.equal(picked[1], c[:, [2, 2, 0]])


def test_n_to_m_by_name_points_to_its_parts():
    with pytest.raises(ValueError, match=re.escape("structure 'n_to_m' is built from its parts: NToM(Encoder(")):
        make_structure("n_to_m", rnnbook.RNN(3, 4), 2)
