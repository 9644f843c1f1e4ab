"""The notes' bottleneck, measured: seq2seq models on the number-words task, scored by source length.

English number words -> French number words (``rnnbook.helpers.numbers``): training sources
have at most 30 tokens, test sources run from 2 to 46, so a model is scored on sources
longer than any it was trained on. Every model is trained with the same budget: the same
number of steps (``--steps``), the same optimiser (Adam, ``--lr``, gradient norm clipped to
1), the same mini-batches of ``--batch`` pairs (the same batch generator seed), embeddings
of ``--embedding`` and recurrent layers of ``--hidden`` units; validation exact match is
recorded every ``--every`` steps, so the JSON shows whether a model was still climbing.
The decoders are ``rnnbook.GRU`` (``layer="gru"``) in every model; the models differ in
what the decoder is given:

- ``rnn``: an ``rnnbook.RNN`` (tanh) encoder; its last state h_N starts the decoder;
- ``gru``: an ``rnnbook.GRU`` encoder, the same otherwise (chapter 8's model);
- ``lstm``: an ``rnnbook.LSTM`` encoder (the notes' "代替LSTM？"); its last output h_N
  starts the decoder (c_N stays in the encoder);
- ``concat_all``: the GRU encoder, h_N starts the decoder, and *all* its states
  h_1..h_Lmax, zero-padded to ``--max-length`` positions and concatenated, are fed to the
  decoder at every step (the notes' "如果将输入数据的所有隐藏层状态{h_i}保存下来，共同输入给
  Decoder"): the decoder's input is [E y_{t-1}; P [h_1; ...; h_Lmax]] with P of shape
  (3H, Lmax H), the same function class as concatenating the raw states to the GRU's input
  (whose input weights act on them through a rank <= 3H map). Positions past Lmax are cut:
  such a model cannot read them;
- ``luong``: the GRU encoder and Luong's attention (``attention="general"``);
- ``bahdanau``: the GRU encoder and Bahdanau's additive attention in the recurrence.

Each is decoded greedily on the test split; exact match and corpus BLEU
(``rnnbook.seq.bleu``, equal to sacrebleu with ``tokenize="none"``) are reported per
source-length bucket. ``--sampling`` instead trains the ``luong`` model three ways
(teacher forcing, scheduled sampling with an inverse-sigmoid schedule, always-sampling) and
measures exposure bias (chapter 10).

    # the committed runs (one process, one thread; the machine was shared)
    python experiments/seq2seq_by_length.py --save-weights
    python experiments/seq2seq_by_length.py --sampling
    python experiments/seq2seq_by_length.py --quick --out /tmp/q.json   # what the test runs

Writes JSON (``--out``; default ``experiments/results/seq2seq_by_length.json``, or
``seq2seq_sampling.json`` with ``--sampling``) with the command, seeds, machine, date,
load, configuration and every run.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import torch
from torch import Tensor, nn

from rnnbook.helpers.data import END, START
from rnnbook.helpers.numbers import load_number_pairs
from rnnbook.helpers.train import fit, fit_seq2seq, seed_everything
from rnnbook.seq.bleu import corpus_bleu, token_lists
from rnnbook.seq.decoding import Decoder
from rnnbook.seq.padding import run_layer, shift_right
from rnnbook.seq.sampling import make_schedule
from rnnbook.seq.seq2seq import Seq2Seq, build_seq2seq, decode
from rnnbook.seq.structures import Encoder, make_layer

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))
from provenance import provenance  # noqa: E402  (the same record in every experiment)

RESULTS = ROOT / "experiments" / "results"
DEFAULT_OUT = RESULTS / "seq2seq_by_length.json"
SAMPLING_OUT = RESULTS / "seq2seq_sampling.json"
#: The models, in the order of the tables.
MODELS = ("rnn", "gru", "lstm", "concat_all", "luong", "bahdanau")
#: Source-length buckets of the tables (tokens, inclusive); training sources stop at 30.
BUCKETS = ((1, 10), (11, 20), (21, 30), (31, 38), (39, 46))


class LSTMEncoderSeq2Seq(Seq2Seq):
    """An LSTM encoder before a GRU decoder: the decoder starts from the encoder's h_N."""

    def bridge(self, state):
        return state[0]


class ConcatAllDecoder(Decoder):
    """A GRU decoder that reads, at every step, all encoder states h_1..h_Lmax concatenated
    (zero-padded to ``max_length`` positions; positions past it are cut) through one linear
    map P: its input is [E y_{t-1}; P [h_1; ...; h_Lmax]]."""

    def __init__(self, layer: nn.Module, vocab_size: int, *, embedding_dim: int, memory_size: int,
                 max_length: int, context_size: int):
        super().__init__(layer, vocab_size, embedding_dim=embedding_dim, extra_input_size=context_size)
        self.max_length = max_length
        self.project = nn.Linear(max_length * memory_size, context_size)

    def context(self, memory: Tensor, memory_mask: Tensor | None) -> Tensor:
        """P [h_1; ...; h_Lmax] (N, context_size) from the encoder outputs (L, N, H)."""
        if memory_mask is not None:
            memory = memory.masked_fill(~memory_mask.unsqueeze(-1), 0.0)
        memory = memory[: self.max_length]                       # past Lmax: unreadable
        pad = memory.new_zeros(self.max_length - memory.shape[0], *memory.shape[1:])
        flat = torch.cat([memory, pad]).transpose(0, 1).reshape(memory.shape[1], -1)
        return self.project(flat)

    def forward(self, tokens, state=None, lengths=None, memory=None, memory_mask=None):
        x, lens, mask = self._inputs(tokens, lengths)
        ctx = self.context(memory, memory_mask)
        x = torch.cat([x, ctx.unsqueeze(0).expand(x.shape[0], -1, -1)], -1)
        s, state = run_layer(self.layer, x, lens, state)
        return self._scores(s, mask), state


def build(kind: str, src_vocab: int, tgt_vocab: int, *, hidden: int, embedding: int,
          max_length: int) -> Seq2Seq:
    """One of :data:`MODELS` (module docstring)."""
    tokens = {"start_token": START, "end_token": END}
    if kind in ("luong", "bahdanau"):
        return build_seq2seq(src_vocab, tgt_vocab, hidden_size=hidden, embedding_dim=embedding,
                             layer="gru", attention="general" if kind == "luong" else "bahdanau",
                             **tokens)
    enc_layer = {"rnn": "rnn", "lstm": "lstm"}.get(kind, "gru")
    encoder = Encoder(make_layer(enc_layer, embedding, hidden), vocab_size=src_vocab,
                      embedding_dim=embedding)
    if kind == "concat_all":
        decoder = ConcatAllDecoder(make_layer("gru", embedding + 3 * hidden, hidden), tgt_vocab,
                                   embedding_dim=embedding, memory_size=hidden,
                                   max_length=max_length, context_size=3 * hidden)
    else:
        decoder = Decoder(make_layer("gru", embedding, hidden), tgt_vocab, embedding_dim=embedding)
    cls = LSTMEncoderSeq2Seq if kind == "lstm" else Seq2Seq
    return cls(encoder, decoder, **tokens)


def bucket_scores(pairs, tokens: Tensor, lengths: Tensor, correct: Tensor) -> dict:
    """Exact match and corpus BLEU per source-length bucket, and over all."""
    hyps = token_lists(tokens, lengths, drop=[END])
    refs = token_lists(pairs.tgt, pairs.tgt_lengths, drop=[END])
    src_len = pairs.src_lengths.tolist()
    out = {}
    for lo, hi in ((1, 10**6),) + BUCKETS:
        idx = [j for j, n in enumerate(src_len) if lo <= n <= hi]
        key = "all" if hi == 10**6 else f"{lo}-{hi}"
        bleu = corpus_bleu([hyps[j] for j in idx], [refs[j] for j in idx])
        out[key] = {"pairs": len(idx), "exact_match": float(correct[idx].double().mean()),
                    "bleu": bleu.score}
    return out


def exposure(model: Seq2Seq, pairs) -> dict:
    """Exact match, and on the pairs decoded wrong the accuracy of the tokens after the first
    mistake, teacher-forced and free-running (chapter 10's measure)."""
    with torch.no_grad():
        forced = model(pairs.src, shift_right(pairs.tgt, START), pairs.src_lengths,
                       pairs.tgt_lengths).argmax(-1)
    tokens, lengths, exact = decode(model, pairs)
    steps = pairs.tgt.shape[0]
    real = torch.arange(steps).unsqueeze(1) < pairs.tgt_lengths
    free = torch.zeros_like(pairs.tgt)
    free[: min(steps, tokens.shape[0])] = tokens[:steps]
    forced_ok, free_ok = (forced == pairs.tgt), (free == pairs.tgt)
    wrong = ~exact
    first = (~free_ok[:, wrong] & real[:, wrong]).double().argmax(0)
    after = (torch.arange(steps).unsqueeze(1) > first) & real[:, wrong]
    return {"exact_match": float(exact.double().mean()), "wrong": int(wrong.sum()),
            "after_first_mistake_forced": float(forced_ok[:, wrong][after].double().mean()),
            "after_first_mistake_free": float(free_ok[:, wrong][after].double().mean()),
            "tokens_after_first_mistake": int(after.sum())}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--every", type=int, default=250)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--embedding", type=int, default=16)
    p.add_argument("--max-length", type=int, default=30,
                   help="training sources' longest, in tokens (and concat_all's Lmax)")
    p.add_argument("--sampling", action="store_true",
                   help="chapter 10: train the luong model with teacher forcing, scheduled "
                        "sampling (inverse sigmoid, --sampling-k) and always-sampling")
    p.add_argument("--sampling-k", type=float, default=100.0)
    p.add_argument("--save-weights", action="store_true",
                   help="save the seed-0 luong and bahdanau weights next to --out")
    p.add_argument("--quick", action="store_true",
                   help="a reduced configuration (seconds): 2 models, 1 seed, 20 steps, "
                        "hidden 16, 200 test pairs")
    p.add_argument("--out", type=pathlib.Path, default=None)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse(argv)
    if args.quick:
        args.models = "gru,concat_all" if not args.sampling else args.models
        args.seeds, args.steps, args.every, args.hidden = "0", 20, 10, 16
    out = args.out or (SAMPLING_OUT if args.sampling else DEFAULT_OUT)
    torch.set_num_threads(1)
    models = [m for m in args.models.split(",") if m]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        raise SystemExit(f"--models: unknown {unknown}; choose from {list(MODELS)}")
    seeds = [int(s) for s in args.seeds.split(",") if s]
    started, load_start, cpu_started = time.time(), list(os.getloadavg()), time.process_time()
    task = load_number_pairs("en", "fr", max_train_length=args.max_length)
    test, valid = task.test, task.valid
    if args.quick:
        test, valid = test.subset(torch.arange(200)), valid.subset(torch.arange(100))
    sizes = {"hidden": args.hidden, "embedding": args.embedding, "max_length": args.max_length}
    runs = []
    if args.sampling:
        schedules = {"teacher_forcing": None,
                     "scheduled_inverse_sigmoid": make_schedule("inverse_sigmoid", k=args.sampling_k),
                     "always_sampling": lambda i: 0.0}
        for name, schedule in schedules.items():
            for seed in seeds:
                seed_everything(seed)
                model = build("luong", len(task.src_vocab), len(task.tgt_vocab), **sizes)
                cpu0 = time.process_time()
                losses = fit_seq2seq(model, task.train, args.steps, batch_size=args.batch, lr=args.lr,
                                     schedule=schedule, generator=torch.Generator().manual_seed(seed),
                                     coin_generator=torch.Generator().manual_seed(1000 + seed),
                                     progress=False)
                model.eval()
                runs.append({"training": name, "seed": seed, "steps": args.steps,
                             "final_loss": sum(losses[-50:]) / len(losses[-50:]),
                             "test": exposure(model, test),
                             "by_length": bucket_scores(test, *decode(model, test)),
                             "cpu_seconds": time.process_time() - cpu0})
                print(f"{name:26s} seed {seed}: exact {runs[-1]['test']['exact_match']:.3f} "
                      f"after-mistake forced {runs[-1]['test']['after_first_mistake_forced']:.3f} "
                      f"free {runs[-1]['test']['after_first_mistake_free']:.3f} "
                      f"({runs[-1]['cpu_seconds']:.0f} CPU s)", flush=True)
    else:
        for kind in models:
            for seed in seeds:
                seed_everything(seed)
                model = build(kind, len(task.src_vocab), len(task.tgt_vocab), **sizes)
                n_params = sum(p.numel() for p in model.parameters())
                cpu0, curve = time.process_time(), []
                batches = torch.Generator().manual_seed(seed)
                n_train = len(task.train)

                def batch(i, batches=batches):
                    b = task.train.subset(torch.randint(n_train, (args.batch,), generator=batches))
                    return (b.src, b.src_lengths), (b.tgt, b.tgt_lengths)

                def every(i, loss, model=model, curve=curve):
                    if (i + 1) % args.every == 0 or i + 1 == args.steps:
                        curve.append((i + 1, float(decode(model, valid)[2].double().mean())))
                        model.train()

                losses = fit(model, batch, args.steps, lr=args.lr, clip=1.0, progress=False,
                             loss_fn=lambda m, x, y: m.loss(x[0], y[0], x[1], y[1]),
                             callback=every)
                model.eval()
                result = decode(model, test)
                runs.append({"model": kind, "seed": seed, "parameters": n_params,
                             "steps": args.steps, "valid_curve": curve,
                             "final_loss": sum(losses[-50:]) / len(losses[-50:]),
                             "by_length": bucket_scores(test, *result),
                             "cpu_seconds": time.process_time() - cpu0})
                row = runs[-1]["by_length"]
                print(f"{kind:10s} seed {seed} P={n_params}: valid {curve[-1][1]:.3f} | test "
                      + " ".join(f"{k} {v['exact_match']:.2f}/{v['bleu']:.0f}" for k, v in row.items())
                      + f" ({runs[-1]['cpu_seconds']:.0f} CPU s)", flush=True)
                if args.save_weights and seed == seeds[0] and kind in ("luong", "bahdanau"):
                    path = out.parent / f"seq2seq_{kind}_seed{seed}.pt"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    torch.save(model.state_dict(), path)
    result = {
        **provenance("seq2seq_by_length.py", sys.argv[1:] if argv is None else argv, load_start),
        "task": {"source": "en", "target": "fr", "train": len(task.train), "valid": len(valid),
                 "test": len(test), "max_train_length": args.max_length,
                 "src_vocab": len(task.src_vocab), "tgt_vocab": len(task.tgt_vocab),
                 "buckets": [f"{lo}-{hi}" for lo, hi in BUCKETS],
                 "test_pairs_longer_than_training": int((test.src_lengths > args.max_length).sum())},
        "config": {"models": models, "seeds": seeds, "steps": args.steps, "every": args.every,
                   "batch": args.batch, "lr": args.lr, "optimizer": "Adam", "clip": 1.0,
                   "budget": "the same number of steps, optimiser, learning rate and batches for every model",
                   "decoder_layer": "rnnbook.GRU", "decoding": "greedy", "quick": args.quick,
                   "sampling": args.sampling, **sizes,
                   **({"sampling_k": args.sampling_k} if args.sampling else {})},
        "runs": runs,
        "wall_seconds": time.time() - started,
        "cpu_seconds": time.process_time() - cpu_started,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}: {result['cpu_seconds'] / 60:.1f} CPU minutes, "
          f"{result['wall_seconds'] / 60:.1f} minutes wall")
    return result


if __name__ == "__main__":
    main()
