"""Losses over sequences: cross-entropy that skips padding and ignored targets."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnbook._validate import check_tensor
from rnnbook.seq.padding import IGNORE_INDEX, check_lengths, check_tokens, length_mask

__all__ = ["masked_cross_entropy", "sequence_loss"]


def masked_cross_entropy(scores: Tensor, targets: Tensor, lengths: Tensor | None = None) -> Tensor:
    """Mean cross entropy over the real steps: scores (L, N, q), targets (L, N).

    .. math:: \\mathcal{L} = -\\frac{1}{\\sum_n \\ell_n} \\sum_n \\sum_{t < \\ell_n}
              \\log \\mathrm{softmax}(o^{(n)}_t)[y^{(n)}_t]

    Padded steps (``t >= lengths[n]``) count for nothing, whatever their targets hold.

    >>> import torch
    >>> scores = torch.zeros(3, 2, 4)                      # (L, N, q): uniform predictions
    >>> targets = torch.tensor([[1, 3], [0, -7], [2, -7]]) # padded steps hold anything
    >>> loss = rnnbook.masked_cross_entropy(scores, targets, lengths=torch.tensor([3, 1]))
    >>> round(loss.item(), 6), round(torch.log(torch.tensor(4.0)).item(), 6)    # log q
    (1.386294, 1.386294)
    """
    check_tensor("scores", scores, ndims=(3,))
    if not isinstance(targets, Tensor) or targets.is_floating_point():
        raise TypeError(f"targets must be an integer tensor, got {type(targets).__name__}")
    if targets.shape != scores.shape[:2]:
        raise ValueError(
            f"targets must have shape {tuple(scores.shape[:2])} (the scores' (L, N)), "
            f"got {tuple(targets.shape)}"
        )
    steps, batch = targets.shape
    if lengths is None:
        mask = torch.ones_like(targets, dtype=torch.bool)
    else:
        mask = length_mask(check_lengths(lengths, batch, steps), steps, targets.device)
    check_tokens("targets", targets, scores.shape[-1], mask)
    # the same loss as rnnbook.seq.losses.sequence_loss, with the padded steps' targets ignored
    return sequence_loss(scores, targets.masked_fill(~mask, IGNORE_INDEX))


# -- from tokens to input vectors ------------------------------------------------------------


def _check_targets(scores: Tensor, y: Tensor) -> None:
    if not isinstance(y, Tensor) or y.is_floating_point():
        raise TypeError(f"targets must be an integer tensor, got {type(y).__name__} {getattr(y, 'dtype', '')}")
    if scores.shape[:-1] != y.shape:
        raise ValueError(
            f"targets must have shape {tuple(scores.shape[:-1])} (the scores' shape without the class "
            f"dimension), got {tuple(y.shape)}"
        )


def sequence_loss(scores: Tensor, y: Tensor) -> Tensor:
    """Mean cross entropy over every step whose target is not :data:`rnnbook.seq.padding.IGNORE_INDEX`.

    ``scores`` (..., q) are pre-softmax; ``y`` (...) holds class indices.

    >>> import torch
    >>> scores = torch.tensor([[[2.0, 0.0]], [[0.0, 0.0]]])   # (L, N, q)
    >>> y = torch.tensor([[0], [rnnbook.IGNORE_INDEX]])       # the second step is skipped
    >>> loss = rnnbook.sequence_loss(scores, y)
    >>> torch.allclose(loss, torch.nn.functional.cross_entropy(scores[0], y[0]))
    True
    """
    _check_targets(scores, y)
    real = y[y != IGNORE_INDEX]
    if real.numel() and (real.min() < 0 or real.max() >= scores.shape[-1]):
        raise ValueError(f"targets must be class ids in [0, {scores.shape[-1] - 1}] or IGNORE_INDEX "
                         f"({IGNORE_INDEX}), got values in [{int(real.min())}, {int(real.max())}]")
    if not bool((y != IGNORE_INDEX).any()):
        raise ValueError(
            f"targets must hold at least one step to score (not IGNORE_INDEX = {IGNORE_INDEX}): the mean "
            f"over no steps is undefined; got targets of shape {tuple(y.shape)} with none"
        )
    return nn.functional.cross_entropy(scores.reshape(-1, scores.shape[-1]), y.reshape(-1), ignore_index=IGNORE_INDEX)
