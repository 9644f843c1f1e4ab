"""The performance appendix's figures, drawn from the committed benchmark run.

Each function draws one figure from ``book/_static/benchmark.json`` (written by
``make bench``); the appendix calls them through Matplotlib's ``plot`` directive, so the figures
are redrawn from the data at every build.
"""

from __future__ import annotations

import json
import pathlib

import matplotlib.pyplot as plt

# The plot directive runs this file with no __file__, from the folder that holds it.
HERE = pathlib.Path(globals().get("__file__", "performance.py")).resolve().parent
DATA = HERE.parent / "_static" / "benchmark.json"
SIZES = [(500, 16, 32, 64), (100, 32, 64, 128), (100, 32, 256, 256)]   # (T, B, input, hidden)
LAYERS = ["RNN", "GRU", "LSTM"]
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
STYLE = {  # implementation kind -> (label, colour, marker)
    "torch": ("PyTorch's layer", "#4c72b0", "s"),
    "hand": ("rnnbook, hand-written BPTT", "#dd8452", "o"),
    "autograd": ("rnnbook, loop recorded by autograd", "#8c8c8c", "^"),
}


def rows() -> dict:
    """The committed rows, keyed by (implementation, T, B, input, hidden)."""
    data = json.loads(DATA.read_text())
    return {(r["impl"], r["T"], r["B"], r["input"], r["hidden"]): r for r in data["rows"]}


def impl(layer: str, kind: str) -> str:
    return f"torch.nn.{layer}" if kind == "torch" else f"rnnbook.{layer} ({kind})"


def macs_per_step(layer: str, size: tuple[int, int, int, int]) -> int:
    """Multiply-adds of the weight products in one step, for the whole batch."""
    _, batch, d, hidden = size
    return GATES[layer] * hidden * (d + hidden) * batch


def per_step():
    """Time of one step (forward and backward) against the arithmetic in that step."""
    data = rows()
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.6), sharey=True)
    for ax, layer in zip(axes, LAYERS):
        order = sorted(SIZES, key=lambda s: macs_per_step(layer, s))
        x = [macs_per_step(layer, s) / 1e6 for s in order]
        for kind, (label, colour, marker) in STYLE.items():
            y = [1000 * data[(impl(layer, kind), *s)]["ms"] / s[0] for s in order]
            ax.plot(x, y, marker=marker, color=colour, label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(layer)
        ax.set_xlabel("multiply-adds per step (millions)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("µs per step, forward + backward")
    axes[0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()


def ratios():
    """Time and peak memory of a pass relative to PyTorch's layer, per layer and size."""
    data = rows()
    fig, axes = plt.subplots(2, 3, figsize=(10.5, 5.6), sharey="row")
    for col, layer in enumerate(LAYERS):
        for row, (key, what) in enumerate([("time_ratio", "time"), ("peak_ratio", "peak memory")]):
            ax = axes[row, col]
            for i, kind in enumerate(["hand", "autograd"]):
                label, colour, _ = STYLE[kind]
                values = [data[(impl(layer, kind), *s)][key] for s in SIZES]
                ax.bar([j + (i - 0.5) * 0.38 for j in range(len(SIZES))], values, width=0.38,
                       color=colour, label=label)
            ax.axhline(1.0, color=STYLE["torch"][1], lw=1.5, label="PyTorch's layer (= 1)")
            ax.set_xticks(range(len(SIZES)), [f"T={s[0]}, B={s[1]}\nd={s[2]}, H={s[3]}" for s in SIZES], fontsize=7)
            ax.set_title(f"{layer}: {what}", fontsize=10)
            ax.grid(True, axis="y", alpha=0.3)
        axes[0, col].set_yscale("log")
    axes[0, 0].set_ylabel("× PyTorch's time")
    axes[1, 0].set_ylabel("× PyTorch's peak")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()


def lengths():
    """SRU and QRNN against torch.nn.LSTM as the sequence grows (batch 16, 128 inputs and units)."""
    data = rows()
    lengths_ = [256, 1024, 4096]
    lines = [("torch.nn.LSTM", "torch.nn.LSTM", STYLE["torch"][1], "s", "-"),
             ("rnnbook.SRU (hand)", "SRU, hand-written backward", "#dd8452", "o", "-"),
             ("rnnbook.SRU (autograd)", "SRU, loop recorded by autograd", "#dd8452", "o", ":"),
             ("rnnbook.QRNN (hand)", "QRNN, hand-written backward", "#55a868", "D", "-"),
             ("rnnbook.QRNN (scan)", "QRNN, doubling scan + autograd", "#55a868", "D", ":")]
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.8))
    for name, label, colour, marker, dash in lines:
        for ax, key in zip(axes, ["ms", "peak_mb"]):
            ax.plot(lengths_, [data[(name, T, 16, 128, 128)][key] for T in lengths_], marker=marker,
                    color=colour, ls=dash, label=label)
    for ax, what in zip(axes, ["ms per pass, forward + backward", "peak memory of a pass (MiB)"]):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(lengths_, [str(T) for T in lengths_])
        ax.set_xlabel("sequence length T")
        ax.set_ylabel(what)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
