"""Figures drawn by code, in one style: network diagrams and training curves.

Each diagram function returns a :class:`Diagram` holding the figure *and* the graph
it drew (nodes and labelled edges), so a chapter can assert that the picture shows
what the text says: nbval compares no pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from rnnbook._validate import check_int

__all__ = ["COLORS", "Diagram", "unrolled_rnn", "CELL_KINDS", "cell_diagram", "curves", "block_mask", "loglog", "STRUCTURE_KINDS",
           "rnn_structure", "embedding_map", "gradient_decay", "attention_heatmap"]

#: The book's colours for inputs, hidden states, outputs and recurrent edges.
COLORS = {"x": "#4C72B0", "h": "#DD8452", "o": "#55A868", "recurrent": "#C44E52", "text": "#222222"}


@dataclass
class Diagram:
    """A drawn graph: ``nodes`` maps a node's label to its (x, y) centre, ``edges`` lists
    ``(source, target, label)`` triples in drawing order.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import plot
    >>> d = plot.unrolled_rnn(steps=2)
    >>> d.edges_labelled("W_hh")                           # the same W_hh at every step
    [('h', 'h'), ('h_0', 'h_1'), ('h_1', 'h_2')]
    >>> d.paths("x_1", "o_2")                              # x_1 reaches o_2 only through h_1 -> h_2
    [['x_1', 'h_1', 'h_2', 'o_2']]
    >>> plt.close(d.figure)
    """

    figure: Figure
    nodes: dict[str, tuple[float, float]] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    #: The kind of each node, where the diagram records it. Cell diagrams use "io" for an
    #: input or output, "layer" for an operation with learned weights and "pointwise" for an
    #: element-wise operation.
    kinds: dict[str, str] = field(default_factory=dict)
    #: The nodes drawn emphasised (a dark outline), where the diagram marks any, e.g. the nodes
    #: a stage adds or the nodes on the paths a derivative sums over.
    marked_nodes: set[str] = field(default_factory=set)
    #: The ``(source, target)`` edges drawn emphasised (thick and red), where the diagram marks any.
    marked_edges: set[tuple[str, str]] = field(default_factory=set)

    def edges_labelled(self, label: str) -> list[tuple[str, str]]:
        """The ``(source, target)`` pairs of every edge carrying ``label``."""
        return [(s, t) for s, t, lab in self.edges if lab == label]

    def paths(self, source: str, target: str) -> list[list[str]]:
        """Every directed path from ``source`` to ``target``, as lists of node names."""
        for name in (source, target):
            if name not in self.nodes:
                raise ValueError(f"no node {name!r} in the diagram; nodes are {sorted(self.nodes)}")
        found: list[list[str]] = []

        def walk(path: list[str]) -> None:
            if path[-1] == target:
                found.append(path)
                return
            for s, t, _ in self.edges:
                if s == path[-1] and t not in path:
                    walk(path + [t])

        walk([source])
        return found


def _math(label: str) -> str:
    """``"W_xh"`` -> ``"$W_{xh}$"`` for display; the graph keeps the plain name."""
    stem, _, sub = label.partition("_")
    return f"${stem}_{{{sub}}}$" if sub else f"${stem}$"


def _token_label(token: str) -> str:
    """A token as a tick label: a space as ``␣``, a newline as ``\\n``."""
    return "␣" if token == " " else repr(token)[1:-1]


def _node(ax: Axes, diagram: Diagram, key: str, xy: tuple[float, float], text: str, color: str) -> None:
    diagram.nodes[key] = xy
    marked = key in diagram.marked_nodes
    box = FancyBboxPatch((xy[0] - 0.32, xy[1] - 0.22), 0.64, 0.44, boxstyle="round,pad=0.02,rounding_size=0.12",
                         facecolor=color, edgecolor=COLORS["text"] if marked else "none",
                         lw=2.2 if marked else 0.0, alpha=0.9)
    ax.add_patch(box)
    ax.text(*xy, text, ha="center", va="center", color="white", fontsize=12)


def _edge(ax: Axes, diagram: Diagram, src: str, dst: str, label: str, color: str, rad: float = 0.0,
          label_offset: tuple[float, float] = (0.0, 0.0), text: str | None = None) -> None:
    """An arrow ``src -> dst`` recorded with ``label``; ``text`` is what is written on it
    (``None``: the label as maths, ``""``: nothing). A marked edge is drawn thick and red."""
    diagram.edges.append((src, dst, label))
    (x0, y0), (x1, y1) = diagram.nodes[src], diagram.nodes[dst]
    marked = (src, dst) in diagram.marked_edges
    arrow = FancyArrowPatch((x0, y0), (x1, y1), connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                            mutation_scale=14, color=COLORS["recurrent"] if marked else color,
                            lw=3.0 if marked else 1.6, shrinkA=17, shrinkB=17)
    ax.add_patch(arrow)
    text = _math(label) if text is None else text
    if text:
        mx, my = (x0 + x1) / 2 + label_offset[0], (y0 + y1) / 2 + label_offset[1]
        ax.text(mx, my, text, ha="center", va="center", fontsize=11, color=COLORS["text"],
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})


def unrolled_rnn(steps: int = 4, *, figsize: tuple[float, float] | None = None) -> Diagram:
    r"""Draw the Elman RNN folded (left) and unrolled over ``steps`` time steps (right).

    Nodes are named ``x_t``, ``h_t``, ``o_t`` (t = 1..steps), ``h_0`` and, for the folded
    network, ``x``, ``h``, ``o``. Edge labels are the notes' weight names
    ``W_xh``, ``W_hh``, ``W_ho``: the same three matrices at every step.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import plot
    >>> d = plot.unrolled_rnn(steps=3)
    >>> sorted({label for _, _, label in d.edges})         # three matrices, shared over time
    ['W_hh', 'W_ho', 'W_xh']
    >>> len(d.edges_labelled("W_xh"))                      # folded x -> h, and x_t -> h_t for t = 1..3
    4
    >>> plt.close(d.figure)
    """
    check_int("steps", steps, minimum=1)
    width = 4.2 + 1.6 * steps
    fig, ax = plt.subplots(figsize=figsize or (width * 0.95, 3.6))
    d = Diagram(fig)
    # folded network, with its self loop
    _node(ax, d, "x", (0.6, 0.0), "$x$", COLORS["x"])
    _node(ax, d, "h", (0.6, 1.3), "$h$", COLORS["h"])
    _node(ax, d, "o", (0.6, 2.6), "$o$", COLORS["o"])
    _edge(ax, d, "x", "h", "W_xh", COLORS["text"], label_offset=(0.0, 0.0))
    _edge(ax, d, "h", "o", "W_ho", COLORS["text"])
    d.edges.append(("h", "h", "W_hh"))
    loop = FancyArrowPatch((0.86, 1.5), (0.86, 1.1), connectionstyle="arc3,rad=-1.6", arrowstyle="-|>",
                           mutation_scale=14, color=COLORS["recurrent"], lw=1.6)
    ax.add_patch(loop)
    ax.text(1.6, 1.3, _math("W_hh"), ha="center", va="center", fontsize=11, color=COLORS["recurrent"])
    ax.text(2.05, 1.3, "=", ha="center", va="center", fontsize=22, color=COLORS["text"])
    # unrolled network
    x0 = 2.9
    _node(ax, d, "h_0", (x0, 1.3), "$h_0$", COLORS["h"])
    for t in range(1, steps + 1):
        cx = x0 + 1.6 * t
        _node(ax, d, f"x_{t}", (cx, 0.0), f"$x_{t}$", COLORS["x"])
        _node(ax, d, f"h_{t}", (cx, 1.3), f"$h_{t}$", COLORS["h"])
        _node(ax, d, f"o_{t}", (cx, 2.6), f"$o_{t}$", COLORS["o"])
        _edge(ax, d, f"x_{t}", f"h_{t}", "W_xh", COLORS["text"])
        _edge(ax, d, f"h_{t}", f"o_{t}", "W_ho", COLORS["text"])
        _edge(ax, d, f"h_{t - 1}", f"h_{t}", "W_hh", COLORS["recurrent"], label_offset=(0.0, 0.22))
    ax.set_xlim(0.1, x0 + 1.6 * steps + 0.6)
    ax.set_ylim(-0.45, 3.05)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout()
    return d


#: The cells :func:`cell_diagram` draws.
CELL_KINDS = ("rnn", "gru", "lstm")

# One cell per kind, in the notation of the chapters: nodes (name -> (x, y, label, kind)) and
# edges (source, target). "layer" nodes hold learned weights (a matrix product then sigma or
# tanh); "pointwise" nodes are element-wise; "io" nodes are the cell's inputs and outputs.
_CELLS = {
    "rnn": (
        {"h_prev": (0.0, 1.0, "$h_{t-1}$", "io"), "x": (2.0, -0.6, "$x_t$", "io"),
         "layer": (2.0, 1.0, r"$\tanh(W_{xh}x_t + W_{hh}h_{t-1} + b_h)$", "layer"),
         "h": (4.4, 1.0, "$h_t$", "io")},
        [("h_prev", "layer"), ("x", "layer"), ("layer", "h")],
    ),
    "gru": (
        {"h_prev": (0.0, 2.6, "$h_{t-1}$", "io"), "x": (1.0, -1.3, "$x_t$", "io"),
         "r": (1.0, -0.2, r"$r_t = \sigma(\cdot)$", "layer"), "z": (2.6, 1.5, r"$z_t = \sigma(\cdot)$", "layer"),
         "n": (4.6, -0.2, r"$n_t = \tanh(\cdot)$", "layer"),
         "one_minus": (3.6, 1.9, r"$1-$", "pointwise"), "mul_z": (2.6, 2.6, r"$\times$", "pointwise"),
         "mul_n": (4.6, 1.9, r"$\times$", "pointwise"), "add": (4.6, 2.6, "$+$", "pointwise"),
         "h": (6.2, 2.6, "$h_t$", "io")},
        [("h_prev", "r"), ("x", "r"), ("h_prev", "z"), ("x", "z"), ("h_prev", "n"), ("x", "n"), ("r", "n"),
         ("h_prev", "mul_z"), ("z", "mul_z"), ("z", "one_minus"), ("one_minus", "mul_n"), ("n", "mul_n"),
         ("mul_z", "add"), ("mul_n", "add"), ("add", "h")],
    ),
    "lstm": (
        {"c_prev": (0.0, 3.0, "$c_{t-1}$", "io"), "h_prev": (0.0, 0.0, "$h_{t-1}$", "io"),
         "x": (1.0, -1.2, "$x_t$", "io"),
         "f": (1.6, 1.1, r"$f_t = \sigma(\cdot)$", "layer"), "i": (3.5, 1.1, r"$i_t = \sigma(\cdot)$", "layer"),
         "g": (5.4, 1.1, r"$g_t = \tanh(\cdot)$", "layer"), "o": (7.3, 1.1, r"$o_t = \sigma(\cdot)$", "layer"),
         "mul_f": (1.6, 3.0, r"$\times$", "pointwise"), "mul_i": (4.45, 2.1, r"$\times$", "pointwise"),
         "add": (4.45, 3.0, "$+$", "pointwise"), "tanh_c": (7.3, 2.3, r"tanh", "pointwise"),
         "mul_o": (8.4, 1.1, r"$\times$", "pointwise"),
         "c": (9.6, 3.0, "$c_t$", "io"), "h": (9.6, 0.0, "$h_t$", "io")},
        [("h_prev", "f"), ("x", "f"), ("h_prev", "i"), ("x", "i"), ("h_prev", "g"), ("x", "g"),
         ("h_prev", "o"), ("x", "o"),
         ("c_prev", "mul_f"), ("f", "mul_f"), ("i", "mul_i"), ("g", "mul_i"), ("mul_f", "add"),
         ("mul_i", "add"), ("add", "c"), ("add", "tanh_c"), ("tanh_c", "mul_o"), ("o", "mul_o"),
         ("mul_o", "h")],
    ),
}
_CELL_COLORS = {"io": COLORS["h"], "layer": COLORS["x"], "pointwise": COLORS["recurrent"]}


def cell_diagram(kind: str, *, ax: Axes | None = None) -> Diagram:
    r"""Draw one step of an RNN, GRU or LSTM cell (``kind`` in :data:`CELL_KINDS`).

    Blue boxes are operations with learned weights (a matrix product of the inputs, then
    sigma or tanh: :math:`\sigma(\cdot)` stands for :math:`\sigma(W x_t + U h_{t-1} + b)`),
    red circles element-wise operations, orange boxes the cell's inputs and outputs. The
    returned :class:`Diagram` has every node's kind in ``kinds``, so a chapter can check
    what the picture claims, e.g. that the LSTM's memory path has no weight matrix on it:
    ``all(d.kinds[n] == "pointwise" for n in d.paths("c_prev", "c")[0][1:-1])``.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import plot
    >>> d = plot.cell_diagram("lstm")
    >>> path = d.paths("c_prev", "c")[0]
    >>> path, all(d.kinds[n] == "pointwise" for n in path[1:-1])   # no weight matrix on c's path
    (['c_prev', 'mul_f', 'add', 'c'], True)
    >>> plt.close(d.figure)
    """
    if kind not in CELL_KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, CELL_KINDS))}; got {kind!r}")
    nodes, edges = _CELLS[kind]
    if ax is None:
        width = max(x for x, _, _, _ in nodes.values()) + 1.6
        _, ax = plt.subplots(figsize=(width * 1.05, 4.0 if kind != "rnn" else 2.6))
    d = _draw_cell(ax, nodes, edges)
    ax.set_title({"rnn": "Elman RNN cell", "gru": "GRU cell", "lstm": "LSTM cell"}[kind])
    return d


def _draw_cell(ax: Axes, nodes: dict, edges: list[tuple[str, str]], marked: set[str] | None = None,
               marked_edges: set[tuple[str, str]] | None = None,
               limits: tuple[float, float, float, float] | None = None) -> Diagram:
    """Draw a cell's graph in the style of :func:`cell_diagram` (``nodes``: name -> (x, y,
    label, kind)); ``marked`` nodes and ``marked_edges`` drawn emphasised; ``limits``
    (x0, x1, y0, y1) fixes the frame (default: around the nodes)."""
    d = Diagram(ax.figure, marked_nodes=set(marked or ()), marked_edges=set(marked_edges or ()))
    for name, (x, y, label, node_kind) in nodes.items():
        d.nodes[name] = (x, y)
        d.kinds[name] = node_kind
        outline = {"edgecolor": COLORS["text"], "lw": 2.2} if name in d.marked_nodes else {"edgecolor": "none"}
        if node_kind == "pointwise":
            ax.add_patch(plt.Circle((x, y), 0.26, facecolor=_CELL_COLORS[node_kind], alpha=0.9, zorder=3,
                                    **outline))
            small = not label.startswith("$") and len(label) >= 4  # a word, e.g. "tanh"
            ax.text(x, y, label, ha="center", va="center", color="white", fontsize=8 if small else 12,
                    zorder=4)
        else:
            ax.text(x, y, label, ha="center", va="center", color="white", fontsize=11, zorder=4,
                    bbox={"boxstyle": "round,pad=0.35", "facecolor": _CELL_COLORS[node_kind],
                          "alpha": 0.9, **outline})
    for src, dst in edges:
        d.edges.append((src, dst, ""))
        new = (src, dst) in d.marked_edges
        (x0, y0), (x1, y1) = d.nodes[src], d.nodes[dst]
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=12,
                                     color=COLORS["text"] if new else "#555555", lw=1.8 if new else 1.1,
                                     shrinkA=16, shrinkB=16, zorder=2))
    xs = [x for x, _ in d.nodes.values()]
    ys = [y for _, y in d.nodes.values()]
    x0, x1, y0, y1 = limits or (min(xs) - 0.8, max(xs) + 0.8, min(ys) - 0.6, max(ys) + 0.6)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.axis("off")
    return d


def _style_line_plot(ax: Axes, xlabel: str, ylabel: str, which: str = "major") -> Axes:
    """The book's style for line plots: labels, a light grid, a frameless legend, no top or
    right spine."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which=which)
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def curves(series: dict[str, list[float]], *, ax: Axes | None = None, xlabel: str = "training step",
           ylabel: str = "loss", logy: bool = False, smooth: int = 1) -> Axes:
    """Plot named curves (e.g. training losses) on one axes; ``smooth`` > 1 draws a moving average.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import plot
    >>> ax = plot.curves({"RNN": [1.0, 0.6, 0.5], "LSTM": [1.0, 0.4, 0.2]}, logy=True)
    >>> [line.get_label() for line in ax.lines], ax.get_yscale()
    (['RNN', 'LSTM'], 'log')
    >>> plt.close(ax.figure)
    """
    if not isinstance(series, dict) or not series:
        raise TypeError("series must be a non-empty dict mapping a name to a list of values")
    check_int("smooth", smooth, minimum=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6))
    for name, values in series.items():
        values = list(values)
        if smooth > 1 and len(values) >= smooth:
            values = [sum(values[i:i + smooth]) / smooth for i in range(len(values) - smooth + 1)]
        ax.plot(range(len(values)), values, label=name, lw=1.6)
    if logy:
        ax.set_yscale("log")
    return _style_line_plot(ax, xlabel, ylabel)


def block_mask(mask, periods, *, ax: Axes | None = None) -> Axes:
    """Draw a 0/1 connection mask (rows receive, columns send) with module boundaries and periods.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import plot
    >>> cw = rnnbook.ClockworkRNN(2, 6, periods=(1, 2, 4))
    >>> ax = plot.block_mask(cw.mask, cw.periods)          # block upper triangular
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['T=1', 'T=2', 'T=4']
    >>> plt.close(ax.figure)
    """
    import numpy as np

    m = np.asarray(mask, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"mask must be a square 2-D array, got shape {m.shape}")
    if len(periods) == 0 or m.shape[0] % len(periods) != 0:
        raise ValueError(f"periods must split the mask's {m.shape[0]} rows evenly, got {list(periods)}")
    k = m.shape[0] // len(periods)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 4.2))
    ax.imshow(m, cmap="Greys", vmin=0, vmax=1.6, interpolation="nearest")
    for i in range(1, len(periods)):
        ax.axhline(i * k - 0.5, color=COLORS["recurrent"], lw=0.8)
        ax.axvline(i * k - 0.5, color=COLORS["recurrent"], lw=0.8)
    ticks = [i * k + (k - 1) / 2 for i in range(len(periods))]
    ax.set_xticks(ticks, [f"T={p}" for p in periods], rotation=90, fontsize=8)
    ax.set_yticks(ticks, [f"T={p}" for p in periods], fontsize=8)
    ax.set_xlabel("sending module ($h_{t-1}$)")
    ax.set_ylabel("receiving module ($h_t$)")
    return ax


def loglog(x: list[float], series: dict[str, list[float]], *, ax: Axes | None = None,
           xlabel: str = "", ylabel: str = "") -> Axes:
    """Plot named series against ``x`` on log-log axes, with markers (e.g. time against length).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import plot
    >>> ax = plot.loglog([16, 32, 64], {"loop": [1.0, 2.0, 4.0], "scan": [1.0, 1.2, 1.4]},
    ...                  xlabel="T", ylabel="time (s)")
    >>> ax.get_xscale(), ax.get_yscale(), len(ax.lines)
    ('log', 'log', 2)
    >>> plt.close(ax.figure)
    """
    if not isinstance(series, dict) or not series:
        raise TypeError("series must be a non-empty dict mapping a name to a list of values")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.8))
    for name, values in series.items():
        if len(values) != len(x):
            raise ValueError(f"series {name!r} has {len(values)} values but x has {len(x)}")
        ax.plot(x, values, marker="o", label=name, lw=1.6)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    return _style_line_plot(ax, xlabel, ylabel, which="both")
# -- the structures of the notes ("RNN 基本结构") and a 2-D map of embeddings ------------------

#: The four structures :func:`rnn_structure` draws.
STRUCTURE_KINDS = ("n_to_n", "n_to_1", "1_to_n", "n_to_m")


def _feedback(ax: Axes, diagram: Diagram, src: str, dst: str, label: str) -> None:
    """A dashed edge from an output back to the next step's input (the token fed back)."""
    diagram.edges.append((src, dst, label))
    (x0, y0), (x1, y1) = diagram.nodes[src], diagram.nodes[dst]
    arrow = FancyArrowPatch((x0, y0), (x1, y1), connectionstyle="arc3,rad=-0.35", arrowstyle="-|>",
                            mutation_scale=12, color=COLORS["o"], lw=1.3, ls="--", shrinkA=15, shrinkB=15)
    ax.add_patch(arrow)
    ax.text((x0 + x1) / 2 + 0.28, (y0 + y1) / 2, _math(label), ha="center", va="center", fontsize=10,
            color=COLORS["o"], bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})


def rnn_structure(kind: str, n: int = 3, m: int = 3, *, ax: Axes | None = None) -> Diagram:
    r"""Draw one of the notes' structures, unrolled: ``'n_to_n'``, ``'n_to_1'``, ``'1_to_n'``
    or ``'n_to_m'`` (``n`` input steps, ``m`` output steps), as :mod:`rnnbook.seq.structures`
    builds them.

    Nodes: inputs ``x_t``, states ``h_t`` (``h_0`` the initial state), outputs ``o_t``; for
    1 to N the one input ``x`` and the start token ``y_0``; for N to M the decoder's states
    ``s_t`` and outputs ``o_t``. Edge labels: ``W_xh``, ``W_hh``, ``W_ho``; ``W_c`` (the one
    input sets ``h_0``); ``E`` (a token embedded and fed back: dashed from ``o_{t-1}``);
    ``c`` (the encoder's final state, the context, starts the decoder); ``W_ss``, ``W_so``
    (the decoder's own weights).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import plot
    >>> d = plot.rnn_structure("n_to_m", n=2, m=2)
    >>> d.edges_labelled("c")                              # the context starts the decoder
    [('h_2', 's_1')]
    >>> d.edges_labelled("E")                              # y_0, then each output fed back
    [('y_0', 's_1'), ('o_1', 's_2')]
    >>> plt.close(d.figure)
    """
    from rnnbook._validate import check_choice

    check_choice("kind", kind, STRUCTURE_KINDS)
    check_int("n", n, minimum=1)
    check_int("m", m, minimum=1)
    steps = n + m if kind == "n_to_m" else (m if kind == "1_to_n" else n)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.25 * steps + 2.2, 3.4))
    d = Diagram(ax.figure)
    dx, txt, rec = 1.45, COLORS["text"], COLORS["recurrent"]
    if kind in ("n_to_n", "n_to_1", "n_to_m"):
        _node(ax, d, "h_0", (0.0, 1.3), "$h_0$", COLORS["h"])
        for t in range(1, n + 1):
            cx = dx * t
            _node(ax, d, f"x_{t}", (cx, 0.0), f"$x_{t}$", COLORS["x"])
            _node(ax, d, f"h_{t}", (cx, 1.3), f"$h_{t}$", COLORS["h"])
            _edge(ax, d, f"x_{t}", f"h_{t}", "W_xh", txt)
            _edge(ax, d, f"h_{t - 1}", f"h_{t}", "W_hh", rec, label_offset=(0.0, 0.22))
            if kind == "n_to_n" or (kind == "n_to_1" and t == n):
                key = f"o_{t}" if kind == "n_to_n" else "o"
                _node(ax, d, key, (cx, 2.6), f"$o_{t}$" if kind == "n_to_n" else "$o$", COLORS["o"])
                _edge(ax, d, f"h_{t}", key, "W_ho", txt)
    if kind == "1_to_n":
        _node(ax, d, "x", (0.0, 0.0), "$x$", COLORS["x"])
        _node(ax, d, "h_0", (0.0, 1.3), "$h_0$", COLORS["h"])
        _edge(ax, d, "x", "h_0", "W_c", txt)
        _node(ax, d, "y_0", (dx, 0.0), "$y_0$", COLORS["x"])
        for t in range(1, m + 1):
            cx = dx * t
            _node(ax, d, f"h_{t}", (cx, 1.3), f"$h_{t}$", COLORS["h"])
            _node(ax, d, f"o_{t}", (cx, 2.6), f"$o_{t}$", COLORS["o"])
            if t == 1:
                _edge(ax, d, "y_0", "h_1", "E", txt)
            else:
                _feedback(ax, d, f"o_{t - 1}", f"h_{t}", "E")
            _edge(ax, d, f"h_{t - 1}", f"h_{t}", "W_hh", rec, label_offset=(0.0, 0.22))
            _edge(ax, d, f"h_{t}", f"o_{t}", "W_ho", txt)
    if kind == "n_to_m":
        x0 = dx * (n + 1)
        _node(ax, d, "y_0", (x0, 0.0), "$y_0$", COLORS["x"])
        for t in range(1, m + 1):
            cx = x0 + dx * (t - 1)
            _node(ax, d, f"s_{t}", (cx, 1.3), f"$s_{t}$", COLORS["h"])
            _node(ax, d, f"o_{t}", (cx, 2.6), f"$o_{t}$", COLORS["o"])
            if t == 1:
                _edge(ax, d, f"h_{n}", "s_1", "c", rec, label_offset=(0.0, 0.22))
                _edge(ax, d, "y_0", "s_1", "E", txt)
            else:
                _edge(ax, d, f"s_{t - 1}", f"s_{t}", "W_ss", rec, label_offset=(0.0, 0.22))
                _feedback(ax, d, f"o_{t - 1}", f"s_{t}", "E")
            _edge(ax, d, f"s_{t}", f"o_{t}", "W_so", txt)
    xs = [p[0] for p in d.nodes.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(-0.45, 3.05)
    ax.set_aspect("equal")
    ax.axis("off")
    titles = {"n_to_n": "N to N", "n_to_1": "N to 1", "1_to_n": "1 to N", "n_to_m": "N to M"}
    ax.set_title(titles[kind], fontsize=12, color=txt)
    return d


def embedding_map(coords, labels: list[str], groups: list[str], *, ax: Axes | None = None,
                  title: str = "") -> Axes:
    """Scatter 2-D points (e.g. :func:`rnnbook.seq.embedding.pca_2d` of an embedding table), one
    colour per group, each point labelled.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import plot
    >>> coords = [(0.0, 1.0), (0.2, 0.9), (-1.0, 0.0)]
    >>> ax = plot.embedding_map(coords, ["cat", "dog", "sees"], ["noun", "noun", "verb"])
    >>> [text.get_text() for text in ax.texts], len(ax.collections)   # one colour per group
    (['cat', 'dog', 'sees'], 2)
    >>> plt.close(ax.figure)
    """
    if len(labels) != len(coords) or len(groups) != len(coords):
        raise ValueError(
            f"labels and groups must have one entry per point ({len(coords)}), "
            f"got {len(labels)} and {len(groups)}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 4.2))
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    names = list(dict.fromkeys(groups))
    for k, name in enumerate(names):
        pts = [tuple(map(float, coords[i])) for i in range(len(coords)) if groups[i] == name]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], color=palette[k % len(palette)],
                   label=name, s=36)
    for i, text in enumerate(labels):
        ax.annotate(text, (float(coords[i][0]), float(coords[i][1])), xytext=(4, 3),
                    textcoords="offset points", fontsize=9, color=COLORS["text"])
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    return ax


def gradient_decay(measured: dict[str, list[float]], bounds: dict[str, list[float]] | None = None, *,
                   ax: Axes | None = None, xlabel: str = "distance in time  $T - t$",
                   ylabel: str = r"$\|\partial L_T / \partial h_t\|$") -> Axes:
    """Gradient norms against the distance in time, on a log scale: each ``measured`` curve
    solid, its ``bounds`` curve (same name) dashed in the same colour.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import plot
    >>> ax = plot.gradient_decay({"rho = 0.5": [1.0, 0.4, 0.2]}, {"rho = 0.5": [1.0, 0.5, 0.25]})
    >>> [line.get_linestyle() for line in ax.lines], ax.get_yscale()   # measured solid, bound dashed
    (['-', '--'], 'log')
    >>> plt.close(ax.figure)
    """
    if not isinstance(measured, dict) or not measured:
        raise TypeError("measured must be a non-empty dict mapping a name to a list of norms")
    bounds = bounds or {}
    unknown = set(bounds) - set(measured)
    if unknown:
        raise ValueError(f"bounds has names with no measured curve: {sorted(unknown)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.8))
    for name, values in measured.items():
        (line,) = ax.plot(range(len(values)), list(values), lw=1.8, label=name)
        if name in bounds:
            ax.plot(range(len(bounds[name])), list(bounds[name]), ls="--", lw=1.2, color=line.get_color())
    ax.set_yscale("log")
    return _style_line_plot(ax, xlabel, ylabel)


def attention_heatmap(weights, source: list[str], output: list[str], *, ax: Axes | None = None,
                      title: str | None = None) -> Axes:
    """Draw attention weights (T, L) as a heatmap: one row per output token (``output``,
    T labels), one column per source position (``source``, L labels), darker = more weight.
    Returns the axes; the data drawn is ``weights`` itself (``ax.images[0].get_array()``).

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import torch
    >>> from rnnbook.helpers import plot
    >>> weights = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5]])   # (T, L)
    >>> ax = plot.attention_heatmap(weights, source=["2", "0", " "], output=["y1", "y2"])
    >>> ax.images[0].get_array().shape, [t.get_text() for t in ax.get_xticklabels()]
    ((2, 3), ['2', '0', '␣'])
    >>> plt.close(ax.figure)
    """
    import numpy as np

    w = np.asarray(weights.detach().cpu() if hasattr(weights, "detach") else weights, dtype=float)
    if w.ndim != 2 or w.shape != (len(output), len(source)):
        raise ValueError(f"weights must have shape (len(output), len(source)) = "
                         f"({len(output)}, {len(source)}), got {w.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.32 * len(source) + 1.2, 0.32 * len(output) + 1.0))
    ax.imshow(w, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    labels = [_token_label(c) for c in source]
    # words (not characters) stand upright, so that long ones do not run into each other
    ax.set_xticks(range(len(source)), labels, rotation=90 if max(map(len, labels), default=0) > 2 else 0)
    ax.set_yticks(range(len(output)), output)
    ax.set_xlabel("source position")
    ax.set_ylabel("output token")
    ax.tick_params(length=0)
    if title:
        ax.set_title(title, fontsize=10)
    return ax
