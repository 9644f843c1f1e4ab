"""The frozen data: checksums, provenance files, and that setuptools ships them."""

import gzip
import hashlib
import lzma
import pathlib
import tomllib
from fnmatch import fnmatch

import pytest

from rnnbook.helpers import numbers, series, text

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "rnnbook" / "helpers" / "datasets"
SHA256 = {
    "python_docs_3.11.7.txt.gz": "8b77748f51650b8f1292a2121113c9a12b54e782489d1210f0aacf764f2501a5",
    "LICENSE-PSF.txt": "3b2f81fe21d181c499c59a256c8e1968455d6689d269aa85373bfb6af41da3bf",
    "mauna_loa_co2_weekly.csv": "16695fa2786e53414e5a6b54767a3fdf5de99cfbc68617f69d1362d92776a92f",
    "number_words_en_fr.tsv.xz": "6a20d6c96392bd02662860d364a7a359674eefd780a1f55237f3d09a17c19509",
}


@pytest.mark.parametrize("name", sorted(SHA256))
def test_checksums(name):
    assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == SHA256[name]


def test_the_readme_states_every_checksum_and_licence():
    readme = (DATA / "README.md").read_text()
    for name, digest in SHA256.items():
        assert name in readme and digest in readme
    assert text.CORPUS_SHA256 in readme and numbers.NUMBERS_SHA256 in readme
    assert "PSF License Version 2" in readme and "public domain" in readme
    assert "PYTHON SOFTWARE FOUNDATION LICENSE VERSION 2" in (DATA / "LICENSE-PSF.txt").read_text()


def test_the_loaders_check_the_same_digests():
    assert series.CO2_SHA256 == SHA256[series.CO2_FILE]
    raw = gzip.decompress((DATA / text.CORPUS_FILE).read_bytes())
    assert hashlib.sha256(raw).hexdigest() == text.CORPUS_SHA256
    raw = lzma.decompress((DATA / numbers.NUMBERS_FILE).read_bytes())
    assert hashlib.sha256(raw).hexdigest() == numbers.NUMBERS_SHA256


def test_setuptools_ships_the_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = config["package-data"]["rnnbook"]
    for path in DATA.iterdir():
        rel = path.relative_to(ROOT / "src" / "rnnbook").as_posix()
        assert any(fnmatch(rel, g) for g in globs), f"{rel} is not package data"


def test_a_changed_corpus_is_refused(monkeypatch):
    monkeypatch.setattr(text, "_read_data", lambda name: gzip.compress(b"changed"))
    with pytest.raises(RuntimeError, match="SHA-256"):
        text.python_docs()


def test_changed_number_words_are_refused(monkeypatch):
    monkeypatch.setattr(numbers, "_read_data", lambda name: lzma.compress(b"1\tone\tun\n"))
    with pytest.raises(RuntimeError, match="SHA-256"):
        numbers.number_words()
