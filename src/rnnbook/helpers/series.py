r"""A real time series, frozen in the package: the Mauna Loa CO₂ record.

``rnnbook/helpers/datasets/mauna_loa_co2_weekly.csv`` is a verbatim copy of the weekly
Mauna Loa CO₂ concentrations (ppmv, March 1958 to December 2001) that statsmodels 0.14.6
ships as ``statsmodels/datasets/co2/co2.csv`` (statsmodels marks it "This is public
domain."; the measurements are C. D. Keeling and T. P. Whorf's, Scripps Institution of
Oceanography, distributed by CDIAC; provenance and checksums in that folder's
``README.md``). 59 of its 2,284 weeks have no value.

:func:`rnnbook.helpers.series.mauna_loa_co2` turns it into a monthly series: the mean of the weeks of each month
that have a value. Five months have none (June and October 1958, February to April 1964),
so the series starts in May 1964, the first month after the last gap, and runs without a
gap to December 2001: 452 months. Nothing is interpolated.

>>> from rnnbook.helpers.series import mauna_loa_co2
>>> co2 = mauna_loa_co2()
>>> len(co2.values), co2.months[0], co2.months[-1]
(452, (1964, 5), (2001, 12))
>>> round(co2.values[0].item(), 2), round(co2.values[-1].item(), 2)
(322.0, 371.02)
"""

from __future__ import annotations

import collections
import csv
import hashlib
import importlib.resources
import io
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["CO2_FILE", "CO2_SHA256", "MonthlySeries", "mauna_loa_co2"]

#: The frozen weekly record, a file of package data in ``rnnbook/helpers/datasets/``.
CO2_FILE = "mauna_loa_co2_weekly.csv"
#: SHA-256 of that file; :func:`rnnbook.helpers.series.mauna_loa_co2` checks it.
CO2_SHA256 = "16695fa2786e53414e5a6b54767a3fdf5de99cfbc68617f69d1362d92776a92f"


@dataclass
class MonthlySeries:
    """A monthly series: ``months``, a list of ``(year, month)``, and ``values`` (T,) float64.

    >>> from rnnbook.helpers.series import mauna_loa_co2
    >>> co2 = mauna_loa_co2()
    >>> co2.months[0], tuple(co2.values.shape)
    ((1964, 5), (452,))
    """

    months: list[tuple[int, int]]
    values: Tensor

    def __repr__(self) -> str:
        (y0, m0), (y1, m1) = self.months[0], self.months[-1]
        return f"MonthlySeries({len(self.months)} months, {y0}-{m0:02d} to {y1}-{m1:02d})"

    def index(self, year: int, month: int) -> int:
        """The position of ``(year, month)`` in the series."""
        try:
            return self.months.index((year, month))
        except ValueError:
            raise ValueError(f"(year, month) must lie in the series, {self.months[0]} to "
                             f"{self.months[-1]}; got {(year, month)}") from None

    def years(self) -> Tensor:
        """Decimal years of the months' middles, (T,) float64: 1964.375 is mid-May 1964."""
        return torch.tensor([y + (m - 0.5) / 12 for y, m in self.months], dtype=torch.float64)


def mauna_loa_co2() -> MonthlySeries:
    """Monthly mean CO₂ at Mauna Loa in ppmv, May 1964 to December 2001 (452 months).

    The weekly file is checked against :data:`rnnbook.helpers.series.CO2_SHA256` (``RuntimeError`` if changed).

    >>> from rnnbook.helpers.series import mauna_loa_co2
    >>> round(float(mauna_loa_co2().values[-1]), 1) > 360.0     # ppmv, December 2001
    True
    """
    raw = importlib.resources.files("rnnbook.helpers").joinpath("datasets", CO2_FILE).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != CO2_SHA256:
        raise RuntimeError(f"{CO2_FILE} has SHA-256 {digest}, expected {CO2_SHA256}: the frozen "
                           "data was changed; restore it from git")
    weeks: dict[tuple[int, int], list[float]] = collections.defaultdict(list)
    for row in csv.DictReader(io.StringIO(raw.decode("ascii"))):
        key = (int(row["date"][:4]), int(row["date"][4:6]))
        weeks[key]  # a month with no value still appears, empty
        if row["co2"]:
            weeks[key].append(float(row["co2"]))
    months = sorted(weeks)
    last_gap = max(i for i, m in enumerate(months) if not weeks[m])
    kept = months[last_gap + 1:]
    values = torch.tensor([sum(weeks[m]) / len(weeks[m]) for m in kept], dtype=torch.float64)
    return MonthlySeries(kept, values)
