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

from ._validate import check_int

__all__ = ["COLORS", "Diagram", "unrolled_rnn", "curves", "attention_heatmap"]

#: The book's colours for inputs, hidden states, outputs and recurrent edges.
COLORS = {"x": "#4C72B0", "h": "#DD8452", "o": "#55A868", "recurrent": "#C44E52", "text": "#222222"}


@dataclass
class Diagram:
    """A drawn graph: ``nodes`` maps a node's label to its (x, y) centre, ``edges`` lists
    ``(source, target, label)`` triples in drawing order."""

    figure: Figure
    nodes: dict[str, tuple[float, float]] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)

    def edges_labelled(self, label: str) -> list[tuple[str, str]]:
        """The ``(source, target)`` pairs of every edge carrying ``label``."""
        return [(s, t) for s, t, lab in self.edges if lab == label]


def _math(label: str) -> str:
    """``"W_xh"`` -> ``"$W_{xh}$"`` for display; the graph keeps the plain name."""
    stem, _, sub = label.partition("_")
    return f"${stem}_{{{sub}}}$" if sub else f"${stem}$"


def _node(ax: Axes, diagram: Diagram, key: str, xy: tuple[float, float], text: str, color: str) -> None:
    diagram.nodes[key] = xy
    box = FancyBboxPatch((xy[0] - 0.32, xy[1] - 0.22), 0.64, 0.44, boxstyle="round,pad=0.02,rounding_size=0.12",
                         facecolor=color, edgecolor="none", alpha=0.9)
    ax.add_patch(box)
    ax.text(*xy, text, ha="center", va="center", color="white", fontsize=12)


def _edge(ax: Axes, diagram: Diagram, src: str, dst: str, label: str, color: str, rad: float = 0.0,
          label_offset: tuple[float, float] = (0.0, 0.0)) -> None:
    diagram.edges.append((src, dst, label))
    (x0, y0), (x1, y1) = diagram.nodes[src], diagram.nodes[dst]
    arrow = FancyArrowPatch((x0, y0), (x1, y1), connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                            mutation_scale=14, color=color, lw=1.6, shrinkA=17, shrinkB=17)
    ax.add_patch(arrow)
    mx, my = (x0 + x1) / 2 + label_offset[0], (y0 + y1) / 2 + label_offset[1]
    ax.text(mx, my, _math(label), ha="center", va="center", fontsize=11, color=COLORS["text"],
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})


def unrolled_rnn(steps: int = 4, *, figsize: tuple[float, float] | None = None) -> Diagram:
    r"""Draw the Elman RNN folded (left) and unrolled over ``steps`` time steps (right).

    Nodes are named ``x_t``, ``h_t``, ``o_t`` (t = 1..steps), ``h_0`` and, for the folded
    network, ``x``, ``h``, ``o``. Edge labels are the notes' weight names
    ``W_xh``, ``W_hh``, ``W_ho``: the same three matrices at every step.
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


def curves(series: dict[str, list[float]], *, ax: Axes | None = None, xlabel: str = "training step",
           ylabel: str = "loss", logy: bool = False, smooth: int = 1) -> Axes:
    """Plot named curves (e.g. training losses) on one axes; ``smooth`` > 1 draws a moving average."""
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
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def attention_heatmap(weights, source: list[str], output: list[str], *, ax: Axes | None = None,
                      title: str | None = None) -> Axes:
    """Draw attention weights (T, L) as a heatmap: one row per output token (``output``,
    T labels), one column per source position (``source``, L labels), darker = more weight.
    Returns the axes; the data drawn is ``weights`` itself (``ax.images[0].get_array()``)."""
    import numpy as np

    w = np.asarray(weights.detach().cpu() if hasattr(weights, "detach") else weights, dtype=float)
    if w.ndim != 2 or w.shape != (len(output), len(source)):
        raise ValueError(f"weights must have shape (len(output), len(source)) = "
                         f"({len(output)}, {len(source)}), got {w.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.32 * len(source) + 1.2, 0.32 * len(output) + 1.0))
    ax.imshow(w, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)), [repr(c)[1:-1] if c != " " else "␣" for c in source])
    ax.set_yticks(range(len(output)), output)
    ax.set_xlabel("source position")
    ax.set_ylabel("output token")
    ax.tick_params(length=0)
    if title:
        ax.set_title(title, fontsize=10)
    return ax
