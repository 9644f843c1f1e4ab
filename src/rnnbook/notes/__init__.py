"""The notes' own forms, kept as the notes write them so that the book can check them: the
Elman network with ``W_xh, W_hh, W_ho``, the LSTM built in five steps, the notes' first
version, and BPTT by hand in NumPy and in SymPy.

Modules: :mod:`rnnbook.notes.bptt`, :mod:`rnnbook.notes.bptt_symbolic`, :mod:`rnnbook.notes.elman`, :mod:`rnnbook.notes.first_version`, :mod:`rnnbook.notes.lstm_steps`.
"""

import importlib

__all__ = ['bptt', 'bptt_symbolic', 'elman', 'first_version', 'lstm_steps']


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
