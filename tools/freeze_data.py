"""How the data files in src/rnnbook/helpers/datasets/ were made (run once; kept as provenance).

    python tools/freeze_data.py --co2 PATH/TO/statsmodels/datasets/co2/co2.csv

1. ``python_docs_3.11.7.txt.gz``: the documentation topics that CPython 3.11.7 ships in
   ``Lib/pydoc_data/topics.py`` (the text ``help('if')`` prints), every topic in the order
   of its name (the file's own order), joined by one newline, UTF-8, gzip with mtime 0
   (so the file is byte-for-byte reproducible). Licence: PSF License Version 2
   (``LICENSE-PSF.txt``, copied from that CPython's ``LICENSE.txt``).
2. ``mauna_loa_co2_weekly.csv``: a verbatim copy of ``statsmodels/datasets/co2/co2.csv``
   from the statsmodels 0.14.6 wheel (statsmodels marks it "This is public domain."; the
   measurements are Keeling and Whorf's, Scripps Institution of Oceanography).

The script refuses to run on another Python, so the frozen text never changes by accident.
"""

import argparse
import gzip
import hashlib
import pathlib
import shutil
import sys

OUT = pathlib.Path(__file__).resolve().parents[1] / "src" / "rnnbook" / "helpers" / "datasets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--co2", type=pathlib.Path, help="statsmodels' co2.csv to copy")
    args = parser.parse_args()
    if sys.version_info[:3] != (3, 11, 7):
        raise SystemExit(f"run this with CPython 3.11.7, not {sys.version.split()[0]}")
    import pydoc_data.topics

    topics = pydoc_data.topics.topics
    text = "\n".join(topics[name] for name in sorted(topics))
    (OUT / "python_docs_3.11.7.txt.gz").write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    shutil.copyfile(pathlib.Path(sys.prefix) / "lib" / "python3.11" / "LICENSE.txt", OUT / "LICENSE-PSF.txt")
    if args.co2:
        shutil.copyfile(args.co2, OUT / "mauna_loa_co2_weekly.csv")
    for path in sorted(OUT.glob("*")):
        if path.suffix in {".gz", ".csv", ".txt"}:
            print(hashlib.sha256(path.read_bytes()).hexdigest(), path.name)
    print(f"text: {len(text)} characters, {len(topics)} topics, sha256 of the UTF-8 text "
          f"{hashlib.sha256(text.encode('utf-8')).hexdigest()}")


if __name__ == "__main__":
    main()
