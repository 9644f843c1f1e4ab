"""The readable layers: the Elman RNN, GRU and LSTM (drop-in for torch's), and the peephole LSTM.

Each layer runs a cell's update over time, the equation above each line of the update;
with the default ``bptt="hand"`` the loop runs in a hand-written kernel of
:mod:`rnnbook.kernels`, with ``bptt="autograd"`` the readable loop runs under autograd.

Modules: :mod:`rnnbook.layers.base`, :mod:`rnnbook.layers.gru`, :mod:`rnnbook.layers.lstm`, :mod:`rnnbook.layers.rnn`,
and :mod:`rnnbook.layers.packing` (variable lengths: ``lengths=`` and ``PackedSequence``, for every layer).
"""

import importlib

__all__ = ['base', 'gru', 'lstm', 'packing', 'rnn']


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
