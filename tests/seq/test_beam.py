"""Beam search for every decoder: n-best lists, scores, length penalties, greedy at width 1,
and the exhaustive best when the beam keeps every hypothesis."""

import itertools
import re

import pytest
import torch

import rnnbook
from rnnbook.seq.beam import beam_search, length_penalty
from rnnbook.seq.seq2seq import build_seq2seq, decode, sequence_log_prob

F64 = torch.float64
TOL = 1e-12
KINDS = [(None, False), ("dot", False), ("scaled_dot", True), ("bahdanau", False)]


def model_of(attention, feeding, vocab=6, layer="gru", seed=0):
    torch.manual_seed(seed)
    model = build_seq2seq(9, vocab, hidden_size=6, embedding_dim=3, layer=layer, attention=attention,
                          input_feeding=feeding, start_token=1, end_token=2, dtype=F64)
    with torch.no_grad():   # make the end token likely enough that outputs end at various lengths
        model.decoder.head.bias[2] += 1.5
    return model.eval()


@pytest.mark.parametrize("attention,feeding", KINDS)
def test_width_one_is_greedy_for_every_decoder(attention, feeding):
    model = model_of(attention, feeding, layer="lstm")
    src = torch.randint(3, 9, (7, 5))
    g_tok, g_len = model.greedy(src, [7, 6, 5, 3, 2], max_steps=6)
    b_tok, b_len, b_lp = model.beam_search(src, [7, 6, 5, 3, 2], beam_width=1, max_steps=6)
    assert torch.equal(g_tok, b_tok) and torch.equal(g_len, b_len)
    ref = sequence_log_prob(model, src, g_tok, g_len, [7, 6, 5, 3, 2])
    assert (ref - b_lp).abs().max() <= 1e-10


@pytest.mark.parametrize("attention,feeding", KINDS)
@pytest.mark.parametrize("normalize", [None, "average", "gnmt"])
def test_n_best_scores_are_the_teacher_forced_log_probabilities(attention, feeding, normalize):
    model = model_of(attention, feeding)
    src = torch.randint(3, 9, (6, 3))
    found = model.n_best(src, [6, 4, 2], beam_width=4, n_best=4, max_steps=7, normalize=normalize,
                         alpha=0.8)
    assert bool((found.scores[:, :-1] >= found.scores[:, 1:]).all())
    for i in range(4):
        tok, lens = found.tokens[:, :, i], found.lengths[:, i]
        lp = sequence_log_prob(model, src, tok, lens, [6, 4, 2])
        assert (lp - found.log_probs[:, i]).abs().max() <= 1e-10
        pen = torch.tensor([length_penalty(int(n), normalize, 0.8) for n in lens], dtype=F64)
        assert (found.scores[:, i] - found.log_probs[:, i] / pen).abs().max() <= TOL
        for n in range(3):   # padding after each hypothesis; the end token only at its end
            ell = int(lens[n])
            assert bool((tok[ell:, n] == 0).all()) and 2 not in tok[:ell - 1, n].tolist()
            assert bool(found.ended[n, i]) == (tok[ell - 1, n].item() == 2)
    # distinct hypotheses per sequence
    for n in range(3):
        seqs = {tuple(found.tokens[: found.lengths[n, i], n, i].tolist()) for i in range(4)}
        assert len(seqs) == 4


def all_outputs(vocab, end, steps):
    """Every output of at most ``steps`` tokens: ended by ``end``, or cut at ``steps``."""
    others = [v for v in range(vocab) if v != end]
    for t in range(1, steps + 1):
        for body in itertools.product(others, repeat=t - 1):
            yield body + (end,), True
    for body in itertools.product(others, repeat=steps):
        yield body, False


@pytest.mark.parametrize("attention,feeding", [(None, False), ("general", True), ("bahdanau", False)])
@pytest.mark.parametrize("normalize", [None, "average", "gnmt"])
def test_a_beam_keeping_every_hypothesis_finds_the_exhaustive_best(attention, feeding, normalize):
    V, T = 4, 3
    model = model_of(attention, feeding, vocab=V, seed=1)
    src = torch.randint(3, 9, (5, 2))
    outputs = list(all_outputs(V, 2, T))                   # 1 + 3 + 9 ended, 27 cut: 40
    assert len(outputs) == 40
    found = model.n_best(src, [5, 3], beam_width=V * (V - 1) ** (T - 1), n_best=10, max_steps=T,
                         normalize=normalize, alpha=0.6)
    for n in range(2):
        toks = torch.zeros(T, len(outputs), dtype=torch.long)
        for j, (seq, _) in enumerate(outputs):
            toks[: len(seq), j] = torch.tensor(seq)
        lens = torch.tensor([len(seq) for seq, _ in outputs])
        srcs = src[:, n:n + 1].expand(-1, len(outputs))
        lp = sequence_log_prob(model, srcs, toks, lens, [[5, 3][n]] * len(outputs))
        score = lp / torch.tensor([length_penalty(int(x), normalize, 0.6) for x in lens], dtype=F64)
        order = torch.sort(score, descending=True, stable=True).indices[:10]
        assert (found.scores[n] - score[order]).abs().max() <= 1e-10
        for i, j in enumerate(order.tolist()):
            seq, ended = outputs[j]
            assert tuple(found.tokens[: len(seq), n, i].tolist()) == seq
            assert bool(found.ended[n, i]) == ended


def test_length_normalisation_favours_longer_outputs():
    model = model_of(None, False, seed=2)
    with torch.no_grad():
        model.decoder.head.bias[2] -= 1.5                  # the end token as likely as the rest
    src = torch.randint(3, 9, (6, 40))
    _, raw_len, _ = model.beam_search(src, beam_width=5, max_steps=10)
    _, avg_len, _ = model.beam_search(src, beam_width=5, max_steps=10, normalize="average")
    assert avg_len.double().mean() > raw_len.double().mean()


def test_one_to_n_beam_and_decode_with_normalisation():
    torch.manual_seed(3)
    lm = rnnbook.OneToN(rnnbook.GRU(3, 5, dtype=F64), vocab_size=4, embedding_dim=3, dtype=F64)
    found = lm.beam(3, torch.tensor([1, 1]), beam_width=4 * 3 ** 2, n_best=3, end_token=None)
    # no end token: every output has 3 tokens; the best is the most probable of all 4^3
    best = None
    for seq in itertools.product(range(4), repeat=3):
        x = torch.tensor([1, *seq[:-1]]).unsqueeze(1)
        scores, _ = lm(x)
        lp = torch.log_softmax(scores[:, 0], -1).gather(-1, torch.tensor(seq)[:, None]).sum().item()
        best = max(best or (lp, seq), (lp, seq))
    assert abs(found.log_probs[0, 0].item() - best[0]) <= TOL
    assert tuple(found.tokens[:, 0, 0].tolist()) == best[1] and found.lengths.tolist() == [[3] * 3] * 2
    pairs = rnnbook.date_pairs(6, generator=torch.Generator().manual_seed(0))
    V_src, V_tgt = len(rnnbook.DATE_SOURCE_CHARS) + 3, len(rnnbook.DATE_TARGET_CHARS) + 3
    model = build_seq2seq(V_src, V_tgt, hidden_size=8, embedding_dim=4, attention="bahdanau",
                          start_token=rnnbook.START, end_token=rnnbook.END)
    tokens, lengths, correct = decode(model, pairs, beam_width=2, max_steps=12, normalize="gnmt")
    assert tokens.shape[1] == 6 and correct.shape == (6,)


def test_bad_beam_arguments():
    model = model_of(None, False)
    src = torch.randint(3, 9, (4, 2))
    with pytest.raises(ValueError, match=re.escape("n_best must be <= beam_width = 2, got 3")):
        model.n_best(src, beam_width=2, n_best=3)
    with pytest.raises(ValueError, match=re.escape("normalize must be one of 'average', 'gnmt'; got 'mean'")):
        model.n_best(src, normalize="mean")
    with pytest.raises(ValueError, match=re.escape("alpha must be a real number >= 0, got -1")):
        length_penalty(3, "gnmt", alpha=-1)
    with pytest.raises(ValueError, match=re.escape("end_token must be a token id in [0, 5], got 9")):
        beam_search(model.decoder, torch.tensor([1]), beam_width=2, max_steps=3, end_token=9)
    with pytest.raises(ValueError, match=re.escape("first_tokens must be a 1-D (N,) tensor of token ids, got (1, 1)")):
        beam_search(model.decoder, torch.tensor([[1]]), beam_width=2, max_steps=3, end_token=2)
    with pytest.raises(TypeError, match=re.escape("beam_width must be an int, got 2.0 of type float")):
        model.n_best(src, beam_width=2.0)
