"""The book as a whole: strict build, offline math, every chapter committed executed."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
JUPYTER_BOOK = pathlib.Path(sys.executable).parent / "jupyter-book"


def toc_files() -> list[str]:
    """Every file named in _toc.yml (read without a YAML dependency: `file:` lines)."""
    return re.findall(r"^\s*(?:-\s*)?file:\s*(\S+)\s*$", (BOOK / "_toc.yml").read_text(), flags=re.M)


def notebooks() -> list[pathlib.Path]:
    return sorted(p for p in BOOK.rglob("*.ipynb") if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run(
        [str(JUPYTER_BOOK), "build", str(BOOK), "--path-output", str(out), "-W", "-n", "--keep-going"],
        capture_output=True, text=True, timeout=600,
    )
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
