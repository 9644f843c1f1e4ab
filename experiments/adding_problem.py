"""The LSTM on the adding problem, trained long enough to leave the plateau, with and without
a forget-gate bias (chapter 4, "The adding problem" and "The forget gate's bias").

Each run trains ``rnnbook.NToOne(rnnbook.LSTM(2, 64), 1)`` on ``--steps`` batches of
``--batch`` sequences of ``--length`` steps of the adding problem
(:func:`rnnbook.helpers.data.adding_problem`), with Adam at ``--lr`` and the gradient norm
clipped to 1 (:func:`rnnbook.helpers.train.fit`, :func:`rnnbook.helpers.train.last_step_mse`),
exactly as chapter 4 sets it up: ``seed_everything(seed)`` seeds the model's initialisation
and gives the generator that draws the training batches and then a test set of 1000.

The forget-gate bias (``--forget-biases``): ``default`` keeps PyTorch's initialisation
(every bias uniform in ±1/√H); a number ``b`` sets the forget gate's two biases so that
they add up to ``b`` (``bias_ih`` = b, ``bias_hh`` = 0 in the forget rows), as Gers et al.
(2000) and Jozefowicz et al. (2015) recommend with b = 1; everything else is the same.

For every run the JSON keeps the training loss of every step, the first batch at which the
average loss over 50 batches falls below half the mean predictor's (1/12, "leaving the
plateau"; null if it never does), the test MSE and the CPU seconds. The trained weights of
the first seed's ``default`` run are saved next to the JSON (``--weights``), so that the
chapter can score the very model this run trained.

    # the committed run (chapter 4 reads it)
    python experiments/adding_problem.py
    # what the test runs: a few steps, and the same first steps as the committed run
    python experiments/adding_problem.py --steps 20 --seeds 0 --forget-biases default \\
        --out /tmp/adding.json --weights /tmp/adding.pt

Every process runs torch with one thread and the CPU settings of ``tools/cpu_env.py``
(apply them in the environment to reproduce the committed losses exactly).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import torch

import rnnbook
from rnnbook.helpers.data import adding_problem
from rnnbook.helpers.train import fit, last_step_mse, seed_everything

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
from provenance import provenance  # noqa: E402  (the same record in every experiment)

DEFAULT_OUT = ROOT / "experiments" / "results" / "adding_problem.json"
DEFAULT_WEIGHTS = ROOT / "experiments" / "results" / "adding_problem_lstm.pt"
BASELINE = 1 / 6          # the mean predictor's MSE
WINDOW = 50               # batches averaged to decide that the plateau is left
HIDDEN = 64


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--forget-biases", default="default,1")
    p.add_argument("--length", type=int, default=100)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    p.add_argument("--weights", type=pathlib.Path, default=DEFAULT_WEIGHTS)
    args = p.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    biases = [b for b in args.forget_biases.split(",") if b]
    try:
        args.forget_biases = [b if b == "default" else float(b) for b in biases]
    except ValueError:
        p.error(f"--forget-biases must be 'default' or numbers, got {args.forget_biases!r}")
    if not args.seeds or not args.forget_biases or args.steps < 1:
        p.error("give at least one seed, one forget bias and one step")
    return args


def set_forget_bias(layer: rnnbook.LSTM, bias: float) -> None:
    """Make the forget gate's two biases add up to ``bias`` (rows H to 2H: gates i, f, g, o)."""
    with torch.no_grad():
        layer.bias_ih_l0[HIDDEN:2 * HIDDEN] = bias
        layer.bias_hh_l0[HIDDEN:2 * HIDDEN] = 0.0


def plateau_left(losses: list[float]) -> int | None:
    """The first batch i whose window of 50 batches averages below half the mean predictor's MSE."""
    return next((i for i in range(len(losses) - WINDOW + 1)
                 if sum(losses[i:i + WINDOW]) / WINDOW < BASELINE / 2), None)


def run(seed: int, forget_bias, args) -> tuple[dict, dict]:
    generator = seed_everything(seed)
    batches = [adding_problem(args.batch, args.length, generator=generator) for _ in range(args.steps)]
    x_test, y_test = adding_problem(1000, args.length, generator=generator)
    model = rnnbook.NToOne(rnnbook.LSTM(2, HIDDEN), 1)
    if forget_bias != "default":
        set_forget_bias(model.layer, forget_bias)
    start = time.process_time()
    losses = fit(model, lambda i: (batches[i][0], batches[i][1][:, None]), steps=args.steps,
                 lr=args.lr, clip=1.0, loss_fn=last_step_mse, progress=False)
    seconds = time.process_time() - start
    with torch.no_grad():
        test = last_step_mse(model, x_test, y_test[:, None]).item()
    record = {"seed": seed, "forget_bias": forget_bias, "losses": losses,
              "plateau_left": plateau_left(losses), "test_mse": test, "cpu_seconds": round(seconds, 1)}
    return record, model.state_dict()


def main(argv: list[str] | None = None) -> dict:
    args = parse(argv)
    torch.set_num_threads(1)
    load_start = list(os.getloadavg())
    runs, weights = [], None
    for forget_bias in args.forget_biases:
        for seed in args.seeds:
            record, state = run(seed, forget_bias, args)
            runs.append(record)
            if weights is None:
                weights = state
            print(f"forget bias {forget_bias!s:>7}  seed {seed}: plateau left at "
                  f"{record['plateau_left']}, test MSE {record['test_mse']:.4f}, "
                  f"{record['cpu_seconds']} CPU s", flush=True)
    result = {
        **provenance("adding_problem.py", sys.argv[1:] if argv is None else argv, load_start),
        "config": {"steps": args.steps, "seeds": args.seeds, "forget_biases": args.forget_biases,
                   "length": args.length, "batch": args.batch, "lr": args.lr, "hidden": HIDDEN,
                   "clip": 1.0, "window": WINDOW, "weights_of": {"seed": args.seeds[0],
                                                                  "forget_bias": args.forget_biases[0]}},
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result) + "\n")
    torch.save(weights, args.weights)
    return result


if __name__ == "__main__":
    main()
