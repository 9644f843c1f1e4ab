"""The book as a whole: strict build, offline math, every chapter committed executed; what a
reader gets: search in English and Chinese, the PDF, launch buttons only with a repository."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
JUPYTER_BOOK = pathlib.Path(sys.executable).parent / "jupyter-book"
sys.path.insert(0, str(ROOT / "tools"))

# The builds below must not depend on the repository setting of whoever runs the tests.
BUILD_ENV = {k: v for k, v in os.environ.items() if not k.startswith("RNNBOOK_REPOSITORY")}


def toc_files() -> list[str]:
    """Every file named in _toc.yml (read without a YAML dependency: `file:` lines)."""
    return re.findall(r"^\s*(?:-\s*)?file:\s*(\S+)\s*$", (BOOK / "_toc.yml").read_text(), flags=re.M)


def notebooks() -> list[pathlib.Path]:
    return sorted(p for p in BOOK.rglob("*.ipynb") if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts)


def build(book: pathlib.Path, out: pathlib.Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(JUPYTER_BOOK), "build", str(book), "--path-output", str(out), "-W", "-n", "--keep-going", *extra],
        capture_output=True, text=True, timeout=900, env=env or BUILD_ENV,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("book")
    proc = build(BOOK, out)
    assert proc.returncode == 0, f"strict book build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    return out / "_build" / "html"


def test_strict_build_writes_every_toc_page(built):
    for name in toc_files():
        assert (built / f"{name}.html").is_file(), f"{name} is in _toc.yml but was not built"


def test_math_is_served_offline(built):
    pages_with_math = 0
    for name in toc_files():
        html = (built / f"{name}.html").read_text(encoding="utf-8")
        scripts = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', html, flags=re.I)
        if 'class="math' not in html:
            assert not scripts or all(not s.startswith("http") for s in scripts)
            continue
        pages_with_math += 1
        assert scripts, f"{name}: has math but no MathJax script"
        assert all(not s.startswith("http") for s in scripts), f"{name}: MathJax from the network: {scripts}"
        local = (built / name).parent / scripts[0]
        assert local.resolve().is_file(), f"{name}: {scripts[0]} is missing from the build"
    assert pages_with_math >= 1


def test_every_notebook_is_in_the_toc():
    listed = set(toc_files())
    for nb in notebooks():
        assert str(nb.relative_to(BOOK).with_suffix("")) in listed, f"{nb} is not in _toc.yml"


@pytest.mark.parametrize("nb", notebooks(), ids=lambda p: p.name)
def test_notebook_committed_executed_top_to_bottom(nb):
    """nbval compares only executed cells: a notebook saved without outputs would check nothing."""
    cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
    counts = [c["execution_count"] for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert counts, f"{nb.name} has no code"
    assert counts == list(range(1, len(counts) + 1)), f"{nb.name}: execution counts {counts}; re-execute it in a fresh kernel"
    for c in cells:
        for out in c.get("outputs", []):
            assert out.get("output_type") != "error", f"{nb.name} was saved with an error output"


def test_every_page_in_a_real_browser(built):
    """Every page opened in headless Chromium: math typeset, images loaded, internal links sound.
    Screenshots land in book/_build/screenshots/ for people to look at."""
    sys.path.insert(0, str(ROOT / "tools"))
    import browser_check

    problems, summaries = browser_check.check_site(built, screenshots=BOOK / "_build" / "screenshots")
    assert not problems, "\n".join(problems)
    assert len(summaries) >= len(toc_files())


def test_errata_page_lists_every_erratum_box():
    """book/errata.md is generated from the chapters' erratum boxes; it must be current."""
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "errata.py"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "errata in all" in (BOOK / "errata.md").read_text()


def test_every_glossary_term_is_linked_from_a_chapter():
    """The glossary has no unused entries: each term (or one of its aliases) is linked with
    {term} from some chapter. (Missing terms are caught by the strict build.)"""
    text = (BOOK / "glossary.md").read_text(encoding="utf-8")
    block = text.split("```{glossary}", 1)[1].split("```", 1)[0]
    entries, current = [], []
    for line in block.splitlines():
        if line and not line.startswith(" "):
            current.append(line.strip())
        elif current:
            entries.append(current)
            current = []
    used = set()
    for nb in notebooks():
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            src = "".join(cell["source"])
            used |= set(re.findall(r"\{term\}`(?:[^`<]*<)?([^`>]+)>?`", src))
    unused = [names for names in entries if not set(names) & used]
    assert entries and not unused, f"glossary entries no chapter links to: {unused}"


# ---------------------------------------------------------------------------------------------
# The repository setting: launch buttons, repository button, Colab install cell

REPOSITORY_LINKS = ("colab.research.google.com", "mybinder.org", "github.com", "launch-buttons")


def test_no_repository_or_launch_links_without_the_setting(built):
    """With no repository address, no page links to a repository or a launch service (Jupyter
    Book would otherwise point them at its own repository)."""
    for page in built.rglob("*.html"):
        if "_static" in page.parts:
            continue
        html = page.read_text(encoding="utf-8")
        assert not [w for w in REPOSITORY_LINKS if w in html], f"{page.relative_to(built)} links to a repository"
    intro = re.sub(r"<[^>]+>", "", (built / "intro.html").read_text(encoding="utf-8")).replace("’", "'")
    assert "In a copy of the book's source" in intro and "git clone" not in intro and "this repository&gt;" not in intro


def test_launch_buttons_and_repository_button_with_the_setting(tmp_path):
    """A small book with the real configuration, built with RNNBOOK_REPOSITORY_URL set: the
    chapter gets Colab and Binder buttons and every page the repository button."""
    import colab_cell

    url = "https://github.com/example-owner/rnnbook"
    book = tmp_path / "book"
    shutil.copytree(BOOK / "_ext", book / "_ext")
    for name in ("_config.yml", "references.bib"):
        shutil.copy(BOOK / name, book / name)
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/01_demo\n")
    (book / "intro.md").write_text("# Demo\n\n{{ get_the_source }}\n")
    nb = {"cells": [
        {"cell_type": "markdown", "id": "title", "metadata": {}, "source": ["# A chapter\n"]},
        {"cell_type": "code", "execution_count": 1, "id": "code", "metadata": {}, "outputs": [], "source": ["x = 1"]},
    ], "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}
    (book / "chapters").mkdir()
    (book / "chapters" / "01_demo.ipynb").write_text(
        colab_cell.dumps(colab_cell.updated(nb, colab_cell.cell_source(url, "main"))))
    proc = build(book, tmp_path, env={**BUILD_ENV, "RNNBOOK_REPOSITORY_URL": url})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    html = (tmp_path / "_build" / "html" / "chapters" / "01_demo.html").read_text(encoding="utf-8")
    assert f"https://colab.research.google.com/github/example-owner/rnnbook/blob/main/book/chapters/01_demo.ipynb" in html
    assert "https://mybinder.org/v2/gh/example-owner/rnnbook/main?urlpath=lab/tree/book/chapters/01_demo.ipynb" in html
    assert f'href="{url}"' in html
    intro = (tmp_path / "_build" / "html" / "intro.html").read_text(encoding="utf-8")
    assert f'href="{url}"' in intro and "colab.research.google.com" not in intro   # no launch on a text page
    assert f"git clone {url}" in re.sub(r"<[^>]+>", "", intro)   # (Sphinx puts each word of code in a span)
    assert "executablebooks" not in html + intro


def test_colab_install_cells_are_current():
    """Every chapter starts with the Colab install cell for the current repository setting
    (tools/colab_cell.py writes it; run it after changing the setting)."""
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "colab_cell.py"), "--check"],
                          capture_output=True, text=True, env=BUILD_ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------------------------
# What readers see: dark theme and phones, search

READER_PAGES = ["chapters/04_lstm", "appendix_performance", "glossary"]


def test_dark_theme_and_phone_window(built):
    """Three pages screenshotted in the dark theme and in a phone-sized window (look at the PNGs
    in book/_build/screenshots/): on the phone, neither the page nor a code cell scrolls sideways."""
    import matplotlib.image

    import browser_check

    shots = BOOK / "_build" / "screenshots"
    problems, phone = browser_check.reader_screenshots(built, READER_PAGES, shots)
    assert not problems, "\n".join(problems)
    for name in READER_PAGES:
        stem = name.replace("/", "__")
        dark = matplotlib.image.imread(shots / f"{stem}-dark.png")[..., :3]
        assert dark.mean() < 0.3, f"{name}: the dark screenshot is not dark (mean {dark.mean():.2f})"
        assert matplotlib.image.imread(shots / f"{stem}-phone.png").shape[:2] == browser_check.PHONE[::-1]
        assert phone[name]["window_width"] == browser_check.PHONE[0]


@pytest.mark.parametrize("query, pages", [
    ("梯度", {"glossary", "chapters/03_gru"}),        # gradient
    ("门控", {"glossary"}),                           # gating
    ("注意力", {"glossary", "chapters/09_attention"}),  # attention
    ("gradient", {"glossary", "chapters/07_bptt"}),   # English search keeps working
])
def test_search_finds_chinese_and_english_words(built, query, pages):
    """The book's search page, run in Chromium: two-character Chinese words are found (the
    index is cut into words by jieba) and English words still are."""
    import browser_check

    found = browser_check.search(built, query)
    assert pages <= set(found), f"search for {query!r} listed {found}"


# ---------------------------------------------------------------------------------------------
# The PDF


@pytest.fixture(scope="module")
def pdf(built) -> tuple[pathlib.Path, pathlib.Path]:
    """The PDF, printed from the single-page book built beside ``built`` (same doctrees)."""
    import book_pdf

    out = built.parent.parent
    started = time.monotonic()
    proc = build(BOOK, out, "--builder", "singlehtml")
    assert proc.returncode == 0, f"single-page build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    single = out / "_build" / "singlehtml" / "intro.html"
    path = book_pdf.print_pdf(single, out / "rnnbook.pdf")
    print(f"single-page build and PDF: {time.monotonic() - started:.0f} s")
    return path, single


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_pdf_has_every_chapter_typeset_math_figures_and_page_numbers(pdf, built):
    import book_pdf

    path, single = pdf
    pages = book_pdf.pdf_text(path)
    text = _normal(" ".join(pages))
    titles = []
    for name in toc_files():
        h1 = re.search(r"<h1>(.*?)</h1>", (built / f"{name}.html").read_text(encoding="utf-8"), flags=re.S).group(1)
        titles.append(_normal(re.sub(r"<[^>]+>", "", h1).replace("#", "")))
    missing = [t for t in titles if t not in text]
    assert not missing, f"chapter titles not in the PDF: {missing}"
    raw = re.findall(r"\\\(|\\\[|\$\$|\\begin\{", text)
    assert not raw, f"raw TeX in the PDF: {sorted(set(raw))}"
    n = len(pages)
    assert n > 100
    unnumbered = [i + 1 for i, page in enumerate(pages) if f"{i + 1} / {n}" not in page]
    assert not unnumbered, f"pages without their number: {unnumbered[:10]}"
    # the outline (bookmarks): every chapter right under the book's title
    squeeze = lambda t: re.sub(r"\s+", "", t)  # noqa: E731  (the outline drops the spaces at line breaks)
    # a chapter's entry starts with its number where the book numbers it ("1. From MLP to RNN")
    unnumbered = lambda t: re.sub(r"^(\d+\.)+", "", t)  # noqa: E731
    chapters = [unnumbered(squeeze(title)) for level, title, _ in book_pdf.pdf_outline(path) if level == 1]
    not_in_outline = [t for t in titles if not any(c.startswith(squeeze(t)) for c in chapters)]
    assert not not_in_outline, f"chapters missing from the PDF's outline: {not_in_outline}"
    figures = len(re.findall(r'<img [^>]*src="_images/', single.read_text(encoding="utf-8")))
    assert figures >= 20 and book_pdf.pdf_images(path) >= figures
