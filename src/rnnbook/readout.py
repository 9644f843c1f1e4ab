"""A linear read-out on top of a recurrent layer: the output layer ``o_t = W_ho h_t + b_o``.

The chapters put one on every layer they train, so that ``Readout(rnnbook.LSTM(...), ...)``,
``Readout(rnnbook.GRU(...), ...)`` and ``Readout(rnnbook.RNN(...), ...)`` differ only in the
recurrence.
"""

from __future__ import annotations

from torch import Tensor, nn

from ._validate import check_bool, check_int

__all__ = ["Readout"]


class Readout(nn.Module):
    """``linear(layer(x)[0])``: scores at every step, or only at the last with ``last_only``.

    Args:
        layer: a module whose ``forward(x)`` returns ``(output, state)`` with output
            (L, N, features) (time-major).
        features: the last dimension of the layer's output (``D * hidden_size``).
        output_size: the number of scores per step.
        last_only: return (N, output_size) from the last step instead of (L, N, output_size).
    """

    def __init__(self, layer: nn.Module, features: int, output_size: int, last_only: bool = False) -> None:
        super().__init__()
        if not isinstance(layer, nn.Module):
            raise TypeError(f"layer must be a torch.nn.Module, got {type(layer).__name__}")
        if getattr(layer, "batch_first", False):
            raise ValueError("layer must be time-major (batch_first=False), got batch_first=True")
        check_int("features", features, minimum=1)
        check_int("output_size", output_size, minimum=1)
        self.last_only = check_bool("last_only", last_only)
        self.layer = layer
        p = next(layer.parameters())
        self.linear = nn.Linear(features, output_size, device=p.device, dtype=p.dtype)

    def forward(self, x: Tensor) -> Tensor:
        out = self.layer(x)[0]
        if out.shape[-1] != self.linear.in_features:
            raise ValueError(
                f"the layer's output must have {self.linear.in_features} features (features), "
                f"got shape {tuple(out.shape)}"
            )
        return self.linear(out[-1] if self.last_only else out)
