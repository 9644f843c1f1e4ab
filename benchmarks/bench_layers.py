"""Forward+backward time and saved-tensor memory of rnnbook's layers against PyTorch's.

Run with ``make bench`` (or ``python benchmarks/bench_layers.py``). It times one
forward+backward pass (the median of ``--repeats`` runs after ``--warmup`` runs) of

* rnnbook's RNN, GRU and LSTM, on both paths (``bptt="hand"``, the hand-written
  backpropagation through time, and ``bptt="autograd"``), against torch.nn.RNN, GRU and
  LSTM at (T, B, input, hidden) = (100, 32, 64, 128), (100, 32, 256, 256), (500, 16, 32, 64);
* rnnbook's SRU and QRNN against torch.nn.LSTM of the same hidden size at T = 256, 1024, 4096,
  on their default path (``bptt="hand"``, a loop with a hand-written backward) and on
  their readable reference (``bptt="autograd"`` for the SRU, ``"scan"`` for the QRNN).

Memory, two measures. (1) The bytes of the storages autograd keeps for the backward pass
(every distinct storage that a ``saved_tensors_hooks`` pack hook sees during the forward,
parameters and input included), allocated size, whether or not the kernel ever fills them;
temporaries are not counted. (2) The *peak* of one forward+backward pass: how far the
process's resident memory rises above where it stood before the pass, temporaries included,
measured in a fresh process per row (so that memory the allocator kept from earlier passes
cannot hide it; a pass on the first 32 steps first sets up what is set up once) by resetting
and reading Linux's high-water mark (``/proc/self/clear_refs``, ``VmHWM``); the median of
three processes. The loss's random weights are drawn before the pass.

It prints the machine (CPU model, core count, load average, torch version), the number of
threads (``torch.set_num_threads``), a table of times, ratios to torch and memory, and writes
the table as JSON and as Markdown (``book/_static/benchmark.json`` and ``benchmark.md`` by
default; the book's performance appendix includes the Markdown). ``--quick`` runs tiny sizes
with two repeats and writes nothing unless ``--out`` is given (the test suite runs it).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

import torch

import rnnbook

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book" / "_static" / "benchmark"
GATED_SIZES = [(100, 32, 64, 128), (100, 32, 256, 256), (500, 16, 32, 64)]
SCAN_LENGTHS = [256, 1024, 4096]
SCAN_BATCH, SCAN_SIZE = 16, 128  # batch and input = hidden of the SRU / QRNN rows
QUICK_GATED_SIZES = [(6, 2, 3, 4)]
QUICK_SCAN_LENGTHS = [8, 16]
QUICK_SCAN_BATCH, QUICK_SCAN_SIZE = 2, 4
PEAK_RUNS = 3  # fresh processes per peak measurement: the median is reported


def machine_info(threads: int) -> dict:
    """CPU model, core count, load, versions: printed and stored with the results."""
    model = platform.processor() or "unknown"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": threads,
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _outputs(result) -> list[torch.Tensor]:
    """A layer's output and final state(s) as a flat list of tensors."""
    out, state = result
    return [out] + (list(state) if isinstance(state, (tuple, list)) else [state])


def _loss_weights(module, x) -> list[torch.Tensor]:
    """Fixed random weights, one per output tensor: loss = Σ (output ⊙ weight)."""
    with torch.no_grad():
        return [torch.randn_like(t) for t in _outputs(module(x))]


def _forward_backward(module, x, weights) -> None:
    loss = sum((t * w).sum() for t, w in zip(_outputs(module(x)), weights))
    loss.backward()


def time_forward_backward(modules: list, x, warmup: int, repeats: int) -> list[tuple[float, float]]:
    """Median and minimum wall time (ms) of one forward+backward pass of each module, after ``warmup``
    untimed passes. The modules take turns (one pass each, ``repeats`` rounds), so a change
    in the machine's load during the measurement affects all of them alike."""
    weights = [_loss_weights(m, x) for m in modules]
    for module, w in zip(modules, weights):
        for _ in range(warmup):
            module.zero_grad(set_to_none=True)
            _forward_backward(module, x, w)
    times: list[list[float]] = [[] for _ in modules]
    for _ in range(repeats):
        for k, (module, w) in enumerate(zip(modules, weights)):
            module.zero_grad(set_to_none=True)
            start = time.perf_counter()
            _forward_backward(module, x, w)
            times[k].append(time.perf_counter() - start)
    return [(1e3 * statistics.median(t), 1e3 * min(t)) for t in times]


def saved_bytes(module, x) -> int:
    """Bytes of the distinct storages autograd saves for the backward of one forward pass."""
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor):
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        outputs = _outputs(module(x))
    del outputs
    return sum(storages.values())


def _status_kib(field: str) -> int:
    """A ``VmRSS``/``VmHWM``-style line of /proc/self/status, in KiB."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


PEAK_WARMUP_STEPS = 32  # enough for every product to take the path of the full pass (oneDNN or not)


def _peak_child(spec: str) -> None:
    """Run in a fresh process (``--peak-child``): one forward+backward pass of the module that
    ``spec`` names, printing how far the resident memory rose above where it stood before the
    pass (the peak, read as VmHWM after resetting it through /proc/self/clear_refs)."""
    s = json.loads(spec)
    torch.set_num_threads(s["threads"])
    torch.manual_seed(0)
    owner = torch.nn if s["factory"].startswith("torch.nn.") else rnnbook
    module = getattr(owner, s["factory"].rsplit(".", 1)[1])(s["input"], s["hidden"], **s["kwargs"])
    x = torch.randn(s["T"], s["B"], s["input"])
    # a pass on the first steps: one-time set-up (thread pools, oneDNN kernels; 32 steps reach
    # the same products as the full pass) is not counted, and it leaves the allocator little
    warm = x[:PEAK_WARMUP_STEPS]
    outputs = _outputs(module(warm))
    _forward_backward(module, warm, [torch.ones_like(t) for t in outputs])
    module.zero_grad(set_to_none=True)
    # the loss's fixed random weights, drawn before the pass as in the timed runs: the output
    # (time first) gets T steps, the final states keep their shapes
    weights = [torch.randn(s["T"], *t.shape[1:]) if k == 0 else torch.randn_like(t) for k, t in enumerate(outputs)]
    del outputs
    before = _status_kib("VmRSS")
    pathlib.Path("/proc/self/clear_refs").write_text("5")      # VmHWM := VmRSS
    if _status_kib("VmHWM") > _status_kib("VmRSS") + 1024:
        raise RuntimeError("writing 5 to /proc/self/clear_refs did not reset VmHWM: no peak can be measured")
    _forward_backward(module, x, weights)
    print(json.dumps({"peak_kib": _status_kib("VmHWM") - before}))


def peak_mib(factory: str, size: dict, kwargs: dict, threads: int, runs: int = PEAK_RUNS) -> float | None:
    """Peak extra resident memory (MiB) of one forward+backward pass, measured in a fresh
    process (so that no memory the allocator already holds hides it), the median of ``runs``
    processes (one process's figure moves by a few MiB); None where the kernel offers no way
    to reset the peak (not Linux)."""
    if not pathlib.Path("/proc/self/clear_refs").exists():
        return None
    spec = json.dumps({"factory": factory, "kwargs": kwargs, "threads": threads, **size})
    peaks = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, __file__, "--peak-child", spec], capture_output=True, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": str(threads)})
        if done.returncode != 0:
            raise RuntimeError(f"peak measurement of {factory} {size} failed:\n{done.stderr}")
        peaks.append(json.loads(done.stdout.strip().splitlines()[-1])["peak_kib"] / 1024)
    return statistics.median(peaks)


def measure(modules: list, x, warmup: int, repeats: int, specs: list | None = None,
            runs: int = PEAK_RUNS) -> list[dict]:
    """Time (interleaved) and saved-tensor memory of each module; with ``specs`` (one
    ``(factory, size, kwargs)`` per module) also the peak memory of a pass, each in a fresh process."""
    times = time_forward_backward(modules, x, warmup, repeats)
    load = round(os.getloadavg()[0], 2)  # the load average (1 min) just after the timed runs
    results = [{"ms": ms, "min_ms": low, "saved_mb": saved_bytes(m, x) / 2**20, "peak_mb": None, "load": load}
               for m, (ms, low) in zip(modules, times)]
    for result, spec in zip(results, specs or [], strict=False):
        result["peak_mb"] = peak_mib(*spec, threads=torch.get_num_threads(), runs=runs)
    return results


def _ratios(m: dict, base: dict) -> dict:
    """Time, saved-memory and peak-memory ratios of a row to its torch row."""
    peak = None if m["peak_mb"] is None or not base["peak_mb"] else m["peak_mb"] / base["peak_mb"]
    return {"time_ratio": m["ms"] / base["ms"], "memory_ratio": m["saved_mb"] / base["saved_mb"], "peak_ratio": peak}


def gated_rows(sizes, warmup: int, repeats: int, peak_kinds=("RNN", "GRU", "LSTM"),
               peak_runs: int = PEAK_RUNS) -> list[dict]:
    rows = []
    for T, B, n_in, n_hidden in sizes:
        x = torch.randn(T, B, n_in)
        for kind in ["RNN", "GRU", "LSTM"]:
            torch.manual_seed(0)
            theirs = getattr(torch.nn, kind)(n_in, n_hidden)
            ours = {}
            for bptt in ["hand", "autograd"]:
                ours[bptt] = getattr(rnnbook, kind)(n_in, n_hidden, bptt=bptt)
                ours[bptt].load_state_dict(theirs.state_dict())
            size = {"T": T, "B": B, "input": n_in, "hidden": n_hidden}
            specs = [(f"torch.nn.{kind}", size, {})] + [(f"rnnbook.{kind}", size, {"bptt": b}) for b in ours]
            base, *results = measure([theirs, *ours.values()], x, warmup, repeats,
                                     specs if kind in peak_kinds else None, peak_runs)
            rows.append({"group": "gated", "layer": kind, "impl": f"torch.nn.{kind}", **size, **base,
                         **_ratios(base, base)})
            for bptt, m in zip(ours, results):
                rows.append({"group": "gated", "layer": kind, "impl": f"rnnbook.{kind} ({bptt})", **size, **m,
                             **_ratios(m, base)})
            print_row(rows[-3]), print_row(rows[-2]), print_row(rows[-1])
    return rows


def scan_rows(lengths, batch: int, size: int, warmup: int, repeats: int, peak: bool = True) -> list[dict]:
    """SRU (2018 form) and QRNN (fo-pooling, window 2), each on its default path (``bptt="hand"``:
    a loop with a hand-written backward) and on its readable reference (the SRU's autograd loop,
    the QRNN's doubling scan), against torch.nn.LSTM of the same hidden size."""
    rows = []
    variants = [("SRU", "hand"), ("SRU", "autograd"), ("QRNN", "hand"), ("QRNN", "scan")]
    for T in lengths:
        x = torch.randn(T, batch, size)
        shape = {"T": T, "B": batch, "input": size, "hidden": size}
        torch.manual_seed(0)
        modules = [torch.nn.LSTM(size, size)]
        for name, bptt in variants:
            torch.manual_seed(0)
            modules.append(getattr(rnnbook, name)(size, size, bptt=bptt))
        specs = [("torch.nn.LSTM", shape, {})] + [(f"rnnbook.{n}", shape, {"bptt": r}) for n, r in variants]
        base, *results = measure(modules, x, warmup, repeats, specs if peak else None)
        rows.append({"group": "scan", "layer": "LSTM", "impl": "torch.nn.LSTM", **shape, **base,
                     **_ratios(base, base)})
        print_row(rows[-1])
        for (name, bptt), m in zip(variants, results, strict=True):
            rows.append({"group": "scan", "layer": name, "impl": f"rnnbook.{name} ({bptt})", **shape, **m,
                         **_ratios(m, base)})
            print_row(rows[-1])
    return rows


def _fmt(value, spec: str, missing: str = "—") -> str:
    return missing if value is None else format(value, spec)


def table_lines(rows: list[dict]) -> list[str]:
    """The results as a Markdown table."""
    lines = ["| layer | (T, B, input, hidden) | implementation | fwd+bwd median (ms) | × torch | min (ms) "
             "| saved for backward (MiB) | × torch | peak fwd+bwd (MiB) | × torch | load |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        size = f"({r['T']}, {r['B']}, {r['input']}, {r['hidden']})"
        lines.append(f"| {r['layer']} | {size} | {r['impl']} | {r['ms']:.1f} | {r['time_ratio']:.2f} | "
                     f"{r['min_ms']:.1f} | {r['saved_mb']:.2f} | {r['memory_ratio']:.2f} | "
                     f"{_fmt(r['peak_mb'], '.1f')} | {_fmt(r['peak_ratio'], '.2f')} | {_fmt(r.get('load'), '.2f')} |")
    return lines


def print_row(r: dict) -> None:
    size = f"({r['T']}, {r['B']}, {r['input']}, {r['hidden']})"
    print(f"{r['layer']:5s} {size:22s} {r['impl']:28s} {r['ms']:9.2f} ms  {r['time_ratio']:5.2f}x  "
          f"(min {r['min_ms']:8.2f} ms)  "
          f"{r['saved_mb']:8.2f} MiB  {r['memory_ratio']:5.2f}x  peak {_fmt(r['peak_mb'], '8.1f')} MiB "
          f"{_fmt(r['peak_ratio'], '5.2f')}x  load {_fmt(r.get('load'), '.2f')}", flush=True)


def targets(rows: list[dict]) -> list[dict]:
    """The issue's targets, each with the measured value and whether it is met."""
    found = []

    def row(impl, **size):
        for r in rows:
            if r["impl"] == impl and all(r[k] == v for k, v in size.items()):
                return r
        return None

    # issue 17: every gated layer within 1.5x of torch's at the two small sizes, 1.2x at the large one
    for size, limit in [((500, 16, 32, 64), 1.5), ((100, 32, 64, 128), 1.5), ((100, 32, 256, 256), 1.2)]:
        for kind in ["RNN", "GRU", "LSTM"]:
            r = row(f"rnnbook.{kind} (hand)", T=size[0], B=size[1], input=size[2], hidden=size[3])
            if r is not None:
                base = row(f"torch.nn.{kind}", T=size[0], B=size[1], input=size[2], hidden=size[3])
                found.append({"target": f"{kind} (hand) fwd+bwd at {size} <= {limit}x torch",
                              "measured": round(r["time_ratio"], 2), "met": r["time_ratio"] <= limit,
                              "min_ratio": round(r["min_ms"] / base["min_ms"], 2)})
    for name in ["SRU", "QRNN"]:
        r = row(f"rnnbook.{name} (hand)", T=1024)
        if r is not None:
            base = row("torch.nn.LSTM", T=1024)
            found.append({"target": f"{name} (hand) faster than torch.nn.LSTM at T=1024",
                          "measured": round(r["time_ratio"], 2), "met": r["time_ratio"] < 1.0,
                          "min_ratio": round(r["min_ms"] / base["min_ms"], 2)})
    # the default paths; the readable references (autograd, scan) are there for comparison
    peaks = [r["peak_ratio"] for r in rows if r["impl"].endswith("(hand)") and r["peak_ratio"] is not None]
    if peaks:
        worst = max(peaks)
        found.append({"target": "peak memory of forward+backward <= 1.5x torch (every hand row)",
                      "measured": round(worst, 2), "met": worst <= 1.5, "min_ratio": None})
    ratios = [r["memory_ratio"] for r in rows if r["impl"].endswith("(hand)")]
    if ratios:
        worst = max(ratios)
        found.append({"target": "saved-for-backward memory <= 1.5x torch (every hand row)",
                      "measured": round(worst, 2), "met": worst <= 1.5, "min_ratio": None})
    return found


def markdown(info: dict, rows: list[dict], goals: list[dict]) -> str:
    head = [
        f"Measured {info['date_utc']} on {info['cpu']} ({info['cores']} cores), torch {info['torch']}, "
        f"Python {info['python']}, `torch.set_num_threads({info['threads']})`, load average "
        f"{info['load_average_start'][0]:.2f} at the start and {info['load_average_end'][0]:.2f} at the end; "
        f"median of {info['repeats']} runs after {info['warmup']} warm-up runs, float32.",
        "",
    ]
    goal_lines = ["", "| target | measured (median ratio) | met | ratio of the minimum times |",
                  "|---|---:|---|---:|"]
    for g in goals:
        met = {True: "yes", False: "**no**", None: "not measured"}[g["met"]]
        goal_lines.append(f"| {g['target']} | {_fmt(g['measured'], '.2f')} | {met} | {_fmt(g['min_ratio'], '.2f')} |")
    return "\n".join(head + table_lines(rows) + goal_lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 repeats (for the tests)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs first (default 3; quick 1)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs (default 15; quick 2)")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="write OUT.json and OUT.md (default book/_static/benchmark; quick: nothing)")
    parser.add_argument("--skip-scan", action="store_true", help="only the RNN / GRU / LSTM rows")
    parser.add_argument("--scan-lengths", type=int, nargs="+", default=None,
                        help=f"T of the SRU / QRNN rows (default {' '.join(map(str, SCAN_LENGTHS))})")
    parser.add_argument("--no-peak", action="store_true",
                        help="skip the peak-memory measurements (a fresh process per row: the slow part)")
    parser.add_argument("--peak-child", default=None, help=argparse.SUPPRESS)  # internal: one peak measurement
    args = parser.parse_args(argv)
    if args.peak_child is not None:
        _peak_child(args.peak_child)
        return {}
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 3)
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 15)
    out = args.out if args.out is not None or args.quick else DEFAULT_OUT
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    info = machine_info(torch.get_num_threads())
    info.update(warmup=warmup, repeats=repeats, quick=args.quick, peak_runs=1 if args.quick else PEAK_RUNS)
    print(f"machine: {info['cpu']}, {info['cores']} cores, load average {info['load_average_start']}")
    print(f"torch {info['torch']}, python {info['python']}, torch.set_num_threads({info['threads']}); "
          f"median of {repeats} runs after {warmup} warm-up runs")
    # quick: the peak (a fresh process per row) is measured for the LSTM rows only
    if args.quick:
        rows = gated_rows(QUICK_GATED_SIZES, warmup, repeats, peak_kinds=("LSTM",), peak_runs=1)
    else:
        rows = gated_rows(GATED_SIZES, warmup, repeats, peak_kinds=() if args.no_peak else ("RNN", "GRU", "LSTM"))
    if not args.skip_scan:
        if args.quick:
            rows += scan_rows(QUICK_SCAN_LENGTHS, QUICK_SCAN_BATCH, QUICK_SCAN_SIZE, warmup, repeats, peak=False)
        else:
            rows += scan_rows(args.scan_lengths or SCAN_LENGTHS, SCAN_BATCH, SCAN_SIZE, warmup, repeats,
                              peak=not args.no_peak)
    info["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    goals = targets(rows)
    print()
    for g in goals:
        print(f"target: {g['target']}: measured {_fmt(g['measured'], '.2f')}, met: {g['met']} "
              f"(ratio of minimum times {_fmt(g['min_ratio'], '.2f')})")
    result = {"machine": info, "rows": rows, "targets": goals}
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
        out.with_suffix(".md").write_text(markdown(info, rows, goals))
        print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
