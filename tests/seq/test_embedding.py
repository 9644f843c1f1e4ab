"""rnnbook.embedding, the structures' plots and the data helpers of the embedding chapter."""

import math
import re

import matplotlib
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

import rnnbook  # noqa: E402
from rnnbook.helpers.data import CharVocab, collapse_task, max_task, toy_grammar, zen_of_python  # noqa: E402
from rnnbook.seq.embedding import (embed_by_one_hot, input_costs, nearest_neighbour_agreement,  # noqa: E402
                                   pca_2d, unigram_perplexity, within_between)
from rnnbook.seq.padding import pad_sequences  # noqa: E402
from rnnbook.seq.structures import TokenInput  # noqa: E402

F64 = torch.float64


def test_embedding_lookup_equals_one_hot_times_weight_values_and_gradients():
    emb = nn.Embedding(11, 5, dtype=F64)
    w = emb.weight.detach().clone().requires_grad_(True)
    tokens = torch.randint(11, (4, 3))
    a, b = emb(tokens), embed_by_one_hot(tokens, w)
    assert torch.equal(a, b)
    g = torch.randn_like(a)
    (a * g).sum().backward()
    (b * g).sum().backward()
    assert (emb.weight.grad - w.grad).abs().max() <= 1e-15


def test_token_input_one_hot_is_an_embedding_with_the_identity_table():
    one_hot = TokenInput(6, encoding="one_hot", dtype=F64)
    emb = TokenInput(6, 6, dtype=F64)
    with torch.no_grad():
        emb.embedding.weight.copy_(torch.eye(6, dtype=F64))
    tokens = torch.randint(6, (3, 2))
    assert torch.equal(one_hot(tokens), emb(tokens))
    assert one_hot(tokens).dtype == F64 and len(list(one_hot.parameters())) == 0


def test_input_costs_match_real_modules():
    c = input_costs(vocab_size=20, embedding_dim=4, hidden_size=7, steps=3, batch=2, bytes_per_number=8)
    assert c["one_hot"].parameters == rnnbook.RNN(20, 7).weight_ih_l0.numel()
    assert c["embedding"].parameters == 20 * 4 + rnnbook.RNN(4, 7).weight_ih_l0.numel()
    assert c["one_hot"].input_floats == 3 * 2 * 20 and c["embedding"].input_floats == 3 * 2 * 4
    assert c["one_hot"].bytes == 8 * (140 + 120) and c["embedding"].multiply_adds == 3 * 2 * 4 * 7


def test_pca_2d_matches_eigendecomposition_and_nearest_neighbours():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[5.0, 0, 0, 0], [-5.0, 0, 0, 0], [0, 5.0, 0, 0]], dtype=F64)
    groups = [0, 0, 0, 1, 1, 1, 2, 2, 2]
    x = centres[groups] + 0.1 * torch.randn(9, 4, generator=g, dtype=F64)
    coords, kept = pca_2d(x)
    centred = x - x.mean(0)
    evals, evecs = torch.linalg.eigh(centred.T @ centred)
    assert torch.allclose(coords.abs(), (centred @ evecs[:, [3, 2]]).abs(), atol=1e-10)
    assert torch.allclose(kept, evals[[3, 2]] / evals.sum(), atol=1e-12)
    assert nearest_neighbour_agreement(x, groups) == 1.0
    assert nearest_neighbour_agreement(x, [0, 1, 2] * 3) == 0.0


def test_within_between_against_a_literal_pair_loop():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(7, 3, generator=g, dtype=F64)
    groups = ["a", "a", "b", "b", "b", "c", "a"]
    within, between = [], []
    for i in range(7):
        for j in range(7):
            if i != j:
                d = math.dist(x[i].tolist(), x[j].tolist())
                (within if groups[i] == groups[j] else between).append(d)
    expected = (sum(within) / len(within)) / (sum(between) / len(between))
    assert math.isclose(within_between(x, groups), expected, rel_tol=1e-12)
    centres = torch.tensor([[5.0, 0], [-5.0, 0]], dtype=F64)
    tight = centres[[0, 0, 1, 1]] + 0.01 * torch.randn(4, 2, generator=g, dtype=F64)
    assert within_between(tight, [0, 0, 1, 1]) < 0.01
    assert within_between(tight, [0, 1, 1, 0]) > 1.9  # within: 10 apart; between: 0 or 10


def test_within_between_refuses_bad_groups():
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="groups must have one entry per row"):
        within_between(x, [0, 1])
    with pytest.raises(ValueError, match="at least 2 rows and at least 2 groups"):
        within_between(x, [0, 1, 2])


def test_unigram_perplexity_of_a_uniform_text_is_the_vocabulary_size():
    assert math.isclose(unigram_perplexity([0, 1, 2, 3] * 5, [0, 1, 2, 3], 4), 4.0)
    # add-one smoothing: an unseen symbol has probability 1 / (n + V)
    assert math.isclose(unigram_perplexity([0, 0], [1], 2), 4.0)


def test_rnn_structure_diagrams_and_embedding_map():
    for kind in rnnbook.helpers.plot.STRUCTURE_KINDS:
        d = rnnbook.helpers.plot.rnn_structure(kind, 3, 2)
        assert d.nodes and d.edges
    d = rnnbook.helpers.plot.rnn_structure("n_to_m", 4, 2)
    assert d.edges_labelled("c") == [("h_4", "s_1")] and len(d.edges_labelled("W_so")) == 2
    ax = rnnbook.helpers.plot.embedding_map(torch.zeros(3, 2), ["a", "b", "c"], ["x", "x", "y"])
    assert len(ax.collections) == 2
    matplotlib.pyplot.close("all")


def test_data_helpers():
    x, lengths = pad_sequences([[1, 2, 3], [4]], pad=9)
    assert x.tolist() == [[1, 4], [2, 9], [3, 9]] and lengths.tolist() == [3, 1]
    zen = zen_of_python()
    assert zen.startswith("The Zen of Python, by Tim Peters") and len(zen) == 856
    vocab = CharVocab(zen)
    assert vocab.decode(vocab.encode("Beautiful")) == "Beautiful"
    g = torch.Generator().manual_seed(0)
    sentence = toy_grammar(1, generator=g)[0]
    assert sentence[-1] == "." and sentence[0] in ("the", "a")
    x, lengths, y = max_task(5, 2, 6, 8, generator=g)
    for n in range(5):
        assert y[n] == x[: lengths[n], n].max()
    src, tgt = collapse_task(20, 2, 7, generator=g)
    for s, t in zip(src, tgt, strict=True):
        assert all(a != b for a, b in zip(t, t[1:])) and len(t) <= len(s)


def test_bad_input_of_the_embedding_helpers():
    with pytest.raises(ValueError, match=re.escape("tokens must be token ids in [0, 3] (vocab_size=4), got values in [0, 4]")):
        embed_by_one_hot(torch.tensor([0, 4]), torch.zeros(4, 2))
    with pytest.raises(ValueError, match=re.escape("vocab_size must be >= 1, got 0")):
        input_costs(0, 4, 8, 2, 2)
    with pytest.raises(ValueError, match=re.escape("embedding_dim must be given (an int >= 1) for encoding='embedding'")):
        TokenInput(5)
    with pytest.raises(ValueError, match=re.escape("text holds characters not in the vocabulary: ['z']")):
        CharVocab("abc").encode("abz")
    with pytest.raises(ValueError, match=re.escape("kind must be one of 'n_to_n', 'n_to_1', '1_to_n', 'n_to_m'; got 'n_to_2'")):
        rnnbook.helpers.plot.rnn_structure("n_to_2")
