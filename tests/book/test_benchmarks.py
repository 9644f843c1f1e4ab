"""The benchmark script runs (quick mode: tiny sizes, two repeats, no timing assertions)."""

import importlib.util
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _load_script(name: str = "bench_layers"):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark_writes_its_table(tmp_path, capsys):
    bench = _load_script()
    result = bench.main(["--quick", "--out", str(tmp_path / "bench")])
    printed = capsys.readouterr().out
    assert "torch.set_num_threads(1)" in printed and "cores" in printed
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["rows"] == json.loads(json.dumps(result["rows"]))
    for key in ["cpu", "cores", "torch", "threads", "load_average_start", "load_average_end"]:
        assert key in data["machine"]
    impls = {r["impl"] for r in data["rows"]}
    for kind in ["RNN", "GRU", "LSTM"]:
        assert {f"torch.nn.{kind}", f"rnnbook.{kind} (hand)", f"rnnbook.{kind} (autograd)"} <= impls
    assert {"rnnbook.SRU (hand)", "rnnbook.SRU (autograd)", "rnnbook.QRNN (hand)", "rnnbook.QRNN (scan)"} <= impls
    for r in data["rows"]:
        assert r["ms"] > 0 and r["saved_mb"] > 0 and r["time_ratio"] > 0
    peaks = [r["peak_mb"] for r in data["rows"] if r["layer"] == "LSTM" and r["group"] == "gated"]
    if pathlib.Path("/proc/self/clear_refs").exists():   # Linux: measured in a fresh process per row
        assert len(peaks) == 3 and all(p is not None and p >= 0 for p in peaks)   # tiny: may be < 1 page
        # a pass whose output alone is 3.1 MiB must show a peak of at least that much
        size = {"T": 200, "B": 32, "input": 64, "hidden": 128}
        assert bench.peak_mib("torch.nn.LSTM", size, {}, threads=1, runs=1) > 3.0
    table = (tmp_path / "bench.md").read_text()
    assert "| rnnbook.LSTM (hand) |" in table and "torch.set_num_threads(1)" in table


def test_committed_results_file_is_complete():
    """The appendix includes book/_static/benchmark.md, written by a full run of the script."""
    data = json.loads((ROOT / "book" / "_static" / "benchmark.json").read_text())
    assert not data["machine"]["quick"]
    sizes = {(r["T"], r["B"], r["input"], r["hidden"]) for r in data["rows"] if r["group"] == "gated"}
    assert sizes == {(100, 32, 64, 128), (100, 32, 256, 256), (500, 16, 32, 64)}
    assert {r["T"] for r in data["rows"] if r["group"] == "scan"} == {256, 1024, 4096}
    assert all(r["peak_mb"] is not None and r["peak_mb"] > 0 for r in data["rows"])
    assert (ROOT / "book" / "_static" / "benchmark.md").is_file()


def _committed():
    data = json.loads((ROOT / "book" / "_static" / "benchmark.json").read_text())
    rows = {(r["impl"], r["T"], r["B"], r["input"], r["hidden"]): r for r in data["rows"]}
    return data, rows


SIZES = [(100, 32, 64, 128), (100, 32, 256, 256), (500, 16, 32, 64)]


def test_appendix_statements_hold_for_the_committed_results():
    """book/appendix_performance.md, "Taking Python out of the loop", statement by statement."""
    _, rows = _committed()
    ratio = {(kind, path, size): rows[(f"rnnbook.{kind} ({path})", *size)]["time_ratio"]
             for kind in ["RNN", "GRU", "LSTM"] for path in ["hand", "autograd"] for size in SIZES}
    for kind in ["RNN", "GRU"]:
        # "faster at every size, between about a fifth and four fifths of their time"
        hand = {size: ratio[kind, "hand", size] for size in SIZES}
        assert all(0.15 <= r <= 0.85 for r in hand.values()), (kind, hand)
        assert hand[(500, 16, 32, 64)] == min(hand.values()), (kind, hand)     # "widest at"
    # the LSTM "about the same time at every size (between 0.8 and 1.05 times)"
    assert all(0.8 <= ratio["LSTM", "hand", size] <= 1.05 for size in SIZES)
    for kind in ["RNN", "GRU", "LSTM"]:
        auto = {size: ratio[kind, "autograd", size] for size in SIZES}
        assert all(r > 1 for r in auto.values()), (kind, auto)                 # "slower at every size"
        assert auto[(500, 16, 32, 64)] == max(auto.values()), (kind, auto)     # "slowest relative"
    for size in SIZES:
        for kind in ["RNN", "GRU", "LSTM"]:
            bptt, auto = rows[(f"rnnbook.{kind} (hand)", *size)], rows[(f"rnnbook.{kind} (autograd)", *size)]
            # hand-written backward: faster than the autograd path, no more memory kept (1 %)
            assert bptt["ms"] < auto["ms"], (kind, size)
            assert bptt["saved_mb"] <= 1.01 * auto["saved_mb"], (kind, size)
        gru = rows[("rnnbook.GRU (hand)", *size)]["saved_mb"], rows[("rnnbook.GRU (autograd)", *size)]["saved_mb"]
        assert gru[0] < gru[1]  # less for the GRU


def test_appendix_statements_on_sru_and_qrnn():
    """book/appendix_performance.md, "For the SRU and the QRNN", statement by statement."""
    _, rows = _committed()
    shape = (16, 128, 128)
    lstm = {T: rows[("torch.nn.LSTM", T, *shape)] for T in (256, 1024, 4096)}
    for name, reference in (("SRU", "autograd"), ("QRNN", "scan")):
        fast = {T: rows[(f"rnnbook.{name} (hand)", T, *shape)] for T in lstm}
        slow = {T: rows[(f"rnnbook.{name} ({reference})", T, *shape)] for T in lstm}
        for T in (256, 1024):
            assert fast[T]["time_ratio"] < 1.0, (name, T)            # faster than torch.nn.LSTM
        for T in lstm:
            assert fast[T]["ms"] < slow[T]["ms"], (name, T)          # faster than the reference
            assert fast[T]["memory_ratio"] < 0.5, (name, T)          # under half the LSTM's memory
        assert slow[1024]["ms"] >= 2 * fast[1024]["ms"], name         # at least twice at T = 1024
    assert rows[("rnnbook.QRNN (hand)", 4096, *shape)]["time_ratio"] <= 1.25
    assert rows[("rnnbook.SRU (hand)", 4096, *shape)]["time_ratio"] < 1.0
    scan = [rows[("rnnbook.QRNN (scan)", T, *shape)]["memory_ratio"] for T in (256, 1024, 4096)]
    assert 1.0 < scan[0] < scan[1] < scan[2]                            # more than the LSTM, growing
    # in (T, B, H) float32 tensors, the scan keeps two more per doubling of T (two per round)
    units = {T: rows[("rnnbook.QRNN (scan)", T, *shape)]["saved_mb"] * 2**20 / (T * 16 * 128 * 4)
             for T in (256, 1024, 4096)}
    assert abs(units[1024] - units[256] - 4) < 0.01 and abs(units[4096] - units[1024] - 4) < 0.01


def test_multiply_adds_per_step_of_the_compared_layers():
    """The appendix's count of the weights' multiply-adds per step (d = H = 128)."""
    import torch

    import rnnbook
    d = H = 128
    weights = lambda m: sum(p.numel() for n, p in m.named_parameters() if "weight" in n and p.dim() > 1)  # noqa: E731
    assert weights(torch.nn.LSTM(d, H)) == 4 * H * (d + H)
    assert weights(rnnbook.SRU(d, H)) == 3 * H * d
    assert weights(rnnbook.QRNN(d, H, window=2, pooling="fo")) == 3 * H * 2 * d


def test_appendix_statements_on_peak_memory():
    """book/appendix_performance.md, "For the peak memory of a pass", statement by statement."""
    data, rows = _committed()
    hand = [r for r in data["rows"] if r["impl"].endswith("(hand)") and "peak_ratio" in r]
    assert hand and all(r["peak_ratio"] <= 1.5 for r in hand)                           # the target, every row
    for size in SIZES:
        assert 0.45 <= rows[("rnnbook.LSTM (hand)", *size)]["peak_ratio"] <= 0.7   # "half to two thirds"
        assert rows[("rnnbook.RNN (hand)", *size)]["peak_ratio"] < 1.0            # "lower than torch.nn.RNN"
        assert rows[("torch.nn.RNN", *size)]["peak_mb"] < 10                      # "only a few MiB"
    worst = max(hand, key=lambda r: r["peak_ratio"])                              # "the highest ratios"
    assert (worst["T"], worst["B"], worst["input"], worst["hidden"]) == (100, 32, 256, 256)
    for kind in ["RNN", "GRU"]:                                                   # "0.9 to 1 times"
        assert 0.9 <= rows[(f"rnnbook.{kind} (hand)", 100, 32, 256, 256)]["peak_ratio"] <= 1.0
    gru = rows[("rnnbook.GRU (hand)", 100, 32, 256, 256)]
    unit = 100 * 32 * 256 * 4 / 2**20                      # one (T, B, H) float32 tensor, MiB
    assert 6.5 <= gru["peak_mb"] / unit <= 7.5                                    # "about seven"
    assert 6.5 <= rows[("torch.nn.GRU", 100, 32, 256, 256)]["peak_mb"] / unit <= 7.5  # "as many"
    shape = (16, 128, 128)
    for T in (256, 1024, 4096):
        assert rows[("rnnbook.SRU (hand)", T, *shape)]["peak_ratio"] < 1.0
        assert rows[("rnnbook.QRNN (hand)", T, *shape)]["peak_ratio"] < 1.0
        assert 1.5 < rows[("rnnbook.QRNN (scan)", T, *shape)]["peak_ratio"] < 3.25    # "about 1.5 to 3"
    lstm = rows[("torch.nn.LSTM", 4096, *shape)]
    assert lstm["peak_mb"] < lstm["saved_mb"]              # the workspace note: peak below saved bytes
    smallest = min(r["peak_mb"] for r in data["rows"])
    assert 1 < smallest < 10                               # "a few MiB"
    assert data["machine"]["peak_runs"] == 3               # "the median of three fresh processes"


def test_quick_linrec_benchmark_writes_its_table(tmp_path, capsys):
    """Chapter 6b's timings come from this script; its reduced form runs here (no timing asserted)."""
    result = _load_script("bench_linrec").main(["--quick", "--out", str(tmp_path / "linrec")])
    assert "torch.set_num_threads(1)" in capsys.readouterr().out
    data = json.loads((tmp_path / "linrec.json").read_text())
    assert data["rows"] == json.loads(json.dumps(result["rows"]))
    assert data["machine"]["command"].startswith("python benchmarks/bench_linrec.py --quick")
    keys = {(r["width"], r["method"], r["T"]) for r in data["rows"]}
    assert keys == {(w, m, T) for w in ("narrow", "wide")
                    for m in ("scan", "loop, autograd", "loop, hand-written backward") for T in (8, 16)}
    assert all(0 < r["min_ms"] <= r["ms"] for r in data["rows"])


def test_committed_linrec_results_are_a_full_run():
    """Chapter 6b plots and asserts book/_static/benchmark_linrec.json: a full, non-quick run."""
    data = json.loads((ROOT / "book" / "_static" / "benchmark_linrec.json").read_text())
    machine = data["machine"]
    assert not machine["quick"] and machine["repeats"] >= 9 and machine["threads"] == 1
    assert machine["command"].startswith("python benchmarks/bench_linrec.py")
    assert {r["T"] for r in data["rows"]} == {64, 128, 256, 512, 1024, 2048, 4096}
    assert len(data["rows"]) == 2 * 3 * 7
