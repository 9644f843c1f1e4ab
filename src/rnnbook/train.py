"""A small, explicit training loop for sequence-labelling models, and the metrics the chapters assert on."""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from tqdm import tqdm

from ._validate import check_int
from .data import IGNORE_INDEX, adding_problem

__all__ = ["seed_everything", "scores_of", "sequence_loss", "accuracy", "fit", "show_progress",
           "last_step_mse", "AddingRun", "fit_adding_task"]

#: Set this environment variable to ``0`` to hide progress bars (the test run and the
#: notebook re-execution do, so no bar reaches nbval's comparison or the built pages).
PROGRESS_ENV = "RNNBOOK_PROGRESS"


def show_progress() -> bool:
    """Whether training loops draw a progress bar: inside a Jupyter kernel (where a reader
    watches), unless the environment variable ``RNNBOOK_PROGRESS`` is ``0``."""
    if os.environ.get(PROGRESS_ENV, "1") == "0":
        return False
    return "ipykernel" in sys.modules


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and torch's global generators; return a fresh ``torch.Generator``
    seeded with ``seed`` for data generation."""
    check_int("seed", seed, minimum=0)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def scores_of(model: nn.Module, x: Tensor) -> Tensor:
    """The per-step scores of ``model(x)``: the output itself, or its first element when the
    model returns ``(scores, state)`` as :class:`rnnbook.elman.ElmanNetwork` does."""
    out = model(x)
    return out[0] if isinstance(out, tuple) else out


def last_step_mse(model: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    r"""Mean squared error of the model's output at the last step, for regression read
    out at the end of the sequence (the adding problem):
    :math:`\frac{1}{N q} \sum_n \lVert o^{(n)}_L - y^{(n)} \rVert^2`.

    ``scores_of(model, x)`` is either the output at every step, (L, N, q) (a
    :class:`rnnbook.structures.NToN`), whose last step is read, or one output per
    sequence, (N, q), already read from the last step (a
    :class:`rnnbook.structures.NToOne`); ``y`` is (N, q). A ``loss_fn`` for :func:`fit`.
    """
    out = scores_of(model, x)
    last = out[-1] if out.dim() == 3 else out
    if not isinstance(y, Tensor) or out.dim() not in (2, 3) or y.shape != last.shape:
        shape = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
        raise ValueError(
            f"y must have shape {tuple(last.shape)} (the model's output at the last step, "
            f"(N, q)), got {shape}"
        )
    # o_L - y for every sequence
    return (last - y).pow(2).mean()


def _check_targets(scores: Tensor, y: Tensor) -> None:
    if not isinstance(y, Tensor) or y.is_floating_point():
        raise TypeError(f"targets must be an integer tensor, got {type(y).__name__} {getattr(y, 'dtype', '')}")
    if scores.shape[:-1] != y.shape:
        raise ValueError(
            f"targets must have shape {tuple(scores.shape[:-1])} (the scores' shape without the class "
            f"dimension), got {tuple(y.shape)}"
        )


def sequence_loss(scores: Tensor, y: Tensor) -> Tensor:
    """Mean cross entropy over every step whose target is not :data:`rnnbook.data.IGNORE_INDEX`.

    ``scores`` (..., q) are pre-softmax; ``y`` (...) holds class indices.
    """
    _check_targets(scores, y)
    return nn.functional.cross_entropy(scores.reshape(-1, scores.shape[-1]), y.reshape(-1), ignore_index=IGNORE_INDEX)


@torch.no_grad()
def accuracy(scores: Tensor, y: Tensor) -> float:
    """Fraction of steps (ignoring :data:`rnnbook.data.IGNORE_INDEX`) whose argmax score is the target."""
    _check_targets(scores, y)
    mask = y != IGNORE_INDEX
    if not mask.any():
        raise ValueError("targets contain no step to score (all are IGNORE_INDEX)")
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
    ``(x, y)`` and the loss is :func:`sequence_loss` of the model's scores
    (``scores_of(model, x)``). Gradients are clipped to norm ``clip`` (none if ``None``).

    The optimiser is Adam at learning rate ``lr``; with ``weight_decay`` it is AdamW with
    that (decoupled) decay; ``optimizer``, a factory ``params -> torch.optim.Optimizer``,
    replaces both (give either it or ``weight_decay``, not both). ``callback(i, loss)``,
    if given, is called after step ``i`` (counted from 0) with that step's loss.
    ``progress`` draws a tqdm bar on stderr (default: :func:`show_progress`); it is
    removed when training ends.
    """
    check_int("steps", steps, minimum=1)
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
    training and test, shape (M, 1))."""

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
    """Train ``model`` on the adding problem (:func:`rnnbook.data.adding_problem`) and score it.

    ``batches`` batches of ``batch`` sequences of ``steps`` steps, then a test set of
    ``test_size`` sequences, all drawn from ``torch.Generator().manual_seed(seed)`` (the
    global generator, which initialised the model, is not touched). Trained by :func:`fit`
    with :func:`last_step_mse` (Adam, ``lr``, gradient norm clipped to ``clip``); the
    model reads input (steps, N, 2) and returns per-step outputs (steps, N, 1) (an
    :class:`rnnbook.structures.NToN`) or one output per sequence, (N, 1) (an
    :class:`rnnbook.structures.NToOne`); the targets, (N,) from
    :func:`rnnbook.data.adding_problem`, are compared as (N, 1).
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
