r"""Character-level language models on real text: build one with any layer, train it with
truncated BPTT, score it in bits per character, and sample from it.

A character language model is the N-to-N structure with the targets shifted by one:
:class:`rnnbook.seq.structures.NToN` reads characters through an embedding and a
recurrent layer, and scores the next character,

.. math::

    p(w_{t+1} \mid w_{\le t}) = \mathrm{softmax}(W_{ho} h_t + b_o)_{w_{t+1}},
    \qquad \text{bits per character} = -\frac{1}{n} \sum_t \log_2 p(w_{t+1} \mid w_{\le t}).

Training (:func:`rnnbook.helpers.lm.fit_lm`) walks the windows of a :class:`rnnbook.helpers.text.TBPTTBatches`
in order and carries each column's state from one window into the next, detached from
the graph (truncated BPTT): the model reads the text as one long stream, and gradients
flow back at most one window. Evaluation (:func:`rnnbook.helpers.lm.evaluate_bits`) reads a split the same
way, without gradients.

:data:`rnnbook.helpers.lm.LM_LAYERS` names every recurrent layer of the package that fits the N-to-N
structure, so one experiment can compare them all at one parameter count
(:func:`rnnbook.helpers.lm.hidden_size_for`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnbook._validate import check_choice, check_int
from rnnbook.helpers.data import CharVocab
from rnnbook.helpers.text import TBPTTBatches
from rnnbook.helpers.train import fit
from rnnbook.layers.gru import GRU
from rnnbook.layers.lstm import LSTM, PeepholeLSTM
from rnnbook.layers.rnn import RNN
from rnnbook.seq.padding import State, map_state
from rnnbook.seq.structures import NToN
from rnnbook.variants.clockwork import ClockworkRNN
from rnnbook.variants.mingru import MinGRU
from rnnbook.variants.qrnn import QRNN
from rnnbook.variants.sru import SRU

__all__ = ["LM_LAYERS", "make_lm_layer", "char_lm", "count_parameters", "hidden_size_for",
           "LMRun", "fit_lm", "evaluate_bits", "sample_text"]

#: Layer names :func:`rnnbook.helpers.lm.make_lm_layer` builds, with the package's class behind each.
LM_LAYERS = {
    "rnn": "rnnbook.layers.rnn.RNN (tanh)",
    "gru": "rnnbook.layers.gru.GRU",
    "lstm": "rnnbook.layers.lstm.LSTM",
    "peephole": "rnnbook.layers.lstm.PeepholeLSTM",
    "sru": "rnnbook.variants.sru.SRU (2018 form)",
    "qrnn": "rnnbook.variants.qrnn.QRNN (fo-pooling, window 2)",
    "mingru": "rnnbook.variants.mingru.MinGRU",
    "clockwork": "rnnbook.variants.clockwork.ClockworkRNN (4 modules, periods 1, 2, 4, 8)",
}


def make_lm_layer(name: str, input_size: int, hidden_size: int) -> nn.Module:
    """The recurrent layer ``name`` (a key of :data:`rnnbook.helpers.lm.LM_LAYERS`), one layer, float32.

    >>> from rnnbook.helpers.lm import make_lm_layer
    >>> make_lm_layer("qrnn", 8, 16)
    QRNN(8, 16, num_layers=1, window=2, pooling='fo')
    """
    check_choice("name", name, tuple(LM_LAYERS))
    check_int("input_size", input_size, minimum=1)
    check_int("hidden_size", hidden_size, minimum=1)
    if name == "clockwork":
        if hidden_size % 4:
            raise ValueError(f"hidden_size must be a multiple of 4 (the clockwork modules) for "
                             f"'clockwork', got {hidden_size}")
        return ClockworkRNN(input_size, hidden_size, num_modules=4)
    classes = {"rnn": RNN, "gru": GRU, "lstm": LSTM, "peephole": PeepholeLSTM, "sru": SRU,
               "mingru": MinGRU}
    if name == "qrnn":
        return QRNN(input_size, hidden_size, window=2, pooling="fo")
    return classes[name](input_size, hidden_size)


def char_lm(name: str, vocab_size: int, hidden_size: int, embedding_dim: int = 32) -> NToN:
    """A character language model: embedding (V, E), the layer ``name``, read-out (H, V).

    Shapes: ``model(tokens (L, N)) -> (scores (L, N, V), state)``.

    >>> import torch
    >>> from rnnbook.helpers.lm import char_lm, count_parameters
    >>> model = char_lm("gru", vocab_size=10, hidden_size=16, embedding_dim=4)
    >>> scores, state = model(torch.zeros(5, 2, dtype=torch.long))
    >>> tuple(scores.shape), count_parameters(model)
    ((5, 2, 10), 1266)
    """
    check_int("vocab_size", vocab_size, minimum=2)
    check_int("embedding_dim", embedding_dim, minimum=1)
    layer = make_lm_layer(name, embedding_dim, hidden_size)
    return NToN(layer, vocab_size, vocab_size=vocab_size, embedding_dim=embedding_dim)


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters of ``model`` (a Clockwork RNN's masked-out
    recurrent weights are counted too: they exist, but stay 0).

    >>> import torch
    >>> from rnnbook.helpers.lm import count_parameters
    >>> count_parameters(torch.nn.Linear(3, 2))                 # 3 * 2 weights + 2 biases
    8
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def hidden_size_for(name: str, parameters: int, vocab_size: int, embedding_dim: int = 32) -> int:
    """The hidden size that brings :func:`rnnbook.helpers.lm.char_lm` ``(name, vocab_size, H, embedding_dim)``
    closest to ``parameters`` trainable parameters (multiples of 4 for ``'clockwork'``).

    >>> from rnnbook.helpers.lm import hidden_size_for
    >>> hidden_size_for("rnn", 20_000, vocab_size=100, embedding_dim=32)
    79
    """
    check_choice("name", name, tuple(LM_LAYERS))
    check_int("parameters", parameters, minimum=1)
    step = 4 if name == "clockwork" else 1
    best, best_gap = step, math.inf
    for h in range(step, 2049, step):
        gap = abs(count_parameters(char_lm(name, vocab_size, h, embedding_dim)) - parameters)
        if gap < best_gap:
            best, best_gap = h, gap
        elif count_parameters(char_lm(name, vocab_size, h, embedding_dim)) > parameters:
            break
    return best


def _detach(state: State | None) -> State | None:
    return None if state is None else map_state(lambda s: s.detach(), state)


@torch.no_grad()
def evaluate_bits(model: NToN, ids: Tensor, batch_size: int = 16, steps: int = 256) -> float:
    """Bits per character of ``model`` on ``ids`` (1-D), read as :class:`rnnbook.helpers.text.TBPTTBatches`
    ``(ids, batch_size, steps)`` with the state carried from window to window: the mean
    of :math:`-\\log_2 p` over the ``(T - 1) N`` characters it predicts (each column's
    first character is only read).

    >>> import torch
    >>> from rnnbook.helpers.lm import char_lm, evaluate_bits
    >>> model = char_lm("rnn", vocab_size=4, hidden_size=8)
    >>> with torch.no_grad():
    ...     _ = model.head.weight.zero_(), model.head.bias.zero_()
    >>> round(evaluate_bits(model, torch.arange(40) % 4, batch_size=2, steps=5), 6)
    2.0
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module such as char_lm(...), got {type(model).__name__}")
    batches = TBPTTBatches(ids, batch_size, steps)
    was_training = model.training
    model.eval()
    state, total = None, 0.0
    for x, y in batches:
        scores, state = model(x, hx=state)
        total += F.cross_entropy(scores.reshape(-1, scores.shape[-1]), y.reshape(-1),
                                 reduction="sum").item()
    model.train(was_training)
    return total / batches.targets / math.log(2)


@dataclass
class LMRun:
    """What :func:`rnnbook.helpers.lm.fit_lm` returns: ``train_bits``, the training loss of every step in bits
    per character; ``valid``, ``(step, bits per character)`` after each evaluation;
    ``seconds``, the process (CPU) time spent in training steps, evaluations excluded;
    ``epochs``, the passes over the training windows.

    >>> from rnnbook.helpers.lm import LMRun
    >>> LMRun(train_bits=[3.0, 2.5], valid=[(2, 2.6)]).valid[-1]
    (2, 2.6)
    """

    train_bits: list[float] = field(default_factory=list)
    valid: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0
    epochs: float = 0.0


def fit_lm(model: NToN, batches: TBPTTBatches, steps: int, *, lr: float = 3e-3,
           clip: float | None = 1.0, valid: Tensor | None = None, every: int | None = None,
           weight_decay: float | None = None, progress: bool | None = None) -> LMRun:
    """Train a language model with truncated BPTT for ``steps`` windows of ``batches``.

    Windows are taken in order, ``i mod len(batches)``; the state is carried from window
    to window (detached) and reset to zeros at the start of every pass. Adam at ``lr``
    (AdamW with ``weight_decay``, as :func:`rnnbook.helpers.train.fit` does, which checks
    it), gradient norm clipped to ``clip``, by :func:`rnnbook.helpers.train.fit`. With
    ``valid`` (1-D ids) and ``every``, the model is scored by :func:`rnnbook.helpers.lm.evaluate_bits` on
    ``valid`` after every ``every`` steps and after the last.

    >>> import torch
    >>> from rnnbook.helpers.lm import char_lm, fit_lm
    >>> from rnnbook.helpers.text import TBPTTBatches
    >>> _ = torch.manual_seed(0)
    >>> model = char_lm("gru", vocab_size=3, hidden_size=8)
    >>> run = fit_lm(model, TBPTTBatches(torch.arange(90) % 3, batch_size=2, steps=5), 20,
    ...              lr=1e-2, progress=False)
    >>> len(run.train_bits), run.train_bits[-1] < run.train_bits[0]
    (20, True)
    """
    if not isinstance(batches, TBPTTBatches):
        raise TypeError(f"batches must be a TBPTTBatches, got {type(batches).__name__}")
    check_int("steps", steps, minimum=1)
    if (valid is None) != (every is None):
        raise ValueError("give both valid and every, or neither")
    if every is not None:
        check_int("every", every, minimum=1)
    run = LMRun()
    carried: list[State | None] = [None]
    started = [time.process_time()]

    def loss_fn(m: NToN, i: int) -> Tensor:
        if i % len(batches) == 0:
            carried[0] = None
        x, y = batches[i % len(batches)]
        scores, state = m(x, hx=carried[0])
        carried[0] = _detach(state)
        return F.cross_entropy(scores.reshape(-1, scores.shape[-1]), y.reshape(-1))

    def callback(i: int, loss: float) -> None:
        run.train_bits.append(loss / math.log(2))
        if valid is not None and ((i + 1) % every == 0 or i + 1 == steps):
            run.seconds += time.process_time() - started[0]
            run.valid.append((i + 1, evaluate_bits(model, valid)))
            model.train()
            started[0] = time.process_time()

    fit(model, lambda i: (i,), steps, lr=lr, clip=clip, loss_fn=loss_fn, progress=progress,
        callback=callback, weight_decay=weight_decay)
    run.seconds += time.process_time() - started[0]
    run.epochs = steps / len(batches)
    return run


@torch.no_grad()
def sample_text(model: NToN, vocab: CharVocab, prompt: str, length: int, temperature: float,
                generator: torch.Generator) -> str:
    r"""``length`` characters drawn from the model after reading ``prompt``: each from
    :math:`\mathrm{softmax}(o_t / \tau)`, ``temperature`` :math:`\tau > 0` (below 1 sharper,
    above 1 flatter), then fed back as the next input.

    >>> import torch
    >>> from rnnbook.helpers.lm import char_lm, sample_text
    >>> from rnnbook.helpers.data import CharVocab
    >>> model = char_lm("gru", vocab_size=3, hidden_size=4)
    >>> text = sample_text(model, CharVocab("abc"), "ab", 10, 1.0, torch.Generator().manual_seed(0))
    >>> len(text), set(text) <= set("abc")
    (10, True)
    """
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"vocab must be a CharVocab, got {type(vocab).__name__}")
    if not isinstance(prompt, str) or not prompt:
        raise ValueError(f"prompt must be a non-empty str, got {prompt!r}")
    check_int("length", length, minimum=1)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    was_training = model.training
    model.eval()
    scores, state = model(torch.tensor(vocab.encode(prompt))[:, None])
    out = []
    for _ in range(length):
        probs = torch.softmax(scores[-1, 0].double() / temperature, dim=-1)
        nxt = int(torch.multinomial(probs, 1, generator=generator))
        out.append(nxt)
        scores, state = model(torch.tensor([[nxt]]), hx=state)
    model.train(was_training)
    return vocab.decode(out)

