"""The traces: what is drawn is the data given, labelled by the characters read."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

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
