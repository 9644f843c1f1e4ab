"""The Mauna Loa CO2 series."""

import csv
import pathlib

import pytest
import torch

from rnnbook.helpers.series import mauna_loa_co2

CSV = pathlib.Path(__file__).resolve().parents[2] / "src/rnnbook/helpers/datasets/mauna_loa_co2_weekly.csv"


def test_monthly_means_of_the_weekly_file():
    co2 = mauna_loa_co2()
    assert len(co2.values) == 452 and co2.values.dtype == torch.float64
    assert co2.months[0] == (1964, 5) and co2.months[-1] == (2001, 12)
    rows = [r for r in csv.DictReader(CSV.open()) if r["date"].startswith("199001") and r["co2"]]
    by_hand = sum(float(r["co2"]) for r in rows) / len(rows)
    assert co2.values[co2.index(1990, 1)].item() == pytest.approx(by_hand, abs=1e-12)
    # consecutive months, no gap
    steps = {(b[0] - a[0]) * 12 + b[1] - a[1] for a, b in zip(co2.months, co2.months[1:])}
    assert steps == {1}
    assert co2.years()[0].item() == pytest.approx(1964 + 4.5 / 12)


def test_index_error():
    with pytest.raises(ValueError, match="must lie in the series"):
        mauna_loa_co2().index(1960, 1)
