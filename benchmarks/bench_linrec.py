"""Forward+backward time of the three ways to compute a linear recurrence, by sequence length.

Run with ``make bench`` (or ``python benchmarks/bench_linrec.py``), on an idle machine. For
``h_t = a_t * h_{t-1} + b_t`` it times one forward+backward pass of

* ``linear_scan`` (the doubling scan, differentiated by autograd),
* ``linear_recurrence_loop`` (the loop, differentiated by autograd),
* ``linear_recurrence_bptt`` (the loop with its backward written out),

for T = 64, 128, ..., 4096 and two widths: narrow (batch 1, 8 features: the loop's step is
nearly all per-step overhead) and wide (batch 16, 64 features: the arithmetic dominates).
float32, one thread. The three methods are timed in turn, repeat after repeat (interleaved),
so that a change in the machine's load during the run falls on all three alike; the median of
``--repeats`` runs after ``--warmup`` runs is reported, with the minimum.

Chapter 6b (``book/chapters/06b_linear_recurrences.ipynb``) plots the committed results
(``book/_static/benchmark_linrec.json``) and asserts its statements about them, so the chapter
never asserts on a timing taken while it runs; rerun this script and the chapter fails if
one of its statements no longer holds on the new run. ``--quick`` runs tiny sizes with two
repeats and writes nothing unless ``--out`` is given (the test suite runs it).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import time

import torch

from rnnbook.variants.scan import linear_recurrence_bptt, linear_recurrence_loop, linear_scan

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_layers import machine_info  # noqa: E402  (the same machine record as the layer benchmark)

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book" / "_static" / "benchmark_linrec"
METHODS = {"scan": linear_scan, "loop, autograd": linear_recurrence_loop,
           "loop, hand-written backward": linear_recurrence_bptt}
WIDTHS = {"narrow": (1, 8), "wide": (16, 64)}
LENGTHS = [64, 128, 256, 512, 1024, 2048, 4096]
QUICK_LENGTHS = [8, 16]


def time_methods(width: tuple[int, int], T: int, warmup: int, repeats: int,
                 seed: int = 0) -> dict[str, list[float]]:
    """Seconds of one forward+backward pass of each method, ``repeats`` interleaved runs each."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand(T, *width, generator=gen).requires_grad_()
    b = torch.randn(T, *width, generator=gen).requires_grad_()
    runs: dict[str, list[float]] = {name: [] for name in METHODS}
    for k in range(warmup + repeats):
        for name, f in METHODS.items():
            a.grad = b.grad = None
            start = time.perf_counter()
            f(a, b).sum().backward()
            elapsed = time.perf_counter() - start
            if k >= warmup:
                runs[name].append(elapsed)
    return runs


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 repeats (for the tests)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs first (default 2; quick 1)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs (default 9; quick 2)")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help=f"write OUT.json (default {DEFAULT_OUT.relative_to(ROOT)}; quick: nothing)")
    args = parser.parse_args(argv)
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 9)
    lengths = QUICK_LENGTHS if args.quick else LENGTHS
    torch.set_num_threads(args.threads)
    info = machine_info(args.threads)
    info.update(warmup=warmup, repeats=repeats, quick=args.quick,
                command=" ".join(["python", "benchmarks/bench_linrec.py", *(argv if argv is not None
                                                                              else sys.argv[1:])]))
    print(f"{info['cpu']}, {info['cores']} cores, torch {info['torch']}, "
          f"torch.set_num_threads({args.threads}), load {info['load_average_start'][0]:.2f}", flush=True)
    rows = []
    for width_name, width in WIDTHS.items():
        for T in lengths:
            runs = time_methods(width, T, warmup, repeats)
            for name, seconds in runs.items():
                row = {"width": width_name, "batch": width[0], "features": width[1], "T": T,
                       "method": name, "ms": 1000 * statistics.median(seconds),
                       "min_ms": 1000 * min(seconds), "load": round(os.getloadavg()[0], 2)}
                rows.append(row)
                print(f"{width_name:6s} T={T:5d} {name:28s} {row['ms']:9.3f} ms "
                      f"(min {row['min_ms']:9.3f})", flush=True)
    info["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    print(f"load at the end {info['load_average_end'][0]:.2f}")
    result = {"machine": info, "rows": rows}
    out = args.out if args.out is not None else (None if args.quick else DEFAULT_OUT)
    if out is not None:
        out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {out.with_suffix('.json')}")
    return result


if __name__ == "__main__":
    main()
