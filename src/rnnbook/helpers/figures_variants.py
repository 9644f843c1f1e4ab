"""Figures of the variants chapters: when each module of a Clockwork RNN computes, and how the
doubling scan combines the steps of a linear recurrence round by round.

Like :mod:`rnnbook.helpers.diagrams`, each function returns what it drew as data (a 0/1 grid,
or a :class:`rnnbook.helpers.plot.Diagram` with its graph), so a chapter can assert that the
picture shows what the text says: nbval compares no pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from rnnbook._validate import check_int
from rnnbook.helpers.plot import COLORS, Diagram, _edge, _node

__all__ = ["clock_schedule", "scan_diagram"]


def clock_schedule(periods: Sequence[int], steps: int, *, ax: Axes | None = None) -> tuple[Axes, np.ndarray]:
    r"""Draw when each module of a Clockwork RNN computes: module :math:`i` (a row) is active at
    step :math:`t` (a column, counted from 0 as in :class:`rnnbook.variants.clockwork.ClockworkRNN`)
    when :math:`t \bmod T_i = 0`, and keeps its state otherwise. Returns the axes and the 0/1
    grid drawn, ``(len(periods), steps)``.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import figures_variants
    >>> ax, active = figures_variants.clock_schedule((1, 2, 4), steps=8)
    >>> active.astype(int)
    array([[1, 1, 1, 1, 1, 1, 1, 1],
           [1, 0, 1, 0, 1, 0, 1, 0],
           [1, 0, 0, 0, 1, 0, 0, 0]])
    >>> plt.close(ax.figure)
    """
    if isinstance(periods, (str, bytes)) or not isinstance(periods, Sequence) or len(periods) == 0:
        raise TypeError(f"periods must be a non-empty sequence of ints, got {periods!r}")
    periods = [check_int("periods[i]", p, minimum=1) for p in periods]
    check_int("steps", steps, minimum=1)
    active = np.array([[t % p == 0 for t in range(steps)] for p in periods], dtype=bool)
    if ax is None:
        _, ax = plt.subplots(figsize=(min(0.16 * steps + 1.8, 11.0), 0.32 * len(periods) + 1.2))
    ax.imshow(active, cmap="Greys", vmin=0, vmax=1.25, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(len(periods)), [f"$T_{i + 1}={p}$" for i, p in enumerate(periods)], fontsize=8)
    ax.set_xlabel("step $t$ (dark: the module computes; light: it keeps its state)")
    ax.set_ylabel("module")
    ax.spines[["top", "right"]].set_visible(False)
    return ax, active


def scan_diagram(steps: int = 8, *, ax: Axes | None = None) -> Diagram:
    r"""Draw the doubling scan of a linear recurrence over ``steps`` steps: row :math:`k` holds
    the pair :math:`(A_t, B_t)` of every step after round :math:`k` (row 0: the steps' own
    :math:`(a_t, b_t)`), and round :math:`k` (offset :math:`d = 2^{k-1}`) combines the pair of
    step :math:`t` with the one :math:`d` steps before, for :math:`t > d`. Nodes are named
    ``"k:t"`` (steps counted from 1); edges are labelled ``"keep"`` (the pair carried down) or
    ``"combine"`` (the earlier pair composed in). After :math:`\lceil \log_2 T \rceil` rounds,
    every step's pair has read every earlier step.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import figures_variants
    >>> d = figures_variants.scan_diagram(steps=4)             # 2 rounds for 4 steps
    >>> d.paths("0:1", "2:4")                                  # b_1 reaches h_4 by one path
    [['0:1', '1:2', '2:4']]
    >>> sorted(s for s, t, label in d.edges if t == "2:4" and label == "combine")
    ['1:2']
    >>> plt.close(d.figure)
    """
    check_int("steps", steps, minimum=2)
    rounds = math.ceil(math.log2(steps))
    if ax is None:
        _, ax = plt.subplots(figsize=(0.95 * steps + 1.6, 1.05 * rounds + 1.6))
    d = Diagram(ax.figure)
    for k in range(rounds + 1):
        for t in range(1, steps + 1):
            label = f"$b_{{{t}}}$" if k == 0 else ("$h_{%d}$" % t if k == rounds else "")
            _node(ax, d, f"{k}:{t}", (float(t), float(rounds - k) * 1.1), label,
                  COLORS["x"] if k == 0 else COLORS["h"])
            d.kinds[f"{k}:{t}"] = "pair"
    for k in range(1, rounds + 1):
        offset = 2 ** (k - 1)
        for t in range(1, steps + 1):
            _edge(ax, d, f"{k - 1}:{t}", f"{k}:{t}", "keep", "#999999", text="")
            if t > offset:
                _edge(ax, d, f"{k - 1}:{t - offset}", f"{k}:{t}", "combine", COLORS["recurrent"], text="")
        ax.text(0.1, (rounds - k + 0.5) * 1.1, f"round {k}\n$d = {offset}$", ha="right", va="center",
                fontsize=9, color=COLORS["text"])
    ax.set_xlim(-0.9, steps + 0.6)
    ax.set_ylim(-0.5, rounds * 1.1 + 0.5)
    ax.axis("off")
    ax.set_title(f"The doubling scan: {steps} steps in {rounds} rounds", fontsize=12, color=COLORS["text"])
    return d
