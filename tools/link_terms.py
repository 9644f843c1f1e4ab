"""Link the first use of glossary terms in a chapter to the glossary (MyST ``{term}``).

Usage: python tools/link_terms.py book/chapters/NN_name.ipynb "phrase=term" ["phrase=term" ...]

For each pair, the first occurrence of ``phrase`` in a markdown cell (outside headings,
math, code spans and existing roles) becomes ``{term}`phrase <term>```. Markdown edits
change no code output, so the notebook needs no re-execution. Reports phrases not found.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

PROTECTED = re.compile(r"(\$\$.*?\$\$|\$[^$\n]*\$|`[^`\n]*`|\{[a-z]+\}`[^`]*`|^#[^\n]*$|\[[^\]]*\]\([^)]*\))", re.S | re.M)


def link_first(text: str, phrase: str, term: str) -> tuple[str, bool]:
    pieces = PROTECTED.split(text)
    for i in range(0, len(pieces), 2):  # even pieces are unprotected text
        m = re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", pieces[i])
        if m:
            target = phrase if phrase == term else f"{m.group(0)} <{term}>"
            pieces[i] = pieces[i][:m.start()] + f"{{term}}`{target}`" + pieces[i][m.end():]
            return "".join(pieces), True
    return text, False


def main(argv: list[str]) -> int:
    path = pathlib.Path(argv[0])
    nb = json.loads(path.read_text(encoding="utf-8"))
    status = 0
    for pair in argv[1:]:
        phrase, _, term = pair.partition("=")
        for cell in nb["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            src = "".join(cell["source"])
            if f"<{term}>`" in src or f"{{term}}`{term}`" in src:
                break  # already linked
            new, done = link_first(src, phrase, term)
            if done:
                cell["source"] = new.splitlines(keepends=True)
                break
        else:
            print(f"{path.name}: {phrase!r} not found")
            status = 1
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
