"""The n-gram and forecasting baselines."""

import math

import pytest
import torch

from rnnbook.helpers.baselines import (KneserNeyLM, autoregression_forecast, fit_autoregression,
                                       forecast_windows, seasonal_naive, unigram_bits)

TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog. " * 3


def test_unigram_bits_by_hand():
    # p(a) = (3 + 1) / (4 + 2), p(b) = (1 + 1) / 6
    expected = -(math.log2(4 / 6) + math.log2(2 / 6)) / 2
    assert unigram_bits("aaab", "ab", vocab_size=2) == pytest.approx(expected, abs=1e-15)
    assert unigram_bits([0, 0, 0, 1], torch.tensor([0, 1]), 2) == pytest.approx(expected, abs=1e-15)
    with pytest.raises(ValueError, match="vocab_size must be at least"):
        unigram_bits("abc", "ab", vocab_size=2)
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        unigram_bits("ab", "ab", 2, alpha=0)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_kneser_ney_is_a_distribution(order):
    vocab = sorted(set(TEXT)) + ["#", "%"]  # two symbols never seen
    lm = KneserNeyLM(order, len(vocab)).fit(TEXT)
    for context in ["", "t", "the", "xq#", "dog. a ", "%%%%"]:
        probs = [lm.prob(context, w) for w in vocab]
        assert min(probs) > 0
        assert sum(probs) == pytest.approx(1.0, abs=1e-12)


def test_kneser_ney_by_hand_for_order_2():
    # "abab": bigrams ab (2), ba (1); unigram continuation counts: b after a (1), a after b
    # (1), plus the text's first symbol 'a' once -> counts {a: 1, b: 1}, total 2
    lm = KneserNeyLM(2, vocab_size=3).fit("abab")
    d1, d2 = lm.discounts[1], lm.discounts[2]
    p1 = {w: max(c - d1, 0) / 2 + d1 * 2 / 2 / 3 for w, c in {"a": 1, "b": 1, "c": 0}.items()}
    # context 'a': followed by b twice, one distinct follower
    expected = (2 - d2) / 2 + d2 * 1 / 2 * p1["b"]
    assert lm.prob("a", "b") == pytest.approx(expected, abs=1e-15)
    assert lm.prob("c", "a") == pytest.approx(p1["a"], abs=1e-15)  # unseen context backs off


def test_kneser_ney_beats_the_unigram_and_orders_improve_on_repetitive_text():
    train, test = TEXT[:-40], TEXT[-40:]
    V = len(set(TEXT))
    bits = [KneserNeyLM(n, V).fit(train).bits(test) for n in (1, 2, 4)]
    assert bits[2] < bits[1] < bits[0] <= unigram_bits(train, test, V) + 0.5


def test_kneser_ney_bits_is_the_mean_of_minus_log2_p():
    lm = KneserNeyLM(3, 30).fit(TEXT)
    seq = "the cat"
    by_hand = -sum(math.log2(lm.prob(seq[:t], seq[t])) for t in range(1, len(seq))) / (len(seq) - 1)
    assert lm.bits(seq) == pytest.approx(by_hand, abs=1e-12)
    assert lm.bits([ord(c) for c in seq]) == pytest.approx(by_hand, abs=1e-12)


def test_kneser_ney_errors():
    with pytest.raises(RuntimeError, match="call fit"):
        KneserNeyLM(2, 3).bits("ab")
    with pytest.raises(ValueError, match="vocab_size must be at least"):
        KneserNeyLM(2, 2).fit("abc")
    with pytest.raises(TypeError, match="order must be an int"):
        KneserNeyLM(2.0, 3)
    with pytest.raises(TypeError, match="train must be a str"):
        KneserNeyLM(2, 3).fit([1.5])


def test_forecast_windows_and_seasonal_naive():
    s = torch.arange(30.0, dtype=torch.float64)
    x, y = forecast_windows(s, inputs=12, horizon=3)
    assert x.shape == (12, 16, 1) and y.shape == (16, 3)
    assert torch.equal(seasonal_naive(x, 3, period=12), y - 12)
    x, y = forecast_windows(s, 4, 1, starts=[0, 5])
    assert y[:, 0].tolist() == [4.0, 9.0]
    with pytest.raises(ValueError, match="starts must be"):
        forecast_windows(s, 4, 1, starts=[40])
    with pytest.raises(ValueError, match="period must lie in"):
        seasonal_naive(x, 1, period=5)
    with pytest.raises(TypeError, match="series must be a 1-D floating-point tensor"):
        forecast_windows(torch.arange(10), 2, 1)


def test_autoregression_recovers_a_linear_recurrence():
    # y_t = 0.5 y_{t-1} - 0.2 y_{t-2} + 1, noiseless: least squares finds it exactly
    y = [0.3, -0.1]
    for _ in range(60):
        y.append(0.5 * y[-1] - 0.2 * y[-2] + 1)
    x, target = forecast_windows(torch.tensor(y, dtype=torch.float64), inputs=2, horizon=1)
    A = fit_autoregression(x, target)
    assert torch.allclose(A[:, 0], torch.tensor([-0.2, 0.5, 1.0], dtype=torch.float64), atol=1e-9)
    assert torch.allclose(autoregression_forecast(A, x), target, atol=1e-9)
    with pytest.raises(ValueError, match="y must have shape"):
        fit_autoregression(x, target[:3])
