"""Open every page of the built book in headless Chromium and check what a reader sees.

For each HTML page of a built book (``book/_build/html`` or any folder of pages):

* **links**: every relative ``href``/``src`` (links, images, scripts, stylesheets) points to a
  file that exists, and every ``#fragment`` to an element id on the target page;
* **math**: after MathJax has run, every ``.math`` element holds typeset output and no raw TeX
  (``$$``, ``\\(``, ``\\[``, ``\\frac`` ...) is left in the page's text outside code;
* **images**: every ``<img>`` has loaded (``naturalWidth > 0``);
* **screenshot**: a PNG of the page is saved for people to look at.

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
    const el = document.createElement('pre');
    el.id = 'rnnbook-check';
    el.textContent = JSON.stringify(out);
    document.documentElement.appendChild(el);
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


def probe_in_browser(page: pathlib.Path, chromium: str, budget_ms: int = 10000) -> dict:
    """Load a copy of ``page`` with the probe script and return what the probe found."""
    source = page.read_text(encoding="utf-8", errors="replace")
    probed = source.replace("</body>", _PROBE + "</body>") if "</body>" in source else source + _PROBE
    copy = page.with_name(f".rnnbook-check-{page.name}")
    copy.write_text(probed, encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory() as profile:
            proc = subprocess.run(
                [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
                 "--dump-dom", copy.as_uri()],
                capture_output=True, text=True, timeout=120,
            )
    finally:
        copy.unlink()
    m = re.search(r'<pre id="rnnbook-check"[^>]*>(.*?)</pre>', proc.stdout, flags=re.S)
    if not m:
        return {"error": f"the page did not finish loading (chromium exit {proc.returncode})"}
    return json.loads(html.unescape(m.group(1)))


def screenshot(page: pathlib.Path, out: pathlib.Path, chromium: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000",
             "--window-size=1280,1600", f"--screenshot={out}", page.as_uri()],
            capture_output=True, timeout=120,
        )


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
        found = probe_in_browser(page, chromium)
        found["page"] = name
        summaries.append(found)
        if "error" in found:
            problems.append(f"{name}: {found['error']}")
            continue
        for key, what in [("broken_images", "image did not load"), ("untypeset_math", "math not typeset"),
                          ("raw_tex", "raw TeX left in the text")]:
            for item in found.get(key, []):
                problems.append(f"{name}: {what}: {item!r}")
        if found.get("mathjax_error"):
            problems.append(f"{name}: MathJax failed: {found['mathjax_error']}")
        if screenshots is not None:
            screenshot(page, screenshots / (name.replace(os.sep, "__").removesuffix(".html") + ".png"), chromium)
    return problems, summaries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=pathlib.Path, help="folder of built HTML pages")
    parser.add_argument("--screenshots", type=pathlib.Path, default=None, help="folder for one PNG per page")
    args = parser.parse_args(argv)
    problems, summaries = check_site(args.site, args.screenshots)
    for s in summaries:
        if s.get("redirect"):
            print(f"{s['page']}: redirect, links checked")
        elif "error" not in s:
            print(f"{s['page']}: {s['math']} math elements typeset, {s['images']} images loaded")
    for p in problems:
        print("PROBLEM", p)
    print(f"{len(summaries)} pages checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
