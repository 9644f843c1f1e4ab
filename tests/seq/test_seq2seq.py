"""Luong attention, Seq2Seq beam search, scheduled sampling and the date task."""

import math
import re

import pytest
import torch
from torch import nn

from rnnbook.seq.attention import SCORES, AttentionDecoder, LuongAttention
from rnnbook.helpers.data import (DATE_SOURCE_CHARS, DATE_TARGET_CHARS, END, START, date_pairs, decode_chars)
from rnnbook.seq.sampling import (exponential_schedule, inverse_sigmoid_schedule, linear_schedule, make_schedule, scheduled_sampling_loss)
from rnnbook.seq.seq2seq import Seq2Seq, build_seq2seq, exact_match, sequence_log_prob
from rnnbook.seq.decoding import Decoder
from rnnbook.seq.structures import Encoder
from rnnbook.seq.padding import length_mask, shift_right
from rnnbook.seq.losses import masked_cross_entropy

F64 = torch.float64
TOL = 1e-12


# -- attention -------------------------------------------------------------------------------
@pytest.mark.parametrize("score", SCORES)
def test_weights_sum_to_one_and_padding_is_exactly_zero(score):
    att = LuongAttention(5, 5, score, dtype=F64)
    s, h = torch.randn(3, 4, 5, dtype=F64), torch.randn(6, 4, 5, dtype=F64)
    mask = length_mask(torch.tensor([6, 2, 4, 1]), 6)
    context, w = att(s, h, mask)
    assert context.shape == (3, 4, 5) and w.shape == (3, 4, 6)
    assert (w.sum(-1) - 1).abs().max() <= TOL
    assert torch.all(w.masked_select(~mask.T.unsqueeze(0).expand_as(w)) == 0)
    assert torch.all(w.masked_select(mask.T.unsqueeze(0).expand_as(w)) > 0)
    # c_t = sum_i a_t(i) h_i, by a literal loop
    for t in range(3):
        for n in range(4):
            ref = sum(w[t, n, i] * h[i, n] for i in range(6))
            assert (context[t, n] - ref).abs().max() <= TOL


def test_padding_content_does_not_matter():
    att = LuongAttention(4, 4, "general", dtype=F64)
    s, h = torch.randn(2, 2, 4, dtype=F64), torch.randn(5, 2, 4, dtype=F64)
    mask = length_mask(torch.tensor([5, 3]), 5)
    h2 = h.clone()
    h2[3:, 1] = 1e3
    c1, w1 = att(s, h, mask)
    c2, w2 = att(s, h2, mask)
    assert torch.equal(w1, w2) and (c1 - c2).abs().max() <= TOL


def test_general_with_identity_equals_dot():
    gen, dot = LuongAttention(5, 5, "general", dtype=F64), LuongAttention(5, 5, "dot", dtype=F64)
    with torch.no_grad():
        gen.R.copy_(torch.eye(5, dtype=F64))
    s, h = torch.randn(3, 2, 5, dtype=F64), torch.randn(4, 2, 5, dtype=F64)
    for a, b in zip(gen(s, h), dot(s, h), strict=True):
        assert (a - b).abs().max() <= TOL


def test_concat_equals_its_formula_on_hand_values():
    att = LuongAttention(1, 1, "concat", attention_size=2, dtype=F64)
    with torch.no_grad():
        att.R.copy_(torch.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=F64))
        att.v_a.copy_(torch.tensor([1.0, -2.0], dtype=F64))
    s = torch.tensor([[0.5]], dtype=F64)            # unbatched: T = 1
    h = torch.tensor([[1.0], [-1.0]], dtype=F64)    # L = 2
    # score = v_a^T tanh(R [s; h_i]) by hand
    sc = [1 * math.tanh(0.5 + 2 * 1.0) - 2 * math.tanh(0.25 - 1.0),
          1 * math.tanh(0.5 - 2 * 1.0) - 2 * math.tanh(0.25 + 1.0)]
    assert (att.score(s[:, None], h[:, None])[0, 0] - torch.tensor(sc, dtype=F64)).abs().max() <= TOL
    e = [math.exp(v) for v in sc]
    a = [v / sum(e) for v in e]
    context, w = att(s, h)
    assert (w[0] - torch.tensor(a, dtype=F64)).abs().max() <= TOL
    assert abs(context[0, 0].item() - (a[0] * 1.0 + a[1] * -1.0)) <= TOL


@pytest.mark.parametrize("score", SCORES)
def test_unbatched_equals_batch_of_one(score):
    att = LuongAttention(4, 3 if score not in ("dot", "scaled_dot") else 4, score, dtype=F64)
    s, h = torch.randn(2, 4, dtype=F64), torch.randn(5, att.memory_size, dtype=F64)
    mask = torch.tensor([True, True, True, False, False])
    c, w = att(s, h, mask)
    cb, wb = att(s[:, None], h[:, None], mask[:, None])
    assert c.shape == (2, att.memory_size) and w.shape == (2, 5)
    assert (c - cb[:, 0]).abs().max() <= TOL and (w - wb[:, 0]).abs().max() <= TOL


def test_attention_decoder_readout_is_h_tilde():
    dec = AttentionDecoder(nn.GRU(3, 4, dtype=F64), 6, memory_size=4, score="dot", embedding_dim=3,
                           dtype=F64)
    mem = torch.randn(5, 2, 4, dtype=F64)
    s = torch.randn(3, 2, 4, dtype=F64)
    c, _ = dec.attention(s, mem)
    ref = torch.tanh(torch.cat([c, s], -1) @ dec.combine.weight.T + dec.combine.bias)
    assert (dec.readout(s, mem) - ref).abs().max() <= TOL


# -- seq2seq -------------------------------------------------------------------------------------
def _model(attention="dot", layer="torch_gru"):
    torch.manual_seed(0)
    return build_seq2seq(9, 7, hidden_size=6, embedding_dim=4, layer=layer, attention=attention,
                         start_token=1, end_token=2, dtype=F64)


@pytest.mark.parametrize("attention", [None, "dot", "general", "concat"])
@pytest.mark.parametrize("layer", ["torch_gru", "torch_lstm"])
def test_beam_width_one_equals_greedy(attention, layer):
    model = _model(attention, layer)
    src = torch.randint(3, 9, (7, 5))
    lengths = torch.tensor([7, 3, 5, 1, 6])
    g_tok, g_len = model.greedy(src, lengths, max_steps=12)
    b_tok, b_len, b_lp = model.beam_search(src, lengths, beam_width=1, max_steps=12)
    assert torch.equal(g_tok, b_tok) and torch.equal(g_len, b_len)
    assert (b_lp - sequence_log_prob(model, src, b_tok, b_len, lengths)).abs().max() <= 1e-10


def test_beam_search_never_scores_below_its_own_width_one_path_on_this_batch():
    model = _model("general")
    src = torch.randint(3, 9, (6, 8))
    _, _, lp1 = model.beam_search(src, None, beam_width=1, max_steps=10)
    tok, lens, lp4 = model.beam_search(src, None, beam_width=4, max_steps=10)
    assert (lp4 - sequence_log_prob(model, src, tok, lens)).abs().max() <= 1e-10
    assert bool((lp4 >= lp1 - 1e-12).all())


def test_decoding_stops_at_the_end_token():
    model = _model(None)
    with torch.no_grad():  # the decoder always prefers the end token
        model.decoder.head.bias.fill_(0.0)
        model.decoder.head.weight.fill_(0.0)
        model.decoder.head.bias[2] = 5.0
    src = torch.randint(3, 9, (4, 3))
    for k in (1, 3):
        tok, lens, _ = model.beam_search(src, None, beam_width=k, max_steps=10)
        assert tok.shape == (1, 3) and torch.all(tok == 2) and torch.all(lens == 1)
    tok, lens = model.greedy(src, None, max_steps=10)
    assert tok.shape == (1, 3) and torch.all(lens == 1)


def test_beam_pads_after_end_token():
    model = _model("dot")
    with torch.no_grad():  # token 3 first, then the end token; both tied to the step
        model.decoder.head.weight.zero_()
        model.decoder.head.bias.zero_()
        model.decoder.input.embedding.weight.zero_()
        model.decoder.input.embedding.weight[1, 0] = 1.0   # after start: prefer 3
        model.decoder.head.bias[2] = 0.5
    src = torch.randint(3, 9, (4, 2))
    tok, lens, _ = model.beam_search(src, None, beam_width=2, max_steps=6, pad_token=0)
    for n in range(2):
        ell = int(lens[n])
        assert tok[ell - 1, n] == 2 and torch.all(tok[ell:, n] == 0)


def test_a_training_step_lowers_the_loss_on_a_fixed_batch():
    model = _model("concat")
    src, tgt = torch.randint(3, 9, (5, 4)), torch.randint(3, 7, (4, 4))
    tgt[-1] = 2
    lengths = torch.tensor([5, 4, 2, 3])
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    before = model.loss(src, tgt, lengths)
    opt.zero_grad()
    before.backward()
    opt.step()
    assert model.loss(src, tgt, lengths).item() < before.item() - 1e-3


def test_seq2seq_is_an_ntom_around_the_structures_classes():
    model = _model("dot")
    assert isinstance(model.encoder, Encoder) and isinstance(model.decoder, Decoder)
    assert isinstance(build_seq2seq(9, 7, hidden_size=6, embedding_dim=4, start_token=1, end_token=2),
                      Seq2Seq)


def test_attention_weights_match_the_decoding_run():
    model = _model("general")
    src = torch.randint(3, 9, (6, 3))
    lengths = torch.tensor([6, 2, 4])
    tok, lens = model.greedy(src, lengths, max_steps=5)
    w = model.attention_weights(src, shift_right(tok, 1), lengths)
    assert w.shape == (tok.shape[0], 3, 6)
    assert torch.all(w[:, 1, 2:] == 0) and (w.sum(-1) - 1).abs().max() <= TOL
    enc = model.encode(src, lengths)  # step by step, the weights of step 1
    _, state = model.decoder.step(torch.ones(3, dtype=torch.long), enc.state, enc.outputs, enc.mask)
    s, _ = model.decoder.layer(model.decoder.input(tok[:1]), state)
    _, w1 = model.decoder.attend(s, enc.outputs, enc.mask)
    assert (w1[0] - w[1]).abs().max() <= TOL


def test_exact_match():
    tgt = torch.tensor([[3, 4], [2, 5], [0, 2]])
    tok = torch.tensor([[3, 4], [2, 5], [9, 6]])
    ok = exact_match(tok, torch.tensor([2, 3]), tgt, torch.tensor([2, 3]))
    assert ok.tolist() == [True, False]


# -- scheduled sampling -----------------------------------------------------------------------------
def test_schedules_against_their_formulas():
    for i in range(0, 200, 7):
        assert linear_schedule(i, k=1.0, c=0.01, epsilon=0.1) == max(0.1, 1.0 - 0.01 * i)
        assert exponential_schedule(i, k=0.99) == 0.99**i
        assert inverse_sigmoid_schedule(i, k=20) == 20 / (20 + math.exp(i / 20))
    assert inverse_sigmoid_schedule(10**6, k=1) == 0.0


@pytest.mark.parametrize("name,params", [("linear", {"c": 0.002}), ("exponential", {"k": 0.995}),
                                         ("inverse_sigmoid", {"k": 50})])
def test_schedules_decrease_monotonically_in_unit_interval(name, params):
    f = make_schedule(name, **params)
    values = [f(i) for i in range(2000)]
    assert all(0 <= v <= 1 for v in values)
    assert all(b <= a for a, b in zip(values, values[1:]))
    assert values[-1] < values[0]


def test_epsilon_one_is_teacher_forcing():
    model = _model("dot")
    src, tgt = torch.randint(3, 9, (5, 4)), torch.randint(3, 7, (4, 4))
    lengths, tl = torch.tensor([5, 4, 2, 3]), torch.tensor([4, 2, 3, 4])
    tf = model.loss(src, tgt, lengths, tl)
    ss = scheduled_sampling_loss(model, src, tgt, 1.0, src_lengths=lengths, tgt_lengths=tl,
                                 generator=torch.Generator().manual_seed(0))
    assert abs(tf.item() - ss.item()) <= TOL


def test_epsilon_zero_feeds_own_predictions_without_gradient_through_them():
    model = _model(None)
    src, tgt = torch.randint(3, 9, (5, 2)), torch.randint(3, 7, (4, 2))
    ss = scheduled_sampling_loss(model, src, tgt, 0.0, generator=torch.Generator().manual_seed(0))
    enc = model.encode(src)
    first = torch.full((2,), model.start_token)
    free, _ = model.decoder.unroll(first, 4, enc.state, next_tokens=lambda t, o: o.argmax(-1))
    own = free.argmax(-1)  # the free run's predictions, fed back as the next inputs
    scores = model(src, shift_right(own, model.start_token))
    assert abs(masked_cross_entropy(scores, tgt).item() - ss.item()) <= TOL
    ss.backward()  # the fed-back tokens are integer ids: no path for a gradient through them
    assert all(p.grad is not None for p in model.parameters())


# -- the date task ---------------------------------------------------------------------------------
def test_dates_are_correct_and_test_set_is_held_out():
    import datetime
    g = torch.Generator().manual_seed(0)
    train = date_pairs(300, generator=g)
    test = date_pairs(100, generator=g, exclude=train)
    assert not set(train.targets) & set(test.targets)
    for j in range(len(train)):
        iso = train.targets[j]
        d = datetime.date.fromisoformat(iso)
        a, b = train.spans[j]["year"]
        assert train.sources[j][a:b] in (str(d.year), f"{d.year % 100:02d}")
        assert decode_chars(train.tgt[:, j].tolist(), DATE_TARGET_CHARS) == iso
        ell = int(train.src_lengths[j])
        assert decode_chars(train.src[:ell, j].tolist(), DATE_SOURCE_CHARS) == train.sources[j]
    assert torch.all(train.tgt[-1] == END) and START not in train.src.tolist()


# -- bad input: one test each, asserting the message ---------------------------------------------
def test_unknown_score_lists_the_valid_names():
    with pytest.raises(ValueError, match=re.escape("score must be one of 'dot', 'general', 'concat', 'scaled_dot'; got 'cosine'")):
        LuongAttention(4, 4, "cosine")


def test_mask_of_wrong_shape():
    att = LuongAttention(4, 4)
    with pytest.raises(ValueError, match=re.escape("mask must have shape (5, 2)")):
        att(torch.randn(3, 2, 4), torch.randn(5, 2, 4), torch.ones(5, 3, dtype=torch.bool))


def test_beam_width_below_one():
    with pytest.raises(ValueError, match="beam_width must be >= 1, got 0"):
        _model().beam_search(torch.randint(3, 9, (4, 2)), beam_width=0)


def test_linear_schedule_parameters_out_of_range():
    with pytest.raises(ValueError, match=re.escape("c must be > 0 for the linear schedule")):
        make_schedule("linear", c=0.0)


def test_exponential_schedule_k_out_of_range():
    with pytest.raises(ValueError, match=re.escape("k must lie in (0, 1) for the exponential schedule")):
        exponential_schedule(3, k=1.0)


def test_inverse_sigmoid_schedule_k_out_of_range():
    with pytest.raises(ValueError, match=re.escape("k must be >= 1 for the inverse sigmoid schedule")):
        make_schedule("inverse_sigmoid", k=0.5)


def test_schedule_negative_step():
    with pytest.raises(ValueError, match="i must be >= 0, got -1"):
        linear_schedule(-1, c=0.1)


def test_unknown_schedule_name():
    with pytest.raises(ValueError, match=re.escape("schedule must be one of 'linear', 'exponential', 'inverse_sigmoid'")):
        make_schedule("cosine", k=2)


def test_epsilon_out_of_range():
    with pytest.raises(ValueError, match=re.escape("epsilon must lie in [0, 1], got 1.5")):
        scheduled_sampling_loss(_model(), torch.randint(3, 9, (4, 2)), torch.randint(3, 7, (3, 2)), 1.5)


def test_dot_needs_equal_sizes():
    with pytest.raises(ValueError, match="score='dot' needs query_size == memory_size"):
        LuongAttention(4, 3, "dot")


def test_attention_heatmap_draws_the_weights_and_checks_their_shape():
    import matplotlib

    matplotlib.use("Agg")
    from rnnbook.helpers.plot import attention_heatmap

    w = torch.softmax(torch.randn(3, 4), -1)
    ax = attention_heatmap(w, list("abcd"), list("xyz"))
    assert torch.allclose(torch.as_tensor(ax.images[0].get_array()), w.double())
    with pytest.raises(ValueError, match=re.escape("weights must have shape (len(output), len(source)) = (2, 4)")):
        attention_heatmap(w, list("abcd"), list("xy"))


def test_fit_seq2seq_with_a_schedule_reads_epsilon_per_step():
    g = torch.Generator().manual_seed(0)
    pairs = date_pairs(32, generator=g)
    from rnnbook.helpers.data import DATE_SOURCE_CHARS
    from rnnbook.seq.seq2seq import decode
    from rnnbook.helpers.train import fit_seq2seq
    model = build_seq2seq(3 + len(DATE_SOURCE_CHARS), 3 + len(DATE_TARGET_CHARS), hidden_size=8,
                          embedding_dim=4, attention="dot", start_token=START, end_token=END)
    seen = []
    losses = fit_seq2seq(model, pairs, 3, batch_size=4, generator=g, progress=False,
                         schedule=lambda i: seen.append(i) or 0.5)
    assert seen == [0, 1, 2] and len(losses) == 3
    tok, lens, ok = decode(model, pairs, beam_width=2)
    assert tok.shape[1] == 32 and lens.shape == (32,) and ok.dtype == torch.bool
