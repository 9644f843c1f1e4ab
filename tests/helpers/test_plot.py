"""The cell diagrams: the graph each one draws says what the equations say."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rnnbook.helpers import plot  # noqa: E402


@pytest.mark.parametrize("kind", plot.CELL_KINDS)
def test_cell_diagram_every_output_is_reached_from_every_input(kind):
    d = plot.cell_diagram(kind)
    inputs = ["h_prev", "x"] + (["c_prev"] if kind == "lstm" else [])
    for source in inputs:
        assert d.paths(source, "h"), f"{kind}: no path from {source} to h"
    assert set(d.kinds.values()) <= {"io", "layer", "pointwise"}
    plt.close(d.figure)


def test_only_the_gated_cells_have_a_path_without_weights():
    def weight_free(kind, source, target):
        d = plot.cell_diagram(kind)
        found = [p for p in d.paths(source, target) if all(d.kinds[n] == "pointwise" for n in p[1:-1])]
        plt.close(d.figure)
        return found

    assert weight_free("rnn", "h_prev", "h") == []
    assert weight_free("gru", "h_prev", "h") == [["h_prev", "mul_z", "add", "h"]]
    assert weight_free("lstm", "c_prev", "c") == [["c_prev", "mul_f", "add", "c"]]


def test_cell_diagram_rejects_unknown_kind_and_paths_unknown_nodes():
    with pytest.raises(ValueError, match="kind must be one of 'rnn', 'gru', 'lstm'; got 'elman'"):
        plot.cell_diagram("elman")
    d = plot.cell_diagram("rnn")
    with pytest.raises(ValueError, match="no node 'c_prev' in the diagram"):
        d.paths("c_prev", "h")
    plt.close(d.figure)


def test_attention_heatmap_stands_word_labels_upright():
    """Characters stay level; words turn upright so that long ones cannot overlap."""
    import torch

    weights = torch.full((2, 3), 1 / 3)
    chars = plot.attention_heatmap(weights, ["2", "0", "1"], ["a", "b"])
    words = plot.attention_heatmap(weights, ["eighty", "hundred", "and"], ["a", "b"])
    assert {t.get_rotation() for t in chars.get_xticklabels()} == {0.0}
    assert {t.get_rotation() for t in words.get_xticklabels()} == {90.0}
    plt.close("all")
