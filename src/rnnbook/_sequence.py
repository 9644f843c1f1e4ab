"""Input and state checks shared by the variant layers (Clockwork RNN, SRU, QRNN, minGRU, ...).

They follow the convention of :mod:`rnnbook.layers.base`: input ``(L, N, H_in)``,
``(N, L, H_in)`` with ``batch_first=True``, or unbatched ``(L, H_in)``; a state
``(rows, N, size)`` (``(rows, size)`` unbatched).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import Tensor

from rnnbook._validate import check_shape, check_tensor

__all__ = ["sequence_input", "initial_state", "restore_layout", "check_positive_ints"]


def sequence_input(name: str, input: object, input_size: int, dtype: torch.dtype,
                   batch_first: bool, device: torch.device | None = None) -> tuple[Tensor, bool]:
    """Validate a sequence; return it time-major ``(L, N, H_in)`` and whether it was batched."""
    x = check_tensor("input", input, ndims=(2, 3), dtype=dtype, device=device)
    if x.shape[-1] != input_size:
        raise ValueError(
            f"input must have {input_size} features (input_size) in its last dimension, "
            f"got shape {tuple(x.shape)}"
        )
    batched = x.dim() == 3
    if not batched:
        x = x.unsqueeze(1)
    elif batch_first:
        x = x.transpose(0, 1)
    if x.shape[0] == 0:
        raise ValueError(f"input must have at least one time step, got shape {tuple(input.shape)}")
    return x, batched


def initial_state(hx: object, x: Tensor, batched: bool, rows: int, size: int, name: str = "hx") -> Tensor:
    """Validate ``hx`` (or make zeros); return it as ``(rows, N, size)``."""
    batch = x.shape[1]
    if hx is None:
        return x.new_zeros(rows, batch, size)
    h = check_tensor(name, hx, ndims=(3 if batched else 2,), dtype=x.dtype, device=x.device)
    if batched:
        check_shape(name, h, (rows, batch, size), "(num_layers, batch, hidden_size)")
        return h
    check_shape(name, h, (rows, size), "(num_layers, hidden_size) for unbatched input")
    return h.unsqueeze(1)


def restore_layout(output: Tensor, state: Tensor, batched: bool, batch_first: bool) -> tuple[Tensor, Tensor]:
    """Undo :func:`sequence_input`'s layout change on the output ``(L, N, H)`` and state ``(rows, N, H)``."""
    if not batched:
        return output.squeeze(1), state.squeeze(1)
    return (output.transpose(0, 1) if batch_first else output), state


def check_positive_ints(name: str, values: object) -> tuple[int, ...]:
    """Return ``values`` as a tuple if it is a non-empty sequence of positive ints."""
    if not isinstance(values, Sequence) or isinstance(values, str) or len(values) == 0:
        raise TypeError(f"{name} must be a non-empty sequence of positive ints, got {values!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name} must contain only positive ints, got {list(values)!r}")
    return tuple(int(v) for v in values)
