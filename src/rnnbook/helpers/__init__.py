"""The book's helpers: data sets and tasks, the training loop, plots and diagnostics. SymPy and
Matplotlib are imported only by the modules that need them.

Modules: :mod:`rnnbook.helpers.baselines`, :mod:`rnnbook.helpers.checks`,
:mod:`rnnbook.helpers.data`, :mod:`rnnbook.helpers.diagnostics`, :mod:`rnnbook.helpers.diagrams`,
:mod:`rnnbook.helpers.introspect`, :mod:`rnnbook.helpers.lm`, :mod:`rnnbook.helpers.numbers`,
:mod:`rnnbook.helpers.plot`, :mod:`rnnbook.helpers.series`, :mod:`rnnbook.helpers.text`,
:mod:`rnnbook.helpers.traces`, :mod:`rnnbook.helpers.train`. Real data (an English text, a time
series, numbers in English and French words) is frozen in the
package folder ``rnnbook/helpers/datasets/``, with its provenance and licences.
"""

import importlib

__all__ = ['baselines', 'checks', 'data', 'diagnostics', 'diagrams', 'introspect', 'lm', 'numbers', 'plot',
           'series', 'text', 'traces', 'train']


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
