"""Write, or bring up to date, the Colab install cell at the top of every chapter.

A chapter opened in Google Colab (the launch button of the built book) runs in a machine that
has PyTorch, NumPy, Matplotlib, SymPy and tqdm but not ``rnnbook``. The first code cell of each
chapter installs ``rnnbook`` from the book's repository when it runs on Colab, and does nothing
anywhere else (Jupyter, the tests, the build). The repository's address is the book's one
setting, read as the build reads it (``book/_ext/rnnbook_repository.py``): the environment
variable ``RNNBOOK_REPOSITORY_URL``, else the line ``rnnbook_repository_url`` of
``book/_config.yml``. Without an address the cell, on Colab only, stops with a message that
says so.

The cell is tagged ``colab-install`` (found again by that tag) and ``remove-cell`` (the HTML
book and the PDF leave it out; the notebook keeps it). It has no output, and the notebook
stays committed-executed top to bottom: inserting the cell numbers it 1 and shifts every later
execution count by one, as a fresh run would. Running the tool again changes nothing.

Usage::

    python tools/colab_cell.py           # write or update the cell in every chapter
    python tools/colab_cell.py --check   # exit 1 if a chapter's cell is missing or out of date
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
sys.path.insert(0, str(BOOK / "_ext"))
import rnnbook_repository  # noqa: E402

TAG = rnnbook_repository.INSTALL_TAG
TAGS = [TAG, "remove-cell"]

_HEAD = """\
# On Google Colab only: install rnnbook, the package this chapter imports (Colab already has
# PyTorch, NumPy, Matplotlib, SymPy and tqdm). Anywhere else this cell does nothing.
import sys

if "google.colab" in sys.modules:
"""
_INSTALL = """\
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "rnnbook @ git+{url}@{branch}"], check=True)"""
_NO_ADDRESS = """\
    raise RuntimeError("this copy of the book names no repository to install rnnbook from: "
                       "install it by hand (pip install --no-deps PATH_OR_URL_OF_RNNBOOK)")"""


def config_setting(config: pathlib.Path = BOOK / "_config.yml") -> tuple[str, str]:
    """The ``rnnbook_repository_url`` and ``rnnbook_repository_branch`` lines of ``_config.yml``
    (read as lines, as the book's tests read its configuration: no YAML dependency)."""
    text = config.read_text(encoding="utf-8")

    def value(key: str) -> str:
        m = re.search(rf"^\s*{key}:\s*(.*?)\s*(?:#.*)?$", text, flags=re.M)
        return m.group(1).strip("\"'") if m else ""

    return value("rnnbook_repository_url"), value("rnnbook_repository_branch")


def cell_source(url: str, branch: str) -> str:
    """The install cell's code for a repository address (``""``: none) and branch."""
    body = _INSTALL.format(url=url, branch=branch) if url else _NO_ADDRESS
    return _HEAD + body


def chapters(book: pathlib.Path = BOOK) -> list[pathlib.Path]:
    """Every chapter notebook of the book."""
    return sorted((book / "chapters").glob("*.ipynb"))


def _new_cell(source: str) -> dict:
    return {"cell_type": "code", "execution_count": 1, "id": "colab-install",
            "metadata": {"tags": list(TAGS)}, "outputs": [], "source": source.splitlines(keepends=True)}


def updated(nb: dict, source: str) -> dict:
    """``nb`` with its install cell written or updated (a new dict; ``nb`` is not changed)."""
    nb = json.loads(json.dumps(nb))
    cells = nb["cells"]
    found = [i for i, c in enumerate(cells) if TAG in c.get("metadata", {}).get("tags", [])]
    if found:
        cell = cells[found[0]]
        cell["source"] = source.splitlines(keepends=True)
        cell["metadata"]["tags"] = list(dict.fromkeys(cell["metadata"]["tags"] + TAGS))
        return nb
    first_code = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    for c in cells[first_code:]:
        if c["cell_type"] == "code" and c.get("execution_count") is not None:
            c["execution_count"] += 1
            for out in c.get("outputs", []):
                if out.get("execution_count") is not None:
                    out["execution_count"] += 1
    cells.insert(first_code, _new_cell(source))
    return nb


def dumps(nb: dict) -> str:
    """A notebook as Jupyter writes it (``nbformat.write``: one-space indent, sorted keys)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a cell is out of date")
    args = parser.parse_args(argv)
    try:
        url, branch = rnnbook_repository.repository(*config_setting())
    except ValueError as err:
        print(err)
        return 1
    source = cell_source(url, branch)
    stale = []
    for path in chapters():
        text = path.read_text(encoding="utf-8")
        new = dumps(updated(json.loads(text), source))
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    where = f"{url} (branch {branch})" if url else "no repository address set"
    verb = "out of date" if args.check else "written"
    print(f"install cell, {where}: {len(stale)} of {len(chapters())} chapters {verb}")
    for path in stale:
        print(f"  {path.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
