"""Per-chapter time budget for the notebook tests (nbval).

Every notebook under ``book/`` is re-executed by nbval, one test item per cell. This
plugin adds up the cells' durations per notebook, prints a table at the end of the run,
and fails the run, naming the chapter, when one takes longer than
``RNNBOOK_CHAPTER_BUDGET_S`` seconds (default 60 s, the design's budget on two cores).
It runs in the controlling process, so it also sees the items that xdist workers ran.
"""

from __future__ import annotations

import os
from collections import defaultdict

import pytest

# No progress bars in the kernels nbval starts (they inherit this environment): a bar's
# text holds timings, which would differ from the committed outputs.
os.environ["RNNBOOK_PROGRESS"] = "0"
# One thread per process: `make test` runs two workers (two notebook kernels, or unit tests
# beside the book build) on a two-core machine; more threads each oversubscribe the cores
# and made a chapter up to 25x slower. Set before torch is imported anywhere in the run.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

_BUDGET_S = float(os.environ.get("RNNBOOK_CHAPTER_BUDGET_S", "60"))
_times: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _times[path] += report.duration  # setup, call and teardown phases of every cell


def _over_budget() -> list[tuple[str, float]]:
    return [(path, t) for path, t in sorted(_times.items()) if t > _BUDGET_S]


def pytest_terminal_summary(terminalreporter):
    if not _times:
        return
    tr = terminalreporter
    tr.section("chapter execution times (sum of cell times under nbval)")
    for path, t in sorted(_times.items()):
        flag = "  OVER BUDGET" if t > _BUDGET_S else ""
        tr.write_line(f"{t:7.1f} s  {path}{flag}")
    for path, t in _over_budget():
        tr.write_line(f"FAILED chapter time budget: {path} took {t:.1f} s > {_BUDGET_S:.0f} s", red=True)


def pytest_sessionfinish(session, exitstatus):
    if _over_budget() and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
