"""Open every page of the built book in headless Chromium and check what a reader sees.

For each HTML page of a built book (``book/_build/html`` or any folder of pages):

* **links**: every relative ``href``/``src`` (links, images, scripts, stylesheets) points to a
  file that exists, and every ``#fragment`` to an element id on the target page;
* **math**: after MathJax has run, every ``.math`` element holds typeset output and no raw TeX
  (``$$``, ``\\(``, ``\\[``, ``\\frac`` ...) is left in the page's text outside code;
* **images**: every ``<img>`` has loaded (``naturalWidth > 0``);
* **code**: no code cell (input or output) scrolls sideways in a desktop window (1280 px);
* **screenshot**: a PNG of the page is saved for people to look at.

It also looks at the pages the way other readers do: :func:`reader_screenshots` saves a
screenshot in the dark theme and one in a phone-sized window (390 x 844) and measures, in the
phone window, whether the page itself scrolls sideways; :func:`search` types a query into the
book's search page and returns the pages it lists.

The browser part injects a small script into a temporary copy of each page, lets Chromium
run it (``--dump-dom`` with a virtual time budget) and reads the result back from the DOM,
so no driver or extra Python package is needed, only Debian's ``chromium``.

Usage: ``python tools/browser_check.py book/_build/html --screenshots book/_build/screenshots``
Exit status 1 and one line per problem if anything is wrong.
"""

from __future__ import annotations

import argparse
import html.parser
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static", "_panels_static"}

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--mute-audio",
]

_PROBE = r"""
<script>
(function () {
  const started = Date.now();
  const wait = ms => new Promise(done => setTimeout(done, ms));
  async function probe() {
    const out = {};
    for (const img of document.images) { img.loading = 'eager'; }
    await Promise.race([wait(5000), Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })))]);
    try { if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; } }
    catch (e) { out.mathjax_error = String(e); }
    out.images = document.images.length;
    out.broken_images = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
                                            .map(i => i.getAttribute('src'));
    const maths = [...document.querySelectorAll('.math')];
    out.math = maths.length;
    out.untypeset_math = maths.filter(m => !m.querySelector('mjx-container'))
                              .map(m => m.textContent.trim().slice(0, 60));
    const clone = document.body.cloneNode(true);
    // code and Python signatures (default values may hold TeX strings) are not prose
    clone.querySelectorAll('mjx-container, pre, code, script, style, .sig, .highlight').forEach(e => e.remove());
    const raw = clone.textContent.match(/\$\$|\\\(|\\\[|\\(frac|mathbb|partial|sum|tanh|begin|operatorname)\b/g);
    out.raw_tex = raw ? [...new Set(raw)] : [];
    // code cells (and other code blocks) on show that scroll sideways: their first long line
    out.code_scrolls = [...document.querySelectorAll('div.highlight pre, div.cell_output pre, .output pre')]
      .filter(p => p.offsetParent !== null && p.scrollWidth > p.clientWidth + 1)
      .map(p => (p.textContent.split('\n').find(l => l.length > 60) || p.textContent).trim().slice(0, 60));
    // the page as a whole scrolling sideways (it should not, at any window width)
    out.page_width = document.documentElement.scrollWidth;
    out.window_width = window.innerWidth;
    const el = document.createElement('pre');
    el.id = 'rnnbook-check';
    el.textContent = JSON.stringify(out);
    document.documentElement.appendChild(el);
    // inside the phone frame (see _phone_frame), hand the result to the page around it
    if (window.parent !== window) { window.parent.postMessage(el.textContent, '*'); }
  }
  function poll() {
    // wait for MathJax (loaded with defer) whenever the page has math, at most 8 s
    const needsMath = document.querySelector('.math') !== null;
    const mathReady = window.MathJax && MathJax.startup && MathJax.startup.promise;
    if (needsMath && !mathReady && Date.now() - started < 8000) { setTimeout(poll, 100); return; }
    probe();
  }
  setTimeout(poll, 100);
})();
</script>
"""


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError("no chromium on PATH: install Debian's package with `apt-get install -y chromium`")


def pages(root: pathlib.Path) -> list[pathlib.Path]:
    """Every HTML page of the site, except Sphinx's asset folders."""
    return sorted(p for p in root.rglob("*.html") if not SKIP_DIRS.intersection(p.relative_to(root).parts))


class _Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.refs.append(attrs[key])


def _parse(path: pathlib.Path) -> _Refs:
    parser = _Refs()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def check_links(root: pathlib.Path, page: pathlib.Path, cache: dict) -> list[str]:
    """Problems with the relative links and fragments of ``page``."""
    problems = []
    if page not in cache:
        cache[page] = _parse(page)
    for ref in cache[page].refs:
        parts = urllib.parse.urlsplit(ref)
        if parts.scheme or ref.startswith("//") or ref.startswith("mailto:") or ref.startswith("javascript:"):
            continue
        target = page if not parts.path else (page.parent / urllib.parse.unquote(parts.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            problems.append(f"{page.relative_to(root)}: broken link {ref!r}")
            continue
        if parts.fragment and target.suffix == ".html":
            if target not in cache:
                cache[target] = _parse(target)
            if urllib.parse.unquote(parts.fragment) not in cache[target].ids:
                problems.append(f"{page.relative_to(root)}: link {ref!r} names no element on its page")
    return problems


DESKTOP = (1280, 1600)
PHONE = (390, 844)
# Chromium's windows are at least 500 px wide: a phone's width is a frame of that width inside one.
_MIN_WINDOW_WIDTH = 500
_FRAME = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>html, body {{ margin: 0; }}
iframe {{ border: 0; display: block; width: {w}px; height: {h}px; }}</style></head>
<body><iframe src="{src}"></iframe><script>
window.addEventListener('message', e => {{ const el = document.createElement('pre'); el.id = 'rnnbook-check';
  el.textContent = e.data; document.documentElement.appendChild(el); }});
</script></body></html>"""


def _phone_frame(page: pathlib.Path, window: tuple[int, int]) -> pathlib.Path:
    """A page beside ``page`` that shows it in a frame of the size ``window`` (for widths below
    Chromium's smallest window)."""
    frame = page.with_name(f".rnnbook-frame-{page.name}")
    frame.write_text(_FRAME.format(w=window[0], h=window[1], src=urllib.parse.quote(page.name)), encoding="utf-8")
    return frame

# Put at the top of <head>: the theme then starts dark (pydata-sphinx-theme reads "mode").
_DARK = "<script>localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');</script>"


def _copy_with(page: pathlib.Path, *, head: str = "", body: str = "") -> pathlib.Path:
    """A copy of ``page`` beside it (so relative links still work) with extra HTML in it."""
    source = page.read_text(encoding="utf-8", errors="replace")
    if head:
        source = re.sub(r"<head[^>]*>", lambda m: m.group(0) + head, source, count=1)
    if body:
        source = source.replace("</body>", body + "</body>") if "</body>" in source else source + body
    copy = page.with_name(f".rnnbook-check-{page.name}")
    copy.write_text(source, encoding="utf-8")
    return copy


def _dump_dom(url: str, chromium: str, budget_ms: int, window: tuple[int, int] = DESKTOP,
              screenshot: pathlib.Path | None = None) -> subprocess.CompletedProcess:
    """Load ``url``, let its scripts run for ``budget_ms`` of virtual time, return the DOM as
    text; with ``screenshot``, the same launch also saves a PNG of the window."""
    shot = [f"--screenshot={screenshot}"] if screenshot is not None else []
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
             f"--window-size={window[0]},{window[1]}", *shot, "--dump-dom", url],
            capture_output=True, text=True, timeout=120,
        )


def probe_in_browser(page: pathlib.Path, chromium: str, budget_ms: int = 10000,
                     window: tuple[int, int] = DESKTOP, screenshot: pathlib.Path | None = None) -> dict:
    """Load a copy of ``page`` with the probe script in a window of the given size (pixels)
    and return what the probe found; with ``screenshot``, save a PNG of the window too (the
    same launch: the probe's result is added at the end of the page, out of the window)."""
    copy = _copy_with(page, body=_PROBE)
    frame = _phone_frame(copy, window) if window[0] < _MIN_WINDOW_WIDTH else None
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.unlink(missing_ok=True)
    try:
        proc = _dump_dom((frame or copy).as_uri(), chromium, budget_ms,
                         (_MIN_WINDOW_WIDTH, window[1]) if frame else window, screenshot=screenshot)
    finally:
        copy.unlink()
        if frame:
            frame.unlink()
    if frame and screenshot is not None and screenshot.exists():
        _crop(screenshot, window)
    m = re.search(r'<pre id="rnnbook-check"[^>]*>(.*?)</pre>', proc.stdout, flags=re.S)
    if not m:
        return {"error": f"the page did not finish loading (chromium exit {proc.returncode})"}
    return json.loads(html.unescape(m.group(1)))


def screenshot(page: pathlib.Path, out: pathlib.Path, chromium: str, window: tuple[int, int] = DESKTOP,
               dark: bool = False) -> None:
    """Save a PNG of ``page`` as a reader sees it in a window of the given size, in the light
    theme or (``dark=True``) the dark one."""
    out.parent.mkdir(parents=True, exist_ok=True)
    copy = _copy_with(page, head=_DARK) if dark else page
    frame = _phone_frame(copy, window) if window[0] < _MIN_WINDOW_WIDTH else None
    try:
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(
                [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
                 f"--window-size={max(window[0], _MIN_WINDOW_WIDTH)},{window[1]}", f"--screenshot={out}",
                 (frame or copy).as_uri()],
                capture_output=True, timeout=120,
            )
    finally:
        if dark:
            copy.unlink()
        if frame:
            frame.unlink()
    if frame and out.exists():
        _crop(out, window)


def _crop(png: pathlib.Path, window: tuple[int, int]) -> None:
    """Keep the phone frame's part of a screenshot of the wider window around it."""
    import matplotlib.image

    matplotlib.image.imsave(png, matplotlib.image.imread(png)[: window[1], : window[0]])


def reader_screenshots(root: pathlib.Path, names: list[str], out: pathlib.Path) -> tuple[list[str], dict]:
    """For each page ``names`` (paths relative to ``root``, without ``.html``) save
    ``NAME-dark.png`` (desktop window, dark theme) and ``NAME-phone.png`` (phone-sized window,
    light theme) under ``out``, and check that the page does not scroll sideways on the phone.

    :returns: (problems, {name: the probe's findings in the phone window}).
    """
    chromium = find_chromium()
    problems, phone = [], {}
    for name in names:
        page = root.resolve() / f"{name}.html"
        stem = name.replace("/", "__")
        screenshot(page, out / f"{stem}-dark.png", chromium, DESKTOP, dark=True)
        found = phone[name] = probe_in_browser(page, chromium, window=PHONE, screenshot=out / f"{stem}-phone.png")
        if "error" in found:
            problems.append(f"{name} (phone): {found['error']}")
        else:
            if found["page_width"] > found["window_width"]:
                problems.append(f"{name} (phone): the page is {found['page_width']} px wide in a "
                                f"{found['window_width']} px window, it scrolls sideways")
            problems += [f"{name} (phone): code scrolls sideways: {line!r}" for line in found["code_scrolls"]]
    return problems, phone


_SEARCH_PROBE = r"""
<script>
(function () {
  const started = Date.now();
  function done() {
    const status = document.querySelector('#search-results .search-summary');
    const finished = status && /\S/.test(status.textContent) && !/Preparing|Searching/.test(status.textContent);
    if (!finished && Date.now() - started < 20000) { setTimeout(done, 100); return; }
    const links = [...document.querySelectorAll('#search-results ul.search > li > a')].map(a => a.getAttribute('href'));
    const el = document.createElement('pre');
    el.id = 'rnnbook-search';
    el.textContent = JSON.stringify({finished: !!finished, links: links});
    document.documentElement.appendChild(el);
  }
  setTimeout(done, 100);
})();
</script>
"""


def search(root: pathlib.Path, query: str) -> list[str]:
    """The pages that the book's own search page (``search.html``, Sphinx's JavaScript search)
    lists for ``query``, best first, as paths without ``.html`` (``chapters/07_bptt``).

    :raises RuntimeError: if the search did not finish.
    """
    copy = _copy_with(root.resolve() / "search.html", body=_SEARCH_PROBE)
    try:
        proc = _dump_dom(f"{copy.as_uri()}?q={urllib.parse.quote(query)}", find_chromium(), 25000)
    finally:
        copy.unlink()
    m = re.search(r'<pre id="rnnbook-search"[^>]*>(.*?)</pre>', proc.stdout, flags=re.S)
    found = json.loads(html.unescape(m.group(1))) if m else {"finished": False}
    if not found["finished"]:
        raise RuntimeError(f"the search for {query!r} did not finish (chromium exit {proc.returncode})")
    return [urllib.parse.urlsplit(link).path.removesuffix(".html") for link in found["links"]]


def check_site(root: pathlib.Path, screenshots: pathlib.Path | None = None) -> tuple[list[str], list[dict]]:
    """Check every page under ``root``; return (problems, one summary dict per page)."""
    root = root.resolve()
    chromium = find_chromium()
    problems, summaries, cache = [], [], {}
    for page in pages(root):
        name = str(page.relative_to(root))
        problems += check_links(root, page, cache)
        if 'http-equiv="refresh"' in page.read_text(encoding="utf-8", errors="replace")[:2000].lower():
            summaries.append({"page": name, "redirect": True})
            continue
        shot = None if screenshots is None else \
            screenshots / (name.replace(os.sep, "__").removesuffix(".html") + ".png")
        found = probe_in_browser(page, chromium, screenshot=shot)
        found["page"] = name
        summaries.append(found)
        if "error" in found:
            problems.append(f"{name}: {found['error']}")
            continue
        for key, what in [("broken_images", "image did not load"), ("untypeset_math", "math not typeset"),
                          ("raw_tex", "raw TeX left in the text"),
                          ("code_scrolls", "code scrolls sideways")]:
            for item in found.get(key, []):
                problems.append(f"{name}: {what}: {item!r}")
        if found.get("mathjax_error"):
            problems.append(f"{name}: MathJax failed: {found['mathjax_error']}")
        if shot is not None and not shot.is_file():
            problems.append(f"{name}: no screenshot was saved")
    return problems, summaries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=pathlib.Path, help="folder of built HTML pages")
    parser.add_argument("--screenshots", type=pathlib.Path, default=None, help="folder for one PNG per page")
    parser.add_argument("--search", action="append", default=[], help="a query to run on search.html (repeatable)")
    parser.add_argument("--reader-pages", nargs="*", default=[],
                        help="pages (e.g. intro chapters/04_lstm) to screenshot dark and in a phone window")
    args = parser.parse_args(argv)
    problems, summaries = check_site(args.site, args.screenshots)
    for s in summaries:
        if s.get("redirect"):
            print(f"{s['page']}: redirect, links checked")
        elif "error" not in s:
            print(f"{s['page']}: {s['math']} math elements typeset, {s['images']} images loaded")
    if args.search:
        for query in args.search:
            print(f"search {query!r}: {', '.join(search(args.site, query)) or 'nothing'}")
    if args.reader_pages:
        more, phone = reader_screenshots(args.site, args.reader_pages, args.screenshots or args.site / "_screenshots")
        problems += more
        for name, found in phone.items():
            print(f"{name} (phone, {found.get('window_width')} px): page {found.get('page_width')} px wide, "
                  f"{len(found.get('code_scrolls', []))} code blocks scroll sideways")
    for p in problems:
        print("PROBLEM", p)
    print(f"{len(summaries)} pages checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
