r"""The notes' Elman network built in SymPy, and every BPTT derivative of the notes checked.

The network (column vectors, the notes' names and shapes; :math:`f` = softmax, :math:`g` = tanh):

.. math::

    a_t &= W_{xh} x_t + W_{hh} h_{t-1} + b_h, \qquad h_t = g(a_t), \qquad h_0 \text{ fixed} \\
    z_t &= W_{ho} h_t + b_o, \qquad o_t = f(z_t) \\
    L &= -\frac{1}{T} \sum_{t=1}^{T} \sum_{k=1}^{q} \hat o_t(k) \log o_t(k)

with :math:`x_t \in \mathbb{R}^l`, :math:`h_t \in \mathbb{R}^m`, :math:`o_t \in \mathbb{R}^q`,
:math:`W_{xh} \in \mathbb{R}^{m\times l}`, :math:`W_{hh} \in \mathbb{R}^{m\times m}`,
:math:`W_{ho} \in \mathbb{R}^{q\times m}`. The initial state :math:`h_0` is a fixed input,
not a parameter: zero (``h0="zero"``, the default) or a vector of free symbols
``h_0(j)`` (``h0="symbolic"``), so that every identity can also be checked for an
arbitrary initial state, as the layers allow. The targets :math:`\hat o_t` are symbols constrained
to sum to one (:math:`\hat o_t(q) = 1 - \sum_{k<q} \hat o_t(k)`): any probability vector,
one-hot included. The notes write :math:`\sim` for a pre-activation: here :math:`a_t` (hidden)
and :math:`z_t` (output).

How equality is decided, exactly (no floats anywhere). Every quantity is built from the
parameters, inputs, targets and two kinds of transcendental *atoms*, :math:`\tanh(a_t(j))`
and :math:`\exp(z_t(k))`, whose derivatives SymPy writes as :math:`1-\tanh^2(u)` and
:math:`\exp(u)`: a derivative taken directly and a closed form are both rational functions
of symbols and atoms. :func:`atoms_to_symbols` replaces each atom by a fresh symbol
(``H_t_j``, ``E_t_k``); if the difference cancels to 0 as a rational function of these
*independent* symbols, the identity holds for every value of the atoms, the true ones
included: an exact symbolic identity, without the slow and unreliable ``sp.simplify`` of
nested tanh/exp. With ``at=`` (:func:`rational_point`) the parameters, inputs and targets
first take exact rational values (the atoms stay symbols): an exact comparison at a
rational point, a cheaper second check and the fallback if a cancellation grows too slow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp

from rnnbook._validate import check_int

__all__ = [
    "SymbolicElman", "elman", "tanh_jacobian", "softmax_jacobian",
    "softmax_cross_entropy_gradient", "atoms_to_symbols", "is_zero", "numeric_value",
    "rational_point", "direct_gradient", "bptt_gradients", "direct_dL_dh", "output_delta",
    "dh_dWhh_direct", "dh_dWhh_recursive", "dh_dWhh_notes_order", "dh_dWhh_closed_form",
    "dh_dWhh_notes_closed_form", "notes_immediate_gradients", "initial_state_gradient",
]


def _vector(name: str, n: int) -> sp.Matrix:
    return sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"{name}({i + 1})", real=True))


def _matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}({i + 1},{j + 1})", real=True))


def _softmax(v: sp.Matrix) -> sp.Matrix:
    e = v.applyfunc(sp.exp)
    return e / sum(e)


@dataclass
class SymbolicElman:
    """The unrolled network: parameters, inputs, targets and every forward quantity.

    Lists are indexed by time: ``x[t]``, ``a[t]``, ``h[t]``, ``z[t]``, ``o[t]``, ``y[t]``
    for ``t = 1..T`` (index 0 is ``None``, except ``h[0]``, the initial state: zeros, or
    the free symbols ``h_0(j)`` when built with ``h0="symbolic"``). ``y[t]`` is the target
    :math:`\\hat o_t`.

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 1, 2, 1)                         # l = m = 1, q = 2, T = 1
    >>> net.a[1]                                           # a_1 = W_xh x_1 + W_hh h_0 + b_h, h_0 = 0
    Matrix([[b_h(1) + w_xh(1,1)*x_1(1)]])
    >>> net.D(1)                                           # diag(1 - h_1 * h_1)
    Matrix([[1 - tanh(b_h(1) + w_xh(1,1)*x_1(1))**2]])
    """

    l: int
    m: int
    q: int
    T: int
    W_xh: sp.Matrix
    W_hh: sp.Matrix
    W_ho: sp.Matrix
    b_h: sp.Matrix
    b_o: sp.Matrix
    x: list = field(default_factory=list)
    y: list = field(default_factory=list)
    a: list = field(default_factory=list)
    h: list = field(default_factory=list)
    z: list = field(default_factory=list)
    o: list = field(default_factory=list)
    L_t: list = field(default_factory=list)
    L: sp.Expr = sp.S.Zero
    atoms: dict = field(default_factory=dict)
    z_atoms: dict = field(default_factory=dict)
    h0_symbolic: bool = False

    @property
    def params(self) -> dict[str, sp.Matrix]:
        """The five trainable parameters, by the notes' names."""
        return {"W_xh": self.W_xh, "W_hh": self.W_hh, "W_ho": self.W_ho, "b_h": self.b_h, "b_o": self.b_o}

    def D(self, t: int) -> sp.Matrix:
        """:math:`\\partial g(a_t)/\\partial a_t = \\operatorname{diag}(1 - h_t \\odot h_t)` (m x m)."""
        return sp.diag(*[1 - hj**2 for hj in self.h[t]])

    def J_f(self, t: int) -> sp.Matrix:
        """:math:`\\partial f(z_t)/\\partial z_t = \\operatorname{diag}(o_t) - o_t o_t^T` (q x q)."""
        return sp.diag(*self.o[t]) - self.o[t] * self.o[t].T


def elman(l: int, m: int, q: int, T: int, *, h0: str = "zero") -> SymbolicElman:
    """Build the notes' network symbolically at sizes ``l, m, q`` over ``T`` steps.

    ``h0="zero"`` starts from :math:`h_0 = 0`; ``h0="symbolic"`` from a vector of free
    symbols ``h_0(1..m)``, a fixed but arbitrary initial state.

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(2, 2, 2, 3)                         # l, m, q, T
    >>> len(net.h), net.h[0].T, net.z[3].shape
    (4, Matrix([[0, 0]]), (2, 1))
    """
    for name, v in (("l", l), ("m", m), ("q", q), ("T", T)):
        check_int(name, v, minimum=1)
    if q < 2:
        raise ValueError(f"q must be >= 2 (a softmax over one class is constant), got {q}")
    if h0 not in ("zero", "symbolic"):
        raise ValueError(f'h0 must be "zero" or "symbolic", got {h0!r}')
    net = SymbolicElman(l, m, q, T, _matrix("w_xh", m, l), _matrix("w_hh", m, m),
                        _matrix("w_ho", q, m), _vector("b_h", m), _vector("b_o", q),
                        h0_symbolic=h0 == "symbolic")
    first = _vector("h_0", m) if net.h0_symbolic else sp.zeros(m, 1)
    net.x, net.y, net.a, net.h = [None], [None], [None], [first]
    net.z, net.o, net.L_t = [None], [None], [None]
    for t in range(1, T + 1):
        x_t = _vector(f"x_{t}", l)
        free = [sp.Symbol(f"ô_{t}({k + 1})", real=True) for k in range(q - 1)]
        y_t = sp.Matrix(free + [1 - sum(free)])  # a probability vector: sums to 1
        # a_t = W_xh x_t + W_hh h_{t-1} + b_h
        a_t = net.W_xh * x_t + net.W_hh * net.h[t - 1] + net.b_h
        # h_t = g(a_t) = tanh(a_t)
        h_t = a_t.applyfunc(sp.tanh)
        # z_t = W_ho h_t + b_o
        z_t = net.W_ho * h_t + net.b_o
        # o_t = f(z_t) = softmax(z_t)
        o_t = _softmax(z_t)
        # L_t = -sum_k ô_t(k) log o_t(k)
        L_t = -sum(y_t[k] * sp.log(o_t[k]) for k in range(q))
        for j in range(m):
            net.atoms[h_t[j]] = sp.Symbol(f"H_{t}_{j + 1}", real=True)
        z_sym = net.W_ho * sp.Matrix([net.atoms[hj] for hj in h_t]) + net.b_o
        for k in range(q):
            net.atoms[sp.exp(z_t[k])] = sp.Symbol(f"E_{t}_{k + 1}", positive=True)
            net.z_atoms[z_sym[k]] = net.atoms[sp.exp(z_t[k])]  # z_t(k) written in the H symbols
        net.x.append(x_t)
        net.y.append(y_t)
        net.a.append(a_t)
        net.h.append(h_t)
        net.z.append(z_t)
        net.o.append(o_t)
        net.L_t.append(L_t)
    # L = (1/T) sum_t L_t
    net.L = sum(net.L_t[1:]) / T
    return net


def tanh_jacobian(n: int) -> tuple[sp.Matrix, sp.Matrix]:
    """``(J, notes)``: the Jacobian of tanh on R^n taken by SymPy, and the notes' form
    :math:`\\operatorname{diag}(1 - \\tanh^2(x(i)))`.

    >>> import sympy as sp
    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> J, notes = bs.tanh_jacobian(2)
    >>> notes
    Matrix([
    [1 - tanh(x(1))**2,                 0],
    [                0, 1 - tanh(x(2))**2]])
    >>> (J - notes).applyfunc(sp.simplify) == sp.zeros(2, 2)
    True
    """
    check_int("n", n, minimum=1)
    x = _vector("x", n)
    g = x.applyfunc(sp.tanh)
    return g.jacobian(x), sp.diag(*[1 - sp.tanh(xi) ** 2 for xi in x])


def softmax_jacobian(n: int) -> tuple[sp.Matrix, sp.Matrix]:
    """``(J, notes)``: the Jacobian of softmax on R^n taken by SymPy, and the notes' form
    :math:`f(x(i))(\\delta_{ij} - f(x(j)))`, i.e. :math:`\\operatorname{diag}(f) - f f^T`.

    >>> import sympy as sp
    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> J, notes = bs.softmax_jacobian(3)                  # diag(f) - f f^T
    >>> (J - notes).applyfunc(sp.simplify) == sp.zeros(3, 3)
    True
    """
    check_int("n", n, minimum=2)
    x = _vector("x", n)
    f = _softmax(x)
    return f.jacobian(x), sp.diag(*f) - f * f.T


def softmax_cross_entropy_gradient(q: int, T: int = 1, *, targets_sum_to_one: bool = True):
    """``(direct, closed)`` for one step's share of the loss,
    :math:`-\\frac1T \\sum_k \\hat o(k) \\log f(z)(k)`, differentiated by SymPy with respect
    to the pre-activation z, and the closed form :math:`(f(z)\\,\\textstyle\\sum_k \\hat o(k) - \\hat o)/T`,
    which is :math:`(o - \\hat o)/T` when the targets sum to one (then :math:`\\hat o(q)` is
    :math:`1 - \\sum_{k<q} \\hat o(k)`; otherwise all q targets are free symbols).

    >>> import sympy as sp
    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> direct, closed = bs.softmax_cross_entropy_gradient(2)
    >>> closed                                             # o - y-hat, o = softmax(z)
    Matrix([
    [   -ô(1) + exp(z(1))/(exp(z(1)) + exp(z(2)))],
    [ô(1) - 1 + exp(z(2))/(exp(z(1)) + exp(z(2)))]])
    >>> z1, z2 = sorted((s for s in direct.free_symbols if s.name.startswith("z")), key=str)
    >>> sp.simplify((direct - closed).subs({z1: 0, z2: sp.log(3)}))   # equal at z = (0, log 3)
    Matrix([
    [0],
    [0]])
    """
    check_int("q", q, minimum=2)
    check_int("T", T, minimum=1)
    z = _vector("z", q)
    free = [sp.Symbol(f"ô({k + 1})", real=True) for k in range(q if not targets_sum_to_one else q - 1)]
    y = sp.Matrix(free + ([1 - sum(free)] if targets_sum_to_one else []))
    o = _softmax(z)
    L = -sum(y[k] * sp.log(o[k]) for k in range(q)) / T
    direct = sp.Matrix([sp.diff(L, zk) for zk in z])
    return direct, (o * sum(y) - y) / T


def atoms_to_symbols(expr, net: SymbolicElman):
    """Replace every atom :math:`\\tanh(a_t(j))` by ``H_t_j`` and :math:`\\exp(z_t(k))` by ``E_t_k``.

    The tanh atoms go first, from the last step back (outer atoms before the atoms nested
    in their arguments). Then each remaining ``exp(u)`` is matched to the ``z_t(k)`` with
    ``u = n z_t(k)`` for an integer ``n`` (SymPy writes ``exp(z)**2`` as ``exp(2 z)`` and
    ``1/exp(z)`` as ``exp(-z)``) and becomes ``E_t_k**n``. Raises ``ValueError`` if an
    atom survives.

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 1, 2, 1)
    >>> bs.atoms_to_symbols(net.D(1)[0, 0], net)           # 1 - tanh(a_1)^2 with tanh(a_1) -> H_1_1
    1 - H_1_1**2
    >>> bs.atoms_to_symbols(net.o[1][0], net)              # softmax, exp(z_1(k)) -> E_1_k
    E_1_1/(E_1_1 + E_1_2)
    """
    expr = sp.sympify(expr)
    for t in range(net.T, 0, -1):
        expr = expr.xreplace({net.h[t][j]: net.atoms[net.h[t][j]] for j in range(net.m)})
    rule = {}
    for e in expr.atoms(sp.exp):
        for zs, E in net.z_atoms.items():
            n = sp.cancel(e.args[0] / zs)
            if n.is_Integer:
                rule[e] = E**n
                break
    expr = expr.xreplace(rule)
    left = [a for a in sp.preorder_traversal(expr) if isinstance(a, (sp.tanh, sp.exp))]
    if left:
        raise ValueError(f"atoms_to_symbols left transcendental atoms in the expression: {left[:3]}")
    return expr


def rational_point(net: SymbolicElman, seed: int = 0) -> dict:
    """Exact rationals (small numerators and denominators, seeded) for every parameter,
    input, free target symbol and symbolic initial state of ``net``; targets are kept a
    probability vector.

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 1, 2, 1)
    >>> at = bs.rational_point(net, seed=0)
    >>> len(at), all(v.is_Rational for v in at.values())   # 5 parameters, x_1(1) and y-hat_1(1)
    (9, True)
    """
    check_int("seed", seed, minimum=0)
    import random

    rng = random.Random(seed)
    point = {}
    for mat in list(net.params.values()) + net.x[1:] + ([net.h[0]] if net.h0_symbolic else []):
        for s in mat:
            point[s] = sp.Rational(Fraction(rng.randint(-4, 4), rng.randint(3, 7)))  # |v| <= 4/3
    for y_t in net.y[1:]:
        weights = [rng.randint(1, 5) for _ in range(net.q)]
        total = sum(weights)
        for k in range(net.q - 1):
            point[y_t[k]] = sp.Rational(weights[k], total)
    return point


def is_zero(expr, net: SymbolicElman, at: dict | None = None) -> bool:
    """Decide exactly whether ``expr`` (an expression or a Matrix) is zero; see the module
    docstring. ``at`` substitutes exact rationals for parameters, inputs and targets.

    >>> import sympy as sp
    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 1, 2, 1)
    >>> dh = sp.diff(net.h[1][0], net.b_h[0])              # SymPy's derivative of h_1 by b_h
    >>> bs.is_zero(dh - net.D(1)[0, 0], net)               # = 1 - h_1^2, as an identity
    True
    >>> bs.is_zero(dh - 1, net)
    False
    """
    entries = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
    for e in entries:
        e = atoms_to_symbols(e, net)
        if at is not None:
            e = e.xreplace(at)
        if sp.cancel(sp.together(e)) != 0:
            return False
    return True


def numeric_value(expr, net: SymbolicElman, at: dict, digits: int = 30):
    """``expr`` (expression or Matrix) at the rational point ``at``, with the atoms set to
    the true network's :math:`\\tanh(a_t(j))` and :math:`\\exp(z_t(k))`, computed by a forward
    pass in ``digits + 10``-digit floating point. Used to show that a formula is *wrong*:
    a difference far above :math:`10^{-\\text{digits}}` at one point is a counterexample
    (:func:`is_zero` decides identities in free atoms; failing it says nothing about the
    true values of the atoms).

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 1, 2, 1)
    >>> at = bs.rational_point(net)
    >>> bs.numeric_value(net.o[1][0] + net.o[1][1], net, at, digits=20)   # softmax sums to 1
    1.0000000000000000000
    """
    check_int("digits", digits, minimum=15)
    prec = digits + 10
    values, h = {}, net.h[0].xreplace(at)
    for t in range(1, net.T + 1):
        a = (net.W_xh * net.x[t] + net.W_hh * h + net.b_h).xreplace(at)
        h = a.applyfunc(lambda v: sp.tanh(sp.Float(v, prec)))
        z = (net.W_ho * h + net.b_o).xreplace(at)
        for j in range(net.m):
            values[net.atoms[net.h[t][j]]] = h[j]
        for k in range(net.q):
            values[net.atoms[sp.exp(net.z[t][k])]] = sp.exp(sp.Float(z[k], prec))

    def one(e):
        return sp.N(atoms_to_symbols(e, net).xreplace(at).xreplace(values), digits)

    return expr.applyfunc(one) if isinstance(expr, sp.MatrixBase) else one(expr)


def direct_gradient(net: SymbolicElman, name: str) -> sp.Matrix:
    """:math:`\\partial L/\\partial P` entry by entry, by SymPy differentiating L itself
    (same shape as the parameter P, the usual 'denominator layout' of a gradient).
    ``name`` is a parameter's, or ``"h_0"`` for the initial state of a network built
    with ``h0="symbolic"``.

    >>> import sympy as sp
    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 1, 2, 1)
    >>> g = bs.direct_gradient(net, "b_o")                 # dL/db_o, SymPy differentiating L
    >>> g.shape
    (2, 1)
    >>> sp.factor(bs.atoms_to_symbols(g[0], net))          # = o_1(1) - y-hat_1(1)
    -(E_1_1*ô_1(1) - E_1_1 + E_1_2*ô_1(1))/(E_1_1 + E_1_2)
    """
    if name == "h_0":
        if not net.h0_symbolic:
            raise ValueError('the gradient with respect to h_0 needs a network built with h0="symbolic"')
        P = net.h[0]
    else:
        P = net.params[name]
    return P.applyfunc(lambda p: sp.diff(net.L, p))


def output_delta(net: SymbolicElman, t: int) -> sp.Matrix:
    """:math:`\\partial L/\\partial z_t = (o_t - \\hat o_t)/T`: softmax + cross entropy.

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 1, 2, 1)
    >>> bs.atoms_to_symbols(bs.output_delta(net, 1), net)  # (o_1 - y-hat_1) / T, T = 1
    Matrix([
    [    E_1_1/(E_1_1 + E_1_2) - ô_1(1)],
    [E_1_2/(E_1_1 + E_1_2) + ô_1(1) - 1]])
    """
    return (net.o[t] - net.y[t]) / net.T


def bptt_gradients(net: SymbolicElman) -> tuple[dict[str, sp.Matrix], list]:
    """The closed forms, in matrix notation, with the backward recursion for
    :math:`\\delta_t = \\partial L/\\partial h_t`:

    .. math::

        \\delta o_t &= (o_t - \\hat o_t)/T \\\\
        \\delta_T &= W_{ho}^T \\delta o_T, \\qquad
        \\delta_t = W_{ho}^T \\delta o_t + W_{hh}^T D_{t+1} \\delta_{t+1} \\\\
        \\partial L/\\partial W_{ho} &= \\sum_t \\delta o_t h_t^T, \\quad
        \\partial L/\\partial b_o = \\sum_t \\delta o_t \\\\
        \\partial L/\\partial W_{hh} &= \\sum_t D_t \\delta_t h_{t-1}^T, \\quad
        \\partial L/\\partial W_{xh} = \\sum_t D_t \\delta_t x_t^T, \\quad
        \\partial L/\\partial b_h = \\sum_t D_t \\delta_t

    with :math:`D_t = \\operatorname{diag}(1 - h_t \\odot h_t)`. Returns ``(grads, deltas)``,
    ``deltas[t]`` = :math:`\\delta_t` (index 0 unused).

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 1, 2, 2)                         # T = 2: W_hh acts through h_1
    >>> grads, deltas = bs.bptt_gradients(net)
    >>> sorted(grads), len(deltas)                         # deltas[t] = delta_t, t = 1..T
    (['W_hh', 'W_ho', 'W_xh', 'b_h', 'b_o'], 3)
    >>> bs.is_zero(bs.direct_gradient(net, "W_hh") - grads["W_hh"], net)
    True
    """
    T, m = net.T, net.m
    dz = [None] + [output_delta(net, t) for t in range(1, T + 1)]
    deltas = [None] * (T + 2)
    deltas[T + 1] = sp.zeros(m, 1)
    for t in range(T, 0, -1):
        # delta_t = W_ho^T delta o_t + W_hh^T D_{t+1} delta_{t+1}   (no second term at t = T)
        carry = net.W_hh.T * net.D(t + 1) * deltas[t + 1] if t < T else sp.zeros(m, 1)
        deltas[t] = net.W_ho.T * dz[t] + carry
    grads = {
        "W_ho": sum((dz[t] * net.h[t].T for t in range(1, T + 1)), sp.zeros(net.q, m)),
        "b_o": sum((dz[t] for t in range(1, T + 1)), sp.zeros(net.q, 1)),
        "W_hh": sum((net.D(t) * deltas[t] * net.h[t - 1].T for t in range(1, T + 1)), sp.zeros(m, m)),
        "W_xh": sum((net.D(t) * deltas[t] * net.x[t].T for t in range(1, T + 1)), sp.zeros(m, net.l)),
        "b_h": sum((net.D(t) * deltas[t] for t in range(1, T + 1)), sp.zeros(m, 1)),
    }
    return grads, deltas[: T + 1]


def initial_state_gradient(net: SymbolicElman, deltas: list) -> sp.Matrix:
    """:math:`\\partial L/\\partial h_0 = W_{hh}^T D_1 \\delta_1`: the recursion
    :math:`\\delta_t = W_{ho}^T \\delta o_t + W_{hh}^T D_{t+1} \\delta_{t+1}` one step
    further, with no output at step 0 (``deltas`` from :func:`bptt_gradients`). It is the
    gradient a layer returns for its initial state.

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 2, 2, 2, h0="symbolic")          # h_0 = (h_0(1), h_0(2)), free
    >>> _, deltas = bs.bptt_gradients(net)
    >>> closed = bs.initial_state_gradient(net, deltas)
    >>> bs.is_zero(closed - bs.direct_gradient(net, "h_0"), net, bs.rational_point(net))
    True
    """
    return net.W_hh.T * net.D(1) * deltas[1]


def direct_dL_dh(net: SymbolicElman, t: int) -> sp.Matrix:
    """:math:`\\partial L/\\partial h_t` taken directly: the steps from ``t`` on are rebuilt
    with :math:`h_t` a free symbol vector, L (the terms that depend on it) differentiated,
    and the forward value of :math:`h_t` put back.

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 1, 2, 2)
    >>> _, deltas = bs.bptt_gradients(net)
    >>> at = bs.rational_point(net)
    >>> bs.is_zero(bs.direct_dL_dh(net, 1) - deltas[1], net, at)   # delta_1, by the recursion
    True
    """
    check_int("t", t, minimum=1)
    if t > net.T:
        raise ValueError(f"t must be <= T = {net.T}, got {t}")
    free = _vector(f"h_free_{t}", net.m)
    h, total = free, sp.S.Zero
    for u in range(t, net.T + 1):
        if u > t:
            h = (net.W_xh * net.x[u] + net.W_hh * h + net.b_h).applyfunc(sp.tanh)
        o = _softmax(net.W_ho * h + net.b_o)
        total += -sum(net.y[u][k] * sp.log(o[k]) for k in range(net.q)) / net.T
    grad = sp.Matrix([sp.diff(total, s) for s in free])
    return grad.xreplace(dict(zip(free, net.h[t])))


def _unit(n: int, i: int) -> sp.Matrix:
    e = sp.zeros(n, 1)
    e[i] = 1
    return e


def dh_dWhh_direct(net: SymbolicElman, t: int, a: int, b: int) -> sp.Matrix:
    """:math:`\\partial h_t/\\partial w_{hh}(a,b)` (an m-vector), taken by SymPy.

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 1, 2, 1)
    >>> bs.dh_dWhh_direct(net, 1, 0, 0)                    # h_0 = 0: W_hh has no effect on h_1
    Matrix([[0]])
    """
    return net.h[t].diff(net.W_hh[a, b])


def dh_dWhh_recursive(net: SymbolicElman, t: int, a: int, b: int) -> sp.Matrix:
    """The corrected recursion, W_hh on the *left* of the earlier derivative:

    .. math:: \\frac{\\partial h_t}{\\partial w_{hh}(a,b)} = D_t\\Big(e_a h_{t-1}(b)
              + W_{hh} \\frac{\\partial h_{t-1}}{\\partial w_{hh}(a,b)}\\Big), \\qquad
              \\frac{\\partial h_0}{\\partial w_{hh}(a,b)} = 0.

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 2, 2, 3)                         # m = 2, T = 3
    >>> d = bs.dh_dWhh_recursive(net, 3, 0, 1)
    >>> d.shape, bs.is_zero(d - bs.dh_dWhh_direct(net, 3, 0, 1), net)
    ((2, 1), True)
    """
    d = sp.zeros(net.m, 1)
    for u in range(1, t + 1):
        d = net.D(u) * (_unit(net.m, a) * net.h[u - 1][b] + net.W_hh * d)
    return d


def dh_dWhh_notes_order(net: SymbolicElman, t: int, a: int, b: int) -> sp.Matrix:
    """The notes' recursion with their factor order, :math:`D_t (e_a h_{t-1}(b)) +
    D_t\\,(\\partial h_{t-1}/\\partial w)\\,W_{hh}`: an (m x 1)(m x m) product, so SymPy
    raises ``ShapeError`` for every m > 1 (for m = 1 it coincides with the correct one).

    >>> import sympy as sp
    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 2, 2, 2)
    >>> try:
    ...     bs.dh_dWhh_notes_order(net, 2, 0, 1)
    ... except sp.ShapeError:
    ...     print("ShapeError: (m x 1)(m x m)")
    ShapeError: (m x 1)(m x m)
    """
    d = sp.zeros(net.m, 1)
    for u in range(1, t + 1):
        d = net.D(u) * _unit(net.m, a) * net.h[u - 1][b] + net.D(u) * d * net.W_hh
    return d


def dh_dWhh_closed_form(net: SymbolicElman, t: int, a: int, b: int) -> sp.Matrix:
    """The recursion unrolled: a sum over how far back W_hh acts, each term an *ordered*
    product of different Jacobians :math:`D_u W_{hh}`:

    .. math:: \\frac{\\partial h_t}{\\partial w_{hh}(a,b)} = \\sum_{v=1}^{t}
              \\Big(\\prod_{u=t-v+2}^{t} D_u W_{hh}\\Big) D_{t-v+1}\\, e_a\\, h_{t-v}(b)

    (the product ordered with the latest step on the left; empty for v = 1).

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 2, 2, 3)
    >>> d = bs.dh_dWhh_closed_form(net, 3, 1, 0)
    >>> bs.is_zero(d - bs.dh_dWhh_recursive(net, 3, 1, 0), net)
    True
    """
    total = sp.zeros(net.m, 1)
    for v in range(1, t + 1):
        term = net.D(t - v + 1) * _unit(net.m, a) * net.h[t - v][b]
        for u in range(t - v + 2, t + 1):  # multiply on the left, earliest first
            term = net.D(u) * net.W_hh * term
        total += term
    return total


def dh_dWhh_notes_closed_form(net: SymbolicElman, t: int, a: int, b: int) -> sp.Matrix:
    """The notes' closed form read literally: :math:`\\sum_{v=1}^{t} D_t^{\\,v} W_{hh}^{v-1}
    e_a h_{t-v}(b) + D_t^{\\,t} W_{hh}^t\\, \\partial h_0/\\partial W_{hh}` with
    :math:`\\partial h_0/\\partial W_{hh} = 0` (:math:`h_0` is fixed): one Jacobian
    :math:`D_t`, raised to powers, all Jacobians to the left of all weights. From
    :math:`h_0 = 0` it agrees with the true derivative up to t = 2 (the terms that differ
    multiply :math:`h_0`); from any other :math:`h_0`, only at t = 1.

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 2, 2, 3)
    >>> at = bs.rational_point(net)
    >>> wrong = bs.dh_dWhh_notes_closed_form(net, 3, 1, 0) - bs.dh_dWhh_direct(net, 3, 1, 0)
    >>> max(abs(v) for v in bs.numeric_value(wrong, net, at)) > 1e-6   # a counterexample
    True
    """
    total = sp.zeros(net.m, 1)
    D_t = net.D(t)
    for v in range(1, t + 1):
        total += D_t**v * net.W_hh ** (v - 1) * _unit(net.m, a) * net.h[t - v][b]
    return total


def notes_immediate_gradients(net: SymbolicElman) -> dict[str, sp.Matrix]:
    """The notes' :math:`\\partial L/\\partial W_{xh}` and :math:`\\partial L/\\partial b_h`
    as written: :math:`\\partial h_t/\\partial W_{xh} = \\partial g/\\partial\\sim\\, x_t`
    and :math:`\\partial h_t/\\partial b_h = \\partial g/\\partial\\sim` keep only the
    immediate dependence of :math:`h_t`, so each :math:`L_t` reaches the parameter through
    step t alone: :math:`\\sum_t D_t W_{ho}^T \\delta o_t\\, x_t^T` and
    :math:`\\sum_t D_t W_{ho}^T \\delta o_t`.

    >>> from rnnbook.notes import bptt_symbolic as bs
    >>> net = bs.elman(1, 1, 2, 2)
    >>> notes = bs.notes_immediate_gradients(net)          # only the immediate dependence of h_t
    >>> at = bs.rational_point(net)
    >>> abs(bs.numeric_value(notes["b_h"] - bs.direct_gradient(net, "b_h"), net, at)[0]) > 1e-6
    True
    """
    T = net.T
    own = [None] + [net.D(t) * net.W_ho.T * output_delta(net, t) for t in range(1, T + 1)]
    return {
        "W_xh": sum((own[t] * net.x[t].T for t in range(1, T + 1)), sp.zeros(net.m, net.l)),
        "b_h": sum((own[t] for t in range(1, T + 1)), sp.zeros(net.m, 1)),
    }
