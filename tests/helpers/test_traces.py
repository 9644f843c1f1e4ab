"""The traces: what is drawn is the data given, labelled by the characters read."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnbook  # noqa: E402
from rnnbook.helpers import traces  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_gate_heatmap_draws_the_chosen_units_over_the_characters():
    values = torch.rand(5, 4, generator=torch.Generator().manual_seed(0))
    ax = traces.gate_heatmap(values, "a b\nc", units=[3, 1], title="update gate")
    assert np.array_equal(ax.images[0].get_array(), values[:, [3, 1]].T.double().numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "␣", "b", "\\n", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["unit 3", "unit 1"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("character", "unit", "update gate")
    assert ax.images[0].get_clim() == (0.0, 1.0)
    assert len(ax.figure.axes) == 2  # the heatmap and its colour bar
    ax = traces.gate_heatmap(values.numpy(), list("abcde"), colorbar=False, vmin=-1.0)
    assert len(ax.figure.axes) == 1 and ax.images[0].get_clim() == (-1.0, 1.0)
    assert ax.images[0].get_array().shape == (4, 5)


def test_gate_heatmap_draws_on_the_axes_it_is_given():
    fig, (left, right) = plt.subplots(1, 2)
    assert traces.gate_heatmap(np.zeros((2, 3)), "ab", ax=right, colorbar=False) is right
    assert len(right.images) == 1 and len(left.images) == 0


@pytest.mark.parametrize("values, chars, kwargs, error, match", [
    (np.zeros((3, 2)), "ab", {}, ValueError, "values has 3 time steps .* but chars has 2"),
    (np.zeros(3), "abc", {}, ValueError, r"2-D \(T, H\)"),
    (np.full((2, 2), np.nan), "ab", {}, ValueError, "NaN"),
    (np.zeros((2, 2)), "ab", {"units": [2]}, ValueError, r"indices in \[0, 2\)"),
    (np.zeros((2, 2)), "ab", {"units": "01"}, TypeError, "units must be a non-empty list"),
    (np.zeros((2, 2)), 12, {}, TypeError, "chars must be a str or a list of str"),
    (np.zeros((2, 2)), "ab", {"vmin": 1.0, "vmax": 1.0}, ValueError, "vmin must be below vmax"),
    ("ab", "ab", {}, TypeError, r"values must be a \(T, H\) tensor"),
])
def test_gate_heatmap_refuses_bad_input(values, chars, kwargs, error, match):
    with pytest.raises(error, match=match):
        traces.gate_heatmap(values, chars, **kwargs)


def test_hidden_state_plot_draws_one_curve_per_unit():
    states = torch.tanh(torch.linspace(-2, 2, 18).reshape(6, 3))
    ax = traces.hidden_state_plot(states)
    assert [line.get_label() for line in ax.lines] == ["unit 0", "unit 1", "unit 2"]
    for k, line in enumerate(ax.lines):
        assert line.get_xdata().tolist() == [1, 2, 3, 4, 5, 6]
        assert np.allclose(line.get_ydata(), states[:, k].double().numpy(), atol=0)
    assert ax.get_xlabel() == "time step $t$"
    ax = traces.hidden_state_plot(states, chars="hello!", units=[2], title="h")
    assert [t.get_text() for t in ax.get_xticklabels()] == list("hello!")
    assert ax.get_xlabel() == "character read" and len(ax.lines) == 1


def test_hidden_state_plot_refuses_too_many_curves_and_bad_input():
    with pytest.raises(ValueError, match="pick at most 10 with units"):
        traces.hidden_state_plot(np.zeros((4, 11)))
    traces.hidden_state_plot(np.zeros((4, 11)), units=list(range(10)))
    with pytest.raises(ValueError, match="states has 4 time steps .* but chars has 3"):
        traces.hidden_state_plot(np.zeros((4, 2)), chars="abc")
    with pytest.raises(ValueError, match=r"states must be a non-empty 2-D"):
        traces.hidden_state_plot(np.zeros((0, 2)))


F64 = torch.float64


LSTMS = [lambda: torch.nn.LSTM(3, 5, num_layers=2, dtype=F64), lambda: rnnbook.LSTM(3, 5, num_layers=2, dtype=F64),
         lambda: rnnbook.LSTM(3, 5, num_layers=2, bias=False, dtype=F64)]
GRUS = [lambda: torch.nn.GRU(3, 5, num_layers=2, dtype=F64), lambda: rnnbook.GRU(3, 5, num_layers=2, dtype=F64),
        lambda: rnnbook.GRU(3, 5, num_layers=2, dtype=F64, reset_after=False)]


@pytest.mark.parametrize("make, trace", [(m, traces.lstm_gates) for m in LSTMS] + [(m, traces.gru_gates) for m in GRUS])
def test_traced_gates_rebuild_the_layers_output(make, trace):
    torch.manual_seed(0)
    layer, x = make(), torch.randn(7, 3, dtype=F64)
    out, state = layer(x)
    h_n = state[0] if isinstance(state, tuple) else state
    gates = trace(layer, x, layer=1)
    assert torch.allclose(gates["h"], out, atol=1e-12, rtol=0)
    assert torch.allclose(trace(layer, x)["h"][-1], h_n[0], atol=1e-12, rtol=0)  # layer 0's last state
    zero = torch.zeros(1, 5, dtype=F64)
    if trace is traces.lstm_gates:
        assert torch.allclose(gates["c"][-1], state[1][1], atol=1e-12, rtol=0)
        assert all(((gates[name] > 0) & (gates[name] < 1)).all() for name in "ifo")
        # the recorded memory obeys c_t = f_t c_{t-1} + i_t g_t
        c_prev = torch.cat([zero, gates["c"][:-1]])
        assert torch.allclose(gates["c"], gates["f"] * c_prev + gates["i"] * gates["g"], atol=1e-15)
    else:
        h_prev = torch.cat([zero, gates["h"][:-1]])
        assert torch.allclose(gates["h"], (1 - gates["z"]) * gates["n"] + gates["z"] * h_prev, atol=1e-15)


@pytest.mark.parametrize("module, x, kwargs, error, match", [
    (torch.nn.LSTM(3, 4, bidirectional=True), torch.zeros(5, 3), {}, ValueError, "one direction"),
    (torch.nn.LSTM(3, 4, proj_size=2), torch.zeros(5, 3), {}, ValueError, "without a projection"),
    (rnnbook.PeepholeLSTM(3, 4), torch.zeros(5, 3), {}, ValueError, "peephole"),
    (torch.nn.LSTM(3, 4), torch.zeros(5, 1, 3), {}, ValueError, r"one sequence \(T, H_in\), got \(5, 1, 3\)"),
    (torch.nn.LSTM(3, 4), torch.zeros(5, 2), {}, ValueError, "x has 2 features but the layer takes 3"),
    (torch.nn.LSTM(3, 4), torch.zeros(5, 3), {"layer": 1}, ValueError, r"layer must be an int in \[0, 1\)"),
    (torch.nn.GRU(3, 4), torch.zeros(5, 3), {}, ValueError, "an LSTM of rnnbook or torch.nn"),
    (lambda x: x, torch.zeros(5, 3), {}, TypeError, "must be a torch.nn.Module"),
])
def test_lstm_gates_refuse_what_they_cannot_trace(module, x, kwargs, error, match):
    with pytest.raises(error, match=match):
        traces.lstm_gates(module, x, **kwargs)
    if isinstance(module, torch.nn.LSTM) and module.bidirectional:
        with pytest.raises(ValueError, match="one direction"):
            traces.gru_gates(torch.nn.GRU(3, 4, bidirectional=True), x)


def test_lm_curve_draws_training_validation_and_each_baseline():
    run = rnnbook.LMRun(train_bits=[5.0, 4.0, 3.0, 2.0], valid=[(2, 3.5), (4, 2.5)])
    ax = traces.lm_curve(run, {"unigram": 4.7, "3-gram": 2.5}, smooth=2)
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["training (moving average of 2)", "validation", "unigram", "3-gram"]
    assert ax.lines[0].get_ydata().tolist() == [4.5, 3.5, 2.5]      # moving average of 2
    assert ax.lines[1].get_xydata().tolist() == [[2.0, 3.5], [4.0, 2.5]]
    assert list(ax.lines[3].get_ydata()) == [2.5, 2.5]
    assert ax.get_ylabel() == "bits per character"
    _, given = plt.subplots()
    assert traces.lm_curve(run, {}, ax=given) is given


@pytest.mark.parametrize("run, baselines, match", [
    (rnnbook.LMRun(train_bits=[1.0]), {}, "run must be an LMRun with training losses and validation"),
    ([1.0, 2.0], {}, "run must be an LMRun"),
    (rnnbook.LMRun(train_bits=[1.0], valid=[(1, 1.0)]), [4.7], "baselines must be a dict"),
    (rnnbook.LMRun(train_bits=[1.0], valid=[(1, 1.0)]), {"unigram": "4.7"}, "baselines must be a dict"),
])
def test_lm_curve_refuses_bad_input(run, baselines, match):
    with pytest.raises(TypeError, match=match):
        traces.lm_curve(run, baselines)


def test_forecast_plot_draws_every_chosen_forecast_where_it_belongs():
    t = np.arange(20.0)
    y = np.sin(t)
    W, M = 6, 3                                    # origins 12..17: the last forecast ends at 19
    a, b = np.arange(W * M, dtype=float).reshape(W, M), -np.ones((W, M))
    ax = traces.forecast_plot(t, y, {"a": a, "b": torch.tensor(b)}, first=12, every=2,
                              shown_from=8, ylabel="ppm")
    assert ax.lines[0].get_xydata().tolist() == [[float(i), float(np.sin(i))] for i in range(8, 20)]
    drawn = ax.lines[1:-1]
    assert len(drawn) == 2 * 3                     # rows 0, 2, 4 of each model
    assert drawn[1].get_xydata().tolist() == [[14.0, 6.0], [15.0, 7.0], [16.0, 8.0]]   # a, row 2
    assert [line.get_linestyle() for line in (drawn[0], drawn[3])] == [":", "--"]
    assert [line.get_label() for line in drawn] == ["a"] + ["_nolegend_"] * 2 + ["b"] + ["_nolegend_"] * 2
    assert ax.lines[-1].get_xdata()[0] == 11.5     # where the forecasts begin
    assert ax.get_ylabel() == "ppm"
    plt.close(ax.figure)


@pytest.mark.parametrize("forecasts, kwargs, error, match", [
    ({}, {"first": 5}, TypeError, "forecasts must be a non-empty dict"),
    ({"a": np.zeros((3, 2))}, {"first": 0}, ValueError, r"first must be an index in \[1, 9\]"),
    ({"a": np.zeros((3, 2))}, {"first": 5, "every": 0}, ValueError, "every must be a positive int"),
    ({"a": np.zeros((5, 2))}, {"first": 5}, ValueError, r"must be \(W, M\) with first \+ W \+ M - 1 <= 10"),
    ({"a": np.zeros(3)}, {"first": 5}, ValueError, r"must be \(W, M\)"),
])
def test_forecast_plot_refuses_bad_input(forecasts, kwargs, error, match):
    with pytest.raises(error, match=match):
        traces.forecast_plot(np.arange(10.0), np.arange(10.0), forecasts, **kwargs)
