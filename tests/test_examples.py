"""Every public class and function has a ``>>>`` example in its own docstring.

Scope: every class and function that ``import rnnbook`` exports (``rnnbook.__all__``), and
the public classes and functions of the modules read as modules
(:mod:`rnnbook.notes.bptt`, :mod:`rnnbook.notes.bptt_symbolic` and the figures:
:mod:`rnnbook.helpers.plot`, :mod:`rnnbook.helpers.diagrams`, :mod:`rnnbook.helpers.traces`,
:mod:`rnnbook.helpers.figures_variants`).
A class's example must be in the class docstring (not only in its methods'). The examples
run in ``tests/test_doctests.py``; this file checks that each one exists where the doctest
finder collects it, so an example that would never run does not count.

``python tests/test_examples.py`` prints the number of examples per subpackage
(``pytest -s`` prints the same table).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
from collections import Counter

import rnnbook

#: Modules whose public names are read through the module, not exported at the top level.
READ_AS_MODULES = ("rnnbook.notes.bptt", "rnnbook.notes.bptt_symbolic", "rnnbook.helpers.plot",
                   "rnnbook.helpers.diagrams", "rnnbook.helpers.traces",
                   "rnnbook.helpers.figures_variants")


def public_objects() -> dict[str, object]:
    """Every class and function in scope, keyed ``module.Name`` (the doctest finder's name)."""
    found = {}
    candidates = [getattr(rnnbook, name) for name in rnnbook.__all__ if name not in rnnbook.SUBPACKAGES]
    for module_name in READ_AS_MODULES:
        module = importlib.import_module(module_name)
        candidates += [getattr(module, name) for name in module.__all__]
    for obj in candidates:
        if inspect.isclass(obj) or inspect.isfunction(obj):
            found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def collected_examples(modules: set[str]) -> dict[str, int]:
    """``>>>`` examples per docstring, as the doctest finder of test_doctests collects them."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    counts = {}
    for module_name in sorted(modules):
        for test in finder.find(importlib.import_module(module_name), module_name):
            counts[test.name] = len(test.examples)
    return counts


def missing_examples(objects: dict[str, object], counts: dict[str, int]) -> list[str]:
    """The names in ``objects`` whose own docstring has no collected example."""
    return sorted(name for name in objects if counts.get(name, 0) == 0)


def example_table() -> str:
    """Objects in scope, those with an example, and their ``>>>`` examples, per subpackage."""
    objects = public_objects()
    counts = collected_examples({obj.__module__ for obj in objects.values()})
    total, covered, examples = Counter(), Counter(), Counter()
    for name in objects:
        sub = name.split(".")[1]
        total[sub] += 1
        covered[sub] += counts.get(name, 0) > 0
        examples[sub] += counts.get(name, 0)
    rows = [f"{'subpackage':12s} {'objects':>8s} {'with example':>13s} {'>>> examples':>13s}"]
    for sub in rnnbook.SUBPACKAGES:
        if total[sub]:
            rows.append(f"{sub:12s} {total[sub]:8d} {covered[sub]:13d} {examples[sub]:13d}")
    rows.append(f"{'total':12s} {sum(total.values()):8d} {sum(covered.values()):13d} "
                f"{sum(examples.values()):13d}")
    return "\n".join(rows)


def test_every_public_class_and_function_has_an_example():
    objects = public_objects()
    counts = collected_examples({obj.__module__ for obj in objects.values()})
    print("\n" + example_table())
    missing = missing_examples(objects, counts)
    assert not missing, (
        f"{len(missing)} public classes/functions have no >>> example in their own docstring: "
        + ", ".join(missing)
    )


def test_the_scope_covers_every_floor_above_the_kernels_and_the_modules_read_as_modules():
    names = set(public_objects())
    assert {name.split(".")[1] for name in names} == {"layers", "variants", "notes", "seq", "helpers"}
    for module_name in READ_AS_MODULES:
        assert any(name.startswith(module_name + ".") for name in names), module_name


def test_the_check_catches_a_function_without_an_example():
    def documented():
        """Has one.

        >>> 1 + 1
        2
        """

    def undocumented():
        """Shapes, but no example."""

    finder = doctest.DocTestFinder(exclude_empty=True)
    counts = {t.name: len(t.examples) for f in (documented, undocumented) for t in finder.find(f, f.__name__)}
    objects = {"documented": documented, "undocumented": undocumented}
    assert missing_examples(objects, counts) == ["undocumented"]


if __name__ == "__main__":
    print(example_table())
