"""Shared fixtures and markers of the unit tests.

The tests mirror the package's floors (``tests/kernels``, ``tests/layers``, ...). The tests
under ``tests/book`` build the book, drive a browser or run the benchmarks: they carry the
``book`` marker, so ``make unit`` (``-m "not book"``) runs the fast unit tests alone.
"""

import pathlib

import pytest
import torch

_BOOK = pathlib.Path(__file__).resolve().parent / "book"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _BOOK in pathlib.Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.book)


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same global seed, so random inputs are reproducible."""
    torch.manual_seed(0)
