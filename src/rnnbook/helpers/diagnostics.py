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
    ``GRU``, from rnnbook or torch; ``batch_first`` or not); ``x`` an unbatched sequence
    (L, H_in); ``h0`` (H,) (zeros when omitted). All H tangent directions travel through one batched forward pass.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> rnn = rnnbook.RNN(2, 3, dtype=torch.float64)
    >>> x = torch.randn(4, 2, dtype=torch.float64)         # one sequence (L, H_in)
    >>> J = rnnbook.state_jacobians(rnn, x)                # J[t] = dh_{t+1} / dh_0
    >>> tuple(J.shape)
    (4, 3, 3)
    >>> h1 = lambda h0: rnn(x[:1], h0[None])[0][0]         # h_1 as a function of h_0
    >>> h0 = torch.zeros(3, dtype=torch.float64)
    >>> torch.allclose(J[0], torch.autograd.functional.jacobian(h1, h0))
    True
    """
    x = check_tensor("x", x, ndims=(2,))
    if not isinstance(layer, nn.Module) or not hasattr(layer, "hidden_size"):
        raise TypeError(f"layer must be a recurrent layer (rnnbook.RNN, torch.nn.GRU, ...), got {type(layer).__name__}")
    H = layer.hidden_size
    if getattr(layer, "num_layers", 1) != 1 or getattr(layer, "bidirectional", False):
        raise ValueError(
            "layer must have one layer and one direction, got "
            f"num_layers={getattr(layer, 'num_layers', 1)}, bidirectional={getattr(layer, 'bidirectional', False)}"
        )
    if isinstance(layer, (nn.LSTM,)) or getattr(layer, "_state_names", ("hx",)) != ("hx",):
        raise ValueError(f"layer must carry its state in one tensor (RNN, GRU), got {type(layer).__name__}, "
                         "whose state is a tuple")
    if x.shape[0] == 0:
        raise ValueError(f"x must have at least one time step, got shape {tuple(x.shape)}")
    if h0 is None:
        h0 = x.new_zeros(H)
    else:
        h0 = check_tensor("h0", h0, ndims=(1,), dtype=x.dtype, device=x.device)
        if h0.shape != (H,):
            raise ValueError(f"h0 must have shape ({H},) = (hidden_size,), got {tuple(h0.shape)}")
    xs = x[:, None, :].expand(x.shape[0], H, x.shape[1])   # batch k carries tangent e_k
    if getattr(layer, "batch_first", False):
        xs = xs.transpose(0, 1)                             # (N, L, H_in), as the layer reads it
    with fwAD.dual_level():
        dual = fwAD.make_dual(h0.expand(H, H).clone()[None], torch.eye(H, dtype=x.dtype, device=x.device)[None])
        out, _ = layer(xs, dual)
        tangents = fwAD.unpack_dual(out).tangent        # (L, k, H): d h_t[i] / d h_0[k]
    if getattr(layer, "batch_first", False):
        tangents = tangents.transpose(0, 1)
    return tangents.transpose(1, 2).detach()


def jacobian_norms(layer: nn.Module, x: Tensor, h0: Tensor | None = None) -> list[float]:
    """Spectral norms ``||d h_t / d h_0||_2`` for t = 0 .. L (t = 0: the identity, norm 1).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> gru = rnnbook.GRU(2, 3)
    >>> norms = rnnbook.jacobian_norms(gru, torch.randn(6, 2))
    >>> len(norms), norms[0]                               # t = 0 .. L; ||dh_0/dh_0|| = 1
    (7, 1.0)
    """
    J = state_jacobians(layer, x, h0)
    return [1.0] + torch.linalg.matrix_norm(J, ord=2).tolist()
