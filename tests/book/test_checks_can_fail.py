"""Every check cell of the book can fail: a deliberately wrong input or claim makes it fail.

``tests/book/check_mutations.py`` holds, for every code cell with an ``assert`` (a *check
cell*), one or more text replacements that falsify the claim beside it: a wrong formula,
a wrong input, an untrained model, a wrong bound. ``tests/book/checkrun.py`` runs a chapter's
cells in order in one process and, right after each check cell, runs its mutated source
in a forked child, which must stop on an ``AssertionError`` (an error of another kind,
or no error, fails the test). Check cells with no mutation must be listed, with the
reason, in ``check_mutations.LEFT_OUT``.

The coverage test is cheap (it also checks that every replaced text is still in its cell).
The mutation runs re-execute every chapter (a few minutes of CPU): they carry the
``mutation`` marker, so ``-m mutation`` runs them alone and ``-m "not mutation"`` leaves
them out; like everything under ``tests/book`` they also carry ``book``. Where the same run
also executes a chapter under nbval (``make test``), its mutations run inside that chapter's
kernel instead, right after each check cell (``tests/book/nbval_mutations.py``), and its
``test_mutated_checks_fail`` item is deselected: the chapter is executed once, not twice.
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import subprocess
import sys

import pytest

from check_mutations import LEFT_OUT, MUTATIONS

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "book" / "chapters").glob("*.ipynb"))


_CHECKS = {"check", "check_close", "check_same_module"}  # rnnbook.helpers.checks: they assert


def _asserts(source: str) -> bool:
    """Whether the code has an assert statement, raises AssertionError or calls one of
    rnnbook's checks (``rnnbook.check(...)``, ``check_close(...)``, ...)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call) and (getattr(node.func, "attr", None) in _CHECKS
                                           or getattr(node.func, "id", None) in _CHECKS):
            return True
        if isinstance(node, ast.Raise) and "AssertionError" in ast.unparse(node):
            return True
    return False


def check_cells(path: pathlib.Path) -> list[str]:
    """Ids of the code cells that assert something (the check cells)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [c["id"] for c in nb["cells"]
            if c["cell_type"] == "code" and _asserts("".join(c["source"]))]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_check_cell_has_a_mutation_or_a_reason(path):
    cells = check_cells(path)
    table = MUTATIONS.get(path.stem, {})
    left_out = {cell for (stem, cell) in LEFT_OUT if stem == path.stem}
    missing = [c for c in cells if c not in table and c not in left_out]
    assert not missing, f"{path.name}: check cells with no mutation and no reason: {missing}"
    unknown = [c for c in list(table) + sorted(left_out) if c not in cells]
    assert not unknown, f"{path.name}: the table names cells that are not check cells: {unknown}"
    assert not set(table) & left_out, "a cell is both mutated and left out"
    sources = {c["id"]: "".join(c["source"]) for c in json.loads(path.read_text())["cells"]}
    stale = [(cell, old) for cell, mutations in table.items() for mutation in mutations
             for old in _olds(mutation) if sources[cell].count(old) != 1]
    assert not stale, f"{path.name}: mutations whose text is not in their cell exactly once: {stale}"


def _olds(mutation: list) -> list[str]:
    """The texts a mutation replaces ([old, new, why] or [[old, new], ..., why])."""
    *edits, _ = mutation
    return [edits[0]] if all(isinstance(e, str) for e in edits) else [old for old, _ in edits]


def test_the_table_names_only_chapters():
    assert set(MUTATIONS) <= {p.stem for p in CHAPTERS}


@pytest.mark.mutation
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_mutated_checks_fail(path, tmp_path):
    table = MUTATIONS.get(path.stem, {})
    if not table:
        pytest.skip("no check cells")
    report_path = tmp_path / "report.json"
    env = {**os.environ, "MPLBACKEND": "Agg", "RNNBOOK_PROGRESS": "0",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "book" / "checkrun.py"), str(path),
                           str(report_path)], input=json.dumps(table), text=True,
                          capture_output=True, env=env, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(report_path.read_text())
    wanted = sum(len(v) for v in table.values())
    assert len(report["results"]) == wanted
    print(f"{path.stem}: {report['cells']} code cells, {wanted} mutations, "
          f"{report['cpu_s']} s of CPU")
    bad = [r for r in report["results"] if r["outcome"] != "AssertionError"]
    assert not bad, "mutations that did not make their check fail:\n" + "\n".join(
        f"  {r['cell']} ({r['why']}): {r['outcome']} {r['detail']}" for r in bad)
