"""What every experiment records beside its results: the command, the date, the machine and
the load, so that a committed result says how it was made (``experiments/*.py``)."""

from __future__ import annotations

import datetime
import os
import pathlib
import platform

import torch


def machine() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        flags = next(line for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("flags"))
        isa = [f for f in ("avx2", "avx512f") if f" {f}" in flags]
    except (OSError, StopIteration):
        isa = []
    return {"cpu": cpu, "instruction_sets": isa, "cores": os.cpu_count(),
            "python": platform.python_version(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "platform": platform.platform()}


def provenance(script: str, argv: list[str], load_start: list[float]) -> dict:
    """The record's first keys: ``command`` (``script`` and its arguments), ``date_utc``, ``machine``
    and ``load_average_at_start_and_end`` (``load_start``, taken when the run began, and now)."""
    return {
        "command": " ".join(["python", f"experiments/{script}", *argv]),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "load_average_at_start_and_end": [load_start, list(os.getloadavg())],
    }
