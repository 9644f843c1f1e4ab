"""Checks at the door: every public function validates its arguments here.

Each check raises ``TypeError`` (wrong kind of thing) or ``ValueError`` (right
kind, wrong value or shape) with a message that names the argument, what was
expected and what was given. Nothing is silently broadcast or guessed.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch

__all__ = [
    "check_bool",
    "check_choice",
    "check_int",
    "check_probability",
    "check_tensor",
    "check_shape",
]


def _type_name(value: object) -> str:
    return type(value).__name__


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is a ``bool``; raise ``TypeError`` otherwise."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r} of type {_type_name(value)}")
    return value


def check_int(name: str, value: object, minimum: int | None = None) -> int:
    """Return ``value`` if it is an int (not a bool) and ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} of type {_type_name(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_probability(name: str, value: object, *, allow_one: bool = False) -> float:
    """Return ``value`` as a float if it lies in [0, 1) (or [0, 1] with ``allow_one``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {_type_name(value)}")
    upper_ok = value <= 1 if allow_one else value < 1
    if not (value >= 0 and upper_ok):
        interval = "[0, 1]" if allow_one else "[0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return float(value)


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``."""
    if value not in choices:
        expected = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {expected}; got {value!r}")
    return value  # type: ignore[return-value]


def check_tensor(
    name: str,
    value: object,
    *,
    ndims: Sequence[int],
    dtype: torch.dtype | None = None,
    floating: bool = True,
    device: torch.device | None = None,
    dtype_of: str = "the parameters",
) -> torch.Tensor:
    """Check that ``value`` is a tensor with one of ``ndims`` dimensions.

    With ``floating`` the tensor must have a floating dtype; with ``dtype`` it
    must have exactly that dtype (the dtype of the parameters it meets); with ``device``
    it must be on that device (where the parameters or the input are).
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_type_name(value)}")
    if device is not None and value.device != device:
        raise ValueError(
            f"{name} must be on device {device} (where the tensors it meets are), got a tensor on "
            f"{value.device}; move one of them (e.g. {name}.to({str(device)!r}))"
        )
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if dtype is not None and value.dtype != dtype:
        raise TypeError(
            f"{name} has dtype {value.dtype} but {dtype_of} {'have' if dtype_of.startswith('the ') else 'has'} dtype {dtype}; "
            f"convert one of them (e.g. module.to({dtype}) or {name}.to({dtype}))"
        )
    if value.dim() not in ndims:
        allowed = " or ".join(f"{n}-D" for n in ndims)
        raise ValueError(
            f"{name} must be {allowed}, got a {value.dim()}-D tensor of shape {tuple(value.shape)}"
        )
    return value


def check_shape(name: str, value: torch.Tensor, expected: Sequence[int], meaning: str = "") -> None:
    """Raise ``ValueError`` unless ``value.shape == expected``.

    ``meaning`` spells out the expected shape in words, e.g.
    ``"(num_layers * num_directions, batch, hidden_size)"``.
    """
    if tuple(value.shape) != tuple(expected):
        spelled = f" = {meaning}" if meaning else ""
        raise ValueError(f"{name} must have shape {tuple(expected)}{spelled}, got {tuple(value.shape)}")
