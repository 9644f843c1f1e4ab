r"""Scheduled sampling (Bengio, Vinyals, Jaitly and Shazeer 2015).

A decoder trained with teacher forcing always reads the *true* previous token; at test
time it reads its *own* previous prediction, so a mistake feeds into every later step
(exposure bias; the notes' "强化 : Scheduled Sampling"). Scheduled sampling feeds, at
every decoder step and for every sequence independently, the true previous token with
probability :math:`\epsilon_i` and the model's own previous prediction otherwise, where
:math:`\epsilon_i` decays with the training step :math:`i`:

.. math::

    \epsilon_i = \max(\epsilon, k - c\, i) \ \text{(linear)}, \qquad
    \epsilon_i = k^i \ \text{(exponential, } k < 1), \qquad
    \epsilon_i = \frac{k}{k + \exp(i / k)} \ \text{(inverse sigmoid, } k \ge 1).

The fed-back token is an integer id, so no gradient flows through it (the paper's choice).
:func:`scheduled_sampling_loss` computes the loss of one batch for a given
:math:`\epsilon`; :math:`\epsilon = 1` is teacher forcing, :math:`\epsilon = 0` always
feeds back the model's own predictions.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import torch
from torch import Tensor

from rnnbook._validate import check_choice, check_int, check_probability
from rnnbook.seq.decoding import NToM
from rnnbook.seq.losses import masked_cross_entropy
from rnnbook.seq.padding import check_lengths

__all__ = ["SCHEDULES", "linear_schedule", "exponential_schedule", "inverse_sigmoid_schedule",
           "make_schedule", "scheduled_sampling_loss"]


def _real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    return float(value)


def _step(i: object) -> int:
    return check_int("i", i, minimum=0)


def _check_linear(k: object, c: object, epsilon: object) -> tuple[float, float, float]:
    k, c = _real("k", k), _real("c", c)
    epsilon = check_probability("epsilon", epsilon, allow_one=True)
    if not 0 < k <= 1:
        raise ValueError(f"k must lie in (0, 1] for the linear schedule (epsilon_0 = k), got {k}")
    if not c > 0:
        raise ValueError(f"c must be > 0 for the linear schedule (the decay per step), got {c}")
    if epsilon > k:
        raise ValueError(f"epsilon must be <= k (the floor below the start), got epsilon={epsilon}, k={k}")
    return k, c, epsilon


def linear_schedule(i: int, *, k: float = 1.0, c: float, epsilon: float = 0.0) -> float:
    r"""Linear decay :math:`\epsilon_i = \max(\epsilon, k - c\, i)`, with :math:`0 < k \le 1`,
    :math:`c > 0` and :math:`0 \le \epsilon \le k`.

    >>> [rnnbook.linear_schedule(i, c=0.25, epsilon=0.1) for i in range(5)]
    [1.0, 0.75, 0.5, 0.25, 0.1]
    """
    i = _step(i)
    k, c, epsilon = _check_linear(k, c, epsilon)
    # eps_i = max(eps, k - c i)
    return max(epsilon, k - c * i)


def _check_exponential(k: object) -> float:
    k = _real("k", k)
    if not 0 < k < 1:
        raise ValueError(f"k must lie in (0, 1) for the exponential schedule k**i, got {k}")
    return k


def exponential_schedule(i: int, *, k: float) -> float:
    r"""Exponential decay :math:`\epsilon_i = k^i`, with :math:`0 < k < 1`.

    >>> [rnnbook.exponential_schedule(i, k=0.5) for i in range(4)]
    [1.0, 0.5, 0.25, 0.125]
    """
    i = _step(i)
    k = _check_exponential(k)
    # eps_i = k^i
    return k**i


def _check_inverse_sigmoid(k: object) -> float:
    k = _real("k", k)
    if not k >= 1:
        raise ValueError(f"k must be >= 1 for the inverse sigmoid schedule k / (k + exp(i / k)), got {k}")
    return k


def inverse_sigmoid_schedule(i: int, *, k: float) -> float:
    r"""Inverse sigmoid decay :math:`\epsilon_i = k / (k + \exp(i / k))`, with :math:`k \ge 1`.

    >>> [round(rnnbook.inverse_sigmoid_schedule(i, k=10), 3) for i in (0, 10, 30, 60)]
    [0.909, 0.786, 0.332, 0.024]
    """
    i = _step(i)
    k = _check_inverse_sigmoid(k)
    # eps_i = k / (k + exp(i / k)); for large i, exp overflows and eps_i -> 0
    try:
        return k / (k + math.exp(i / k))
    except OverflowError:
        return 0.0


#: The schedules by name, for :func:`make_schedule`.
SCHEDULES: dict[str, Callable[..., float]] = {
    "linear": linear_schedule,
    "exponential": exponential_schedule,
    "inverse_sigmoid": inverse_sigmoid_schedule,
}
_CHECKS = {"linear": lambda k=1.0, c=None, epsilon=0.0: _check_linear(k, c, epsilon),
           "exponential": lambda k=None: _check_exponential(k),
           "inverse_sigmoid": lambda k=None: _check_inverse_sigmoid(k)}


def make_schedule(name: str, **params: float) -> Callable[[int], float]:
    """The schedule ``name`` (``'linear'``, ``'exponential'``, ``'inverse_sigmoid'``) with its
    parameters fixed, as a plain function ``i -> epsilon_i``; the parameters are checked here.

    >>> schedule = rnnbook.make_schedule("exponential", k=0.9)
    >>> round(schedule(2), 12)                             # epsilon_2 = 0.9^2
    0.81
    """
    check_choice("schedule", name, tuple(SCHEDULES))
    try:
        _CHECKS[name](**params)
    except TypeError as err:
        if "unexpected keyword" in str(err):
            raise TypeError(f"unknown parameter for the {name} schedule: {err}") from None
        raise
    fn = SCHEDULES[name]
    return lambda i: fn(i, **params)


def scheduled_sampling_loss(model: NToM, src: Tensor, targets: Tensor, epsilon: float, *,
                            src_lengths: object = None, tgt_lengths: object = None,
                            generator: torch.Generator | None = None,
                            sample: bool = False) -> Tensor:
    r"""Cross entropy of ``model`` on one batch, its decoder fed by scheduled sampling.

    Step :math:`t` of sequence :math:`n` reads :math:`y_{t-1}` (the true previous token)
    if a coin :math:`u_{t,n} \sim U[0, 1)` falls below ``epsilon``, else the model's own
    previous prediction :math:`\hat y_{t-1} = \arg\max o_{t-1}` (or, with ``sample``, a
    draw from :math:`\mathrm{softmax}(o_{t-1})`); step 0 reads the start token. Coins
    and draws use ``generator``. ``targets`` (M, N) end with the end token;
    ``tgt_lengths`` (N,) mark the real steps. ``epsilon = 1`` gives the teacher-forced
    loss (:meth:`rnnbook.seq.decoding.NToM.loss`), to rounding.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = rnnbook.build_seq2seq(10, 6, hidden_size=8, embedding_dim=4, layer="gru",
    ...                               start_token=1, end_token=2)
    >>> src, targets = torch.randint(3, 10, (5, 2)), torch.randint(3, 6, (4, 2))
    >>> g = torch.Generator().manual_seed(0)
    >>> loss = rnnbook.scheduled_sampling_loss(model, src, targets, 1.0, generator=g)
    >>> torch.allclose(loss, model.loss(src, targets), atol=1e-6)   # epsilon = 1: teacher forcing
    True
    >>> loss = rnnbook.scheduled_sampling_loss(model, src, targets, 0.5, generator=g)
    >>> loss.shape
    torch.Size([])
    """
    epsilon = check_probability("epsilon", epsilon, allow_one=True)
    if not isinstance(model, NToM):
        raise TypeError(f"model must be an rnnbook.seq.decoding.NToM, got {type(model).__name__}")
    if not isinstance(targets, Tensor) or targets.dim() != 2:
        shape = tuple(targets.shape) if isinstance(targets, Tensor) else type(targets).__name__
        raise ValueError(f"targets must be a 2-D (M, N) tensor of token ids, got {shape}")
    steps, batch = targets.shape
    if tgt_lengths is not None:
        tgt_lengths = check_lengths(tgt_lengths, batch, steps)
    if generator is None:
        generator = torch.default_generator
    enc = model.encode(src, src_lengths)
    # u_{t,n} < eps: feed the truth
    coins = torch.rand((steps, batch), generator=generator) < epsilon
    coins = coins.to(targets.device)

    def next_tokens(t: int, scores: Tensor) -> Tensor:
        if sample:
            probs = torch.softmax(scores.detach(), -1).cpu().double()
            own = torch.multinomial(probs, 1, generator=generator)[:, 0].to(targets.device)
        else:
            own = scores.detach().argmax(-1)
        return torch.where(coins[t + 1], targets[t], own)

    first = torch.full((batch,), model.start_token, dtype=torch.long, device=targets.device)
    scores, _ = model.decoder.unroll(first, steps, model.bridge(enc.state), next_tokens=next_tokens,
                                     memory=enc.outputs, memory_mask=enc.mask)
    return masked_cross_entropy(scores, targets, tgt_lengths)
