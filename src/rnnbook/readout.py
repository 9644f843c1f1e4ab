"""A recurrent layer followed by a linear read-out at every step: ``o_t = W_ho h_t + b_o``."""

from __future__ import annotations

from torch import Tensor, nn

from ._validate import check_int

__all__ = ["Readout"]


class Readout(nn.Module):
    """``Readout(layer, output_size)``: run ``layer`` (any ``forward(input) -> (output, h_n)``
    layer) and map its output at every step through ``nn.Linear(layer_out, output_size)``.

    ``forward(input)`` returns the per-step outputs ``(L, N, output_size)`` (or the layer's
    own layout). ``layer_out`` is ``layer.hidden_size`` unless given.
    """

    def __init__(self, layer: nn.Module, output_size: int, layer_out: int | None = None) -> None:
        super().__init__()
        if not isinstance(layer, nn.Module):
            raise TypeError(f"layer must be a torch.nn.Module, got {type(layer).__name__}")
        check_int("output_size", output_size, minimum=1)
        size = layer_out if layer_out is not None else getattr(layer, "hidden_size", None)
        if size is None:
            raise ValueError("layer has no hidden_size attribute; pass layer_out")
        check_int("layer_out", size, minimum=1)
        self.layer = layer
        p = next(layer.parameters())
        self.head = nn.Linear(size, output_size, device=p.device, dtype=p.dtype)

    def forward(self, input: Tensor) -> Tensor:
        output, _ = self.layer(input)
        return self.head(output)
