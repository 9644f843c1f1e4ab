"""Turn a percent-format draft (``# %%`` code cells, ``# %% [markdown]`` cells) into a notebook.

Usage: python tools/percent_to_ipynb.py draft.py book/chapters/NN_name.ipynb
then execute it in place: jupyter execute --inplace book/chapters/NN_name.ipynb

The .ipynb is the chapter's source from then on (nbval compares its outputs); the
draft is not kept. Markdown cells are written as ``# %% [markdown]`` followed by lines
that each start with ``# `` (or are exactly ``#``).
"""

import sys

import nbformat


def convert(text: str) -> nbformat.NotebookNode:
    cells, kind, lines = [], None, []

    def flush():
        if kind is None:
            return
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(l[2:] if l.startswith("# ") else l[1:] if l.startswith("#") else l for l in body.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(body))
        elif body:
            cells.append(nbformat.v4.new_code_cell(body))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        else:
            lines.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


if __name__ == "__main__":
    src, dst = sys.argv[1:3]
    nbformat.write(convert(open(src, encoding="utf-8").read()), dst)
