r"""Diagrams of what happens inside, in the style of :mod:`rnnbook.helpers.plot`: the LSTM cell
growing step by step as the notes build it, the two passes of a bidirectional RNN, and the
computation graph of backpropagation through time with the paths a derivative sums over.

Each function returns a :class:`rnnbook.helpers.plot.Diagram`: the figure *and* the graph it
drew, so a chapter asserts what the picture claims (which paths exist, how many a gradient
sums over); ``marked_nodes`` and ``marked_edges`` say what is drawn emphasised.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch

from rnnbook._validate import check_choice, check_int
from rnnbook.helpers.plot import COLORS, Diagram, _draw_cell, _edge, _math, _node

__all__ = ["LSTM_STAGES", "lstm_stage_diagram", "brnn_diagram", "BPTT_PARAMETERS", "bptt_diagram"]

#: The notes' five steps from the Elman RNN to the LSTM ("LSTM 长短期记忆网络"), by number.
LSTM_STAGES = {
    1: "what to remember: the state h_t",
    2: "a memory: c_t = c_{t-1} + h_t",
    3: "an update gate: c_t = c_{t-1} + Γ_u h_t",
    4: "a forget gate: c_t = Γ_f c_{t-1} + Γ_u h_t",
    5: "an output gate: a_t = Γ_o tanh(c_t) is the state passed on",
}

# What each step adds: nodes (name -> (x, y, label, kind), at their places in the finished
# cell, so the picture grows in place), edges added and edges the step replaces.
_STAGE_NODES = {
    1: {"h_prev": (0.0, 0.0, "$h_{t-1}$", "io"), "x": (1.0, -1.2, "$x_t$", "io"),
        "h": (5.4, 1.1, r"$h_t = \tanh(\cdot)$", "layer"), "h_out": (9.6, 0.0, "$h_t$", "io")},
    2: {"c_prev": (0.0, 3.0, "$c_{t-1}$", "io"), "add": (4.45, 3.0, "$+$", "pointwise"),
        "c": (9.6, 3.0, "$c_t$", "io")},
    3: {"u": (3.5, 1.1, r"$\Gamma_u = \sigma(\cdot)$", "layer"),
        "mul_u": (4.45, 2.1, r"$\times$", "pointwise")},
    4: {"f": (1.6, 1.1, r"$\Gamma_f = \sigma(\cdot)$", "layer"),
        "mul_f": (1.6, 3.0, r"$\times$", "pointwise")},
    5: {"a_prev": (0.0, 0.0, "$a_{t-1}$", "io"), "o": (7.3, 1.1, r"$\Gamma_o = \sigma(\cdot)$", "layer"),
        "tanh_c": (7.3, 2.3, "tanh", "pointwise"), "mul_o": (8.4, 1.1, r"$\times$", "pointwise"),
        "a": (9.6, 0.0, "$a_t$", "io")},
}
_STAGE_EDGES = {
    1: [("h_prev", "h"), ("x", "h"), ("h", "h_out")],
    2: [("c_prev", "add"), ("h", "add"), ("add", "c")],
    3: [("h_prev", "u"), ("x", "u"), ("h", "mul_u"), ("u", "mul_u"), ("mul_u", "add")],
    4: [("h_prev", "f"), ("x", "f"), ("c_prev", "mul_f"), ("f", "mul_f"), ("mul_f", "add")],
    5: [("a_prev", "o"), ("x", "o"), ("add", "tanh_c"), ("tanh_c", "mul_o"), ("o", "mul_o"),
        ("mul_o", "a")],
}
_STAGE_DROPS = {3: [("h", "add")], 4: [("c_prev", "add")], 5: [("h", "h_out")]}
_STAGE_TITLES = {
    1: r"Step 1: the state $h_t$ is what to remember",
    2: r"Step 2: a memory, $c_t = c_{t-1} + h_t$",
    3: r"Step 3: an update gate, $c_t = c_{t-1} + \Gamma_u h_t$",
    4: r"Step 4: a forget gate, $c_t = \Gamma_f c_{t-1} + \Gamma_u h_t$",
    5: r"Step 5: an output gate, $a_t = \Gamma_o \tanh(c_t)$ is passed on",
}


def _stage_graph(stage: int) -> tuple[dict, list[tuple[str, str]]]:
    nodes: dict = {}
    edges: list[tuple[str, str]] = []
    for k in range(1, stage + 1):
        nodes.update(_STAGE_NODES[k])
        edges = [e for e in edges if e not in _STAGE_DROPS.get(k, [])] + _STAGE_EDGES[k]
    if stage == 5:  # a_t replaces h_t as the state passed on: a_{t-1} comes in where h_{t-1} did
        del nodes["h_prev"], nodes["h_out"]
        edges = [("a_prev" if s == "h_prev" else s, t) for s, t in edges]
    return nodes, edges


def lstm_stage_diagram(stage: int, *, ax: Axes | None = None) -> Diagram:
    r"""Draw the cell of the notes' step ``stage`` (1 to 5, :data:`LSTM_STAGES`), with what the
    step adds drawn emphasised (``marked_nodes``, ``marked_edges``).

    Step 1 is the Elman cell, whose state :math:`h_t` the notes decide to remember; step 2
    adds the memory :math:`c_t` (nodes ``c_prev``, ``add``, ``c``); step 3 the update gate
    :math:`\Gamma_u` (``u``, ``mul_u``); step 4 the forget gate :math:`\Gamma_f` (``f``,
    ``mul_f``); step 5 the output gate :math:`\Gamma_o` (``o``, ``tanh_c``, ``mul_o``), and
    :math:`a_t` becomes the state passed on (``h_prev``, ``h_out`` become ``a_prev``, ``a``;
    the consistent reading of :mod:`rnnbook.notes.lstm_steps`). Every node keeps its place from
    step to step, and the frame is the finished cell's, so the figures grow in place. Step 5
    is :func:`rnnbook.helpers.plot.cell_diagram`'s LSTM with :math:`i = \Gamma_u`,
    :math:`f = \Gamma_f`, :math:`g = h_t`, :math:`o = \Gamma_o`, :math:`h_t = a_t`.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import diagrams
    >>> d = diagrams.lstm_stage_diagram(3)
    >>> sorted(d.marked_nodes), d.paths("h", "c")          # the update gate sits on h_t's way in
    (['mul_u', 'u'], [['h', 'mul_u', 'add', 'c']])
    >>> d.paths("c_prev", "c")                             # no forget gate yet: c_{t-1} passes whole
    [['c_prev', 'add', 'c']]
    >>> plt.close(d.figure)
    """
    check_int("stage", stage, minimum=1)
    if stage not in LSTM_STAGES:
        raise ValueError(f"stage must be one of the notes' steps 1 to 5, got {stage}")
    nodes, edges = _stage_graph(stage)
    before_nodes, before_edges = _stage_graph(stage - 1) if stage > 1 else ({}, [])
    if stage == 5:  # the renamed state nodes are new, the old edges into them are not
        before_edges = [("a_prev" if s == "h_prev" else s, t) for s, t in before_edges]
    marked = set(nodes) - set(before_nodes) if stage > 1 else set()
    marked_edges = set(edges) - set(before_edges) if stage > 1 else set()
    if ax is None:
        _, ax = plt.subplots(figsize=(11.8, 4.2))
    d = _draw_cell(ax, nodes, edges, marked, marked_edges, limits=(-0.8, 10.4, -1.8, 3.6))
    ax.set_title(_STAGE_TITLES[stage])
    return d


def brnn_diagram(steps: int = 3, *, ax: Axes | None = None) -> Diagram:
    r"""Draw a bidirectional RNN unrolled over ``steps``: a forward chain of states
    :math:`\overrightarrow{h}_t` (nodes ``hf_1`` .. ``hf_T``, from ``hf_0``) and a backward chain
    :math:`\overleftarrow{h}_t` (``hb_T`` .. ``hb_1``, from ``hb_{T+1}``) read the same inputs
    ``x_t``, and each output ``o_t`` reads both. Edge labels: ``W_xh_fwd``, ``W_hh_fwd``,
    ``W_ho_fwd`` and ``W_xh_bwd``, ``W_hh_bwd``, ``W_ho_bwd`` (each direction its own weights).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import diagrams
    >>> d = diagrams.brnn_diagram(steps=3)
    >>> d.paths("x_3", "o_1")                              # the first output has read the last input
    [['x_3', 'hb_3', 'hb_2', 'hb_1', 'o_1']]
    >>> d.paths("x_1", "o_3")                              # ... and the last output the first
    [['x_1', 'hf_1', 'hf_2', 'hf_3', 'o_3']]
    >>> plt.close(d.figure)
    """
    check_int("steps", steps, minimum=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.9 * steps + 2.4, 4.6))
    d = Diagram(ax.figure)
    dx, txt, rec = 1.9, COLORS["text"], COLORS["recurrent"]
    fwd, bwd = r"$\overrightarrow{W}_{hh}$", r"$\overleftarrow{W}_{hh}$"
    _node(ax, d, "hf_0", (-0.4, 1.3), r"$\overrightarrow{h}_0$", COLORS["h"])
    _node(ax, d, f"hb_{steps + 1}", (dx * (steps + 1) + 0.4, 2.6),
          rf"$\overleftarrow{{h}}_{{{steps + 1}}}$", COLORS["h"])
    for t in range(1, steps + 1):
        cx = dx * t
        _node(ax, d, f"x_{t}", (cx, 0.0), f"$x_{t}$", COLORS["x"])
        _node(ax, d, f"hf_{t}", (cx - 0.4, 1.3), rf"$\overrightarrow{{h}}_{t}$", COLORS["h"])
        _node(ax, d, f"o_{t}", (cx, 3.9), f"$o_{t}$", COLORS["o"])
    for t in range(steps, 0, -1):  # the backward chain, drawn in its own order
        _node(ax, d, f"hb_{t}", (dx * t + 0.4, 2.6), rf"$\overleftarrow{{h}}_{t}$", COLORS["h"])
    for t in range(1, steps + 1):
        _edge(ax, d, f"x_{t}", f"hf_{t}", "W_xh_fwd", txt, text="")
        _edge(ax, d, f"hf_{t - 1}", f"hf_{t}", "W_hh_fwd", rec, label_offset=(0.0, -0.3), text=fwd)
        _edge(ax, d, f"hf_{t}", f"o_{t}", "W_ho_fwd", txt, rad=-0.25, text="")
    for t in range(steps, 0, -1):
        _edge(ax, d, f"x_{t}", f"hb_{t}", "W_xh_bwd", txt, rad=0.25, text="")
        _edge(ax, d, f"hb_{t + 1}", f"hb_{t}", "W_hh_bwd", rec, label_offset=(0.0, 0.3), text=bwd)
        _edge(ax, d, f"hb_{t}", f"o_{t}", "W_ho_bwd", txt, text="")
    ax.text(-0.9, 1.3, "forward", ha="right", va="center", fontsize=10, color=txt)
    ax.text(-0.9, 2.6, "backward", ha="right", va="center", fontsize=10, color=txt)
    ax.set_xlim(-2.4, dx * (steps + 1) + 1.0)
    ax.set_ylim(-0.45, 4.35)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("Bidirectional RNN: two passes over the same inputs", fontsize=12, color=txt)
    return d


#: The weights :func:`bptt_diagram` can draw as a node of the graph.
BPTT_PARAMETERS = ("W_xh", "W_hh", "W_ho")


def bptt_diagram(steps: int = 3, *, source: str = "W_hh", target: str = "L",
                 ax: Axes | None = None) -> Diagram:
    r"""Draw the computation graph of an Elman RNN unrolled over ``steps`` with its loss, and
    mark every path from ``source`` to ``target``: the terms the chain rule sums over.

    Nodes: ``h_0``; ``x_t``, ``h_t``, ``o_t``, ``L_t`` for t = 1..steps; ``L`` (the sum of the
    ``L_t``, as in the notes' BPTT section). When ``source`` is a weight
    (:data:`BPTT_PARAMETERS`), it is drawn as a node of its own with an edge (label
    ``"uses"``) to every node that uses it: :math:`W_{hh}` is used at every step, so
    :math:`\partial L / \partial W_{hh}` sums over the steps k that use it and the losses
    :math:`L_t`, t >= k, that step reaches: ``d.paths("W_hh", "L")`` has T(T+1)/2 paths. A
    derivative between two states, :math:`\partial L_3 / \partial h_1`, has one path
    :math:`h_1 \to h_2 \to h_3 \to o_3 \to L_3`. The title states the number of paths.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import diagrams
    >>> d = diagrams.bptt_diagram(3, source="h_1", target="L_3")
    >>> d.paths("h_1", "L_3")                              # one chain of Jacobians
    [['h_1', 'h_2', 'h_3', 'o_3', 'L_3']]
    >>> d = diagrams.bptt_diagram(3)                       # dL/dW_hh: sum over t and k <= t
    >>> paths = d.paths("W_hh", "L")                       # W_hh used at step k reaches L_t, t >= k
    >>> len(paths), [sum(p[1] == f"h_{k}" for p in paths) for k in (1, 2, 3)]
    (6, [3, 2, 1])
    >>> plt.close("all")
    """
    check_int("steps", steps, minimum=1)
    times = range(1, steps + 1)
    names = ["h_0", "L", *BPTT_PARAMETERS] + [f"{v}_{t}" for t in times for v in ("x", "h", "o", "L")]
    check_choice("source", source, names)
    check_choice("target", target, [n for n in names if n not in BPTT_PARAMETERS])
    if source == target:
        raise ValueError(f"source and target must differ, both are {source!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 * steps + 3.2, 5.4))
    d = Diagram(ax.figure)
    dx, txt, rec = 1.6, COLORS["text"], COLORS["recurrent"]
    # the graph first (no drawing), to find the paths and mark them before anything is drawn
    edges = [(f"x_{t}", f"h_{t}", "W_xh") for t in times] + [(f"h_{t - 1}", f"h_{t}", "W_hh") for t in times]
    edges += [(f"h_{t}", f"o_{t}", "W_ho") for t in times] + [(f"o_{t}", f"L_{t}", "loss") for t in times]
    edges += [(f"L_{t}", "L", "sum") for t in times]
    if source in BPTT_PARAMETERS:
        edges = [(source, dst, "uses") for _, dst, label in edges if label == source] + edges
    probe = Diagram(ax.figure, nodes=dict.fromkeys({n for e in edges for n in e[:2]}, (0.0, 0.0)),
                    edges=edges)
    paths = probe.paths(source, target)
    d.marked_edges = {(p[i], p[i + 1]) for p in paths for i in range(len(p) - 1)}
    d.marked_nodes = {n for p in paths for n in p}
    kinds = {"x": ("input", COLORS["x"]), "h": ("state", COLORS["h"]), "o": ("output", COLORS["o"]),
             "L": ("loss", COLORS["recurrent"])}
    places = {"h_0": (0.0, 1.3), "L": (dx * (steps + 1) / 2, 5.0)}
    for t in times:
        places.update({f"x_{t}": (dx * t, 0.0), f"h_{t}": (dx * t, 1.3), f"o_{t}": (dx * t, 2.5),
                       f"L_{t}": (dx * t, 3.7)})
    for name, xy in places.items():
        stem = name.split("_")[0]
        d.kinds[name] = kinds[stem][0]
        _node(ax, d, name, xy, _math(name), kinds[stem][1])
    if source in BPTT_PARAMETERS:
        d.kinds[source] = "parameter"
        _node(ax, d, source, (0.0, 1.95 if source != "W_ho" else 3.1), _math(source), "#8172B3")
    for src, dst, label in edges:
        if label == "uses":
            _edge(ax, d, src, dst, label, "#8172B3", rad=-0.25, text="")
        else:
            _edge(ax, d, src, dst, label, rec if label == "W_hh" else txt,
                  label_offset=(0.0, 0.22), text=None if label == "W_hh" else "")
    n = len(paths)
    ax.set_title(rf"$\partial {_math(target)[1:-1]} / \partial {_math(source)[1:-1]}$ sums over "
                 f"{n} path{'' if n == 1 else 's'}", fontsize=12, color=txt)
    ax.set_xlim(-0.6, dx * steps + 0.6)
    ax.set_ylim(-0.45, 5.45)
    ax.set_aspect("equal")
    ax.axis("off")
    return d
