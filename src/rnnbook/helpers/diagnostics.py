"""Measurements the chapters make on trained or untrained networks.

:func:`state_jacobians` gives, for every step ``t``, the Jacobian of the state ``h_t`` with
respect to the initial state ``h_0``, the product of one per-step Jacobian
``dh_t / dh_{t-1}`` per step that backpropagation through time multiplies gradients by.
Its norm tells how much of a gradient arriving at ``h_t`` survives the trip back to ``h_0``.
"""

from __future__ import annotations

import torch
import torch.autograd.forward_ad as fwAD
from torch import Tensor, nn

from rnnbook._validate import check_tensor

__all__ = ["state_jacobians", "jacobian_norms"]


def state_jacobians(layer: nn.Module, x: Tensor, h0: Tensor | None = None) -> Tensor:
    """``J[t] = d h_{t+1} / d h_0`` for ``t = 0 .. L-1``, shape (L, H, H), by forward-mode AD.

    ``layer`` is a one-layer, one-direction layer whose state is one tensor (``RNN``,
    ``GRU``, from rnnbook or torch); ``x`` an unbatched sequence (L, H_in); ``h0`` (H,)
    (zeros when omitted). All H tangent directions travel through one batched forward pass.
    """
    x = check_tensor("x", x, ndims=(2,))
    H = layer.hidden_size
    if getattr(layer, "num_layers", 1) != 1 or getattr(layer, "bidirectional", False):
        raise ValueError("layer must have one layer and one direction")
    h0 = x.new_zeros(H) if h0 is None else check_tensor("h0", h0, ndims=(1,))
    xs = x[:, None, :].expand(x.shape[0], H, x.shape[1])   # batch k carries tangent e_k
    with fwAD.dual_level():
        dual = fwAD.make_dual(h0.expand(H, H).clone()[None], torch.eye(H, dtype=x.dtype, device=x.device)[None])
        out, _ = layer(xs, dual)
        tangents = fwAD.unpack_dual(out).tangent        # (L, k, H): d h_t[i] / d h_0[k]
    return tangents.transpose(1, 2).detach()


def jacobian_norms(layer: nn.Module, x: Tensor, h0: Tensor | None = None) -> list[float]:
    """Spectral norms ``||d h_t / d h_0||_2`` for t = 0 .. L (t = 0: the identity, norm 1)."""
    J = state_jacobians(layer, x, h0)
    return [1.0] + torch.linalg.matrix_norm(J, ord=2).tolist()
