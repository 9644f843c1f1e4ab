"""Character language models: building at a parameter count, training, scoring, sampling."""

import math

import pytest
import torch

from rnnbook.helpers import lm
from rnnbook.helpers.data import CharVocab
from rnnbook.helpers.text import TBPTTBatches


@pytest.mark.parametrize("name", list(lm.LM_LAYERS))
def test_every_layer_builds_a_language_model_near_the_target(name):
    H = lm.hidden_size_for(name, 6000, vocab_size=20, embedding_dim=8)
    model = lm.char_lm(name, 20, H, embedding_dim=8)
    assert abs(lm.count_parameters(model) - 6000) < 0.05 * 6000
    scores, state = model(torch.zeros(7, 3, dtype=torch.long))
    assert scores.shape == (7, 3, 20)
    scores2, _ = model(torch.zeros(2, 3, dtype=torch.long), hx=state)  # the state carries on
    assert scores2.shape == (2, 3, 20)


def test_evaluate_bits_is_the_mean_cross_entropy_in_bits():
    torch.manual_seed(0)
    model = lm.char_lm("gru", 5, 6, embedding_dim=3)
    ids = torch.randint(5, (41,), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        scores, _ = model(ids[:-1, None])  # one column, one window: the whole stream
        nats = torch.nn.functional.cross_entropy(scores[:, 0], ids[1:]).item()
    assert lm.evaluate_bits(model, ids, batch_size=1, steps=7) == pytest.approx(nats / math.log(2), abs=1e-5)


def test_fit_lm_learns_a_cycle_and_carries_state():
    torch.manual_seed(0)
    ids = torch.arange(400) % 5
    model = lm.char_lm("lstm", 5, 16, embedding_dim=4)
    run = lm.fit_lm(model, TBPTTBatches(ids, 4, 10), 60, lr=1e-2, valid=ids[:100], every=30,
                    progress=False)
    assert len(run.train_bits) == 60 and [s for s, _ in run.valid] == [30, 60]
    assert run.valid[-1][1] < 1.0 < math.log2(5)  # log2(5) = 2.32: chance
    assert run.seconds > 0 and run.epochs == pytest.approx(60 / 10)


def test_sample_text_at_low_temperature_follows_the_model():
    torch.manual_seed(0)
    vocab = CharVocab("abcde")
    ids = torch.tensor(vocab.encode("abcde" * 80))
    model = lm.char_lm("gru", 5, 16, embedding_dim=4)
    lm.fit_lm(model, TBPTTBatches(ids, 4, 10), 80, lr=1e-2, progress=False)
    text = lm.sample_text(model, vocab, "abc", 10, 0.1, torch.Generator().manual_seed(0))
    assert text == "deabcdeabc"


def test_errors():
    with pytest.raises(ValueError, match="name must be one of"):
        lm.make_lm_layer("transformer", 4, 4)
    with pytest.raises(ValueError, match="multiple of 4"):
        lm.make_lm_layer("clockwork", 4, 6)
    model = lm.char_lm("rnn", 3, 4)
    with pytest.raises(ValueError, match="temperature must be a number > 0"):
        lm.sample_text(model, CharVocab("abc"), "a", 3, 0, torch.Generator())
    with pytest.raises(TypeError, match="batches must be a TBPTTBatches"):
        lm.fit_lm(model, [(0, 1)], 3)
    with pytest.raises(ValueError, match="give both valid and every"):
        lm.fit_lm(model, TBPTTBatches(torch.arange(30) % 3, 2, 4), 3, every=2)
    with pytest.raises(ValueError, match="weight_decay must be a number >= 0, got -1"):
        lm.fit_lm(model, TBPTTBatches(torch.arange(30) % 3, 2, 4), 3, weight_decay=-1)


def test_fit_lm_weight_decay_shrinks_the_weights():
    """With weight_decay the optimiser is AdamW: the same run ends with smaller weights."""
    ids = torch.arange(300) % 3
    norms = {}
    for decay in (None, 1.0):
        torch.manual_seed(0)
        model = lm.char_lm("rnn", 3, 8)
        lm.fit_lm(model, TBPTTBatches(ids, 4, 10), 40, lr=1e-2, weight_decay=decay, progress=False)
        norms[decay] = torch.cat([p.detach().flatten() for p in model.parameters()]).norm().item()
    assert norms[1.0] < 0.9 * norms[None]
