"""Every check cell's mutations, run inside the chapter's own nbval kernel (a pytest plugin).

``tests/book/test_checks_can_fail.py`` proves that every check of the book can fail: each
check cell's mutations (``tests/book/check_mutations.py``) must stop on an
``AssertionError``. Run alone, it executes the chapter a second time (``checkrun.py``). When
the same session also runs the chapter under nbval (``make test``), that second execution is
wasted: the kernel nbval drives already holds every variable the mutants need. So this plugin

* runs, right after nbval has run and compared a check cell, each of its mutations in a child
  forked from that kernel (``checkrun.in_kernel``: the child sees the cell's namespace, writes
  nothing to the notebook and exits; the kernel goes on unchanged), and fails the cell's test
  item when a mutation does not make the check fail, naming the mutation;
* deselects ``test_mutated_checks_fail[CHAPTER]`` for each chapter whose check cells all run
  here, so nothing is checked twice and nothing is left unchecked;
* records the seconds the mutants took as the item's ``mutation_s`` property, which the root
  ``conftest.py`` takes out of the chapter's time (the chapter budget is for the chapter).

``--no-inline-mutations`` turns it off (the mutation items then run as before).
"""

from __future__ import annotations

import ast
import json
import pathlib
import time

import pytest

from check_mutations import MUTATIONS

CHECKRUN = pathlib.Path(__file__).resolve().with_name("checkrun.py")
MUTATION_TEST = "test_mutated_checks_fail"


def pytest_addoption(parser):
    parser.addoption("--no-inline-mutations", action="store_true", default=False,
                     help="rnnbook: do not run the check cells' mutations inside the nbval kernels "
                          "(tests/book/test_checks_can_fail.py then runs them, one more execution per chapter)")


def _is_nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell"


def _mutations(item) -> list | None:
    if not _is_nbval_cell(item) or item.config.getoption("--no-inline-mutations"):
        return None
    return MUTATIONS.get(pathlib.Path(str(item.path)).stem, {}).get(item.cell.get("id"))


def pytest_collection_modifyitems(session, config, items):
    """Deselect a chapter's mutation item where every one of its mutated cells runs under nbval."""
    if config.getoption("--no-inline-mutations"):
        return
    inline: dict[str, set[str]] = {}
    for item in items:
        if _is_nbval_cell(item) and not item.options.get("skip"):
            inline.setdefault(pathlib.Path(str(item.path)).stem, set()).add(item.cell.get("id"))
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        if getattr(item, "originalname", None) == MUTATION_TEST and callspec is not None:
            stem = callspec.params["path"].stem
            if stem in inline and set(MUTATIONS.get(stem, {})) <= inline[stem]:
                drop.append(item)
                continue
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _shell_reply(kernel, msg_id: str, timeout: float) -> dict:
    while True:
        msg = kernel.get_message(stream="shell", timeout=timeout)
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield  # nbval ran the cell and compared its outputs (raises if that failed)
    mutations = _mutations(item)
    if not mutations:
        return result
    stem, cell = pathlib.Path(str(item.path)).stem, item.cell.get("id")
    started = time.perf_counter()
    expression = (f"__import__('runpy').run_path({str(CHECKRUN)!r})['in_kernel']"
                  f"(globals(), {cell!r}, {item.cell.source!r}, {json.dumps(mutations)!r}, '<{stem} {cell}>')")
    kernel = item.parent.kernel
    timeout = item.config.option.nbval_cell_timeout
    # silent: no execution count, no history, nothing on the notebook's output
    msg_id = kernel.kc.execute("", silent=True, store_history=False, allow_stdin=False,
                               user_expressions={"results": expression})
    reply = _shell_reply(kernel, msg_id, timeout)
    kernel.await_idle(msg_id, timeout)
    item.user_properties.append(("mutation_s", time.perf_counter() - started))
    found = reply["content"].get("user_expressions", {}).get("results", {})
    if found.get("status") != "ok":
        raise RuntimeError(f"{stem} {cell}: the mutation run failed in the kernel: "
                           f"{found.get('ename')}: {found.get('evalue')}")
    results = json.loads(ast.literal_eval(found["data"]["text/plain"]))
    assert len(results) == len(mutations)
    bad = [r for r in results if r["outcome"] != "AssertionError"]
    if bad:
        pytest.fail(f"{stem} {cell}: mutations that did not make the check fail (each must stop on an "
                    "AssertionError):\n" + "\n".join(f"  {r['why']}: {r['outcome']} {r['detail']}" for r in bad),
                    pytrace=False)
    return result
