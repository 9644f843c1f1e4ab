"""Scaled dot-product and additive attention, Bahdanau's decoder, Luong's input feeding and the
softmax-saturation measurement, each against its paper's equations written out by hand."""

import math
import re

import pytest
import torch

import rnnbook
from rnnbook.seq.attention import AdditiveAttention, AttentionDecoder, LuongAttention, softmax_saturation
from rnnbook.seq.bahdanau import BahdanauDecoder
from rnnbook.seq.padding import length_mask
from rnnbook.seq.seq2seq import build_seq2seq

F64 = torch.float64
TOL = 1e-12


def sigmoid(x):
    return 1 / (1 + torch.exp(-x))


def test_scaled_dot_is_the_dot_product_over_sqrt_d_by_hand():
    torch.manual_seed(0)
    att = LuongAttention(5, 5, "scaled_dot", dtype=F64)
    s, h = torch.randn(2, 3, 5, dtype=F64), torch.randn(4, 3, 5, dtype=F64)
    context, w = att(s, h)
    for t in range(2):
        for n in range(3):
            # score = q . k / sqrt(d), a = softmax, c = sum a_i h_i
            sc = [sum(s[t, n, j].item() * h[i, n, j].item() for j in range(5)) / math.sqrt(5)
                  for i in range(4)]
            e = [math.exp(v) for v in sc]
            a = [v / sum(e) for v in e]
            assert max(abs(w[t, n, i].item() - a[i]) for i in range(4)) <= TOL
            ref = sum(a[i] * h[i, n] for i in range(4))
            assert (context[t, n] - ref).abs().max() <= TOL
    dot = LuongAttention(5, 5, "dot", dtype=F64)
    assert (att.score(s, h) * math.sqrt(5) - dot.score(s, h)).abs().max() <= TOL


def test_additive_score_by_hand():
    att = AdditiveAttention(1, 2, attention_size=2, dtype=F64)
    with torch.no_grad():
        att.W_a.copy_(torch.tensor([[1.0], [-0.5]], dtype=F64))
        att.U_a.copy_(torch.tensor([[0.5, 1.0], [2.0, -1.0]], dtype=F64))
        att.v_a.copy_(torch.tensor([1.5, -1.0], dtype=F64))
    s = torch.tensor([[0.3]], dtype=F64)                      # unbatched query s_{t-1}, T = 1
    h = torch.tensor([[1.0, 0.0], [0.2, -0.4], [-1.0, 2.0]], dtype=F64)
    # e_i = v_a^T tanh(W_a s + U_a h_i)
    e = [1.5 * math.tanh(0.3 + 0.5 * a + 1.0 * b) - 1.0 * math.tanh(-0.15 + 2.0 * a - b)
         for a, b in h.tolist()]
    alpha = [math.exp(v) / sum(math.exp(u) for u in e) for v in e]
    context, w = att(s, h)
    assert max(abs(w[0, i].item() - alpha[i]) for i in range(3)) <= TOL
    assert (context[0] - sum(alpha[i] * h[i] for i in range(3))).abs().max() <= TOL


def _paper_gru(W, U, C, Wz, Uz, Cz, Wr, Ur, Cr, ey, s, c):
    """Bahdanau et al. (2015), appendix A.2.2: the decoder's GRU, context through C, C_z, C_r."""
    z = sigmoid(Wz @ ey + Uz @ s + Cz @ c)
    r = sigmoid(Wr @ ey + Ur @ s + Cr @ c)
    s_tilde = torch.tanh(W @ ey + U @ (r * s) + C @ c)
    return (1 - z) * s + z * s_tilde


def test_bahdanau_decoder_equals_the_paper_by_hand():
    torch.manual_seed(1)
    E, H, M, V, L = 3, 4, 5, 6, 7
    layer = rnnbook.GRU(E + M, H, bias=False, reset_after=False, dtype=F64)   # Cho's GRU
    dec = BahdanauDecoder(layer, V, memory_size=M, embedding_dim=E, attention_size=3, dtype=F64)
    memory, s0 = torch.randn(L, 2, M, dtype=F64), torch.randn(1, 2, H, dtype=F64)
    tokens = torch.randint(V, (4, 2))
    scores, state, alpha = dec.forward_weights(tokens, s0, memory=memory)
    # torch's GRU rows r, z, n; columns [E y | c]; torch's z keeps the old state, the paper's
    # z takes the new one: z_paper = 1 - z_torch = sigmoid(-(...)).
    Wi, Wh = layer.weight_ih_l0.detach(), layer.weight_hh_l0.detach()
    (Wr_, Wz_, Wn_), (Ur, Uz, Un) = Wi.split(H), Wh.split(H)
    Wr, Cr = Wr_[:, :E], Wr_[:, E:]
    Wz, Cz = -Wz_[:, :E], -Wz_[:, E:]
    W, C = Wn_[:, :E], Wn_[:, E:]
    a = dec.attention
    for n in range(2):
        s = s0[0, n]
        for t in range(4):
            ey = dec.input.embedding.weight[tokens[t, n]].detach()
            # e_{t,i} = v_a^T tanh(W_a s_{t-1} + U_a h_i)
            e = torch.stack([a.v_a @ torch.tanh(a.W_a @ s + a.U_a @ memory[i, n]) for i in range(L)])
            al = torch.exp(e) / torch.exp(e).sum()
            c = sum(al[i] * memory[i, n] for i in range(L))
            s = _paper_gru(W, Un, C, Wz, -Uz, Cz, Wr, Ur, Cr, ey, s, c)
            o = dec.head.weight @ torch.cat([s, c, ey]) + dec.head.bias   # g(y_{t-1}, s_t, c_t)
            assert (alpha[t, n] - al).abs().max() <= TOL
            assert (scores[t, n] - o).abs().max() <= TOL
        assert (state[0, n] - s).abs().max() <= TOL


def test_input_feeding_equals_luong_by_hand():
    torch.manual_seed(2)
    E, H, A, V, L = 3, 4, 5, 6, 4
    layer = rnnbook.GRU(E + A, H, dtype=F64)
    dec = AttentionDecoder(layer, V, memory_size=H, score="general", embedding_dim=E,
                           attentional_size=A, input_feeding=True, dtype=F64)
    memory, s0 = torch.randn(L, 2, H, dtype=F64), torch.randn(1, 2, H, dtype=F64)
    tokens = torch.randint(V, (3, 2))
    scores, (s_T, feed_T), w = dec.forward_weights(tokens, s0, memory=memory)
    Wi, Wh = layer.weight_ih_l0.detach(), layer.weight_hh_l0.detach()
    bi, bh = layer.bias_ih_l0.detach(), layer.bias_hh_l0.detach()
    R = dec.attention.R.detach()
    for n in range(2):
        s, h_tilde = s0[0, n], torch.zeros(A, dtype=F64)
        for t in range(3):
            # input feeding: x_t = [E y_{t-1}; h~_{t-1}]
            x = torch.cat([dec.input.embedding.weight[tokens[t, n]].detach(), h_tilde])
            gi, gh = Wi @ x + bi, Wh @ s + bh
            r, z = sigmoid(gi[:H] + gh[:H]), sigmoid(gi[H:2 * H] + gh[H:2 * H])
            s = (1 - z) * torch.tanh(gi[2 * H:] + r * gh[2 * H:]) + z * s
            # a_t(i) = softmax_i(s_t^T R h_i), c_t = sum_i a_t(i) h_i
            sc = torch.stack([s @ R @ memory[i, n] for i in range(L)])
            a = torch.exp(sc) / torch.exp(sc).sum()
            c = sum(a[i] * memory[i, n] for i in range(L))
            # h~_t = tanh(W_c [c_t; s_t] + b); o_t = W_s h~_t + b_s
            h_tilde = torch.tanh(dec.combine.weight @ torch.cat([c, s]) + dec.combine.bias)
            o = dec.head.weight @ h_tilde + dec.head.bias
            assert (w[t, n] - a).abs().max() <= TOL and (scores[t, n] - o).abs().max() <= TOL
        assert (s_T[0, n] - s).abs().max() <= TOL and (feed_T[0, n] - h_tilde).abs().max() <= TOL


def _decoders():
    E, H = 3, 4
    return {
        "feeding-gru": AttentionDecoder(rnnbook.GRU(E + H, H, dtype=F64), 6, memory_size=H, embedding_dim=E,
                                        input_feeding=True, dtype=F64),
        "feeding-lstm": AttentionDecoder(rnnbook.LSTM(E + H, H, num_layers=2, dtype=F64), 6, memory_size=H,
                                         embedding_dim=E, input_feeding=True, score="concat", dtype=F64),
        "bahdanau-gru": BahdanauDecoder(rnnbook.GRU(E + H, H, dtype=F64), 6, memory_size=H,
                                        embedding_dim=E, dtype=F64),
        "bahdanau-lstm": BahdanauDecoder(torch.nn.LSTM(E + H, H, num_layers=2, dtype=F64), 6,
                                         memory_size=H, embedding_dim=E, dtype=F64),
    }


@pytest.mark.parametrize("name", list(_decoders()))
def test_step_by_step_equals_teacher_forcing_and_lengths_equal_alone(name):
    torch.manual_seed(3)
    dec = _decoders()[name]
    memory = torch.randn(5, 3, 4, dtype=F64)
    mmask = length_mask(torch.tensor([5, 3, 4]), 5)
    tokens = torch.randint(6, (4, 3))
    scores, state = dec(tokens, memory=memory, memory_mask=mmask)
    st = None
    for t in range(4):
        o, st = dec.step(tokens[t], st, memory, mmask)
        assert (o - scores[t]).abs().max() <= TOL
    as_tuple = lambda x: x if isinstance(x, tuple) else (x,)  # noqa: E731
    for a, b in zip(as_tuple(state), as_tuple(st), strict=True):
        assert (a - b).abs().max() <= TOL
    # with lengths: padded steps score 0, the final state is each sequence's own
    lengths = torch.tensor([4, 2, 1])
    padded, pstate = dec(tokens, lengths=lengths, memory=memory, memory_mask=mmask)
    for n, ell in enumerate(lengths.tolist()):
        alone, astate = dec(tokens[:ell, n:n + 1], memory=memory[:, n:n + 1], memory_mask=mmask[:, n:n + 1])
        assert (padded[:ell, n] - alone[:, 0]).abs().max() <= TOL
        assert bool((padded[ell:, n] == 0).all())
        for a, b in zip(as_tuple(pstate), as_tuple(astate), strict=True):
            assert (a[:, n] - b[:, 0]).abs().max() <= TOL


@pytest.mark.parametrize("attention,feeding", [("bahdanau", False), ("general", True), ("scaled_dot", False)])
def test_build_seq2seq_new_decoders_train_and_give_weights(attention, feeding):
    torch.manual_seed(4)
    model = build_seq2seq(9, 7, hidden_size=8, embedding_dim=4, layer="gru", attention=attention,
                          input_feeding=feeding, start_token=1, end_token=2, dtype=F64)
    src, tgt = torch.randint(3, 9, (6, 4)), torch.randint(3, 7, (5, 4))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(15):
        loss = model.loss(src, tgt, [6, 5, 4, 3])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
    w = model.attention_weights(src, rnnbook.shift_right(tgt, 1), [6, 5, 4, 3])
    assert w.shape == (5, 4, 6) and bool((w[:, 3, 3:] == 0).all())
    assert (w.sum(-1) - 1).abs().max() <= TOL
    loss_ss = rnnbook.scheduled_sampling_loss(model, src, tgt, 1.0, src_lengths=[6, 5, 4, 3],
                                              generator=torch.Generator().manual_seed(0))
    assert abs(loss_ss.item() - model.loss(src, tgt, [6, 5, 4, 3]).item()) <= 1e-10


def test_softmax_saturation_measures_the_variance_argument():
    table = softmax_saturation([2, 32, 512], keys=10, queries=2000, seed=0)
    for d, raw, scaled in zip(table.dims, table.std_raw, table.std_scaled, strict=True):
        assert abs(raw / math.sqrt(d) - 1) < 0.05 and abs(scaled - 1) < 0.05    # Var(q.k) = d
    # scaled: the same distribution at every d; unscaled: towards one-hot as d grows
    assert max(table.entropy_scaled) - min(table.entropy_scaled) < 0.05
    assert table.entropy_raw[0] > table.entropy_raw[1] > table.entropy_raw[2]
    assert table.max_weight_raw[2] > 0.9 and table.jacobian_raw[2] < 0.3 * table.jacobian_scaled[2]
    assert table == softmax_saturation([2, 32, 512], keys=10, queries=2000, seed=0)   # seeded


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match=re.escape("layer.input_size must be 7 (the size of the decoder's input vectors), got 3")):
        AttentionDecoder(rnnbook.GRU(3, 4), 6, memory_size=4, embedding_dim=3, input_feeding=True)
    with pytest.raises(ValueError, match=re.escape("layer.input_size must be 8 (the size of the decoder's input vectors), got 3")):
        BahdanauDecoder(rnnbook.GRU(3, 4), 6, memory_size=5, embedding_dim=3)
    with pytest.raises(TypeError, match=re.escape("input_feeding must be a bool, got 1 of type int")):
        AttentionDecoder(rnnbook.GRU(3, 4), 6, memory_size=4, embedding_dim=3, input_feeding=1)
    with pytest.raises(ValueError, match=re.escape("input_feeding=True needs one of Luong's scores as attention")):
        build_seq2seq(5, 5, hidden_size=4, embedding_dim=2, attention="bahdanau", input_feeding=True,
                      start_token=1, end_token=2)
    with pytest.raises(ValueError, match=re.escape("score='scaled_dot' needs query_size == memory_size")):
        LuongAttention(3, 4, "scaled_dot")
    dec = _decoders()["feeding-lstm"]
    h = torch.zeros(2, 1, 4, dtype=F64)
    with pytest.raises(ValueError, match=re.escape("state must be the layer's state (2 tensor(s)) or the decoder's")):
        dec(torch.zeros(1, 1, dtype=torch.long), (h,), memory=torch.zeros(3, 1, 4, dtype=F64))
    with pytest.raises(ValueError, match=re.escape("memory must be the encoder outputs (L, N, memory_size)")):
        _decoders()["bahdanau-gru"](torch.zeros(1, 1, dtype=torch.long))
    with pytest.raises(ValueError, match=re.escape("h must have shape (L, 1, 4) = (source steps, batch, memory_size), got (3, 1, 5)")):
        _decoders()["bahdanau-gru"](torch.zeros(1, 1, dtype=torch.long), memory=torch.zeros(3, 1, 5, dtype=F64))
    with pytest.raises(TypeError, match=re.escape("dims must be a non-empty sequence of ints, got 4")):
        softmax_saturation(4)
