r"""Values traced over a sequence, and drawn in the style of :mod:`rnnbook.helpers.plot`: gate
activations over a text as a heatmap (one column per character, one row per unit) and the
hidden state over time as curves.

:func:`lstm_gates` and :func:`gru_gates` record what an LSTM's or GRU's gates do at every step
of one sequence, from the layer's own weights (``rnnbook`` or ``torch.nn``; the recorded
:math:`h_t` equals the layer's output, tested). :func:`gate_heatmap` and
:func:`hidden_state_plot` take one sequence's values as a (T, H) tensor or array (time first,
e.g. ``gates["f"]`` or ``output[:, 0]``) and return the axes they drew on; the data drawn is
read back from the axes (``ax.images[0].get_array()``, ``ax.lines``).

:func:`lm_curve` draws what a language model's training traced (an
:class:`rnnbook.helpers.lm.LMRun`): bits per character over the training steps, against
baselines.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import Tensor, nn

from rnnbook.helpers.plot import _style_line_plot, _token_label

__all__ = ["lstm_gates", "gru_gates", "gate_heatmap", "hidden_state_plot", "lm_curve", "forecast_plot"]


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


def lm_curve(run: object, baselines: dict[str, float], *, smooth: int = 20, ax: Axes | None = None) -> Axes:
    """A language model's learning curve in bits per character: the training loss of every
    step (``run.train_bits``, as a moving average of ``smooth`` steps), the validation points
    (``run.valid``, ``(step, bits)`` pairs) and a grey line per baseline (``baselines``: name
    to bits per character). ``run`` is an :class:`rnnbook.helpers.lm.LMRun`. Returns the axes.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from rnnbook.helpers import traces
    >>> run = rnnbook.LMRun(train_bits=[4.0, 3.5, 3.0, 2.8], valid=[(2, 3.4), (4, 2.9)])
    >>> ax = traces.lm_curve(run, {"unigram": 4.7}, smooth=2)
    >>> [line.get_label() for line in ax.lines]
    ['training (moving average of 2)', 'validation', 'unigram']
    >>> ax.lines[1].get_xydata().tolist()                  # (step, bits) after steps 2 and 4
    [[2.0, 3.4], [4.0, 2.9]]
    >>> plt.close(ax.figure)
    """
    from rnnbook.helpers.plot import COLORS, curves

    valid, train = getattr(run, "valid", None), getattr(run, "train_bits", None)
    if not isinstance(valid, list) or not valid or not isinstance(train, list) or not train:
        raise TypeError(f"run must be an LMRun with training losses and validation points, got {run!r}")
    if not isinstance(baselines, dict) or not all(isinstance(v, (int, float)) for v in baselines.values()):
        raise TypeError(f"baselines must be a dict mapping a name to bits per character, got {baselines!r}")
    ax = curves({f"training (moving average of {smooth})": train}, smooth=smooth, ax=ax,
                ylabel="bits per character")
    ax.plot(*zip(*valid), "o-", color=COLORS["o"], lw=1.6, label="validation")
    for k, (name, bits) in enumerate(baselines.items()):
        ax.axhline(bits, color="gray", ls=["--", ":", "-."][k % 3], lw=1.2, label=name)
    ax.legend(frameon=False)
    return ax


def _trace(module: object, x: object, layer: int, blocks: int, step) -> dict[str, Tensor]:
    """Run layers 0..``layer`` of a one-direction ``module`` over one sequence ``x`` (T, H_in)
    from a zero state, each step by ``step(gi_t, state, w_hh, b_hh) -> (values, state)``, and
    stack the last layer's values over time."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"the layer must be a torch.nn.Module, got {type(module).__name__}")
    hidden, layers = getattr(module, "hidden_size", None), getattr(module, "num_layers", None)
    weight = getattr(module, "weight_ih_l0", None)
    if not isinstance(weight, Tensor) or not isinstance(hidden, int) or weight.shape[0] != blocks * hidden:
        raise ValueError(f"the layer must hold weight_ih_l0 of {blocks} x hidden_size rows, as "
                         f"{'an LSTM' if blocks == 4 else 'a GRU'} of rnnbook or torch.nn does; got {type(module).__name__}")
    if getattr(module, "bidirectional", False) or getattr(module, "proj_size", 0):
        raise ValueError("the layer must run one direction without a projection (bidirectional=False, "
                         "proj_size=0); trace each direction as a layer of its own")
    if any(name.startswith("weight_c") for name, _ in module.named_parameters()):
        raise ValueError(f"{type(module).__name__} has peephole weights, which this trace does not read")
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < layers:
        raise ValueError(f"layer must be an int in [0, {layers}) (num_layers={layers}), got {layer!r}")
    if not isinstance(x, Tensor) or x.dim() != 2:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"x must be one sequence (T, H_in), got {shape}; pick one, e.g. x[:, 0]")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but the layer takes {weight.shape[1]}")
    values: dict[str, Tensor] = {}
    with torch.no_grad():
        seq = x.to(weight.dtype)
        for k in range(layer + 1):
            w_ih, w_hh = getattr(module, f"weight_ih_l{k}"), getattr(module, f"weight_hh_l{k}")
            b_ih, b_hh = getattr(module, f"bias_ih_l{k}", None), getattr(module, f"bias_hh_l{k}", None)
            gi = seq @ w_ih.T + (b_ih if b_ih is not None else 0)
            state = (seq.new_zeros(hidden), seq.new_zeros(hidden))
            steps = []
            for t in range(seq.shape[0]):
                record, state = step(gi[t], state, w_hh, b_hh)
                steps.append(record)
            values = {name: torch.stack([r[name] for r in steps]) for name in steps[0]}
            seq = values["h"]
    return values


def _lstm_step(gi_t: Tensor, state, w_hh: Tensor, b_hh: Tensor | None):
    h, c = state
    a = gi_t + h @ w_hh.T + (b_hh if b_hh is not None else 0)
    i, f, g, o = a.chunk(4)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    h = o * torch.tanh(c)
    return {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}, (h, c)


def lstm_gates(lstm: nn.Module, x: Tensor, *, layer: int = 0) -> dict[str, Tensor]:
    r"""What an LSTM's gates do over one sequence ``x`` (T, H_in), from a zero state: a dict of
    (T, H) tensors ``i``, ``f``, ``g``, ``o`` (input gate, forget gate, candidate, output gate),
    ``c`` (memory) and ``h`` (output), for layer ``layer`` of ``lstm`` (``rnnbook.LSTM`` or
    ``torch.nn.LSTM``, one direction, no projection), recomputed from its weights with
    :math:`c_t = f_t \odot c_{t-1} + i_t \odot g_t`, :math:`h_t = o_t \odot \tanh(c_t)`.

    >>> import torch
    >>> from rnnbook.helpers import traces
    >>> _ = torch.manual_seed(0)
    >>> lstm = torch.nn.LSTM(3, 4, dtype=torch.float64)
    >>> x = torch.randn(6, 3, dtype=torch.float64)         # one sequence of 6 steps
    >>> gates = traces.lstm_gates(lstm, x)
    >>> sorted(gates), tuple(gates["f"].shape)
    (['c', 'f', 'g', 'h', 'i', 'o'], (6, 4))
    >>> torch.allclose(gates["h"], lstm(x)[0], atol=1e-12)  # the recorded h_t is the layer's output
    True
    """
    return _trace(lstm, x, layer, 4, _lstm_step)


def gru_gates(gru: nn.Module, x: Tensor, *, layer: int = 0) -> dict[str, Tensor]:
    r"""What a GRU's gates do over one sequence ``x`` (T, H_in), from a zero state: a dict of
    (T, H) tensors ``r`` (reset gate), ``z`` (update gate), ``n`` (candidate) and ``h`` (output,
    :math:`h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}`), for layer ``layer`` of ``gru``
    (``rnnbook.GRU``, either ``reset_after`` form, or ``torch.nn.GRU``; one direction).

    >>> import torch
    >>> from rnnbook.helpers import traces
    >>> _ = torch.manual_seed(0)
    >>> gru = rnnbook.GRU(3, 4, dtype=torch.float64)
    >>> x = torch.randn(6, 3, dtype=torch.float64)
    >>> gates = traces.gru_gates(gru, x)
    >>> sorted(gates), torch.allclose(gates["h"], gru(x)[0], atol=1e-12)
    (['h', 'n', 'r', 'z'], True)
    """
    reset_after = getattr(gru, "reset_after", True)

    def step(gi_t: Tensor, state, w_hh: Tensor, b_hh: Tensor | None):
        h = state[0]
        gi_r, gi_z, gi_n = gi_t.chunk(3)
        w_hr, w_hz, w_hn = w_hh.chunk(3)
        b_hr, b_hz, b_hn = b_hh.chunk(3) if b_hh is not None else (0, 0, 0)
        r = torch.sigmoid(gi_r + h @ w_hr.T + b_hr)
        z = torch.sigmoid(gi_z + h @ w_hz.T + b_hz)
        n = torch.tanh(gi_n + (r * (h @ w_hn.T + b_hn) if reset_after else (r * h) @ w_hn.T + b_hn))
        h = (1 - z) * n + z * h
        return {"r": r, "z": z, "n": n, "h": h}, (h, h)

    return _trace(gru, x, layer, 3, step)


def forecast_plot(times, measured, forecasts: dict[str, object], *, first: int, every: int = 12,
                  shown_from: int | None = None, ax: Axes | None = None, title: str | None = None,
                  ylabel: str = "value") -> Axes:
    """Draw a series and the multi-step forecasts made from it: the ``measured`` values (L,)
    against ``times`` (L,), from index ``shown_from`` on (default ``first``); and for each
    model in ``forecasts`` (name to a (W, M) array: row j is the forecast of the M values from
    index ``first + j``), every ``every``-th row, each model in its own colour and line style.
    A grey vertical line marks where the forecasts begin, halfway between ``times[first - 1]``
    and ``times[first]``. Returns the axes: ``ax.lines[0]`` is the measured series, then one line
    per drawn forecast, model by model, then the vertical line.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from rnnbook.helpers import traces
    >>> t = np.arange(10.0)
    >>> naive = np.array([[5.0, 5.0], [6.0, 6.0], [7.0, 7.0]])   # W = 3 origins, M = 2 steps
    >>> ax = traces.forecast_plot(t, t, {"naive": naive}, first=6, every=2, shown_from=4)
    >>> [line.get_label() for line in ax.lines[:3]], ax.lines[2].get_xydata().tolist()
    (['measured', 'naive', '_nolegend_'], [[8.0, 7.0], [9.0, 7.0]])
    >>> plt.close(ax.figure)
    """
    t = np.asarray(times, dtype=float).reshape(-1)
    y = _values("measured", np.asarray(measured, dtype=float).reshape(-1, 1), len(t), "times")[:, 0]
    if not isinstance(forecasts, dict) or not forecasts:
        raise TypeError(f"forecasts must be a non-empty dict of name to a (W, M) array, got {forecasts!r}")
    if not isinstance(first, int) or not 1 <= first < len(t):
        raise ValueError(f"first must be an index in [1, {len(t) - 1}], got {first!r}")
    if not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be a positive int, got {every!r}")
    start = first if shown_from is None else shown_from
    rows = {}
    for name, values in forecasts.items():
        f = np.asarray(values.detach() if isinstance(values, Tensor) else values, dtype=float)
        if f.ndim != 2 or first + f.shape[0] + f.shape[1] - 1 > len(t):
            raise ValueError(f"forecasts[{name!r}] must be (W, M) with first + W + M - 1 <= {len(t)} "
                             f"values to forecast, got shape {f.shape}")
        rows[name] = f
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(t[start:], y[start:], color="black", lw=1, label="measured")
    styles = [":", "--", "-", "-."]
    for k, (name, f) in enumerate(rows.items()):
        for j in range(0, f.shape[0], every):
            ax.plot(t[first + j:first + j + f.shape[1]], f[j], ls=styles[k % len(styles)],
                    color=f"C{k}", label=name if j == 0 else "_nolegend_")
    ax.axvline((t[first - 1] + t[first]) / 2, color="gray", lw=1)
    ax.set(xlabel="time", ylabel=ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax
