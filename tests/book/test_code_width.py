"""Code that fits the page (issue 18): no line of code on show wider than 88 columns, since the
page cuts longer lines off at its right edge.

A code cell's source is on show unless myst-nb hides it, which it does (myst_nb/core/render.py
and nb_to_tokens.py of the pinned version) for the tags ``hide-input``, ``hide-cell``,
``remove-input``/``remove_input`` and ``remove-cell``/``remove_cell``, and for the cell setting
``mystnb: {remove_code_source: true}``. ``hide_input`` with an underscore hides nothing, so
it does not count as folded here either. A column is a character, two for an East Asian wide
one (a Chinese character takes two columns of a monospaced font).

Every chapter was brought to 0 over-wide lines on show (issue 18; 135 on 2026-12-05), and the
test keeps it there.
"""

from __future__ import annotations

import json
import pathlib
import unicodedata

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
WIDTH = 88
FOLDED = {"hide-input", "hide-cell", "remove-input", "remove_input", "remove-cell", "remove_cell"}

def chapters() -> list[pathlib.Path]:
    return sorted(p for p in BOOK.rglob("*.ipynb") if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts)


def columns(line: str) -> int:
    """How many columns ``line`` takes in a monospaced font."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def on_show(cell: dict) -> bool:
    """Whether the book shows this cell's code (see the module docstring)."""
    metadata = cell.get("metadata", {})
    return (cell.get("cell_type") == "code" and not FOLDED & set(metadata.get("tags", []))
            and not metadata.get("mystnb", {}).get("remove_code_source", False))


def too_wide(notebook: dict) -> list[str]:
    """Every line of code on show wider than :data:`WIDTH`, as ``cell 12, line 3 (95 columns): ...``."""
    found = []
    for index, cell in enumerate(notebook["cells"]):
        if not on_show(cell):
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        for number, line in enumerate(source.splitlines(), start=1):
            if columns(line) > WIDTH:
                found.append(f"cell {index}, line {number} ({columns(line)} columns): {line.strip()[:60]}")
    return found


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.name)
def test_code_on_show_fits_the_page(path):
    lines = too_wide(json.loads(path.read_text(encoding="utf-8")))
    assert not lines, (
        f"{path.name} shows {len(lines)} code lines wider than {WIDTH} columns; fold the check "
        "cell (hide-input) or wrap the line:\n" + "\n".join(lines))


def test_the_rule_sees_what_the_reader_sees():
    def cell(source, tags=(), kind="code", **metadata):
        return {"cell_type": kind, "source": source, "metadata": {"tags": list(tags), **metadata}}

    wide, fits = "x = " + "1" * (WIDTH - 3), "x = " + "1" * (WIDTH - 4)
    assert (columns(wide), columns(fits)) == (WIDTH + 1, WIDTH)
    assert columns("# 隐藏层") == 2 + 2 * 3 + 0 and columns("# 隐藏层向量") == 12
    notebook = {"cells": [
        cell([fits + "\n", wide]),                  # on show: the second line is too wide
        cell(wide, ["hide-input"]), cell(wide, ["hide-cell"]), cell(wide, ["remove-input"]),
        cell(wide, ["remove_cell"]), cell(wide, mystnb={"remove_code_source": True}),
        cell(wide, ["hide_input"]),                 # myst-nb knows no hide_input: on show
        cell(wide, kind="markdown"),                # prose wraps
        cell("s = '" + "隐" * 42 + "'"),            # 48 characters, 90 columns
    ]}
    assert [line.split(" (")[0] for line in too_wide(notebook)] == [
        "cell 0, line 2", "cell 6, line 1", "cell 8, line 1"]
