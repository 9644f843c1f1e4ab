"""Run one chapter's code cells in one process and try each check cell's mutations.

Used by ``tests/book/test_checks_can_fail.py``; run alone as
``python tests/book/checkrun.py book/chapters/NN_name.ipynb REPORT.json`` with the notebook's
mutations as JSON on stdin (``{cell_id: [mutation, ...]}``, a mutation being
``[old, new, why]`` or ``[[old, new], [old, new], ..., why]``). Cells run in order in one
namespace, as in a kernel (no IPython: the chapters use no magics; Matplotlib draws with
Agg). Right after a cell with mutations, each mutated source runs in a forked child, so
that what it overwrites (variables, the random streams) never reaches the later cells.
Writes one JSON object to REPORT.json: ``{"cells": n, "cpu_s": s, "results": [{"cell",
"why", "outcome", "detail"}]}``
with outcome ``"AssertionError"`` (the check failed, as it must), ``"passed"`` (it did not),
``"stale"`` (``old`` is not in the cell exactly once) or another exception's name.
"""

from __future__ import annotations

import json
import os
import pathlib
import resource
import signal
import sys
import traceback
import warnings

CHILD_TIMEOUT_S = 1200  # wall clock; a loaded shared machine runs many times slower


def _run_child(source: str, namespace: dict, name: str) -> tuple[str, str]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run the mutant, report, exit without cleanup
        os.close(read_fd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        signal.alarm(CHILD_TIMEOUT_S)
        try:
            exec(compile(source, name, "exec"), namespace)
            outcome, detail = "passed", ""
        except AssertionError:
            frames = [f for f in traceback.extract_tb(sys.exc_info()[2]) if f.filename == name]
            line = frames[-1].lineno if frames else 0
            outcome = "AssertionError"
            detail = source.splitlines()[line - 1].strip() if line else ""
        except BaseException as err:  # noqa: BLE001 - reported to the parent
            outcome, detail = type(err).__name__, str(err)[:300]
        os.write(write_fd, json.dumps([outcome, detail]).encode())
        os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    if not chunks:
        return "died", "the child wrote nothing (killed, or timed out)"
    outcome, detail = json.loads(b"".join(chunks))
    return outcome, detail


def run(path: pathlib.Path, mutations: dict[str, list]) -> dict:
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ["RNNBOOK_PROGRESS"] = "0"
    warnings.simplefilter("ignore")
    nb = json.loads(path.read_text(encoding="utf-8"))
    os.chdir(path.parent)  # as a kernel started for the notebook
    namespace: dict = {"__name__": "__main__"}
    results, cells = [], 0
    import matplotlib.pyplot as plt

    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        cells += 1
        source = "".join(cell["source"])
        name = f"<{path.stem} {cell['id']}>"
        exec(compile(source, name, "exec"), namespace)  # an error here fails the run
        for mutation in mutations.get(cell["id"], []):
            *edits, why = mutation
            if all(isinstance(e, str) for e in edits):  # [old, new, why]: one edit
                edits = [edits]
            mutant, stale = source, [old for old, _ in edits if source.count(old) != 1]
            if stale:
                results.append({"cell": cell["id"], "why": why, "outcome": "stale",
                                "detail": f"not found exactly once: {stale!r}"})
                continue
            for old, new in edits:
                mutant = mutant.replace(old, new)
            outcome, detail = _run_child(mutant, namespace, name)
            results.append({"cell": cell["id"], "why": why, "outcome": outcome, "detail": detail})
        plt.close("all")
    cpu = sum(getattr(resource.getrusage(who), f)
              for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    return {"cells": cells, "results": results, "cpu_s": round(cpu, 1)}


if __name__ == "__main__":
    out = pathlib.Path(sys.argv[2]).resolve()
    report = run(pathlib.Path(sys.argv[1]).resolve(), json.load(sys.stdin))
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
