"""experiments/compare_architectures.py still runs (a reduced configuration), and the committed
result says what the comparison chapter reads from it."""

import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "compare_architectures.py"
COMMITTED = ROOT / "experiments" / "results" / "compare_architectures.json"
#: the same comparison at 2000 steps (chapter 6c, "A longer budget")
COMMITTED_LONG = ROOT / "experiments" / "results" / "compare_architectures_long.json"


def _script():
    spec = importlib.util.spec_from_file_location("compare_architectures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_reduced_run_and_a_merge(tmp_path):
    script = _script()
    a, b, out = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "all.json"
    script.main(["--archs", "rnn,qrnn", "--seeds", "0", "--steps", "2", "--every", "1",
                 "--params", "4000", "--baseline-orders", "2", "--curve-every", "1",
                 "--out", str(a)])
    script.main(["--archs", "mingru", "--seeds", "1", "--steps", "2", "--every", "2",
                 "--params", "4000", "--baseline-orders", "", "--out", str(b)])
    result = script.main(["--merge", str(a), str(b), "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert [(r["arch"], r["seed"]) for r in result["runs"]] == [("rnn", 0), ("qrnn", 0), ("mingru", 1)]
    assert set(result["baselines"]) == {"unigram", "kneser_ney_2"}
    first = result["runs"][0]
    assert [s for s, _ in first["valid_curve"]] == [1, 2] and len(first["train_curve"]) == 2
    assert first["valid_bits"] == first["valid_curve"][-1][1]
    assert first["cpu_seconds"] > 0 and first["parameters"] > 0


def test_unknown_architecture_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="unknown"):
        _script().main(["--archs", "transformer", "--out", str(tmp_path / "x.json")])


@pytest.mark.parametrize("path, steps", [(COMMITTED, 120), (COMMITTED_LONG, 2000)], ids=["120 steps", "2000 steps"])
def test_the_committed_run(path, steps):
    result = json.loads(path.read_text())
    config = result["config"]
    assert config["steps"] == steps
    assert config["seeds"] == [0, 1, 2]
    assert config["archs"] == ["rnn", "gru", "lstm", "peephole", "sru", "qrnn", "mingru", "clockwork"]
    runs = result["runs"]
    assert len(runs) == 24
    for run in runs:  # the same parameter count, within 3 %, and the same budget
        assert abs(run["parameters"] - config["params_target"]) <= 0.03 * config["params_target"]
        assert run["valid_curve"][-1][0] == config["steps"]
    assert sum(result["cpu_seconds"]) < 15 * 60
    assert {"unigram", "kneser_ney_8"} <= set(result["baselines"])
