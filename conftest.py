"""Chapter times of the notebook tests (nbval), measured against a reference workload.

Every notebook under ``book/`` is re-executed by nbval, one test item per cell. This plugin
adds up the cells' durations per notebook and prints a table at the end of the run: each
chapter's time in seconds and in units of a *reference workload* timed in the same run (a
fixed, small recurrent-network training loop in plain torch, like the chapters' own work), so that a busy
machine, which slows both, cancels out of the second figure. The design's budget is 20 s
per chapter on an idle two-core machine; the table gives each chapter's time in those
terms (its time in reference units, times what the reference takes here with no
competition for the core: its CPU time) and marks the chapters above it. That is a
benchmark, reported, not asserted: a run fails only when a chapter's idle-machine estimate
exceeds the hang guard ``RNNBOOK_CHAPTER_HANG_S`` (default 300 s, fifteen times the budget),
and then names it. The guard is in load-adjusted seconds because wall time is not: on a
two-core machine at load average 20, chapters took 300 to 460 s of wall time for an estimate
of 40 to 60 s. A cell that truly hangs is ended by nbval's own per-cell timeout
(``--nbval-cell-timeout``, 2000 s of wall time by default).

``RNNBOOK_CHAPTER_TIMES=FILE`` writes the table as JSON. It runs in the controlling process,
so it also sees the items that xdist workers ran.
"""

from __future__ import annotations

import json
import os
import sys
import time
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
# The same trained numbers on every x86 CPU with AVX2 (AVX-512 or not): see tools/cpu_env.py.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
import cpu_env  # noqa: E402

cpu_env.apply()

# Each check cell's mutations run inside the chapter's nbval kernel (tests/book/nbval_mutations.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests", "book"))
pytest_plugins = ["nbval_mutations"]

_HANG_S = float(os.environ.get("RNNBOOK_CHAPTER_HANG_S", "300"))
BUDGET_IDLE_S = 20.0  # the design's budget per chapter, on an idle two-core machine
_times: dict[str, float] = defaultdict(float)
_mutation_times: dict[str, float] = defaultdict(float)  # the mutants' seconds, run in the same items
_reference: list[tuple[float, float]] = []  # (wall, cpu) seconds of each run of the reference


def reference_workload() -> tuple[float, float]:
    """Time (wall, CPU seconds) of a fixed piece of work like the chapters': 40 training steps
    of an Elman RNN written out in plain torch operations (50 steps, batch 32, 32 units; autograd
    records every step) with Adam, on one thread: about half a second on an idle machine.
    Seeded and independent of rnnbook's code, so only the machine changes its time."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(50, 32, 8, generator=gen)
        target = torch.randn(32, 32, generator=gen)
        w_ih = (torch.randn(8, 32, generator=gen) / 8**0.5).requires_grad_()
        w_hh = (torch.randn(32, 32, generator=gen) / 32**0.5).requires_grad_()
        b = torch.zeros(32, requires_grad=True)
        opt = torch.optim.Adam([w_ih, w_hh, b], lr=1e-3)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(40):
            opt.zero_grad()
            h = torch.zeros(32, 32)
            for t in range(50):
                h = torch.tanh(x[t] @ w_ih + h @ w_hh + b)
            ((h - target) ** 2).mean().backward()
            opt.step()
        return time.perf_counter() - wall, time.process_time() - cpu
    finally:
        torch.set_num_threads(threads)


def _is_controller(config) -> bool:
    return not hasattr(config, "workerinput")


def _runs_notebooks(config) -> bool:
    return bool(config.getoption("--nbval", default=False) or config.getoption("--nbval-lax", default=False))


def pytest_sessionstart(session):
    if _is_controller(session.config) and _runs_notebooks(session.config):
        reference_workload()  # warm-up: imports, first allocations
        _reference.append(reference_workload())


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        # setup, call and teardown phases of every cell, less the check cells' mutants
        mutants = dict(report.user_properties).get("mutation_s", 0.0) if report.when == "call" else 0.0
        _times[path] += report.duration - mutants
        _mutation_times[path] += mutants


def _hung() -> list[tuple[str, float]]:
    """The chapters whose idle-machine estimate is over the hang guard (wall time where the
    reference was not timed, in a worker's own report)."""
    if not _reference:
        return [(path, t) for path, t in sorted(_times.items()) if t > _HANG_S]
    rows, _ = _rows()
    return [(r["chapter"], r["idle_seconds_estimate"]) for r in rows if r["idle_seconds_estimate"] > _HANG_S]


def _rows() -> tuple[list[dict], dict]:
    """One row per chapter, and the reference's figures (the mean over its runs)."""
    wall = sum(w for w, _ in _reference) / len(_reference)
    cpu = sum(c for _, c in _reference) / len(_reference)
    rows = []
    for path, t in sorted(_times.items()):
        units = t / wall
        rows.append({"chapter": path, "seconds": round(t, 2), "reference_units": round(units, 2),
                     "idle_seconds_estimate": round(units * cpu, 2),
                     "mutants_seconds": round(_mutation_times.get(path, 0.0), 2)})
    return rows, {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "runs": len(_reference)}


def pytest_terminal_summary(terminalreporter):
    if not _times:
        return
    tr = terminalreporter
    tr.section("chapter execution times (sum of cell times under nbval)")
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    if _reference:
        rows, ref = _rows()
        tr.write_line(f"reference workload: {ref['wall_s']:.3f} s wall, {ref['cpu_s']:.3f} s CPU (mean of "
                      f"{ref['runs']} runs, start and end); load average now {load}")
        tr.write_line(f"{'seconds':>8s}  {'x ref':>7s}  {'~idle s':>7s}  {'mutants':>7s}  chapter  (budget: "
                      f"{BUDGET_IDLE_S:.0f} s on an idle two-core machine, estimated as x ref times the reference's "
                      "CPU time; mutants: the seconds of its check cells' mutations, not counted in the chapter)")
        for r in rows:
            flag = "  above the budget" if r["idle_seconds_estimate"] > BUDGET_IDLE_S else ""
            tr.write_line(f"{r['seconds']:8.1f}  {r['reference_units']:7.1f}  {r['idle_seconds_estimate']:7.1f}  "
                          f"{r['mutants_seconds']:7.1f}  {r['chapter']}{flag}")
        out = os.environ.get("RNNBOOK_CHAPTER_TIMES")
        if out:
            with open(out, "w") as f:
                json.dump({"load_average_end": load, "reference": ref, "budget_idle_s": BUDGET_IDLE_S,
                           "hang_guard_s": _HANG_S, "chapters": rows}, f, indent=1)
    else:
        for path, t in sorted(_times.items()):
            tr.write_line(f"{t:7.1f} s  {path}")
    for path, t in _hung():
        tr.write_line(f"FAILED chapter hang guard: {path} took an estimated {t:.1f} s > {_HANG_S:.0f} s "
                      "(on an idle machine)", red=True)


def pytest_sessionfinish(session, exitstatus):
    if _times and _reference and _is_controller(session.config):
        _reference.append(reference_workload())  # again at the end: the mean covers the run's load
    if _hung() and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
