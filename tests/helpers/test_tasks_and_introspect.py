"""The adding-task helpers, last_step_mse, and the source/op-counting introspection."""

from __future__ import annotations

import re

import pytest
import torch

import rnnbook
from rnnbook.variants.scan import (linear_scan)


from helpers import F64, rand

sig = torch.sigmoid


def test_last_step_mse_reads_the_last_step():
    from rnnbook.helpers.train import last_step_mse

    model = rnnbook.NToN(rnnbook.MinGRU(2, 3, dtype=F64), 1, dtype=F64)
    x, y = rand(5, 4, 2), rand(4, 1)
    scores, _ = model(x)
    assert last_step_mse(model, x, y).item() == pytest.approx(((scores[-1] - y) ** 2).mean().item())


def test_last_step_mse_takes_an_n_to_one_output_as_the_last_step():
    from rnnbook.helpers.train import last_step_mse

    layer = rnnbook.MinGRU(2, 3, dtype=F64)
    per_step = rnnbook.NToN(layer, 2, dtype=F64)
    final = rnnbook.NToOne(layer, 2, dtype=F64)
    final.head.load_state_dict(per_step.head.state_dict())
    x, y = rand(5, 4, 2), rand(4, 2)
    assert final(x).shape == (4, 2)
    assert abs(last_step_mse(final, x, y) - last_step_mse(per_step, x, y)).item() <= 1e-12
    assert last_step_mse(final, x, y).item() == pytest.approx(((final(x) - y) ** 2).mean().item())


def test_last_step_mse_rejects_a_flat_target_for_an_n_to_one_model():
    from rnnbook.helpers.train import last_step_mse

    model = rnnbook.NToOne(rnnbook.MinGRU(2, 3, dtype=F64), 1, dtype=F64)
    with pytest.raises(ValueError, match=re.escape("y must have shape (4, 1) (the model's output "
                                                   "at the last step, (N, q)), got (4,)")):
        last_step_mse(model, rand(5, 4, 2), rand(4))


def test_last_step_mse_rejects_wrong_target_shape():
    from rnnbook.helpers.train import last_step_mse

    model = rnnbook.NToN(rnnbook.MinGRU(2, 3, dtype=F64), 1, dtype=F64)
    with pytest.raises(ValueError, match=re.escape("y must have shape (4, 1)")):
        last_step_mse(model, rand(5, 4, 2), rand(4))


def test_source_lines_finds_and_fails_loudly():
    from rnnbook.helpers.introspect import source_lines

    lines = source_lines(linear_scan, "d *= 2")
    assert lines == ["d *= 2"]
    with pytest.raises(ValueError, match="match no line"):
        source_lines(linear_scan, "no such line here")
    with pytest.raises(ValueError, match="at least one"):
        source_lines(linear_scan)


def test_count_torch_calls_grows_once_per_step_in_a_loop():
    from rnnbook.helpers.introspect import count_torch_calls

    from rnnbook.kernels import private

    rnn = rnnbook.RNN(2, 3)
    with private.disabled():  # the compiled loop, like torch's C++ one, makes no torch call per step
        c = {T: count_torch_calls(rnn, torch.randn(T, 1, 2)) for T in (4, 8, 9)}
    per_step = c[9] - c[8]
    assert per_step > 0 and c[8] - c[4] == 4 * per_step
    with pytest.raises(TypeError, match="fn must be callable"):
        count_torch_calls(3)


def test_source_lines_rejects_a_non_string_needle():
    from rnnbook.helpers.introspect import source_lines

    with pytest.raises(TypeError, match="needles must be non-empty strings, got 3"):
        source_lines(linear_scan, 3)


def test_fit_adding_task_draws_its_own_data_and_scores():
    from rnnbook.helpers.train import fit_adding_task

    torch.manual_seed(0)
    model = rnnbook.NToN(rnnbook.MinGRU(2, 3), 1)
    state = torch.get_rng_state()
    run = fit_adding_task(model, seed=1, batches=3, batch=4, steps=6, test_size=5)
    assert torch.equal(torch.get_rng_state(), state)      # the global generator untouched
    assert len(run.history) == 3 and run.targets.shape == (3 * 4 + 5, 1)
    y_test = run.targets[-5:]
    assert run.mean_mse == pytest.approx((y_test - 1).pow(2).mean().item())
    gen = torch.Generator().manual_seed(1)
    first = rnnbook.adding_problem(4, 6, generator=gen)[1]
    assert torch.equal(run.targets[:4], first[:, None])


def test_fit_adding_task_rejects_a_bad_seed():
    from rnnbook.helpers.train import fit_adding_task

    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        fit_adding_task(rnnbook.NToN(rnnbook.MinGRU(2, 3), 1), seed=-1)
