"""The number-words task: determinism, the length split, tokens that join back, padded batches."""

import re
import statistics

import pytest
import torch

import rnnbook
from rnnbook.helpers.data import END, PAD
from rnnbook.helpers.numbers import (join_number_tokens, load_number_pairs, number_tokens, number_words)


def test_every_row_tokenizes_and_joins_back():
    rows = number_words()
    assert len({n for n, _, _ in rows}) == 10_000 and max(n for n, _, _ in rows) < 10 ** 18
    for n, en, fr in rows:
        assert join_number_tokens(number_tokens(en, "en"), "en") == en
        assert join_number_tokens(number_tokens(fr, "fr"), "fr") == fr
    lengths = [len(number_tokens(en)) for _, en, _ in rows]
    assert min(lengths) == 1 and max(lengths) >= 40


def test_loading_is_deterministic():
    a, b = load_number_pairs("en", "fr"), load_number_pairs("en", "fr")
    for split in ("train", "valid", "test"):
        x, y = getattr(a, split), getattr(b, split)
        assert torch.equal(x.src, y.src) and torch.equal(x.tgt, y.tgt) and x.numbers == y.numbers
    assert a.src_vocab.tokens == b.src_vocab.tokens


@pytest.mark.parametrize("limit", [12, 30])
def test_the_split_by_length(limit):
    task = load_number_pairs("en", "fr", max_train_length=limit)
    train, valid, test = task.train, task.valid, task.test
    assert (len(valid), len(test)) == (500, 1000)
    assert int(train.src_lengths.max()) == limit
    assert int(test.src_lengths.max()) > limit and int(valid.src_lengths.max()) > limit
    assert statistics.median(test.src_lengths.tolist()) > statistics.median(train.src_lengths.tolist())
    assert not (set(train.numbers) & set(test.numbers)) and not (set(valid.numbers) & set(test.numbers))
    unlimited = load_number_pairs("en", "fr", max_train_length=None)
    assert len(unlimited.train) == 8500 and unlimited.test.numbers == test.numbers


def test_padded_batches_decode_to_the_pairs():
    task = load_number_pairs("en", "digits")
    pairs = task.test.subset(torch.tensor([3, 0, 7]))
    for j in range(3):
        n = pairs.numbers[j]
        ell = int(pairs.src_lengths[j])
        assert task.src_vocab.decode(pairs.src[:ell, j]) == pairs.sources[j]
        assert bool((pairs.src[ell:, j] == PAD).all())
        m = int(pairs.tgt_lengths[j])
        assert pairs.tgt[m - 1, j] == END and "".join(task.tgt_vocab.decode(pairs.tgt[:, j])) == str(n)
    assert pairs.src.shape[0] == int(pairs.src_lengths.max())


def test_a_seq2seq_model_trains_and_decodes_on_it():
    task = load_number_pairs("fr", "en", max_train_length=10)
    torch.manual_seed(0)
    model = rnnbook.build_seq2seq(len(task.src_vocab), len(task.tgt_vocab), hidden_size=16,
                                  embedding_dim=8, attention="bahdanau", start_token=rnnbook.START,
                                  end_token=rnnbook.END)
    losses = rnnbook.fit_seq2seq(model, task.train, 3, batch_size=8, generator=torch.Generator().manual_seed(0),
                                 progress=False)
    assert len(losses) == 3
    tokens, lengths, correct = rnnbook.decode(model, task.test.subset(torch.arange(4)), max_steps=8)
    assert tokens.shape == (8, 4) and correct.shape == (4,)


def test_bad_inputs():
    with pytest.raises(ValueError, match=re.escape("source must be one of 'en', 'fr', 'digits'; got 'de'")):
        load_number_pairs("de", "en")
    with pytest.raises(ValueError, match=re.escape("target must differ from source, got both 'en'")):
        load_number_pairs("en", "en")
    with pytest.raises(ValueError, match=re.escape("valid_size + test_size must be < 10000 (the pairs in the file), got 10000")):
        load_number_pairs(valid_size=5000, test_size=5000)
    with pytest.raises(ValueError, match=re.escape("text must be decimal digits for language='digits', got '1a'")):
        number_tokens("1a", "digits")
    with pytest.raises(ValueError, match=re.escape("tokens must be in the vocabulary; ['zwei'] are not")):
        load_number_pairs().src_vocab.encode(["zwei"])
