"""The package's floors: a module imports only from its own floor or the floors below it.

Floors, bottom first: the private basics (``rnnbook._validate``, ``rnnbook._sequence``), then
:mod:`rnnbook.kernels`, :mod:`rnnbook.layers`, :mod:`rnnbook.variants` and
:mod:`rnnbook.notes` (side by side), :mod:`rnnbook.seq`,
:mod:`rnnbook.helpers`. Also: no module over 600 lines, and ``import rnnbook`` loads neither
SymPy nor Matplotlib (nor torch) until a name that needs them is used.
"""

import ast
import pathlib
import subprocess
import sys

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "rnnbook"
FLOOR = {"_validate": 0, "_sequence": 0, "kernels": 1, "layers": 2, "variants": 3, "notes": 3,
         "seq": 4, "helpers": 5}
MODULES = sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


def _part(path: pathlib.Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    return rel.parts[0]


def _imports(path: pathlib.Path) -> set[str]:
    """The rnnbook parts (``kernels``, ``seq``, ...) a module imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rnnbook."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "rnnbook":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; use the full rnnbook path")
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("rnnbook."))
            if any(a.name == "rnnbook" for a in node.names):
                found.add("<rnnbook>")
    return found


def import_graph() -> dict[str, set[str]]:
    """``{part: parts it imports}`` over the whole package (for the closing report and the test)."""
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        graph.setdefault(_part(path), set()).update(_imports(path) - {_part(path)})
    return graph


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_down(path):
    part = _part(path)
    for target in _imports(path):
        assert target != "<rnnbook>", f"{path.name} imports the top-level package (an arrow back up)"
        assert target in FLOOR, f"{path.name} imports unknown part rnnbook.{target}"
        assert FLOOR[target] <= FLOOR[part], (
            f"rnnbook.{part} (floor {FLOOR[part]}) imports rnnbook.{target} (floor {FLOOR[target]})")


def test_floors_cover_the_package():
    assert {_part(p) for p in MODULES} == set(FLOOR)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_over_600_lines(path):
    assert len(path.read_text().splitlines()) <= 600


def test_import_is_light():
    code = ("import sys, rnnbook; heavy = [m for m in ('torch', 'sympy', 'matplotlib') if m in sys.modules];"
            "rnnbook.LSTM; light = [m for m in ('sympy', 'matplotlib') if m in sys.modules];"
            "rnnbook.helpers.plot; print(heavy, light, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "[]", "True"], out
