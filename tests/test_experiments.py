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


def _load(path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _script():
    return _load(SCRIPT)


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


ADDING = ROOT / "experiments" / "adding_problem.py"
ADDING_COMMITTED = ROOT / "experiments" / "results" / "adding_problem.json"
ADDING_WEIGHTS = ROOT / "experiments" / "results" / "adding_problem_lstm.pt"


def _adding_script():
    return _load(ADDING)


def test_adding_problem_reduced_run_repeats_the_committed_one(tmp_path):
    """The first 20 batches of seed 0, with either initialisation, are the committed run's
    (the root conftest applies the CPU settings the committed run was made with)."""
    out, weights = tmp_path / "adding.json", tmp_path / "adding.pt"
    result = _adding_script().main(["--steps", "20", "--seeds", "0", "--forget-biases", "default,1",
                                    "--out", str(out), "--weights", str(weights)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    committed = {(r["seed"], r["forget_bias"]): r for r in json.loads(ADDING_COMMITTED.read_text())["runs"]}
    for run in result["runs"]:
        assert len(run["losses"]) == 20 and run["plateau_left"] is None
        full = committed[run["seed"], run["forget_bias"]]["losses"][:20]
        assert max(abs(a - b) / b for a, b in zip(run["losses"], full, strict=True)) < 1e-4
    import torch
    state = torch.load(weights)
    assert {"layer.weight_ih_l0", "layer.bias_hh_l0", "head.weight"} <= set(state)


def test_adding_problem_forget_bias_is_set_and_bad_biases_refused(tmp_path):
    import torch

    import rnnbook
    script = _adding_script()
    layer = rnnbook.LSTM(2, script.HIDDEN)
    script.set_forget_bias(layer, 1.0)
    H = script.HIDDEN
    assert torch.equal(layer.bias_ih_l0[H:2 * H] + layer.bias_hh_l0[H:2 * H], torch.ones(H))
    assert not torch.equal(layer.bias_ih_l0[:H], torch.ones(H))       # the other gates untouched
    assert script.plateau_left([0.2] * 60) is None
    # a window starting at i holds 30 - i values of 0.2: below 1/12 once 30 - i <= 19
    assert script.plateau_left([0.2] * 30 + [0.01] * 60) == 11
    with pytest.raises(SystemExit):
        script.main(["--forget-biases", "open", "--out", str(tmp_path / "x.json")])


def test_adding_problem_committed_run():
    result = json.loads(ADDING_COMMITTED.read_text())
    config = result["config"]
    assert (config["steps"], config["length"], config["batch"], config["hidden"]) == (2000, 100, 32, 64)
    assert config["seeds"] == [0, 1, 2, 3, 4] and config["forget_biases"] == ["default", 1.0]
    assert [(r["forget_bias"], r["seed"]) for r in result["runs"]] == \
        [(b, s) for b in config["forget_biases"] for s in config["seeds"]]
    assert all(len(r["losses"]) == 2000 for r in result["runs"])
    assert {"cpu", "instruction_sets", "torch"} <= set(result["machine"]) and result["command"]
    assert ADDING_WEIGHTS.is_file()


# -- experiments/seq2seq_by_length.py (chapter 8's long task, chapter 10's rerun) ------------
S2S_SCRIPT = ROOT / "experiments" / "seq2seq_by_length.py"
S2S_COMMITTED = ROOT / "experiments" / "results" / "seq2seq_by_length.json"


def test_seq2seq_by_length_quick(tmp_path):
    out = tmp_path / "quick.json"
    result = _load(S2S_SCRIPT).main(["--quick", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert [r["model"] for r in result["runs"]] == ["gru", "concat_all"]
    for run in result["runs"]:
        assert run["steps"] == 20 and [s for s, _ in run["valid_curve"]] == [10, 20]
        assert set(run["by_length"]) == {"all", "1-10", "11-20", "21-30", "31-38", "39-46"}
        assert all(0 <= v["exact_match"] <= 1 and 0 <= v["bleu"] <= 100
                   for v in run["by_length"].values())
    # all h_i concatenated: the parameters grow with the maximum length
    assert result["runs"][1]["parameters"] > result["runs"][0]["parameters"]
    for key in ("command", "machine", "date_utc", "load_average_at_start_and_end", "cpu_seconds"):
        assert key in result


def test_seq2seq_unknown_model_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="unknown"):
        _load(S2S_SCRIPT).main(["--models", "transformer", "--out", str(tmp_path / "x.json")])


def test_seq2seq_the_committed_run():
    """The committed result and the claims chapter 8 makes from it."""
    result = json.loads(S2S_COMMITTED.read_text())
    config, runs = result["config"], result["runs"]
    assert config["models"] == ["rnn", "gru", "lstm", "concat_all", "luong", "bahdanau"]
    assert config["seeds"] == [0, 1] and not config["quick"] and config["decoder_layer"] == "rnnbook.GRU"
    assert len(runs) == 12 and all(r["steps"] == 1500 for r in runs)
    assert result["cpu_seconds"] < 25 * 60
    assert result["task"]["max_train_length"] == 30 and result["task"]["test"] == 1000

    def em(model, bucket):
        vals = [r["by_length"][bucket]["exact_match"] for r in runs if r["model"] == model]
        return sum(vals) / len(vals)

    def bleu(model, bucket):
        vals = [r["by_length"][bucket]["bleu"] for r in runs if r["model"] == model]
        return sum(vals) / len(vals)

    buckets = result["task"]["buckets"]
    params = {r["model"]: r["parameters"] for r in runs}
    assert em("rnn", "all") < 0.01 and all(bleu("lstm", b) > bleu("rnn", b) + 5 for b in buckets)
    assert em("lstm", "all") < em("gru", "all") - 0.05
    assert params["concat_all"] > 10 * params["gru"]
    assert em("concat_all", "31-38") <= 0.01 and em("concat_all", "39-46") <= 0.01
    for m in ("rnn", "gru", "lstm", "concat_all"):
        assert em(m, "21-30") < 0.05
    for m in ("luong", "bahdanau"):
        assert em(m, "21-30") > 0.85 and em(m, "31-38") > 0.5 and em(m, "39-46") < 0.3


def test_seq2seq_the_committed_sampling_run():
    """The committed --sampling result and the claims chapter 10 makes from it."""
    result = json.loads((ROOT / "experiments" / "results" / "seq2seq_sampling.json").read_text())
    config, runs = result["config"], result["runs"]
    assert config["sampling"] and config["seeds"] == [0, 1] and config["sampling_k"] == 100.0
    trainings = ["teacher_forcing", "scheduled_inverse_sigmoid", "always_sampling"]
    assert [r["training"] for r in runs] == [t for t in trainings for _ in (0, 1)]
    assert all(r["steps"] == 1500 for r in runs) and result["cpu_seconds"] < 25 * 60

    def exact(t):
        return sum(r["test"]["exact_match"] for r in runs if r["training"] == t) / 2

    tf = [r["test"] for r in runs if r["training"] == "teacher_forcing"]
    assert all(r["after_first_mistake_forced"] > 0.9 > 0.5 > r["after_first_mistake_free"] for r in tf)
    spread = abs(tf[0]["exact_match"] - tf[1]["exact_match"])
    assert all(abs(exact(t) - exact("teacher_forcing")) < spread for t in trainings[1:])
    assert exact("always_sampling") >= exact("teacher_forcing") - 0.02


def test_seq2seq_quick_sampling(tmp_path):
    result = _load(S2S_SCRIPT).main(["--quick", "--sampling", "--out", str(tmp_path / "s.json")])
    assert [r["training"] for r in result["runs"]] == ["teacher_forcing", "scheduled_inverse_sigmoid",
                                                       "always_sampling"]
    for run in result["runs"]:
        assert {"exact_match", "after_first_mistake_forced", "after_first_mistake_free"} <= set(run["test"])
