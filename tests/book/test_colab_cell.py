"""The repository setting (book/_ext/rnnbook_repository.py) and the Colab install cell that
tools/colab_cell.py writes at the top of every chapter."""

from __future__ import annotations

import json
import pathlib
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import colab_cell  # noqa: E402
import rnnbook_repository  # noqa: E402  (colab_cell puts book/_ext on the path)

URL = "https://github.com/example-owner/rnnbook"


@pytest.fixture
def no_setting(monkeypatch):
    monkeypatch.delenv(rnnbook_repository.URL_VARIABLE, raising=False)
    monkeypatch.delenv(rnnbook_repository.BRANCH_VARIABLE, raising=False)


def test_the_setting_comes_from_the_environment_first(no_setting, monkeypatch):
    assert rnnbook_repository.repository("", "") == ("", "main")
    assert rnnbook_repository.repository(URL + ".git", "") == (URL, "main")
    monkeypatch.setenv(rnnbook_repository.URL_VARIABLE, "https://github.com/other/book/")
    monkeypatch.setenv(rnnbook_repository.BRANCH_VARIABLE, "v1")
    assert rnnbook_repository.repository(URL, "main") == ("https://github.com/other/book", "v1")


@pytest.mark.parametrize("bad", ["github.com/a/b", "https://gitlab.com/a/b", "https://github.com/a", "<this repository>"])
def test_an_address_colab_cannot_open_is_refused(no_setting, bad):
    with pytest.raises(ValueError, match="https://github.com/OWNER/NAME"):
        rnnbook_repository.repository(bad, "")


def test_the_config_line_is_read(tmp_path):
    config = tmp_path / "_config.yml"
    config.write_text('sphinx:\n  config:\n    # rnnbook_repository_url: "x"\n'
                      f'    rnnbook_repository_url: "{URL}"   # the book\n    numfig: true\n')
    assert colab_cell.config_setting(config) == (URL, "")


def _notebook() -> dict:
    return {"cells": [
        {"cell_type": "markdown", "id": "t", "metadata": {}, "source": ["# Title\n"]},
        {"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {}, "outputs": [], "source": ["x = 1"]},
        {"cell_type": "code", "execution_count": 2, "id": "b", "metadata": {}, "source": ["x"],
         "outputs": [{"output_type": "execute_result", "execution_count": 2, "metadata": {},
                      "data": {"text/plain": ["1"]}}]},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_inserted_first_and_the_notebook_stays_executed_top_to_bottom():
    nb = colab_cell.updated(_notebook(), colab_cell.cell_source(URL, "main"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert nb["cells"][1] is code[0] and "colab-install" in code[0]["metadata"]["tags"]
    assert "remove-cell" in code[0]["metadata"]["tags"] and code[0]["outputs"] == []
    assert [c["execution_count"] for c in code] == [1, 2, 3]
    assert code[2]["outputs"][0]["execution_count"] == 3
    assert _notebook()["cells"][1]["execution_count"] == 1        # the input is not changed


def test_running_again_changes_nothing_and_a_new_address_updates_in_place():
    once = colab_cell.updated(_notebook(), colab_cell.cell_source(URL, "main"))
    assert colab_cell.dumps(colab_cell.updated(once, colab_cell.cell_source(URL, "main"))) == colab_cell.dumps(once)
    other = colab_cell.updated(once, colab_cell.cell_source("https://github.com/o/n", "dev"))
    assert len(other["cells"]) == len(once["cells"])
    assert [c.get("execution_count") for c in other["cells"]] == [c.get("execution_count") for c in once["cells"]]
    assert "git+https://github.com/o/n@dev" in "".join(other["cells"][1]["source"])


def _run(source: str, on_colab: bool, monkeypatch) -> list:
    """Run the cell's code, with Colab's module present or not and pip replaced by a recorder."""
    calls = []
    fake = types.ModuleType("subprocess")
    fake.run = lambda *a, **k: calls.append((a, k))
    monkeypatch.setitem(sys.modules, "subprocess", fake)
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "<colab cell>", "exec"), {})
    return calls


def test_the_cell_installs_on_colab_and_does_nothing_elsewhere(monkeypatch):
    source = colab_cell.cell_source(URL, "main")
    assert _run(source, on_colab=False, monkeypatch=monkeypatch) == []
    (args, kwargs), = _run(source, on_colab=True, monkeypatch=monkeypatch)
    assert args[0][1:] == ["-m", "pip", "install", "--quiet", "--no-deps", f"rnnbook @ git+{URL}@main"]
    assert kwargs == {"check": True}


def test_without_an_address_the_cell_stops_on_colab_only(monkeypatch):
    source = colab_cell.cell_source("", "main")
    assert _run(source, on_colab=False, monkeypatch=monkeypatch) == []
    with pytest.raises(RuntimeError, match="names no repository"):
        _run(source, on_colab=True, monkeypatch=monkeypatch)


def test_the_build_warns_when_a_chapter_installs_from_another_address(tmp_path, monkeypatch):
    nb = tmp_path / "ch.ipynb"
    warnings = []

    class Logger:
        def warning(self, message, **_):
            warnings.append(message)

    app = types.SimpleNamespace(config=types.SimpleNamespace(rnnbook_repository_url=URL, rnnbook_repository_branch="main"))
    env = types.SimpleNamespace(found_docs={"ch"}, doc2path=lambda name: str(tmp_path / f"{name}.ipynb"))
    import sphinx.util.logging

    monkeypatch.setattr(sphinx.util.logging, "getLogger", lambda name: Logger())
    for source, expect in [(colab_cell.cell_source(URL, "main"), 0),                      # as set
                           (colab_cell.cell_source("https://github.com/o/n", "main"), 1),  # another address
                           (None, 1)]:                                                     # no install cell
        warnings.clear()
        book = _notebook() if source is None else colab_cell.updated(_notebook(), source)
        nb.write_text(json.dumps(book))
        rnnbook_repository._check_install_cells(app, env, [])
        assert len(warnings) == expect, (source, warnings)
