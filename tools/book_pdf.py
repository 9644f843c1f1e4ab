"""Print the whole book as one PDF, offline, with the headless Chromium the browser check uses.

Input: the single-page HTML book (``jupyter-book build book --builder singlehtml``). Chromium
opens it from disk, MathJax (served from ``_static``) typesets the math, and the page is
printed with the book's print style (``book/_static/reader.css``: A4, no navigation, page
numbers "n / N" at the foot of every page, each chapter on a new sheet). The PDF gets a
document outline (the bookmarks pane: every chapter and section, with its page), and the
book's first page lists the chapters as links.

Usage: ``python tools/book_pdf.py book/_build/singlehtml/intro.html book/_build/pdf/rnnbook.pdf``
(``make pdf`` does both steps). :func:`pdf_text` returns the text of a PDF, page by page.
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from browser_check import CHROMIUM_FLAGS, _copy_with, find_chromium  # noqa: E402

# In the single page, a chapter's title sits as deep as the toctree that includes it (an <h3>
# under the introduction's sections). In the PDF's outline each chapter should sit right under
# the book's title (the one <h1>): shift every included document's headings up so that its
# title is an <h2>.
_LIFT_HEADINGS = """
<script>
document.querySelectorAll('span[id^="document-"] + section').forEach(section => {
  const title = section.querySelector(':scope > h1, :scope > h2, :scope > h3, :scope > h4, :scope > h5');
  const shift = title ? Number(title.tagName[1]) - 2 : 0;
  if (shift <= 0) return;
  section.querySelectorAll('h2, h3, h4, h5, h6').forEach(h => {
    const lifted = document.createElement('h' + Math.max(2, Number(h.tagName[1]) - shift));
    for (const a of h.attributes) lifted.setAttribute(a.name, a.value);
    lifted.append(...h.childNodes);
    h.replaceWith(lifted);
  });
});
</script>
"""


def print_pdf(page: pathlib.Path, out: pathlib.Path, budget_ms: int = 60000) -> pathlib.Path:
    """Print ``page`` (an HTML file) to the PDF ``out``; return ``out``.

    :param budget_ms: Chromium's virtual time budget: time for scripts (MathJax) to finish
        before the page is printed. Virtual time runs only while the page is idle, so a slow
        machine does not shorten it.
    :raises RuntimeError: if Chromium wrote no PDF.
    """
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    copy = _copy_with(page.resolve(), body=_LIFT_HEADINGS)
    try:
        with tempfile.TemporaryDirectory() as profile:
            proc = subprocess.run(
                [find_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
                 "--no-pdf-header-footer", "--generate-pdf-document-outline", f"--print-to-pdf={out}",
                 copy.as_uri()],
                capture_output=True, text=True, timeout=1800,
            )
    finally:
        copy.unlink()
    if not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no PDF (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return out


def pdf_text(pdf: pathlib.Path) -> list[str]:
    """The text of each page of ``pdf`` (read with PDFium)."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        return [doc[i].get_textpage().get_text_range().replace("\r\n", "\n") for i in range(len(doc))]
    finally:
        doc.close()


def pdf_outline(pdf: pathlib.Path) -> list[tuple[int, str, int]]:
    """The PDF's outline (bookmarks): (level, title, page number from 1) for each entry."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        return [(item.level, item.get_title(), item.get_dest().get_index() + 1) for item in doc.get_toc()]
    finally:
        doc.close()


def pdf_images(pdf: pathlib.Path) -> int:
    """How many images (figures) the pages of ``pdf`` draw."""
    import pypdfium2
    import pypdfium2.raw

    doc = pypdfium2.PdfDocument(str(pdf))
    try:
        return sum(1 for i in range(len(doc)) for _ in doc[i].get_objects(filter=[pypdfium2.raw.FPDF_PAGEOBJ_IMAGE]))
    finally:
        doc.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=pathlib.Path, help="the single-page HTML book (…/singlehtml/intro.html)")
    parser.add_argument("pdf", type=pathlib.Path, help="the PDF to write")
    args = parser.parse_args(argv)
    started = time.monotonic()
    out = print_pdf(args.page, args.pdf)
    pages = pdf_text(out)
    print(f"{out}: {len(pages)} pages, {out.stat().st_size / 2**20:.1f} MiB, {pdf_images(out)} images, "
          f"printed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
