"""Pack the book for reading offline: the HTML site, the PDF and the chapters, in one zip file.

The archive ``dist/rnnbook-VERSION.zip`` (VERSION is the package's, from ``pyproject.toml``)
holds one folder ``rnnbook-VERSION/`` with

* ``html/``: the built site; open ``html/index.html`` in a browser (search, math and figures
  work from disk, with no network);
* ``rnnbook-VERSION.pdf``: the whole book in one file;
* ``notebooks/``: every chapter as a Jupyter notebook, with its outputs;
* ``README.txt``: what is where, the version and the commit it was built from.

Usage: ``python tools/dist.py --html book/_build/html --pdf book/_build/pdf/rnnbook.pdf``
(``make dist`` builds both first).
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tomllib
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[1]

README = """\
rnnbook {version}: Recurrent Neural Networks, Proven
{underline}

An executable textbook on recurrent neural networks, for reading offline.
Built from commit {commit}.

  html/index.html        the book as web pages: open it in a browser (no network needed)
  rnnbook-{version}.pdf     the whole book in one file, to read or print
  notebooks/             every chapter as a Jupyter notebook, with its outputs

To run the notebooks, install the rnnbook package from the book's repository
(the README there has the two commands: make book, make test).
"""


def version() -> str:
    """The package's version, from ``pyproject.toml``."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def commit() -> str:
    """``git describe`` of the working tree (``unknown`` outside a git checkout)."""
    proc = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def bundle(html: pathlib.Path, pdf: pathlib.Path, out_dir: pathlib.Path) -> pathlib.Path:
    """Write the archive into ``out_dir``; return its path.

    :raises FileNotFoundError: if the site or the PDF has not been built.
    """
    if not (html / "index.html").is_file():
        raise FileNotFoundError(f"no built site at {html} (run make book)")
    if not pdf.is_file():
        raise FileNotFoundError(f"no PDF at {pdf} (run make pdf)")
    v = version()
    top = f"rnnbook-{v}"
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"{top}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        text = README.format(version=v, underline="=" * (len(v) + 45), commit=commit())
        z.writestr(f"{top}/README.txt", text)
        z.write(pdf, f"{top}/{top}.pdf")
        for path in sorted(p for p in html.rglob("*") if p.is_file() and not p.name.startswith(".")):
            z.write(path, f"{top}/html/{path.relative_to(html).as_posix()}")
        for nb in sorted((ROOT / "book" / "chapters").glob("*.ipynb")):
            z.write(nb, f"{top}/notebooks/{nb.name}")
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=pathlib.Path, default=ROOT / "book" / "_build" / "html")
    parser.add_argument("--pdf", type=pathlib.Path, required=True)
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    archive = bundle(args.html, args.pdf, args.out)
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
    print(f"{archive}: {archive.stat().st_size / 2**20:.1f} MiB, {len(names)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
