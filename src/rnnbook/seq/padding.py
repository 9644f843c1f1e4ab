"""Padding, masks and states: running any recurrent layer on a batch of different lengths.

Sequences of different lengths ("问题2：输入序列间的长度差异") are padded to the longest and
passed time-major, ``(L, N)`` or ``(L, N, H_in)``, with ``lengths`` ``(N,)``; what the padding
steps hold is never used. :func:`length_mask` marks the real steps, :func:`run_layer` runs a
layer so that each sequence's final state is its state at its own last step, and the state
helpers treat a tensor and LSTM's ``(h, c)`` alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Union

import torch
from torch import Tensor, nn

from rnnbook._validate import check_int

__all__ = ["IGNORE_INDEX", "State", "one_hot", "pad_sequences", "check_lengths", "length_mask", "check_tokens",
           "map_state", "select_state", "run_layer", "shift_right"]

#: A recurrent layer's state: one tensor, or a tuple of them (LSTM's ``(h, c)``).
State = Union[Tensor, tuple[Tensor, ...]]

#: The target id that losses skip (torch's ``ignore_index`` default).
IGNORE_INDEX = -100


# -- checks ----------------------------------------------------------------------------------
def check_lengths(lengths: object, batch: int, steps: int) -> Tensor:
    """Validate ``lengths`` (a 1-D integer tensor or a sequence of ints, one per sequence,
    each in ``[1, steps]``); return it as a CPU ``int64`` tensor."""
    if isinstance(lengths, Tensor):
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise TypeError(f"lengths must be an integer tensor, got dtype {lengths.dtype}")
        if lengths.dim() != 1:
            raise ValueError(
                f"lengths must be 1-D (one length per sequence), got shape {tuple(lengths.shape)}"
            )
        values = lengths.detach().cpu().long()
    elif isinstance(lengths, Sequence) and not isinstance(lengths, str):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in lengths):
            raise TypeError(f"lengths must be a sequence of ints, got {list(lengths)!r}")
        values = torch.tensor(list(lengths), dtype=torch.long)
    else:
        raise TypeError(
            f"lengths must be a 1-D integer tensor or a sequence of ints, got {type(lengths).__name__}"
        )
    if values.shape != (batch,):
        raise ValueError(
            f"lengths must hold one length per sequence: shape ({batch},), got {tuple(values.shape)}"
        )
    if values.numel() and values.min() < 1:
        n = int(values.argmin())
        raise ValueError(
            f"lengths must be >= 1 (every sequence has at least one step), "
            f"got {int(values[n])} for sequence {n}"
        )
    if values.numel() and values.max() > steps:
        n = int(values.argmax())
        raise ValueError(
            f"lengths must be <= {steps} (the number of time steps in the padded input), "
            f"got {int(values[n])} for sequence {n}"
        )
    return values


def length_mask(lengths: Tensor, steps: int, device: torch.device | None = None) -> Tensor:
    """``mask[t, n] = t < lengths[n]``: True at real steps, False at padding; shape (steps, N)."""
    t = torch.arange(steps, device=device).unsqueeze(1)
    return t < lengths.to(device).unsqueeze(0)


def check_tokens(name: str, tokens: object, vocab_size: int, mask: Tensor | None = None) -> Tensor:
    """Validate integer token ids in ``[0, vocab_size - 1]`` (only where ``mask`` is True)."""
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
    """Apply ``fn`` to a state: to the tensor, or to each tensor of a tuple (LSTM's (h, c))."""
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


def select_state(state: State, index: Tensor) -> State:
    """Pick sequences of a batched state ``(rows, N, H)`` by ``index`` along the batch
    dimension (e.g. to reorder beams in beam search)."""
    return map_state(lambda s: s.index_select(1, index), state)


def _zip_state(fn: Callable[[Tensor, Tensor], Tensor], a: State, b: State) -> State:
    if isinstance(a, tuple):
        return tuple(fn(u, v) for u, v in zip(a, b, strict=True))
    return fn(a, b)


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


def run_layer(
    layer: nn.Module, x: Tensor, lengths: Tensor | None = None, hx: State | None = None,
    need_state: bool = True,
) -> tuple[Tensor, State | None]:
    """Run a recurrent ``layer`` over a padded, time-major batch ``x`` (L, N, H_in).

    Returns ``output`` (L, N, D*H) with zeros at padded steps, and the final state
    taken at each sequence's own last step. The layer is called once per stretch
    ``[a, b)`` between consecutive distinct lengths; after each stretch, a sequence
    that has ended keeps its old state:

    .. math:: s^{(n)} \\leftarrow s^{(n)}_{\\text{new}} \\text{ if } \\ell_n \\ge b
              \\text{ else } s^{(n)}

    A unidirectional layer's output at step ``t`` depends only on steps ``<= t``, so
    the outputs before each sequence's end are what running it alone gives. With
    ``need_state=False`` the layer is called once and the state returned is None (the
    outputs are the same; only the final state needs the stretches).
    """
    steps = x.shape[0]
    if lengths is None or bool((lengths == steps).all()):
        return _call(layer, x, hx)
    if _directions(layer) == 2:
        raise ValueError(
            "a bidirectional layer cannot take a padded batch here: its backward direction "
            "would start in the padding; pass sequences of equal length (no padding) or use "
            "a unidirectional layer"
        )
    mask = length_mask(lengths, steps, x.device).unsqueeze(-1)
    if not need_state:
        output, _ = _call(layer, x, hx)
        return output.masked_fill(~mask, 0.0), None
    bounds = sorted(set(lengths.tolist()))
    if bounds[-1] != steps:
        bounds.append(steps)  # every sequence is shorter than the padded input: run the rest too
    outs, state, start = [], hx, 0
    for stop in bounds:
        out, new = _call(layer, x[start:stop], state)
        if state is None:
            state = map_state(torch.zeros_like, new)
        # sequences still running at `stop` take the new state; those that ended keep theirs
        active = (lengths >= stop).to(x.device).view(1, -1, 1)
        state = _zip_state(lambda n, o: torch.where(active, n, o), new, state)
        outs.append(out)
        start = stop
    output = torch.cat(outs)
    return output.masked_fill(~mask, 0.0), state



def shift_right(targets: Tensor, start_token: int) -> Tensor:
    """Decoder inputs for teacher forcing: ``[start, y_1, ..., y_{M-1}]`` from targets (M, N)."""
    start = torch.full_like(targets[:1], start_token)
    return torch.cat([start, targets[:-1]])


def one_hot(indices: Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """One-hot vectors: ``(...,)`` integer indices to ``(..., num_classes)`` floats."""
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
    ``pad`` to the longest, and their lengths (N,)."""
    if not sequences or any(len(s) == 0 for s in sequences):
        raise ValueError("sequences must be a non-empty list of non-empty sequences")
    lengths = torch.tensor([len(s) for s in sequences])
    out = torch.full((int(lengths.max()), len(sequences)), pad, dtype=torch.long)
    for n, s in enumerate(sequences):
        out[: len(s), n] = torch.tensor(s, dtype=torch.long)
    return out, lengths
