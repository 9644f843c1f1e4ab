r"""Values traced over a sequence, drawn in the style of :mod:`rnnbook.helpers.plot`: gate
activations over a text as a heatmap (one column per character, one row per unit) and the
hidden state over time as curves.

Both take one sequence's values as a (T, H) tensor or array (time first, as a layer returns
them for a batch of one, e.g. ``output[:, 0]``) and return the axes they drew on; the data
drawn is read back from the axes (``ax.images[0].get_array()``, ``ax.lines``).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from rnnbook.helpers.plot import _style_line_plot, _token_label

__all__ = ["gate_heatmap", "hidden_state_plot"]


def _values(name: str, values: object, length: int | None, length_of: str) -> np.ndarray:
    """``values`` as a 2-D float array (T, H), T = ``length`` when given."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().double().numpy()
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a (T, H) tensor or array of numbers, got {type(values).__name__}") from error
    if v.ndim != 2 or v.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D (T, H) tensor or array, got shape {v.shape}")
    if length is not None and v.shape[0] != length:
        raise ValueError(f"{name} has {v.shape[0]} time steps (rows) but {length_of} has {length}")
    if not np.isfinite(v).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return v


def _units(units: Sequence[int] | None, hidden: int, name: str = "values") -> list[int]:
    if units is None:
        return list(range(hidden))
    if isinstance(units, (str, bytes)) or not isinstance(units, Sequence) or not units:
        raise TypeError(f"units must be a non-empty list of unit indices, got {units!r}")
    for k in units:
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < hidden:
            raise ValueError(f"units must be indices in [0, {hidden}) ({name} has {hidden} units), got {k!r}")
    return list(units)


def _chars(chars: object) -> list[str]:
    if isinstance(chars, str):
        return list(chars)
    if isinstance(chars, Sequence) and all(isinstance(c, str) for c in chars):
        return list(chars)
    raise TypeError(f"chars must be a str or a list of str (one per time step), got {type(chars).__name__}")


def gate_heatmap(values, chars, *, units: Sequence[int] | None = None, ax: Axes | None = None,
                 title: str | None = None, vmin: float = 0.0, vmax: float = 1.0,
                 colorbar: bool = True) -> Axes:
    """Draw gate activations over a text: ``values`` (T, H), one column per character of
    ``chars`` (T characters, a str or a list of tokens; a space shown as ``␣``), one row per
    unit (``units``: which of the H to show, in that order; default all). Dark is open (near
    ``vmax``, 1 for a sigmoid gate), light is closed; values outside [vmin, vmax] take the
    end colours. Returns the axes; the drawn array is ``values[:, units].T``.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import torch
    >>> from rnnbook.helpers import traces
    >>> forget = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9]])   # (T, H): 3 characters, 2 units
    >>> ax = traces.gate_heatmap(forget, "ab ", title="forget gate")
    >>> ax.images[0].get_array().shape, [t.get_text() for t in ax.get_xticklabels()]
    ((2, 3), ['a', 'b', '␣'])
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['unit 0', 'unit 1']
    >>> plt.close(ax.figure)
    """
    chars = _chars(chars)
    v = _values("values", values, len(chars), "chars")
    rows = _units(units, v.shape[1])
    if not vmin < vmax:
        raise ValueError(f"vmin must be below vmax, got vmin={vmin}, vmax={vmax}")
    if ax is None:
        width = min(16.0, max(4.0, 0.24 * len(chars) + 2.2))
        _, ax = plt.subplots(figsize=(width, min(8.0, 0.3 * len(rows) + 1.4)))
    image = ax.imshow(v[:, rows].T, cmap="Greys", vmin=vmin, vmax=vmax, aspect="auto",
                      interpolation="nearest")
    ax.set_xticks(range(len(chars)), [_token_label(c) for c in chars], fontsize=8)
    if len(rows) <= 32:
        ax.set_yticks(range(len(rows)), [f"unit {k}" for k in rows], fontsize=8)
    ax.set_xlabel("character")
    ax.set_ylabel("unit")
    ax.tick_params(length=0)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label="activation")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def hidden_state_plot(states, *, chars=None, units: Sequence[int] | None = None,
                      ax: Axes | None = None, title: str | None = None,
                      ylabel: str = "$h_t$, one curve per unit") -> Axes:
    """Draw the hidden state over time: ``states`` (T, H), one curve per unit (``units``,
    default all; at most 10 curves, pick them with ``units`` beyond that), against the time
    step t = 1..T, or against the characters ``chars`` read (T of them) when given. Returns the
    axes, with one line per unit labelled ``unit k``.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import torch
    >>> from rnnbook.helpers import traces
    >>> h = torch.tanh(torch.arange(12.0).reshape(4, 3) - 6)           # (T, H) = (4, 3)
    >>> ax = traces.hidden_state_plot(h, units=[0, 2])
    >>> [line.get_label() for line in ax.lines], ax.lines[0].get_xdata().tolist()
    (['unit 0', 'unit 2'], [1, 2, 3, 4])
    >>> plt.close(ax.figure)
    """
    labels = _chars(chars) if chars is not None else None
    v = _values("states", states, len(labels) if labels is not None else None, "chars")
    lines = _units(units, v.shape[1], "states")
    if len(lines) > 10:
        raise ValueError(f"states has {len(lines)} units to draw; pick at most 10 with units=[...]")
    if ax is None:
        _, ax = plt.subplots(figsize=(min(16.0, max(6.4, 0.24 * v.shape[0] + 2.0)), 3.6))
    steps = list(range(1, v.shape[0] + 1))
    for k in lines:
        ax.plot(steps, v[:, k], lw=1.6, marker="o" if len(steps) <= 40 else None, ms=3, label=f"unit {k}")
    if labels is not None:
        ax.set_xticks(steps, [_token_label(c) for c in labels], fontsize=8)
    _style_line_plot(ax, "character read" if labels is not None else "time step $t$", ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    return ax
