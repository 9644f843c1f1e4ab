"""word2vec (skip-gram with negative sampling): the loss and its closed-form gradients, the noise
distribution, pairs, subsampling, training, and neighbours on a corpus where they are known."""

import math
import re

import pytest
import torch

import rnnbook
from rnnbook.seq.embedding import nearest_neighbours
from rnnbook.seq.word2vec import (SkipGram, noise_distribution, sgns_gradients, sgns_loss, skipgram_pairs,
                                  subsample, train_word2vec)

F64 = torch.float64


def test_loss_by_hand_and_gradients_equal_autograd_and_gradcheck():
    torch.manual_seed(0)
    B, K, d = 3, 4, 5
    v = torch.randn(B, d, dtype=F64, requires_grad=True)
    u = torch.randn(B, d, dtype=F64, requires_grad=True)
    n = torch.randn(B, K, d, dtype=F64, requires_grad=True)
    loss = sgns_loss(v, u, n)
    v_, u_, n_ = v.detach(), u.detach(), n.detach()
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    by_hand = -sum(math.log(sig(float(u_[b] @ v_[b]))) + sum(math.log(sig(-float(n_[b, k] @ v_[b]))) for k in range(K))
                   for b in range(B)) / B
    assert abs(loss.item() - by_hand) <= 1e-12
    loss.backward()
    closed = sgns_gradients(v.detach(), u.detach(), n.detach())
    for auto, mine in zip((v.grad, u.grad, n.grad), closed, strict=True):
        assert (auto * B - mine).abs().max() <= 1e-12
    assert torch.autograd.gradcheck(sgns_loss, (v, u, n))


def test_noise_distribution_is_the_unigram_to_the_three_quarters():
    counts = torch.tensor([81, 16, 1, 0])
    p = noise_distribution(counts)
    expected = torch.tensor([27.0, 8.0, 1.0, 0.0], dtype=F64) / 36
    assert (p - expected).abs().max() <= 1e-15
    # the draws follow it
    draws = torch.multinomial(p, 200_000, replacement=True, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(draws, minlength=4).double() / 200_000
    assert (freq - p).abs().max() < 0.005


def test_pairs_and_subsampling():
    c, o = skipgram_pairs(torch.tensor([1, 2, 3, 4]), window=2)
    assert sorted(zip(c.tolist(), o.tolist())) == sorted(
        [(1, 2), (2, 3), (3, 4), (2, 1), (3, 2), (4, 3), (1, 3), (2, 4), (3, 1), (4, 2)])
    ids = torch.tensor([0] * 9000 + [1] * 1000)
    kept = subsample(ids, torch.bincount(ids), t=0.01, generator=torch.Generator().manual_seed(0))
    # keep probability min(1, sqrt(t / f)): sqrt(0.01 / 0.9) = 0.105, sqrt(0.01 / 0.1) = 0.316
    assert abs((kept == 0).sum().item() / 9000 - math.sqrt(0.01 / 0.9)) < 0.02
    assert abs((kept == 1).sum().item() / 1000 - math.sqrt(0.01 / 0.1)) < 0.05


def tiny_corpus(n_sentences=400, seed=0):
    """Two worlds that share no context: animals eat and sleep, colours shine and fade."""
    g = torch.Generator().manual_seed(seed)
    words = ["cat", "dog", "cow", "eats", "sleeps", "runs", "red", "blue", "green", "shines", "fades", "glows"]
    ids = []
    for _ in range(n_sentences):
        world = int(torch.randint(2, (1,), generator=g))
        subject = 6 * world + int(torch.randint(3, (1,), generator=g))
        verb = 6 * world + 3 + int(torch.randint(3, (1,), generator=g))
        ids += [subject, verb]
    return torch.tensor(ids), words


def test_training_lowers_the_loss_and_finds_the_known_neighbours():
    ids, words = tiny_corpus()
    run = train_word2vec(ids, len(words), dim=10, window=1, negatives=3, steps=300, batch_size=64,
                         lr=0.05, seed=0)
    first, last = sum(run.losses[:20]) / 20, sum(run.losses[-20:]) / 20
    assert last < 0.8 * first
    # every animal's nearest neighbours are the other two animals; every colour's, the colours
    for w in (0, 1, 2, 6, 7, 8):
        near, _ = nearest_neighbours(run.model.v.weight, [w], k=2)
        group = range(0, 3) if w < 3 else range(6, 9)
        assert set(near[0].tolist()) == set(group) - {w}, (words[w], [words[i] for i in near[0]])
    again = train_word2vec(ids, len(words), dim=10, window=1, negatives=3, steps=300, batch_size=64,
                           lr=0.05, seed=0)
    assert again.losses == run.losses                      # seeded


def test_trains_on_the_python_docs_words():
    from rnnbook.helpers.text import WordVocab, load_python_docs, tokenize_words

    words = [w for w in tokenize_words(load_python_docs().valid) if w.isalpha()]
    vocab = WordVocab(words, min_count=3)
    ids = torch.tensor(vocab.encode(words))
    run = train_word2vec(ids, len(vocab), dim=16, window=2, steps=60, batch_size=256, lr=0.02,
                         subsample_t=1e-3, ignore=(0,), seed=0)
    assert sum(run.losses[-10:]) < sum(run.losses[:10])


def test_nearest_neighbours_by_hand_and_bad_inputs():
    E = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.5, 2.0], [-3.0, 0.0]], dtype=F64)
    ids, sims = nearest_neighbours(E, torch.tensor([1, 3]), k=3)
    assert ids.tolist() == [[2, 0, 3], [2, 1, 0]]
    # cos((1, 1), (0.5, 2)) = 2.5 / (sqrt 2 sqrt 4.25); cos((-3, 0), (1, 0)) = -1
    assert abs(sims[0, 0].item() - 2.5 / math.sqrt(2 * 4.25)) <= 1e-15 and sims[1, 2].item() == -1.0
    with pytest.raises(ValueError, match=re.escape("queries must be row ids in [0, 3], got [4]")):
        nearest_neighbours(E, [4])
    with pytest.raises(ValueError, match=re.escape("k must be < the 4 rows of weight, got 4")):
        nearest_neighbours(E, [0], k=4)
    with pytest.raises(ValueError, match=re.escape("ids must lie in [0, 2] (vocab_size), got [0, 5]")):
        train_word2vec(torch.tensor([0, 5]), 3)
    with pytest.raises(ValueError, match=re.escape("ids must be a non-empty 1-D integer tensor of word ids, got (2, 2)")):
        skipgram_pairs(torch.zeros(2, 2, dtype=torch.long), 1)
    with pytest.raises(ValueError, match=re.escape("counts must be a 1-D tensor of non-negative word counts, not all 0")):
        noise_distribution(torch.tensor([0, 0]))
    with pytest.raises(ValueError, match=re.escape("vocab_size must be >= 2, got 1")):
        SkipGram(1, 3)
