"""The corpus loader: splits, vocabularies and the truncated-BPTT batches."""

import pytest
import torch

from rnnbook.helpers.text import (TBPTTBatches, WordVocab, load_python_docs, python_docs,
                                  split_text, tokenize_words)


@pytest.fixture(scope="module")
def splits():
    return load_python_docs()


def test_the_corpus(splits):
    text = python_docs()
    assert len(text) == 465_048 and len(splits.vocab) == 103
    assert splits.train + splits.valid + splits.test == text
    assert (len(splits.train), len(splits.valid), len(splits.test)) == (418_543, 23_253, 23_252)
    assert text.startswith('The "assert" statement')


def test_ids_round_trip(splits):
    ids = splits.ids("valid")
    assert ids.dtype == torch.long and splits.vocab.decode(ids) == splits.valid
    with pytest.raises(ValueError, match="split must be one of"):
        splits.ids("dev")


def test_split_text_errors():
    with pytest.raises(TypeError, match="text must be a non-empty str"):
        split_text("")
    with pytest.raises(ValueError, match="summing to 1"):
        split_text("abcdef", (0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="empty piece"):
        split_text("abc", (0.9, 0.05, 0.05))


def test_word_vocabulary(splits):
    tokens = tokenize_words(splits.train)
    vocab = WordVocab(tokens, min_count=3)
    assert vocab.words[0] == "<unk>"
    assert [w for w in vocab.words if w.isalpha()][0] == "the"
    assert all(vocab.counts[w] >= 3 for w in vocab.words[1:])
    counts = [vocab.counts[w] for w in vocab.words[1:]]
    assert counts == sorted(counts, reverse=True)
    valid = tokenize_words(splits.valid)
    assert 0.9 < vocab.coverage(valid) < 1
    assert vocab.decode(vocab.encode(["the", "zzzzq"])) == ["the", "<unk>"]
    assert len(WordVocab(tokens, max_size=50)) == 50
    with pytest.raises(TypeError, match="tokens must be a list of str"):
        WordVocab("the cat")
    with pytest.raises(ValueError, match="min_count must be >= 1"):
        WordVocab(tokens, min_count=0)


def test_tbptt_batches_cover_every_target_once():
    ids = torch.arange(103)
    b = TBPTTBatches(ids, batch_size=4, steps=7)
    assert b.data.shape == (25, 4)
    assert torch.equal(b.data[:, 1], torch.arange(25, 50))
    ys = torch.cat([y for _, y in b])
    assert ys.shape == (24, 4) and b.targets == 96
    assert torch.equal(ys, b.data[1:])
    for x, y in b:  # y is the next character of x, column by column
        assert torch.equal(x + 1, y)
    assert len(b) == 4 and b[3][0].shape == (3, 4)


def test_tbptt_batches_errors():
    with pytest.raises(TypeError, match="ids must be a 1-D integer tensor"):
        TBPTTBatches(torch.zeros(10), 2, 3)
    with pytest.raises(ValueError, match="at least 2 \\* batch_size"):
        TBPTTBatches(torch.arange(5), 4, 3)
    with pytest.raises(IndexError, match="window index"):
        TBPTTBatches(torch.arange(20), 2, 3)[9]
