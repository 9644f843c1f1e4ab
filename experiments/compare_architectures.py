"""One fair comparison of every recurrent architecture in rnnbook, on real English text.

Each architecture of ``rnnbook.helpers.lm.LM_LAYERS`` becomes a character language model
(embedding 32, one recurrent layer, read-out) with its hidden size chosen so that the whole
model has as close as possible to ``--params`` trainable parameters; each is trained on the
training split of the frozen CPython documentation (``rnnbook.helpers.text``) with the same
optimiser (Adam, ``--lr``, gradient norm clipped to 1), the same batches (``--batch``
columns, windows of ``--window`` characters, state carried between windows) and the same
number of steps, once per seed. Validation bits per character are measured every
``--every`` steps and at the end; test bits per character at the end. The n-gram baselines
(``rnnbook.helpers.baselines``) are fitted on the same training split.

    # the committed run: one process per seed and one for the baselines, side by side
    python experiments/compare_architectures.py --seeds 0 --baseline-orders "" --out s0.json
    (likewise --seeds 1, --seeds 2)
    python experiments/compare_architectures.py --archs "" --out baselines.json
    python experiments/compare_architectures.py --merge s0.json s1.json s2.json baselines.json
    python experiments/compare_architectures.py --steps 2 --seeds 0 --archs rnn,gru \\
        --params 3000 --baseline-orders 2 --out /tmp/small.json   # what the test runs

Writes JSON (``--out``; default ``experiments/results/compare_architectures.json``) with the
command, seeds, machine, date, configuration, the baselines and every run; the book's
comparison chapter plots it. Every process runs torch with one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import torch

from rnnbook.helpers import lm
from rnnbook.helpers.baselines import KneserNeyLM, unigram_bits
from rnnbook.helpers.text import CORPUS_FILE, TBPTTBatches, load_python_docs

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from provenance import provenance  # noqa: E402  (the same record in every experiment)

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "experiments" / "results" / "compare_architectures.json"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", default=",".join(lm.LM_LAYERS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--params", type=int, default=25_000)
    p.add_argument("--embedding", type=int, default=32)
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--every", type=int, default=40)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--window", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--baseline-orders", default="2,3,4,5,6,7,8")
    p.add_argument("--curve-every", type=int, default=5,
                   help="keep the training loss of every k-th step in the JSON")
    p.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT)
    p.add_argument("--merge", type=pathlib.Path, nargs="+",
                   help="combine the runs and baselines of these result files into --out "
                        "(the committed run ran one process per seed, side by side)")
    return p.parse_args(argv)


def merge(parts: list[pathlib.Path], out: pathlib.Path) -> dict:
    """One result from several (one process per seed): runs and baselines concatenated."""
    loaded = [json.loads(p.read_text()) for p in parts]
    result = dict(loaded[0])
    result["command"] = [r["command"] for r in loaded]
    result["date_utc"] = [r["date_utc"] for r in loaded]
    result["load_average_at_start_and_end"] = [r["load_average_at_start_and_end"] for r in loaded]
    result["baselines"] = {k: v for r in loaded for k, v in r["baselines"].items()}
    result["runs"] = sorted((run for r in loaded for run in r["runs"]),
                            key=lambda run: (list(lm.LM_LAYERS).index(run["arch"]), run["seed"]))
    result["config"] = dict(loaded[0]["config"])
    result["config"]["seeds"] = sorted({run["seed"] for run in result["runs"]})
    result["config"]["archs"] = [a for a in lm.LM_LAYERS if any(r["arch"] == a for r in result["runs"])]
    for key in ("wall_seconds", "cpu_seconds"):
        result[key] = [r[key] for r in loaded]
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}: {sum(result['cpu_seconds']) / 60:.1f} CPU minutes in all")
    return result


def main(argv: list[str] | None = None) -> dict:
    args = parse(argv)
    if args.merge:
        return merge(args.merge, args.out)
    torch.set_num_threads(1)
    archs = [a for a in args.archs.split(",") if a]
    unknown = sorted(set(archs) - set(lm.LM_LAYERS))
    if unknown:
        raise SystemExit(f"--archs: unknown {unknown}; choose from {list(lm.LM_LAYERS)}")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    started, load_start = time.time(), list(os.getloadavg())
    cpu_started = time.process_time()
    splits = load_python_docs()
    V = len(splits.vocab)
    train, valid, test = (splits.ids(s) for s in ("train", "valid", "test"))
    batches = TBPTTBatches(train, args.batch, args.window)

    baselines = {"unigram": {"valid": unigram_bits(train, valid, V),
                             "test": unigram_bits(train, test, V)}}
    for order in [int(o) for o in args.baseline_orders.split(",") if o]:
        model = KneserNeyLM(order, V).fit(train)
        baselines[f"kneser_ney_{order}"] = {"valid": model.bits(valid), "test": model.bits(test)}
        print(f"KN order {order}: valid {baselines[f'kneser_ney_{order}']['valid']:.3f}",
              flush=True)

    runs = []
    for arch in archs:
        hidden = lm.hidden_size_for(arch, args.params, V, args.embedding)
        for seed in seeds:
            torch.manual_seed(seed)
            model = lm.char_lm(arch, V, hidden, args.embedding)
            run = lm.fit_lm(model, batches, args.steps, lr=args.lr, valid=valid,
                            every=args.every, progress=False)
            test_bits = lm.evaluate_bits(model, test)
            runs.append({
                "arch": arch, "seed": seed, "hidden_size": hidden,
                "parameters": lm.count_parameters(model),
                "valid_curve": run.valid, "valid_bits": run.valid[-1][1], "test_bits": test_bits,
                "train_curve": [(i + 1, b) for i, b in enumerate(run.train_bits)
                                if (i + 1) % args.curve_every == 0],
                "cpu_seconds": run.seconds, "epochs": run.epochs,
                "cpu_seconds_per_epoch": run.seconds / run.epochs,
            })
            print(f"{arch:9s} seed {seed} H={hidden:4d} P={runs[-1]['parameters']}: valid "
                  f"{runs[-1]['valid_bits']:.3f} bits/char, {run.seconds:.1f} CPU s", flush=True)

    result = {
        **provenance("compare_architectures.py", sys.argv[1:] if argv is None else argv, load_start),
        "corpus": {"file": CORPUS_FILE, "characters": len(splits.text), "vocab": V,
                   "train": len(splits.train), "valid": len(splits.valid),
                   "test": len(splits.test)},
        "config": {"archs": archs, "seeds": seeds, "params_target": args.params,
                   "embedding": args.embedding, "steps": args.steps, "every": args.every,
                   "batch": args.batch, "window": args.window, "lr": args.lr,
                   "optimizer": "Adam", "clip": 1.0,
                   "characters_per_step": args.batch * args.window,
                   "windows_per_epoch": len(batches)},
        "baselines": baselines,
        "runs": runs,
        "wall_seconds": time.time() - started,
        "cpu_seconds": time.process_time() - cpu_started,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}: {result['cpu_seconds'] / 60:.1f} CPU minutes, "
          f"{result['wall_seconds'] / 60:.1f} minutes wall")
    return result


if __name__ == "__main__":
    main()
