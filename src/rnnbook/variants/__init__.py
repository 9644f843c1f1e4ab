"""Other recurrent variants of the notes: Clockwork RNN, SRU, QRNN, minGRU/minLSTM, and the
parallel scan that computes their linear recurrences.

Modules: :mod:`rnnbook.variants.clockwork`, :mod:`rnnbook.variants.mingru`, :mod:`rnnbook.variants.qrnn`, :mod:`rnnbook.variants.scan`, :mod:`rnnbook.variants.sru`.
"""

import importlib

__all__ = ['clockwork', 'mingru', 'qrnn', 'scan', 'sru']


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
