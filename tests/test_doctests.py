"""The ``>>>`` examples in rnnbook's docstrings run, and print what they say they print."""

import doctest
import importlib
import pkgutil

import pytest

import rnnbook

MODULES = ["rnnbook"] + sorted(
    m.name for m in pkgutil.walk_packages(rnnbook.__path__, "rnnbook.")
    if not any(part.startswith("_") for part in m.name.split("."))
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in finder.find(module, name, globs={"rnnbook": rnnbook}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
