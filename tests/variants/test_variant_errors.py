"""Bad input to the variants: one test each."""

from __future__ import annotations

import re

import pytest
import torch

import rnnbook


from helpers import F64, rand

sig = torch.sigmoid


# ---------------------------------------------------------------- bad input, one test each
def test_periods_must_be_positive_ints():
    with pytest.raises(ValueError, match=re.escape("periods must contain only positive ints, got [1, 0, 4]")):
        rnnbook.ClockworkRNN(1, 6, periods=[1, 0, 4])


def test_periods_must_be_ints_not_floats():
    with pytest.raises(ValueError, match=re.escape("periods must contain only positive ints, got [1, 2.5]")):
        rnnbook.ClockworkRNN(1, 6, periods=[1, 2.5])


def test_hidden_size_divisible_by_modules():
    with pytest.raises(ValueError, match=re.escape(
            "hidden_size must be divisible by the number of modules (4), got hidden_size=10")):
        rnnbook.ClockworkRNN(1, 10, num_modules=4)


def test_num_modules_must_match_periods():
    with pytest.raises(ValueError, match=re.escape(
            "num_modules (3) must equal the number of periods, got 2 periods [1, 2]")):
        rnnbook.ClockworkRNN(1, 6, num_modules=3, periods=(1, 2))


def test_window_at_least_one():
    with pytest.raises(ValueError, match=re.escape("window must be >= 1, got 0")):
        rnnbook.QRNN(2, 3, window=0)


def test_unknown_pooling():
    with pytest.raises(ValueError, match=re.escape("pooling must be one of 'f', 'fo', 'ifo'; got 'io'")):
        rnnbook.QRNN(2, 3, pooling="io")


def test_unknown_sru_version():
    with pytest.raises(ValueError, match=re.escape("version must be one of '2018', '2017'; got '2019'")):
        rnnbook.SRU(2, 3, version="2019")


def test_variant_input_feature_size():
    with pytest.raises(ValueError, match=re.escape(
            "input must have 2 features (input_size) in its last dimension, got shape (5, 3)")):
        rnnbook.QRNN(2, 3, dtype=F64)(rand(5, 3))


def test_variant_state_shape():
    with pytest.raises(ValueError, match=re.escape(
            "c0 must have shape (1, 2, 3) = (num_layers, batch, hidden_size), got (1, 3, 3)")):
        rnnbook.SRU(2, 3, dtype=F64)(rand(4, 2, 2), rand(1, 3, 3))
