"""The browser check (tools/browser_check.py) on a small fixture site: it must catch what it claims to."""

from __future__ import annotations

import importlib.util
import pathlib
import shutil
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import browser_check  # noqa: E402

MATHJAX = pathlib.Path(importlib.util.find_spec("sphinx-mathjax-offline").submodule_search_locations[0]) / "static" / "mathjax"

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">{head}</head><body>{body}</body></html>"""
WITH_MATHJAX = '<script defer src="mathjax/tex-chtml.js"></script>'
THEMED = ('<script>document.documentElement.dataset.mode = localStorage.getItem("mode") || "";</script>'
          '<style>html[data-mode="dark"] body { background: #111; color: #eee; } body { margin: 8px; }</style>')


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(MATHJAX, root / "mathjax")
    # a 1x1 PNG
    (root / "dot.png").write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e2b3a1bc0000000049454e44ae426082"))
    pages = {
        "good.html": (WITH_MATHJAX, '<h1 id="top">Good</h1><p><span class="math">\\(h_t = \\tanh(x_t)\\)</span></p>'
                                    '<img src="dot.png"><a href="good.html#top">up</a>'),
        "broken_image.html": ("", '<p>A figure:</p><img src="missing.png">'),
        "raw_tex.html": ("", '<p>$$ h_t = \\tanh(W x_t) $$</p><p><span class="math">\\(x\\)</span></p>'),
        "bad_links.html": ("", '<a href="nowhere.html">a</a> <a href="good.html#no-such-id">b</a>'),
        "wide_code.html": ("", '<div class="highlight"><pre>' + "x = 1  # " + "long " * 80 + "</pre></div>"),
        # like the book's theme: the mode is read from localStorage by a script in <head>
        "themed.html": (THEMED, "<p>" + "Some text. " * 50 + "</p>"),
        "too_wide.html": ("", '<div style="width: 700px">a fixed-width block</div>'),
    }
    for name, (head, body) in pages.items():
        (root / name).write_text(PAGE.format(head=head, body=body), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def result(site):
    problems, summaries = browser_check.check_site(site, screenshots=site / "shots")
    return problems, {s["page"]: s for s in summaries}


def test_good_page_passes(result, site):
    problems, summaries = result
    assert not [p for p in problems if p.startswith("good.html")]
    assert summaries["good.html"]["math"] == 1 and summaries["good.html"]["images"] == 1
    assert (site / "shots" / "good.png").stat().st_size > 1000


def test_broken_image_is_caught(result):
    problems, _ = result
    assert "broken_image.html: image did not load: 'missing.png'" in problems
    assert "broken_image.html: broken link 'missing.png'" in problems


def test_untypeset_math_is_caught(result):
    problems, _ = result
    assert "raw_tex.html: math not typeset: '\\\\(x\\\\)'" in problems
    assert any(p.startswith("raw_tex.html: raw TeX left in the text") for p in problems)


def test_broken_links_are_caught(result):
    problems, _ = result
    assert "bad_links.html: broken link 'nowhere.html'" in problems
    assert "bad_links.html: link 'good.html#no-such-id' names no element on its page" in problems


def test_code_that_scrolls_sideways_is_caught(result):
    problems, _ = result
    assert [p for p in problems if p.startswith("wide_code.html: code scrolls sideways: 'x = 1  # long long")]
    assert not [p for p in problems if p.startswith("good.html")]


@pytest.fixture(scope="module")
def reader(site):
    return browser_check.reader_screenshots(site, ["themed", "too_wide", "wide_code"], site / "reader")


def _brightness(png: pathlib.Path) -> float:
    import matplotlib.image

    return float(matplotlib.image.imread(png)[..., :3].mean())


def test_dark_and_phone_screenshots(reader, site):
    light = site / "shots" / "themed.png"
    dark, phone = site / "reader" / "themed-dark.png", site / "reader" / "themed-phone.png"
    assert _brightness(dark) < 0.2 < 0.8 < _brightness(light)
    import matplotlib.image

    assert matplotlib.image.imread(phone).shape[:2] == (browser_check.PHONE[1], browser_check.PHONE[0])


def test_a_page_wider_than_a_phone_is_caught(reader):
    problems, phone = reader
    assert phone["themed"]["window_width"] == browser_check.PHONE[0]
    assert "too_wide (phone): the page is 708 px wide in a 390 px window, it scrolls sideways" in problems
    assert [p for p in problems if p.startswith("wide_code (phone): code scrolls sideways")]
    assert not [p for p in problems if p.startswith("themed")]
