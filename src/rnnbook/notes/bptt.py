r"""Backpropagation through time, by hand, in NumPy: the notes' Elman network and its gradients.

Parameters are a dict keyed by the notes' names, shapes as in the notes' table
(:math:`W_{xh}: m\times l`, :math:`W_{hh}: m\times m`, :math:`W_{ho}: q\times m`,
:math:`b_h: m`, :math:`b_o: q`), float64. Inputs are time-major like every rnnbook
layer: ``x`` is ``(T, N, l)`` (or unbatched ``(T, l)``), ``targets`` holds class indices,
``(T, N)`` (or ``(T,)``). The equations are the notes', with column vectors:

.. math::

    a_t = W_{xh} x_t + W_{hh} h_{t-1} + b_h,\quad h_t = \tanh(a_t),\quad
    z_t = W_{ho} h_t + b_o,\quad o_t = \operatorname{softmax}(z_t)

    L = -\frac{1}{T}\sum_{t=1}^{T} \log o_t(y_t)
    \quad\text{(averaged over the N sequences of a batch as well)}

and the backward pass (:math:`D_t = \operatorname{diag}(1 - h_t \odot h_t)`,
:math:`\delta_t = \partial L/\partial h_t`, :math:`\hat o_t` the one-hot target):

.. math::

    \delta o_t = (o_t - \hat o_t)/T, \qquad
    \delta_t = W_{ho}^T \delta o_t + W_{hh}^T D_{t+1} \delta_{t+1}, \quad \delta_{T+1} = 0

    \frac{\partial L}{\partial W_{ho}} = \sum_t \delta o_t h_t^T,\;
    \frac{\partial L}{\partial b_o} = \sum_t \delta o_t,\;
    \frac{\partial L}{\partial W_{hh}} = \sum_t D_t\delta_t h_{t-1}^T,\;
    \frac{\partial L}{\partial W_{xh}} = \sum_t D_t\delta_t x_t^T,\;
    \frac{\partial L}{\partial b_h} = \sum_t D_t\delta_t.

In code the batch is a stack of row vectors, so :math:`W v` is written ``v @ W.T``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rnnbook._validate import check_int

__all__ = [
    "PARAM_NAMES",
    "GradientCheckError",
    "Cache",
    "init_params",
    "forward",
    "loss",
    "backward",
    "hidden_gradients",
    "last_loss_hidden_gradients",
    "autograd_gradients",
    "numerical_gradient",
    "relative_error",
    "gradient_check",
    "clip_by_norm",
    "global_norm",
    "spectral_radius",
    "scale_to_spectral_radius",
    "growth_rate",
]

#: The notes' five trainable parameters, in the order the notes list their gradients.
PARAM_NAMES = ("W_xh", "W_hh", "W_ho", "b_h", "b_o")


class GradientCheckError(AssertionError):
    """Raised by :func:`gradient_check` when an analytic gradient disagrees with the
    central differences of the function.

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> params = {"w": np.array([1.0, 2.0])}
    >>> f = lambda p: float((p["w"] ** 2).sum())          # gradient 2 w
    >>> try:
    ...     bptt.gradient_check(f, params, {"w": np.array([2.0, 0.0])})
    ... except bptt.GradientCheckError as err:
    ...     print(err)
    gradient check failed: relative error of 'w' is 8.944e-01 > tol = 1.0e-07
    """


# ----------------------------------------------------------------------------- checks

def _check_array(name: str, value: object, ndims: tuple[int, ...]) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if value.ndim not in ndims:
        allowed = " or ".join(f"{n}-D" for n in ndims)
        raise ValueError(f"{name} must be {allowed}, got a {value.ndim}-D array of shape {value.shape}")
    return value


def _check_float64(name: str, value: np.ndarray) -> None:
    if value.dtype != np.float64:
        raise TypeError(f"{name} must have dtype float64, got {value.dtype}")


def _check_params(params: object) -> tuple[int, int, int]:
    """Return ``(l, m, q)`` after checking names, dtypes and shapes of ``params``."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict keyed {PARAM_NAMES}, got {type(params).__name__}")
    if set(params) != set(PARAM_NAMES):
        raise ValueError(f"params must have exactly the keys {sorted(PARAM_NAMES)}, got {sorted(params)}")
    for name in PARAM_NAMES:
        _check_array(f"params['{name}']", params[name], (1, 2) if name.startswith("b") else (2,))
        _check_float64(f"params['{name}']", params[name])
    m, l = params["W_xh"].shape
    q = params["W_ho"].shape[0]
    expected = {"W_hh": ((m, m), "(m, m)"), "W_ho": ((q, m), "(q, m)"), "b_h": ((m,), "(m,)"), "b_o": ((q,), "(q,)")}
    for name, (shape, meaning) in expected.items():
        if params[name].shape != shape:
            raise ValueError(
                f"params['{name}'] must have shape {shape} = {meaning} (m = {m} from W_xh, q = {q} "
                f"from W_ho), got {params[name].shape}"
            )
    return l, m, q


def _check_inputs(params, x, targets=None, h0=None):
    """Checked, batched views: x (T, N, l), targets (T, N) or None, h0 (N, m)."""
    l, m, q = _check_params(params)
    x = _check_array("x", x, (2, 3))
    _check_float64("x", x)
    if x.shape[0] < 1:
        raise ValueError(f"x must have at least one time step, got shape {x.shape}")
    if x.shape[-1] != l:
        raise ValueError(f"x must have {l} features (l, from W_xh) in its last dimension, got shape {x.shape}")
    batched = x.ndim == 3
    xb = x if batched else x[:, None, :]
    T, N = xb.shape[:2]
    yb = None
    if targets is not None:
        targets = _check_array("targets", targets, (2,) if batched else (1,))
        if not np.issubdtype(targets.dtype, np.integer):
            raise TypeError(f"targets must hold integer class indices, got dtype {targets.dtype}")
        if targets.shape != xb.shape[: 1 + batched]:
            raise ValueError(
                f"targets must have shape {x.shape[:-1]} (x's shape without the feature dimension), "
                f"got {targets.shape}"
            )
        bad = (targets < 0) | (targets >= q)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"targets must lie in [0, q) = [0, {q}), got {targets[where]} at index {where}"
            )
        yb = targets if batched else targets[:, None]
    if h0 is None:
        h0b = np.zeros((N, m))
    else:
        h0 = _check_array("h0", h0, (2,) if batched else (1,))
        _check_float64("h0", h0)
        expected = (N, m) if batched else (m,)
        if h0.shape != expected:
            raise ValueError(f"h0 must have shape {expected} = {'(N, m)' if batched else '(m,)'}, got {h0.shape}")
        h0b = h0 if batched else h0[None, :]
    return xb, yb, h0b, batched


# ----------------------------------------------------------------------------- network

@dataclass
class Cache:
    """What the forward pass keeps for the backward pass, batched and time-major:
    ``x`` (T, N, l), ``h`` (T+1, N, m) with ``h[0] = h_0``, ``z`` and ``o`` (T, N, q).

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> params = bptt.init_params(3, 4, 2, rng=np.random.default_rng(0))   # l, m, q
    >>> cache = bptt.forward(params, np.zeros((5, 3)))     # x: (T, l), unbatched
    >>> cache.x.shape, cache.h.shape, cache.z.shape, cache.o.shape
    ((5, 1, 3), (6, 1, 4), (5, 1, 2), (5, 1, 2))
    """

    x: np.ndarray
    h: np.ndarray
    z: np.ndarray
    o: np.ndarray


def init_params(l: int, m: int, q: int, *, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Parameters drawn from U(±1/sqrt(m)), the bounds of :class:`rnnbook.notes.elman.ElmanNetwork`.

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> params = bptt.init_params(3, 4, 2, rng=np.random.default_rng(0))   # l, m, q
    >>> {name: p.shape for name, p in params.items()}
    {'W_xh': (4, 3), 'W_hh': (4, 4), 'W_ho': (2, 4), 'b_h': (4,), 'b_o': (2,)}
    >>> all(np.abs(p).max() <= 1 / np.sqrt(4) for p in params.values())
    True
    """
    for name, v in (("l", l), ("m", m), ("q", q)):
        check_int(name, v, minimum=1)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    bound = 1.0 / np.sqrt(m)
    shapes = {"W_xh": (m, l), "W_hh": (m, m), "W_ho": (q, m), "b_h": (m,), "b_o": (q,)}
    return {name: rng.uniform(-bound, bound, size=shape) for name, shape in shapes.items()}


def _forward(params, xb, h0b) -> Cache:
    T, N, _ = xb.shape
    m = params["W_hh"].shape[0]
    h = np.empty((T + 1, N, m))
    h[0] = h0b
    for t in range(1, T + 1):
        # h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)
        h[t] = np.tanh(xb[t - 1] @ params["W_xh"].T + h[t - 1] @ params["W_hh"].T + params["b_h"])
    # z_t = W_ho h_t + b_o
    z = h[1:] @ params["W_ho"].T + params["b_o"]
    # o_t = softmax(z_t), shifted by max z_t(k) for stability (softmax is shift invariant)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return Cache(xb, h, z, e / e.sum(axis=-1, keepdims=True))


def forward(params: dict, x: np.ndarray, h0: np.ndarray | None = None) -> Cache:
    """Run the network over the sequence; see :class:`Cache` (always batched inside).

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> params = bptt.init_params(3, 4, 2, rng=np.random.default_rng(0))
    >>> x = np.random.default_rng(1).normal(size=(5, 6, 3))   # (T, N, l)
    >>> cache = bptt.forward(params, x)
    >>> cache.h.shape                                      # h_0 .. h_T: (T + 1, N, m)
    (6, 6, 4)
    >>> np.allclose(cache.h[1], np.tanh(x[0] @ params["W_xh"].T + params["b_h"]))
    True
    """
    xb, _, h0b, _ = _check_inputs(params, x, None, h0)
    return _forward(params, xb, h0b)


def _loss(cache: Cache, yb: np.ndarray) -> float:
    T, N = yb.shape
    z = cache.z
    # log o_t(k) = z_t(k) - log sum_j exp z_t(j), computed stably
    zmax = z.max(axis=-1, keepdims=True)
    log_o = z - zmax - np.log(np.exp(z - zmax).sum(axis=-1, keepdims=True))
    # L = -(1/T) sum_t log o_t(y_t), also averaged over the N sequences
    return float(-np.take_along_axis(log_o, yb[..., None], axis=-1).sum() / (T * N))


def loss(params: dict, x: np.ndarray, targets: np.ndarray, h0: np.ndarray | None = None) -> float:
    """The notes' cross-entropy loss :math:`L = -\\frac1T \\sum_t \\log o_t(y_t)` (mean over N too).

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> params = bptt.init_params(3, 4, 2, rng=np.random.default_rng(0))
    >>> for name in params:
    ...     params[name][...] = 0.0                        # all-zero weights: o_t = (1/2, 1/2)
    >>> round(bptt.loss(params, np.ones((5, 3)), np.zeros(5, dtype=int)), 6)   # log 2
    0.693147
    """
    xb, yb, h0b, _ = _check_inputs(params, x, targets, h0)
    return _loss(_forward(params, xb, h0b), yb)


def _backward(params, cache: Cache, yb, truncate: int | None, only_last: bool):
    """Hand-written BPTT; returns (grads, deltas), deltas[t-1] = dL/dh_t, (T, N, m)."""
    W_hh, W_ho = params["W_hh"], params["W_ho"]
    T, N, _ = cache.x.shape
    onehot = np.zeros_like(cache.o)
    np.put_along_axis(onehot, yb[..., None], 1.0, axis=-1)
    # delta o_t = dL/dz_t = (o_t - ô_t) / T  (softmax + cross entropy; / N: batch mean)
    dz = (cache.o - onehot) / (T * N)
    if only_last:  # the loss is L_T = -log o_T(y_T) alone (per sequence, summed over N)
        dz = dz * (T * N)
        dz[:-1] = 0.0
    h, x = cache.h, cache.x
    grads = {name: np.zeros_like(p) for name, p in params.items()}
    # dL/dW_ho = sum_t delta o_t h_t^T ;  dL/db_o = sum_t delta o_t
    grads["W_ho"] = np.einsum("tnq,tnm->qm", dz, h[1:])
    grads["b_o"] = dz.sum(axis=(0, 1))
    deltas = np.empty((T, N, W_hh.shape[0]))
    carry = np.zeros((N, W_hh.shape[0]))  # W_hh^T D_{t+1} delta_{t+1}; 0 after step T
    for t in range(T, 0, -1):
        # delta_t = W_ho^T delta o_t + W_hh^T D_{t+1} delta_{t+1}
        delta = dz[t - 1] @ W_ho + carry
        deltas[t - 1] = delta
        # D_t delta_t, with D_t = diag(1 - h_t * h_t)
        da = (1.0 - h[t] ** 2) * delta
        # dL/dW_hh += D_t delta_t h_{t-1}^T; dL/dW_xh += D_t delta_t x_t^T;
        # dL/db_h += D_t delta_t
        grads["W_hh"] += da.T @ h[t - 1]
        grads["W_xh"] += da.T @ x[t - 1]
        grads["b_h"] += da.sum(axis=0)
        carry = da @ W_hh  # row form of W_hh^T D_t delta_t
        if truncate is not None and (t - 1) % truncate == 0:
            carry = np.zeros_like(carry)  # truncated BPTT: no gradient into the chunk before
    return grads, deltas


def backward(params: dict, x: np.ndarray, targets: np.ndarray, h0: np.ndarray | None = None, *,
             truncate: int | None = None) -> tuple[float, dict[str, np.ndarray]]:
    """Return ``(L, grads)``, ``grads`` keyed ``W_xh, W_hh, W_ho, b_h, b_o`` like ``params``.

    With ``truncate=k`` the sequence is cut into chunks of ``k`` steps (steps 1..k, k+1..2k,
    ...): the forward pass still carries :math:`h_t` across chunks, but no gradient flows
    from a chunk into the one before it (the usual truncated BPTT, as with
    ``h = h.detach()`` every k steps in PyTorch). ``truncate >= T`` is the full gradient.

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> rng = np.random.default_rng(0)
    >>> params = bptt.init_params(3, 4, 2, rng=rng)
    >>> x, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)      # (T, l), (T,)
    >>> L, grads = bptt.backward(params, x, y)
    >>> L == bptt.loss(params, x, y), {name: g.shape for name, g in grads.items()}
    (True, {'W_xh': (4, 3), 'W_hh': (4, 4), 'W_ho': (2, 4), 'b_h': (4,), 'b_o': (2,)})
    >>> L_ref, ref = bptt.autograd_gradients(params, x, y)
    >>> all(np.allclose(grads[k], ref[k]) for k in bptt.PARAM_NAMES)
    True
    >>> _, cut = bptt.backward(params, x, y, truncate=2)   # truncated BPTT: chunks of 2 steps
    >>> np.allclose(cut["W_hh"], grads["W_hh"])
    False
    """
    xb, yb, h0b, _ = _check_inputs(params, x, targets, h0)
    if truncate is not None:
        check_int("truncate", truncate, minimum=1)
    cache = _forward(params, xb, h0b)
    grads, _ = _backward(params, cache, yb, truncate, only_last=False)
    return _loss(cache, yb), grads


def hidden_gradients(params: dict, x: np.ndarray, targets: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """:math:`\\delta_t = \\partial L/\\partial h_t` for t = 1..T, shaped like the hidden states
    ``(T, N, m)`` (``(T, m)`` unbatched).

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> rng = np.random.default_rng(0)
    >>> params = bptt.init_params(3, 4, 2, rng=rng)
    >>> x, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)
    >>> delta = bptt.hidden_gradients(params, x, y)        # delta_t = dL/dh_t, t = 1..T
    >>> delta.shape
    (6, 4)
    >>> cache = bptt.forward(params, x)
    >>> d_o = (cache.o[-1, 0] - np.eye(2)[y[-1]]) / 6      # delta o_T = (o_T - y_T) / T
    >>> np.allclose(delta[-1], params["W_ho"].T @ d_o)     # delta_T = W_ho^T delta o_T
    True
    """
    xb, yb, h0b, batched = _check_inputs(params, x, targets, h0)
    _, deltas = _backward(params, _forward(params, xb, h0b), yb, None, only_last=False)
    return deltas if batched else deltas[:, 0]


def last_loss_hidden_gradients(params: dict, x: np.ndarray, targets: np.ndarray,
                               h0: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
    """:math:`\\partial L_T/\\partial h_t` for t = 1..T, where :math:`L_T = -\\log o_T(y_T)` is
    the loss of the last step alone, and the forward cache. By the chain rule

    .. math:: \\frac{\\partial L_T}{\\partial h_t} = \\Big(\\prod_{u=t+1}^{T} D_u W_{hh}\\Big)^T
              \\frac{\\partial L_T}{\\partial h_T},

    so :math:`\\|\\partial L_T/\\partial h_t\\| \\le \\|\\partial L_T/\\partial h_T\\|
    \\prod_u \\|D_u\\|\\,\\|W_{hh}\\| \\le \\|\\partial L_T/\\partial h_T\\|\\,\\sigma_{\\max}(W_{hh})^{T-t}`.
    Shaped ``(T, N, m)`` (``(T, m)`` unbatched); only ``targets[-1]`` matters.

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> rng = np.random.default_rng(0)
    >>> params = bptt.init_params(3, 4, 2, rng=rng)
    >>> params["W_hh"] = bptt.scale_to_spectral_radius(params["W_hh"], 0.5)
    >>> x, y = rng.normal(size=(20, 3)), rng.integers(0, 2, size=20)
    >>> grads, cache = bptt.last_loss_hidden_gradients(params, x, y)
    >>> norms = np.linalg.norm(grads[::-1], axis=-1)       # by distance T - t
    >>> sigma = np.linalg.norm(params["W_hh"], 2)
    >>> bool((norms <= norms[0] * sigma ** np.arange(20) + 1e-15).all())   # the bound holds
    True
    """
    xb, yb, h0b, batched = _check_inputs(params, x, targets, h0)
    cache = _forward(params, xb, h0b)
    _, deltas = _backward(params, cache, yb, None, only_last=True)
    return (deltas if batched else deltas[:, 0]), cache


def autograd_gradients(params: dict, x: np.ndarray, targets: np.ndarray, h0: np.ndarray | None = None, *,
                       truncate: int | None = None) -> tuple[float, dict[str, np.ndarray]]:
    """The same loss and gradients by torch autograd in float64: an independent reference
    for :func:`backward` (truncation by ``h.detach()`` at the start of every chunk).

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> rng = np.random.default_rng(0)
    >>> params = bptt.init_params(3, 4, 2, rng=rng)
    >>> x, y = rng.normal(size=(6, 2, 3)), rng.integers(0, 2, size=(6, 2))   # (T, N, l), (T, N)
    >>> L, grads = bptt.autograd_gradients(params, x, y)
    >>> bool(np.isclose(L, bptt.loss(params, x, y))), sorted(grads) == sorted(bptt.PARAM_NAMES)
    (True, True)
    """
    import torch

    xb, yb, h0b, _ = _check_inputs(params, x, targets, h0)
    if truncate is not None:
        check_int("truncate", truncate, minimum=1)
    P = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    xs, h = torch.from_numpy(xb), torch.from_numpy(h0b)
    scores = []
    for s in range(xs.shape[0]):
        if truncate is not None and s % truncate == 0:
            h = h.detach()
        h = torch.tanh(xs[s] @ P["W_xh"].T + h @ P["W_hh"].T + P["b_h"])
        scores.append(h @ P["W_ho"].T + P["b_o"])
    z = torch.stack(scores)
    L = torch.nn.functional.cross_entropy(z.reshape(-1, z.shape[-1]), torch.from_numpy(yb).reshape(-1).long())
    L.backward()
    return L.item(), {k: P[k].grad.numpy() for k in PARAM_NAMES}


# ----------------------------------------------------------------------------- checking

def _check_grad_dict(name: str, grads: object, params: dict) -> None:
    if not isinstance(grads, dict) or set(grads) != set(params):
        got = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
        raise ValueError(f"{name} must be a dict with the keys of params {sorted(params)}, got {got}")
    for k in params:
        if not isinstance(grads[k], np.ndarray) or grads[k].shape != params[k].shape:
            shape = getattr(grads[k], "shape", type(grads[k]).__name__)
            raise ValueError(f"{name}['{k}'] must be an array of shape {params[k].shape}, got {shape}")


def numerical_gradient(f: Callable[[dict], float], params: dict, eps: float = 1e-5) -> dict[str, np.ndarray]:
    """Central differences :math:`(f(\\theta + \\epsilon e_i) - f(\\theta - \\epsilon e_i)) / 2\\epsilon`
    for every entry of every array in ``params``. ``f`` is called as it is, on copies of
    ``params``; nothing is clipped or modified, and ``params`` is left untouched.

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> params = {"w": np.array([1.0, -2.0])}
    >>> g = bptt.numerical_gradient(lambda p: float((p["w"] ** 3).sum()), params)
    >>> np.round(g["w"], 6).tolist()                       # 3 w^2
    [3.0, 12.0]
    """
    if not callable(f):
        raise TypeError(f"f must be a callable params -> float, got {type(f).__name__}")
    if not isinstance(params, dict) or not params:
        raise TypeError("params must be a non-empty dict of float64 arrays")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    for k, v in params.items():
        _check_array(f"params['{k}']", v, (1, 2, 3))
        _check_float64(f"params['{k}']", v)

    def call(p):
        value = f(p)
        if not isinstance(value, (float, np.floating)) or not np.isfinite(value):
            raise TypeError(f"f must return a finite float, got {value!r}")
        return float(value)

    grads = {}
    for name, p in params.items():
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            shifted = {k: v.copy() for k, v in params.items()}
            shifted[name][idx] = p[idx] + eps
            up = call(shifted)
            shifted[name][idx] = p[idx] - eps
            down = call(shifted)
            g[idx] = (up - down) / (2 * eps)
        grads[name] = g
    return grads


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """:math:`\\|a - b\\| / \\max(\\|a\\|, \\|b\\|)` (Frobenius norms; 0 when both are zero).

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> round(bptt.relative_error(np.array([3.0, 4.0]), np.array([3.0, 4.5])), 6)   # 0.5 / |(3, 4.5)|
    0.09245
    """
    denom = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def gradient_check(f: Callable[[dict], float], params: dict, grads: dict, *, eps: float = 1e-5,
                   tol: float = 1e-7) -> dict[str, float]:
    """Compare ``grads`` with :func:`numerical_gradient` of ``f`` at ``params``.

    Returns the relative error (:func:`relative_error`) of each parameter; raises
    :class:`GradientCheckError` naming the worst parameter if any exceeds ``tol``.
    With float64 and ``eps = 1e-5`` a correct gradient of a smooth loss is typically
    within 1e-9 (truncation error ~ eps², rounding ~ 1e-16/eps).

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> rng = np.random.default_rng(0)
    >>> params = bptt.init_params(2, 3, 2, rng=rng)
    >>> x, y = rng.normal(size=(4, 2)), rng.integers(0, 2, size=4)
    >>> _, grads = bptt.backward(params, x, y)
    >>> errors = bptt.gradient_check(lambda p: bptt.loss(p, x, y), params, grads)
    >>> sorted(errors), max(errors.values()) < 1e-7
    (['W_hh', 'W_ho', 'W_xh', 'b_h', 'b_o'], True)
    """
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol > 0:
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    _check_grad_dict("grads", grads, params)
    numeric = numerical_gradient(f, params, eps)
    errors = {k: relative_error(grads[k], numeric[k]) for k in params}
    worst = max(errors, key=errors.get)
    if errors[worst] > tol:
        raise GradientCheckError(
            f"gradient check failed: relative error of '{worst}' is {errors[worst]:.3e} > tol = {tol:.1e}"
        )
    return errors


# ----------------------------------------------------------------------------- remedies and analysis

def global_norm(grads: dict) -> float:
    """:math:`\\sqrt{\\sum_P \\|\\partial L/\\partial P\\|_F^2}` over all parameters.

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> bptt.global_norm({"W_hh": np.array([[3.0]]), "b_h": np.array([4.0])})   # sqrt(3^2 + 4^2)
    5.0
    """
    if not isinstance(grads, dict) or not grads:
        raise TypeError("grads must be a non-empty dict of arrays")
    return float(np.sqrt(sum(float((g**2).sum()) for g in grads.values())))


def clip_by_norm(grads: dict, max_norm: float) -> tuple[dict[str, np.ndarray], float]:
    """Gradient clipping by global norm: if :math:`\\|g\\| > c`, :math:`g \\leftarrow g\\,c/\\|g\\|`.

    Returns ``(clipped copy, norm before clipping)``; the direction is kept, only the
    length is capped. (``torch.nn.utils.clip_grad_norm_`` does the same with
    :math:`c/(\\|g\\| + 10^{-6})`.)

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> grads = {"W_hh": np.array([[3.0]]), "b_h": np.array([4.0])}
    >>> clipped, norm = bptt.clip_by_norm(grads, 1.0)
    >>> norm, np.round(clipped["W_hh"], 12).tolist(), np.round(clipped["b_h"], 12).tolist()
    (5.0, [[0.6]], [0.8])
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or not max_norm > 0:
        raise ValueError(f"max_norm must be a positive number, got {max_norm!r}")
    norm = global_norm(grads)
    scale = max_norm / norm if norm > max_norm else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


def spectral_radius(W: np.ndarray) -> float:
    """:math:`\\rho(W) = \\max_i |\\lambda_i(W)|`.

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> round(bptt.spectral_radius(np.array([[0.0, 2.0], [-2.0, 0.0]])), 12)   # eigenvalues +-2i
    2.0
    """
    _check_array("W", W, (2,))
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}")
    return float(np.abs(np.linalg.eigvals(W)).max())


def scale_to_spectral_radius(W: np.ndarray, rho: float) -> np.ndarray:
    """``W`` scaled so that its spectral radius is ``rho``.

    >>> import numpy as np
    >>> from rnnbook.notes import bptt
    >>> W = np.random.default_rng(0).normal(size=(4, 4))
    >>> round(bptt.spectral_radius(bptt.scale_to_spectral_radius(W, 0.9)), 12)
    0.9
    """
    if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not rho > 0:
        raise ValueError(f"rho must be a positive number, got {rho!r}")
    return W * (rho / spectral_radius(W))


def growth_rate(norms: np.ndarray) -> float:
    """Per-step factor r of a geometric sequence fitted to ``norms``: least squares of
    :math:`\\log\\|\\cdot\\|` against the distance :math:`k = 0, 1, \\dots`, r = exp(slope).

    >>> from rnnbook.notes import bptt
    >>> round(bptt.growth_rate([1.0, 0.5, 0.25, 0.125]), 12)       # halves at every step
    0.5
    """
    norms = _check_array("norms", np.asarray(norms, dtype=np.float64), (1,))
    if norms.size < 2 or not (norms > 0).all():
        raise ValueError("norms must hold at least two positive values")
    k = np.arange(norms.size)
    return float(np.exp(np.polyfit(k, np.log(norms), 1)[0]))
