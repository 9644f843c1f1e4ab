"""A small, explicit training loop for sequence-labelling models, and the metrics the chapters assert on."""

from __future__ import annotations

import math
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm

from rnnbook._validate import check_int
from rnnbook.helpers.data import adding_problem
from rnnbook.seq.decoding import NToM
from rnnbook.seq.losses import _check_targets, sequence_loss
from rnnbook.seq.padding import IGNORE_INDEX
from rnnbook.seq.sampling import scheduled_sampling_loss

__all__ = ["seed_everything", "scores_of", "accuracy", "fit", "show_progress", "last_step_mse",
           "AddingRun", "fit_adding_task", "fit_seq2seq"]

#: Set this environment variable to ``0`` to hide progress bars (the test run and the
#: notebook re-execution do, so no bar reaches nbval's comparison or the built pages).
PROGRESS_ENV = "RNNBOOK_PROGRESS"


def show_progress() -> bool:
    """Whether training loops draw a progress bar: inside a Jupyter kernel (where a reader
    watches), unless the environment variable ``RNNBOOK_PROGRESS`` is ``0``.

    >>> rnnbook.show_progress()                            # no bar outside a Jupyter kernel
    False
    """
    if os.environ.get(PROGRESS_ENV, "1") == "0":
        return False
    return "ipykernel" in sys.modules


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and torch's global generators; return a fresh ``torch.Generator``
    seeded with ``seed`` for data generation.

    >>> import torch
    >>> g = rnnbook.seed_everything(0)
    >>> a = torch.rand(2, generator=g)
    >>> torch.equal(a, torch.rand(2, generator=rnnbook.seed_everything(0)))
    True
    """
    check_int("seed", seed, minimum=0)
    if seed > 2**32 - 1:
        raise ValueError(f"seed must be <= 2**32 - 1 (NumPy's limit), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def scores_of(model: nn.Module, x: Tensor) -> Tensor:
    """The per-step scores of ``model(x)``: the output itself, or its first element when the
    model returns ``(scores, state)`` as :class:`rnnbook.notes.elman.ElmanNetwork` does.

    >>> import torch
    >>> x = torch.zeros(5, 2, 3)
    >>> tuple(rnnbook.scores_of(rnnbook.ElmanNetwork(3, 4, 2), x).shape)   # the z of (z, h_n)
    (5, 2, 2)
    >>> tuple(rnnbook.scores_of(rnnbook.MLP(3, 4, 2), x).shape)
    (5, 2, 2)
    """
    out = model(x)
    return out[0] if isinstance(out, tuple) else out


def last_step_mse(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    r"""Mean squared error of the model's output at the last step, for regression read
    out at the end of the sequence (the adding problem):
    :math:`\frac{1}{N q} \sum_n \lVert o^{(n)}_L - y^{(n)} \rVert^2`.

    ``scores_of(model, x)`` is either the output at every step, (L, N, q) (a
    :class:`rnnbook.seq.structures.NToN`), whose last step is read, or one output per
    sequence, (N, q), already read from the last step (a
    :class:`rnnbook.seq.structures.NToOne`); ``y`` is (N, q). A ``loss_fn`` for :func:`fit`.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = rnnbook.NToOne(rnnbook.GRU(2, 4), output_size=1)
    >>> x, y = torch.randn(6, 3, 2), torch.randn(3, 1)     # (L, N, H_in), (N, q)
    >>> loss = rnnbook.last_step_mse(model, x, y)
    >>> torch.allclose(loss, ((model(x) - y) ** 2).mean())
    True
    """
    out = scores_of(model, x)
    last = out[-1] if out.dim() == 3 else out
    if not isinstance(y, Tensor) or out.dim() not in (2, 3) or y.shape != last.shape:
        shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
        raise ValueError(
            f"y must have shape {tuple(last.shape)} (the model's output at the last step, "
            f"(N, q)), got {shape}"
        )
    if last.numel() == 0:
        raise ValueError(f"x must hold at least one sequence (the mean over none is undefined), got "
                         f"outputs of shape {tuple(out.shape)}")
    # o_L - y for every sequence
    return (last - y).pow(2).mean()


@torch.no_grad()
def accuracy(scores: Tensor, y: Tensor) -> float:
    """Fraction of steps (ignoring :data:`rnnbook.seq.padding.IGNORE_INDEX`) whose argmax score is the target.

    >>> import torch
    >>> scores = torch.tensor([[[0.1, 0.9]], [[0.8, 0.2]], [[0.3, 0.7]]])   # (L, N, q)
    >>> y = torch.tensor([[1], [1], [rnnbook.IGNORE_INDEX]])
    >>> rnnbook.accuracy(scores, y)                        # 1 of the 2 scored steps
    0.5
    """
    _check_targets(scores, y)
    mask = y != IGNORE_INDEX
    if not mask.any():
        raise ValueError("targets contain no step to score (all are IGNORE_INDEX)")
    real = y[mask]
    if real.min() < 0 or real.max() >= scores.shape[-1]:
        raise ValueError(f"targets must be class ids in [0, {scores.shape[-1] - 1}] or IGNORE_INDEX "
                         f"({IGNORE_INDEX}), got values in [{int(real.min())}, {int(real.max())}]")
    return (scores.argmax(-1)[mask] == y[mask]).double().mean().item()


def fit(
    model: nn.Module,
    batches: Callable[[int], tuple],
    steps: int,
    lr: float = 1e-2,
    clip: float | None = 1.0,
    loss_fn: Callable[..., Tensor] | None = None,
    progress: bool | None = None,
    *,
    weight_decay: float | None = None,
    optimizer: Callable[..., torch.optim.Optimizer] | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train ``model`` on ``steps`` batches; return the loss of each step.

    ``batches(i)`` returns the batch of step ``i``: a tuple, by default ``(x, y)``. The
    loss is ``loss_fn(model, *batch)``, so a batch may carry more than two tensors (lengths,
    a condition) for a ``loss_fn`` that takes them; without ``loss_fn`` the batch must be
    ``(x, y)`` and the loss is :func:`rnnbook.seq.losses.sequence_loss` of the model's scores
    (``scores_of(model, x)``). Gradients are clipped to norm ``clip`` (none if ``None``).

    The optimiser is Adam at learning rate ``lr``; with ``weight_decay`` it is AdamW with
    that (decoupled) decay; ``optimizer``, a factory ``params -> torch.optim.Optimizer``,
    replaces both (give either it or ``weight_decay``, not both). ``callback(i, loss)``,
    if given, is called after step ``i`` (counted from 0) with that step's loss.
    ``progress`` draws a tqdm bar on stderr (default: :func:`show_progress`); it is
    removed when training ends.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> g = torch.Generator().manual_seed(0)
    >>> model = rnnbook.NToN(rnnbook.GRU(3, 8), output_size=3)
    >>> batches = lambda i: rnnbook.echo_task(16, 6, num_symbols=3, delay=1, generator=g)
    >>> losses = rnnbook.fit(model, batches, steps=3, progress=False)   # Adam, clipped gradients
    >>> len(losses), all(loss > 0 for loss in losses)
    (3, True)
    """
    check_int("steps", steps, minimum=1)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if clip is not None and (isinstance(clip, bool) or not isinstance(clip, (int, float))
                             or not (math.isfinite(clip) and clip > 0)):
        raise ValueError(f"clip must be None or a finite number > 0, got {clip!r}")
    if not callable(batches):
        raise TypeError(f"batches must be a callable i -> (x, y), got {type(batches).__name__}")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be a callable (model, x, y) -> loss, got {type(loss_fn).__name__}")
    if optimizer is not None and not callable(optimizer):
        raise TypeError(f"optimizer must be a callable params -> Optimizer, got {type(optimizer).__name__}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be a callable (step, loss) -> None, got {type(callback).__name__}")
    if optimizer is not None and weight_decay is not None:
        raise ValueError(
            f"give either optimizer or weight_decay, not both (got weight_decay={weight_decay})"
        )
    if weight_decay is not None and (isinstance(weight_decay, bool)
                                     or not isinstance(weight_decay, (int, float))
                                     or weight_decay < 0):
        raise ValueError(f"weight_decay must be a number >= 0, got {weight_decay!r}")
    params = list(model.parameters())
    if optimizer is not None:
        opt = optimizer(params)
    elif weight_decay is not None:
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.Adam(params, lr=lr)
    losses = []
    model.train()
    bar = tqdm(total=steps, leave=False, file=sys.stderr, disable=not (show_progress() if progress is None else progress))
    for i in range(steps):
        batch = batches(i)
        if not isinstance(batch, (tuple, list)):
            raise TypeError(f"batches({i}) must return a tuple such as (x, y), got {type(batch).__name__}")
        if isinstance(batch[0], torch.Tensor) and batch[0].numel() == 0:
            raise ValueError(f"batches({i}) must return a batch with samples, got x of shape {tuple(batch[0].shape)}")
        if loss_fn is None:
            if len(batch) != 2:
                raise ValueError(
                    f"batches({i}) must return (x, y) when loss_fn is not given, got a tuple of {len(batch)}"
                )
            x, y = batch
            loss = sequence_loss(scores_of(model, x), y)
        else:
            loss = loss_fn(model, *batch)
        opt.zero_grad()
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        losses.append(loss.item())
        if callback is not None:
            callback(i, losses[-1])
        bar.update()
        if i % 25 == 0:
            bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    bar.close()
    model.eval()
    return losses


@dataclass
class AddingRun:
    """The result of :func:`fit_adding_task`: ``history`` (the training loss of each
    batch), ``test_mse`` (the model's MSE on the test set), ``mean_mse`` (the test MSE of
    predicting the mean, 1, for every sequence) and ``targets`` (every target drawn,
    training and test, shape (M, 1)).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = rnnbook.NToOne(rnnbook.LSTM(2, 4), output_size=1)
    >>> run = rnnbook.fit_adding_task(model, batches=2, batch=8, steps=6, test_size=16)
    >>> len(run.history), tuple(run.targets.shape)         # 2 x 8 training + 16 test targets
    (2, (32, 1))
    """

    history: list[float]
    test_mse: float
    mean_mse: float
    targets: Tensor


def _column_targets(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """``(x, y)`` with ``y`` (N,) as a column (N, 1), the shape of a one-output model's output."""
    x, y = batch
    return x, y[:, None]


def fit_adding_task(model: nn.Module, *, seed: int = 0, batches: int = 500, batch: int = 64,
                    steps: int = 50, test_size: int = 1000, lr: float = 1e-2,
                    clip: float | None = 1.0) -> AddingRun:
    """Train ``model`` on the adding problem (:func:`rnnbook.helpers.data.adding_problem`) and score it.

    ``batches`` batches of ``batch`` sequences of ``steps`` steps, then a test set of
    ``test_size`` sequences, all drawn from ``torch.Generator().manual_seed(seed)`` (the
    global generator, which initialised the model, is not touched). Trained by :func:`fit`
    with :func:`last_step_mse` (Adam, ``lr``, gradient norm clipped to ``clip``); the
    model reads input (steps, N, 2) and returns per-step outputs (steps, N, 1) (an
    :class:`rnnbook.seq.structures.NToN`) or one output per sequence, (N, 1) (an
    :class:`rnnbook.seq.structures.NToOne`); the targets, (N,) from
    :func:`rnnbook.helpers.data.adding_problem`, are compared as (N, 1).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = rnnbook.NToOne(rnnbook.GRU(2, 4), output_size=1)
    >>> run = rnnbook.fit_adding_task(model, seed=0, batches=3, batch=8, steps=6, test_size=32)
    >>> len(run.history), run.test_mse > 0, 0 < run.mean_mse < 1
    (3, True, True)
    """
    check_int("seed", seed, minimum=0)
    gen = torch.Generator().manual_seed(seed)
    data = [_column_targets(adding_problem(batch, steps, generator=gen)) for _ in range(batches)]
    x_test, y_test = _column_targets(adding_problem(test_size, steps, generator=gen))
    history = fit(model, lambda i: data[i], steps=batches, lr=lr, clip=clip, loss_fn=last_step_mse)
    model.eval()
    with torch.no_grad():
        test_mse = last_step_mse(model, x_test, y_test).item()
    # predicting the mean E[y] = 1 for every sequence
    mean_mse = (y_test - 1).pow(2).mean().item()
    targets = torch.cat([y for _, y in data] + [y_test])
    return AddingRun(history, test_mse, mean_mse, targets)


def fit_seq2seq(model: NToM, pairs: object, steps: int, *, batch_size: int = 64, lr: float = 1e-2,
                generator: torch.Generator, schedule: Callable[[int], float] | None = None,
                coin_generator: torch.Generator | None = None,
                progress: bool | None = None) -> list[float]:
    """Train ``model`` with Adam (:func:`rnnbook.helpers.train.fit`) on random mini-batches of
    ``pairs`` (anything with ``src`` (L, N), ``src_lengths``, ``tgt`` (M, N), ``tgt_lengths``
    and ``subset(index)``, such as :class:`rnnbook.helpers.data.DatePairs`) for ``steps`` steps.

    Without ``schedule`` the loss is teacher-forced (:meth:`rnnbook.seq.decoding.NToM.loss`);
    with it, step ``i`` uses :func:`rnnbook.seq.sampling.scheduled_sampling_loss` with
    ``epsilon = schedule(i)``. Batches come from ``generator``; the coins of scheduled
    sampling from ``coin_generator`` (default: ``generator``; a separate one lets runs with
    and without sampling see the same batches).
    Returns the loss of every step.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> pairs = rnnbook.date_pairs(8, generator=torch.Generator().manual_seed(0))
    >>> V_src, V_tgt = len(rnnbook.DATE_SOURCE_CHARS) + 3, len(rnnbook.DATE_TARGET_CHARS) + 3
    >>> model = rnnbook.build_seq2seq(V_src, V_tgt, hidden_size=8, embedding_dim=4,
    ...                               start_token=rnnbook.START, end_token=rnnbook.END)
    >>> g = torch.Generator().manual_seed(0)
    >>> losses = rnnbook.fit_seq2seq(model, pairs, 2, batch_size=2, generator=g, progress=False,
    ...                              schedule=rnnbook.make_schedule("linear", c=0.5))
    >>> len(losses)
    2
    """
    check_int("batch_size", batch_size, minimum=1)
    if schedule is not None and not callable(schedule):
        raise TypeError(f"schedule must be a callable i -> epsilon_i, got {type(schedule).__name__}")
    n = len(pairs.src_lengths)

    def batches(i: int):
        b = pairs.subset(torch.randint(n, (batch_size,), generator=generator))
        eps = None if schedule is None else schedule(i)
        return (b.src, b.src_lengths, eps), (b.tgt, b.tgt_lengths)

    def loss_fn(m: NToM, x, y) -> Tensor:
        (src, src_lengths, eps), (tgt, tgt_lengths) = x, y
        if eps is None:
            return m.loss(src, tgt, src_lengths, tgt_lengths)
        return scheduled_sampling_loss(m, src, tgt, eps, src_lengths=src_lengths,
                                       tgt_lengths=tgt_lengths,
                                       generator=coin_generator or generator)

    return fit(model, batches, steps, lr=lr, loss_fn=loss_fn, progress=progress)
