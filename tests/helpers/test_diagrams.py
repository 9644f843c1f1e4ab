"""The diagrams of what happens inside: each graph says what its equations say, and the paths
the BPTT picture marks are the terms the chain rule sums."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from rnnbook.helpers import diagrams, plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _arrows(d):
    return [p for p in d.figure.axes[0].patches if isinstance(p, FancyArrowPatch)]


def test_lstm_stages_grow_in_place_one_step_of_the_notes_at_a_time():
    added = {2: {"c_prev", "add", "c"}, 3: {"u", "mul_u"}, 4: {"f", "mul_f"},
             5: {"a_prev", "a", "o", "tanh_c", "mul_o"}}
    stages = {k: diagrams.lstm_stage_diagram(k) for k in diagrams.LSTM_STAGES}
    assert stages[1].marked_nodes == set() and stages[1].marked_edges == set()
    for k in range(2, 6):
        d, before = stages[k], stages[k - 1]
        assert d.marked_nodes == added[k] == set(d.nodes) - set(before.nodes)
        renamed = {"h_prev": "a_prev", "h_out": "a"} if k == 5 else {}
        assert {renamed.get(n, n) for n in before.nodes} <= set(d.nodes)
        for name in before.nodes:  # every node keeps its place
            assert d.nodes[renamed.get(name, name)] == before.nodes[name]
        assert d.marked_edges <= {(s, t) for s, t, _ in d.edges}
        assert d.figure.axes[0].get_xlim() == before.figure.axes[0].get_xlim()
    for d in stages.values():
        assert len(_arrows(d)) == len(d.edges)  # one arrow drawn per edge of the graph
        thick = [a for a in _arrows(d) if a.get_linewidth() > 1.5]
        assert len(thick) == len(d.marked_edges)


def test_each_lstm_stage_has_the_paths_its_equation_has():
    s1, s2, s3, s4, s5 = (diagrams.lstm_stage_diagram(k) for k in range(1, 6))
    assert "c" not in s1.nodes and s1.paths("h_prev", "h_out") == [["h_prev", "h", "h_out"]]
    # step 2: c_t = c_{t-1} + h_t, every h_t written whole
    assert s2.paths("c_prev", "c") == [["c_prev", "add", "c"]] and s2.paths("h", "c") == [["h", "add", "c"]]
    # step 3: the update gate scales what is written, the old memory still passes whole
    assert s3.paths("h", "c") == [["h", "mul_u", "add", "c"]] and s3.paths("u", "c") == [["u", "mul_u", "add", "c"]]
    assert s3.paths("c_prev", "c") == [["c_prev", "add", "c"]]
    # step 4: the forget gate scales the old memory
    assert s4.paths("c_prev", "c") == [["c_prev", "mul_f", "add", "c"]]
    assert all(s4.kinds[n] == "pointwise" for n in s4.paths("c_prev", "c")[0][1:-1])
    # step 5: the state passed on reads the memory through the output gate only
    assert s5.paths("c", "a") == [] and s5.paths("c_prev", "a") == [["c_prev", "mul_f", "add", "tanh_c", "mul_o", "a"]]
    assert s5.paths("a_prev", "h") == [["a_prev", "h"]]  # a_{t-1} comes in where h_{t-1} did


def test_lstm_stage_5_is_the_lstm_cell():
    names = {"a_prev": "h_prev", "a": "h", "u": "i", "mul_u": "mul_i", "h": "g"}
    s5, lstm = diagrams.lstm_stage_diagram(5), plot.cell_diagram("lstm")
    assert {(names.get(s, s), names.get(t, t)) for s, t, _ in s5.edges} == {(s, t) for s, t, _ in lstm.edges}
    assert {names.get(n, n): k for n, k in s5.kinds.items()} == lstm.kinds


@pytest.mark.parametrize("stage, error", [(0, ValueError), (6, ValueError), ("3", TypeError), (True, TypeError)])
def test_lstm_stage_refuses_other_steps(stage, error):
    with pytest.raises(error, match="stage"):
        diagrams.lstm_stage_diagram(stage)


@pytest.mark.parametrize("steps", [1, 3, 5])
def test_brnn_every_output_reads_every_input_through_one_direction(steps):
    d = diagrams.brnn_diagram(steps)
    for s in range(1, steps + 1):
        for t in range(1, steps + 1):
            paths = d.paths(f"x_{s}", f"o_{t}")
            chains = sorted({n[:2] for p in paths for n in p[1:-1]})
            assert chains == (["hb", "hf"] if s == t else ["hf"] if s < t else ["hb"]), (s, t)
            assert len(paths) == (2 if s == t else 1)
    for label in ("W_xh_fwd", "W_hh_fwd", "W_ho_fwd", "W_xh_bwd", "W_hh_bwd", "W_ho_bwd"):
        assert len(d.edges_labelled(label)) == steps
    assert d.edges_labelled("W_hh_bwd")[0] == (f"hb_{steps + 1}", f"hb_{steps}")
    assert len(_arrows(d)) == 6 * steps
    with pytest.raises(ValueError, match="steps must be >= 1"):
        diagrams.brnn_diagram(0)


@pytest.mark.parametrize("steps", [1, 2, 3, 4])
def test_bptt_paths_count_the_terms_of_the_sum(steps):
    d = diagrams.bptt_diagram(steps, source="W_hh", target="L")
    assert len(d.paths("W_hh", "L")) == steps * (steps + 1) // 2
    assert len(diagrams.bptt_diagram(steps, source="W_ho").paths("W_ho", "L")) == steps
    for k in range(1, steps + 1):
        for t in range(1, steps + 1):
            paths = diagrams.bptt_diagram(steps, source=f"h_{k}", target=f"L_{t}").paths(f"h_{k}", f"L_{t}")
            assert paths == ([[f"h_{j}" for j in range(k, t + 1)] + [f"o_{t}", f"L_{t}"]] if k <= t else [])
    assert d.marked_edges == {(p[i], p[i + 1]) for p in d.paths("W_hh", "L") for i in range(len(p) - 1)}
    assert len([a for a in _arrows(d) if a.get_linewidth() > 2]) == len(d.marked_edges)
    n = steps * (steps + 1) // 2
    assert d.figure.axes[0].get_title().endswith(f"sums over {n} path{'' if n == 1 else 's'}")


def test_the_marked_paths_are_the_terms_of_the_gradient():
    """A scalar Elman RNN: the sum over the marked paths of the products of the local
    derivatives along them is autograd's dL/dW_hh."""
    T = 4
    x, y = torch.tensor([0.5, -1.0, 0.3, 0.8], dtype=torch.float64), torch.tensor([0.1, 0.2, -0.3, 0.4],
                                                                               dtype=torch.float64)
    w_xh, w_ho = torch.tensor(0.7, dtype=torch.float64), torch.tensor(-1.3, dtype=torch.float64)
    w_hh = torch.tensor(0.9, dtype=torch.float64, requires_grad=True)
    h = {0: torch.tensor(0.2, dtype=torch.float64)}
    for t in range(1, T + 1):
        h[t] = torch.tanh(w_xh * x[t - 1] + w_hh * h[t - 1])
    o = {t: w_ho * h[t] for t in range(1, T + 1)}
    loss = sum((o[t] - y[t - 1]) ** 2 / 2 for t in range(1, T + 1))
    (expected,) = torch.autograd.grad(loss, w_hh)
    hv = {t: float(v.detach()) for t, v in h.items()}
    local = {}
    for t in range(1, T + 1):
        local[("W_hh", f"h_{t}")] = (1 - hv[t] ** 2) * hv[t - 1]  # the immediate dh_t/dW_hh
        local[(f"h_{t - 1}", f"h_{t}")] = (1 - hv[t] ** 2) * float(w_hh.detach())
        local[(f"h_{t}", f"o_{t}")] = float(w_ho)
        local[(f"o_{t}", f"L_{t}")] = float(o[t].detach()) - float(y[t - 1])
        local[(f"L_{t}", "L")] = 1.0
    d = diagrams.bptt_diagram(T, source="W_hh", target="L")
    total = 0.0
    for path in d.paths("W_hh", "L"):
        term = 1.0
        for edge in zip(path, path[1:]):
            term *= local[edge]
        total += term
    assert abs(total - float(expected)) < 1e-12


@pytest.mark.parametrize("kwargs, match", [
    ({"source": "W_xx"}, "source must be one of"),
    ({"target": "W_hh"}, "target must be one of"),
    ({"source": "h_4"}, "source must be one of"),
    ({"source": "L", "target": "L"}, "source and target must differ"),
    ({"steps": 0}, "steps must be >= 1"),
])
def test_bptt_refuses_nodes_it_does_not_have(kwargs, match):
    with pytest.raises(ValueError, match=match):
        diagrams.bptt_diagram(**{"steps": 3, **kwargs})
