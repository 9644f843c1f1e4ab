"""Import time of rnnbook against torch alone, in fresh processes (best of N, interleaved).

Usage: python benchmarks/bench_import.py [repeats]

Prints, for each statement, the best wall time of a fresh ``python -c`` over ``repeats`` runs
(the interpreter's own start-up included in every figure, so the ratios are conservative),
and each one's ratio to ``import torch``. The runs are interleaved, so a machine that gets
busier during the run slows every statement alike.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

STATEMENTS = {
    "python (no import)": "pass",
    "import torch": "import torch",
    "import rnnbook": "import rnnbook",
    "from rnnbook import LSTM": "from rnnbook import LSTM",
    "from rnnbook import NToN, fit": "from rnnbook import NToN, fit",
}


def best_times(repeats: int) -> dict[str, float]:
    """Best wall time of a fresh interpreter running each statement, over ``repeats`` rounds."""
    best = {name: float("inf") for name in STATEMENTS}
    for _ in range(repeats):
        for name, stmt in STATEMENTS.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", stmt], check=True)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    best = best_times(repeats)
    torch_s = best["import torch"]
    print(f"best of {repeats} fresh processes; load average {os.getloadavg()[0]:.2f}")
    for name, t in best.items():
        print(f"{name:34s} {t * 1000:8.0f} ms   {t / torch_s:5.2f} x import torch")


if __name__ == "__main__":
    main()
