"""Collect every erratum box of the chapters into book/errata.md, stated whole, by kind.

An erratum box is a MyST admonition in a markdown cell of a chapter notebook, titled
``Erratum (<kind>): <title>`` with ``<kind>`` one of :data:`KINDS`, whose body holds three
paragraphs, in this order: ``**The notes:**`` (their words, quoted), ``**What is wrong:**``
and ``**Correct form:**``. The first code cell after the box proves the correction: it
must be able to fail if the correction were wrong (tests/test_checks_can_fail.py makes it
fail on a falsified claim).

This tool gives each box a label, ``(erratum-<chapter>-<k>)=``, written just above it, and
its proving cell a label ``(erratum-<chapter>-<k>-proof)=``, written at the end of the
markdown cell right before that code cell; it then regenerates ``book/errata.md``: a count
per kind, then every erratum in book order, with its three parts and links to the box and
to the proving cell.

Usage: python tools/errata.py          (rewrites labels and book/errata.md)
       python tools/errata.py --check  (exit 1 if either is out of date or a box is
                                        malformed; used by the tests)
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

BOOK = pathlib.Path(__file__).resolve().parents[1] / "book"

#: The kinds of errata, with what each means on the errata page.
KINDS = {
    "error": "the notes' formula or statement is wrong, and taken as written it changes a "
             "result",
    "slip": "a wrong letter or an inconsistency that a reader corrects in passing, from "
            "the notes' own context",
    "notation": "the result is right, its notation is not (index order, sizes, a vector "
                "differentiated by a matrix)",
    "omission": "a clarification: the notes announce or assume something they do not write "
                "out or state",
    "not an error": "the notes are right; the book's first reading of them was wrong",
}
PARTS = ("The notes:", "What is wrong:", "Correct form:")
BOX = re.compile(r"^(?:\((?P<label>erratum-[\w-]+)\)=\n)?(?P<fence>`{3,}|:{3,})\{admonition\}\s*"
                 r"(?P<title>Erratum[^\n]*)\n(?P<body>.*?)^(?P=fence)\s*$", re.M | re.S)
TITLE = re.compile(r"Erratum \((?P<kind>[a-z ]+)\): (?P<title>.+)")
PROOF = re.compile(r"\n*\(erratum-[\w-]+-proof\)=\n?")


def chapters() -> list[pathlib.Path]:
    toc = (BOOK / "_toc.yml").read_text()
    return [BOOK / f"{name}.ipynb" for name in re.findall(r"file:\s*(chapters/\S+)", toc)]


def _parts(body: str, where: str) -> dict[str, str]:
    """The three parts of a box's body, each as one paragraph of text."""
    text = "\n".join(line for line in body.splitlines() if not line.startswith(":"))
    starts = [(text.find(f"**{p}**"), p) for p in PARTS]
    if any(i < 0 for i, _ in starts) or [i for i, _ in starts] != sorted(i for i, _ in starts):
        raise ValueError(f"{where}: the box must hold **The notes:**, **What is wrong:** and "
                         "**Correct form:**, in this order")
    bounds = [i for i, _ in starts] + [len(text)]
    parts = {}
    for (i, p), end in zip(starts, bounds[1:]):
        chunk = text[i + len(p) + 4:end].strip()
        chunk = " ".join(line.strip() for line in chunk.splitlines() if line.strip())
        # equation numbers belong to the chapter: on the errata page, name the equation
        parts[p] = re.sub(r"\{eq\}`([^`]*)`", r"equation (\1) of the chapter", chunk)
    return parts


def collect(write: bool) -> tuple[list[dict], bool]:
    """Return the errata in book order and whether any notebook needed new labels."""
    errata, changed = [], False
    for path in chapters():
        nb = json.loads(path.read_text(encoding="utf-8"))
        stem = path.stem.split("_", 1)[0]
        title = next(("".join(c["source"]).split("\n", 1)[0].lstrip("# ").strip()
                      for c in nb["cells"] if c["cell_type"] == "markdown"), path.stem)
        before = json.dumps(nb["cells"])
        k = 0
        for cell in nb["cells"]:  # labels of proving cells are rewritten from scratch
            if cell["cell_type"] == "markdown":
                src = "".join(cell["source"])
                stripped = PROOF.sub("\n", src).rstrip("\n") + "\n" if PROOF.search(src) else src
                cell["source"] = stripped.splitlines(keepends=True)
        for index, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "markdown":
                continue
            src = "".join(cell["source"])

            def label_box(m: re.Match) -> str:
                nonlocal k
                k += 1
                label = f"erratum-{stem}-{k}"
                where = f"{path.name}, {label}"
                head = TITLE.fullmatch(m.group("title").strip())
                if not head or head.group("kind") not in KINDS:
                    raise ValueError(f"{where}: the title must read 'Erratum (<kind>): <title>' "
                                     f"with a kind among {list(KINDS)}, got {m.group('title')!r}")
                proof = next((j for j in range(index + 1, len(nb["cells"]))
                              if nb["cells"][j]["cell_type"] == "code"), None)
                if proof is None or nb["cells"][proof - 1]["cell_type"] != "markdown":
                    raise ValueError(f"{where}: the box needs a code cell after it, right after "
                                     "a markdown cell (which takes the proving cell's label)")
                errata.append({"chapter": path.stem, "chapter_title": title, "label": label,
                               "kind": head.group("kind"), "title": head.group("title"),
                               "proof_index": proof, "proof_id": nb["cells"][proof]["id"],
                               **_parts(m.group("body"), where)})
                return f"({label})=\n" + m.group(0)[m.start("fence") - m.start():]

            new = BOX.sub(label_box, src)
            if new != src:
                cell["source"] = new.splitlines(keepends=True)
        for e in (e for e in errata if e["chapter"] == path.stem):
            cell = nb["cells"][e["proof_index"] - 1]
            src = "".join(cell["source"]).rstrip("\n")
            cell["source"] = (src + f"\n\n({e['label']}-proof)=\n").splitlines(keepends=True)
        nb_changed = json.dumps(nb["cells"]) != before
        if nb_changed and write:
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        changed |= nb_changed
    return errata, changed


def render(errata: list[dict]) -> str:
    counts = {kind: sum(e["kind"] == kind for e in errata) for kind in KINDS}
    lines = [
        "# Errata of the notes",
        "",
        "Every place where the chapters correct, complete or re-read the study notes, in book",
        "order, stated whole: the notes' words, what is wrong with them, the correct form, and",
        "the cell that proves it. A proving cell is a SymPy identity or a numeric comparison",
        "that would fail if the correction were wrong (the tests check that it does fail on a",
        "falsified claim), and it is re-run every time the book's tests run. Each erratum has",
        "a kind:",
        "",
        "| kind | meaning | count |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {kind} | {meaning} | {counts[kind]} |" for kind, meaning in KINDS.items()]
    lines += ["", f"{len(errata)} errata in all. This page is generated by `tools/errata.py`.", ""]
    current = None
    for e in errata:
        if e["chapter"] != current:
            current = e["chapter"]
            lines += [f"## {e['chapter_title']}", ""]
        number = e["label"].removeprefix("erratum-")
        lines += [
            f"### {number} ({e['kind']}): {e['title']}",
            "",
            f"**The notes:** {e['The notes:']}",
            "",
            f"**What is wrong:** {e['What is wrong:']}",
            "",
            f"**Correct form:** {e['Correct form:']}",
            "",
            f"Proved by {{ref}}`the cell after the box <{e['label']}-proof>` (cell "
            f"`{e['proof_id']}`); {{ref}}`the box in the chapter <{e['label']}>`.",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> int:
    check = "--check" in sys.argv[1:]
    try:
        errata, changed = collect(write=not check)
    except ValueError as err:
        print(f"malformed erratum box: {err}")
        return 1
    page = render(errata)
    target = BOOK / "errata.md"
    stale = changed or not target.exists() or target.read_text(encoding="utf-8") != page
    if check:
        if stale:
            print("book/errata.md or the erratum labels are out of date: run python tools/errata.py")
            return 1
        return 0
    target.write_text(page, encoding="utf-8")
    counts = ", ".join(f"{kind} {sum(e['kind'] == kind for e in errata)}" for kind in KINDS)
    print(f"{len(errata)} errata written to {target} ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
