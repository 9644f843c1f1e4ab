"""How ``src/rnnbook/helpers/datasets/number_words_en_fr.tsv.xz`` was made (run once; kept as
provenance).

    pip install num2words==0.5.14 && python tools/freeze_numbers.py

Draws 10,000 distinct whole numbers in [0, 10^18): for each, a digit count d uniform in
1..18, then a number uniform among those with d digits (``random.Random(2026)``; draws
already taken are drawn again). Each is written in English and French by num2words 0.5.14
(``num2words(n, lang='en')``, ``lang='fr'``), one line ``n<TAB>english<TAB>french``, in the
order drawn, UTF-8, compressed by Python's ``lzma`` (xz, preset 9 | extreme). The loader
checks the SHA-256 of the text, so another xz build that compresses differently is harmless.
"""

import lzma
import pathlib
import random

OUT = pathlib.Path(__file__).resolve().parents[1] / "src" / "rnnbook" / "helpers" / "datasets"
COUNT, SEED, MAX_DIGITS = 10_000, 2026, 18


def numbers() -> list[int]:
    rng, seen, out = random.Random(SEED), set(), []
    while len(out) < COUNT:
        d = rng.randint(1, MAX_DIGITS)
        n = rng.randint(0 if d == 1 else 10 ** (d - 1), 10 ** d - 1)
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def main() -> None:
    import num2words

    from importlib.metadata import version

    if version("num2words") != "0.5.14":
        raise SystemExit(f"run this with num2words 0.5.14, not {version('num2words')}")
    lines = [f"{n}\t{num2words.num2words(n, lang='en')}\t{num2words.num2words(n, lang='fr')}"
             for n in numbers()]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    (OUT / "number_words_en_fr.tsv.xz").write_bytes(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))


if __name__ == "__main__":
    main()
