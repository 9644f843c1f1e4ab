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


def _silence_ipython() -> None:
    """In a child forked from a Jupyter kernel: nothing the mutant prints or displays may
    reach the kernel's sockets (their threads did not survive the fork)."""
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the child exits without cleanup
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    if shell is not None:
        shell.display_pub.publish = lambda *args, **kwargs: None
        shell.displayhook = lambda *args, **kwargs: None


def _run_child(source: str, namespace: dict, name: str) -> tuple[str, str]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run the mutant, report, exit without cleanup
        os.close(read_fd)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        _silence_ipython()
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


def mutant_sources(source: str, mutations: list) -> list[tuple[str, str | None, str]]:
    """(why, mutated source or None, what is stale) for each mutation of one cell's ``source``."""
    out = []
    for mutation in mutations:
        *edits, why = mutation
        if all(isinstance(e, str) for e in edits):  # [old, new, why]: one edit
            edits = [edits]
        stale = [old for old, _ in edits if source.count(old) != 1]
        if stale:
            out.append((why, None, f"not found exactly once: {stale!r}"))
            continue
        mutant = source
        for old, new in edits:
            mutant = mutant.replace(old, new)
        out.append((why, mutant, ""))
    return out


def run_mutants(namespace: dict, cell: str, source: str, mutations: list, name: str) -> list[dict]:
    """Run each mutation of one cell (whose ``source`` has just run in ``namespace``) in a forked
    child; one result dict per mutation."""
    results = []
    for why, mutant, stale in mutant_sources(source, mutations):
        if mutant is None:
            results.append({"cell": cell, "why": why, "outcome": "stale", "detail": stale})
            continue
        outcome, detail = _run_child(mutant, namespace, name)
        results.append({"cell": cell, "why": why, "outcome": outcome, "detail": detail})
    return results


def in_kernel(namespace: dict, cell: str, source: str, mutations_json: str, name: str) -> str:
    """The entry point used inside a Jupyter kernel (``tests/book/nbval_mutations.py``): run the
    cell's mutations against the kernel's namespace; the results as JSON."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return json.dumps(run_mutants(namespace, cell, source, json.loads(mutations_json), name))


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
        results += run_mutants(namespace, cell["id"], source, mutations.get(cell["id"], []), name)
        plt.close("all")
    cpu = sum(getattr(resource.getrusage(who), f)
              for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime"))
    return {"cells": cells, "results": results, "cpu_s": round(cpu, 1)}


if __name__ == "__main__":
    out = pathlib.Path(sys.argv[2]).resolve()
    report = run(pathlib.Path(sys.argv[1]).resolve(), json.load(sys.stdin))
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
