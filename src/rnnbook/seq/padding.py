"""Padding, masks and states: running any recurrent layer on a batch of different lengths.

Sequences of different lengths ("问题2：输入序列间的长度差异") are padded to the longest and
passed time-major, ``(L, N)`` or ``(L, N, H_in)``, with ``lengths`` ``(N,)``; what the padding
steps hold is never used. :func:`rnnbook.layers.packing.length_mask` marks the real steps
(it and :func:`rnnbook.layers.packing.check_lengths` are importable from here too),
:func:`run_layer` runs any layer so that each sequence's final state is its state at its own
last step, and the state helpers treat a tensor and LSTM's ``(h, c)`` alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Union

import inspect

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnbook._validate import check_int
from rnnbook.layers.packing import check_lengths, length_mask, mask_padding

__all__ = ["IGNORE_INDEX", "one_hot", "pad_sequences", "check_tokens",
           "map_state", "select_state", "run_layer", "shift_right"]

# A recurrent layer's state, one tensor or a tuple of them (LSTM's ``(h, c)``).
State = Union[Tensor, tuple[Tensor, ...]]

#: The target id that losses skip (torch's ``ignore_index`` default).
IGNORE_INDEX = -100


# -- checks ----------------------------------------------------------------------------------
def check_tokens(name: str, tokens: object, vocab_size: int, mask: Tensor | None = None) -> Tensor:
    """Validate integer token ids in ``[0, vocab_size - 1]`` (only where ``mask`` is True).

    >>> import torch
    >>> tokens = torch.tensor([[2, 0], [1, 7]])            # (L, N); the 7 is padding
    >>> mask = torch.tensor([[True, True], [True, False]])
    >>> rnnbook.check_tokens("tokens", tokens, vocab_size=3, mask=mask) is tokens
    True
    >>> try:
    ...     rnnbook.check_tokens("tokens", tokens, vocab_size=3)
    ... except ValueError as err:
    ...     print(err)
    tokens must be token ids in [0, 2] (vocab_size=3), got values in [0, 7]
    """
    if not isinstance(tokens, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of token ids, got {type(tokens).__name__}")
    if tokens.is_floating_point() or tokens.is_complex() or tokens.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor of token ids, got dtype {tokens.dtype}")
    real = tokens if mask is None else tokens[mask]
    if real.numel() and (real.min() < 0 or real.max() >= vocab_size):
        raise ValueError(
            f"{name} must be token ids in [0, {vocab_size - 1}] (vocab_size={vocab_size}), "
            f"got values in [{int(real.min())}, {int(real.max())}]"
        )
    return tokens


def _check_temperature(temperature: object) -> float | None:
    if temperature is None:
        return None
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(
            f"temperature must be a positive number or None (greedy), got {temperature!r} "
            f"of type {type(temperature).__name__}"
        )
    if not temperature > 0:
        raise ValueError(
            "temperature must be > 0 (softmax(o / T) is undefined at T <= 0; use "
            f"temperature=None for greedy decoding, the limit T -> 0), got {temperature}"
        )
    return float(temperature)


# -- running a layer on a padded batch ---------------------------------------------------
def map_state(fn: Callable[[Tensor], Tensor], state: State) -> State:
    """Apply ``fn`` to a state: to the tensor, or to each tensor of a tuple (LSTM's (h, c)).

    >>> import torch
    >>> h, c = torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)
    >>> [tuple(s.shape) for s in rnnbook.map_state(lambda s: s[:, :1], (h, c))]   # LSTM's (h, c)
    [(1, 1, 4), (1, 1, 4)]
    >>> tuple(rnnbook.map_state(lambda s: s[:, :1], h).shape)                     # one tensor
    (1, 1, 4)
    """
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


def select_state(state: State, index: Tensor) -> State:
    """Pick sequences of a batched state ``(rows, N, H)`` by ``index`` along the batch
    dimension (e.g. to reorder beams in beam search).

    >>> import torch
    >>> h = torch.arange(3.0).view(1, 3, 1)                # (rows, N, H)
    >>> rnnbook.select_state(h, torch.tensor([2, 2, 0])).flatten().tolist()
    [2.0, 2.0, 0.0]
    """
    return map_state(lambda s: s.index_select(1, index), state)


def _hidden(state: State) -> Tensor:
    """The hidden-state tensor ``h_n`` of a state (the first of LSTM's ``(h, c)``)."""
    return state[0] if isinstance(state, tuple) else state


def _call(layer: nn.Module, x: Tensor, hx: State | None) -> tuple[Tensor, State]:
    """Run ``layer`` on time-major ``x``, whatever its ``batch_first``."""
    if getattr(layer, "batch_first", False):
        out, state = layer(x.transpose(0, 1), hx)
        return out.transpose(0, 1), state
    return layer(x, hx)


def _directions(layer: nn.Module) -> int:
    return 2 if getattr(layer, "bidirectional", False) else 1


def _out_size(layer: nn.Module) -> int:
    """Features of the layer's hidden state ``h_t`` (``proj_size`` for a projected LSTM)."""
    return getattr(layer, "proj_size", 0) or layer.hidden_size


def _takes_lengths(layer: nn.Module) -> bool:
    """Whether ``layer.forward`` has a ``lengths`` argument (every rnnbook layer)."""
    try:
        return "lengths" in inspect.signature(layer.forward).parameters
    except (TypeError, ValueError):
        return False


def run_layer(
    layer: nn.Module, x: Tensor, lengths: Tensor | None = None, hx: State | None = None,
    need_state: bool = True,
) -> tuple[Tensor, State | None]:
    """Run a recurrent ``layer`` over a padded, time-major batch ``x`` (L, N, H_in).

    Returns ``output`` (L, N, D*H) with zeros at padded steps, and the final state
    taken at each sequence's own last step: what running each sequence alone gives.
    An rnnbook layer gets ``lengths=`` (:mod:`rnnbook.layers.packing`); any other
    bidirectional layer (``torch.nn.LSTM``, ...) gets a ``PackedSequence``, as torch's layers
    take it, so both directions read each sequence within its length. Any other
    unidirectional layer, which carries nothing but its state from step to step, is called
    once per stretch between distinct lengths, each sequence's state frozen once it has ended.

    With ``need_state=False`` (a unidirectional layer whose final state is not needed) the
    layer is called once on the padded batch, padded steps set to zero first, and the state
    returned is None: a unidirectional layer's output at step ``t`` depends only on steps
    ``<= t``, so the outputs at real steps are what running each sequence alone gives.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> gru = rnnbook.GRU(3, 4)
    >>> x = torch.randn(5, 2, 3)                           # (L, N, H_in), padded to L = 5
    >>> out, h_n = rnnbook.run_layer(gru, x, lengths=torch.tensor([5, 2]))
    >>> tuple(out.shape), bool((out[2:, 1] == 0).all())    # zeros at padded steps
    ((5, 2, 4), True)
    >>> alone = gru(x[:2, 1:])[1]                          # sequence 1 run alone, its 2 steps
    >>> torch.allclose(h_n[:, 1], alone[:, 0], atol=1e-6)
    True
    """
    steps = x.shape[0]
    if lengths is None or bool((lengths == steps).all()):
        return _call(layer, x, hx)
    if not need_state and _directions(layer) == 1:
        output, _ = _call(layer, mask_padding(x, lengths), hx)
        return mask_padding(output, lengths), None
    if _takes_lengths(layer):
        if getattr(layer, "batch_first", False):
            out, state = layer(x.transpose(0, 1), hx, lengths=lengths)
            return out.transpose(0, 1), state
        return layer(x, hx, lengths=lengths)
    if _directions(layer) == 2:
        out, state = layer(pack_padded_sequence(x, lengths, enforce_sorted=False), hx)
        return pad_packed_sequence(out, total_length=steps)[0], state
    # a unidirectional torch layer carries nothing but its state from step to step, so the
    # stretches between distinct lengths, each sequence's state frozen once it has ended, give
    # exactly what it gives alone (and the very numbers the book's trained chapters were run with)
    x = mask_padding(x, lengths)                # whatever the padding held reaches no gradient
    outs, state, start = [], hx, 0
    for stop in sorted(set(lengths.tolist())):
        out, new = _call(layer, x[start:stop], state)
        if state is None:
            state = map_state(torch.zeros_like, new)
        # sequences still running at `stop` take the new state; those that ended keep theirs
        active = (lengths >= stop).to(x.device).view(1, -1, 1)
        state = (tuple(torch.where(active, n, o) for n, o in zip(new, state, strict=True))
                 if isinstance(new, tuple) else torch.where(active, new, state))
        outs.append(out)
        start = stop
    output = torch.cat(outs + [outs[-1].new_zeros(steps - start, *outs[-1].shape[1:])])
    return mask_padding(output, lengths), state


def shift_right(targets: Tensor, start_token: int) -> Tensor:
    """Decoder inputs for teacher forcing: ``[start, y_1, ..., y_{M-1}]`` from targets (M, N).

    >>> import torch
    >>> targets = torch.tensor([[5, 6], [7, 8], [2, 2]])   # (M, N), ending with END = 2
    >>> rnnbook.shift_right(targets, start_token=1).T.tolist()
    [[1, 5, 7], [1, 6, 8]]
    """
    start = torch.full_like(targets[:1], start_token)
    return torch.cat([start, targets[:-1]])


def one_hot(indices: Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """One-hot vectors: ``(...,)`` integer indices to ``(..., num_classes)`` floats.

    >>> import torch
    >>> rnnbook.one_hot(torch.tensor([[0, 2]]), 3)         # (L, N) ids -> (L, N, V)
    tensor([[[1., 0., 0.],
             [0., 0., 1.]]])
    """
    if not isinstance(indices, Tensor):
        raise TypeError(f"indices must be a torch.Tensor, got {type(indices).__name__}")
    if indices.is_floating_point() or indices.is_complex() or indices.dtype == torch.bool:
        raise TypeError(f"indices must be an integer tensor, got dtype {indices.dtype}")
    check_int("num_classes", num_classes, minimum=1)
    if indices.numel() and (indices.min() < 0 or indices.max() >= num_classes):
        raise ValueError(
            f"indices must lie in [0, {num_classes - 1}] for num_classes={num_classes}, "
            f"got values in [{int(indices.min())}, {int(indices.max())}]"
        )
    return torch.nn.functional.one_hot(indices.long(), num_classes).to(dtype)


def pad_sequences(sequences: list[list[int]], pad: int = 0) -> tuple[Tensor, Tensor]:
    """Token-id sequences of different lengths to a time-major (L, N) tensor padded with
    ``pad`` to the longest, and their lengths (N,).

    >>> tokens, lengths = rnnbook.pad_sequences([[4, 5, 6], [7]], pad=0)
    >>> tokens.tolist(), lengths.tolist()                  # time-major (L, N)
    ([[4, 7], [5, 0], [6, 0]], [3, 1])
    """
    if not isinstance(sequences, (list, tuple)) or not all(isinstance(s, (list, tuple)) for s in sequences):
        raise TypeError(f"sequences must be a list of lists of token ids, got {type(sequences).__name__}")
    if not sequences or any(len(s) == 0 for s in sequences):
        raise ValueError("sequences must be a non-empty list of non-empty sequences, got lengths "
                         f"{[len(s) for s in sequences]}")
    for s in sequences:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in s):
            raise TypeError(f"sequences must hold int token ids, got {list(s)!r}")
    check_int("pad", pad)
    lengths = torch.tensor([len(s) for s in sequences])
    out = torch.full((int(lengths.max()), len(sequences)), pad, dtype=torch.long)
    for n, s in enumerate(sequences):
        out[: len(s), n] = torch.tensor(s, dtype=torch.long)
    return out, lengths
