"""The battery of cases and the expected answer of each, from sobelcli's reference core.

The lab's formulas are 1-based; the arrays here are 0-based numpy arrays.

* ``forward``, f(x, k) -> y, eq. (3): ``y_ij = sum_k sum_l x_{i+k-1, j+l-1} k_kl``, the valid
  cross-correlation (no kernel flip), shape (r(X) - r(K) + 1) x (c(X) - c(K) + 1).
* ``grad-input``, f(dy, k) -> dL/dX, eq. (6): the full convolution of dL/dY with K, the shape
  of X, (r(Y) + r(K) - 1) x (c(Y) + c(K) - 1).
* ``grad-kernel``, f(x, dy) -> dL/dK, eq. (5): the valid correlation of X with dL/dY, the
  shape of K, (r(X) - r(Y) + 1) x (c(X) - c(Y) + 1).
* ``edges``, f(image) -> E, eq. (2): ``E = sqrt((Gx * I)^2 + (Gy * I)^2) / max``, with
  Gx = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]] and Gy = Gx^T, shape (H - 2) x (W - 2).

Every battery starts with the same hand-made cases (each aimed at a usual mistake: 1 x 1 and
1 x n kernels, a kernel as large as the image, even and non-square sizes, one-row images,
integer and float32 inputs, structured values) and goes on with random ones; the values of
all of them come from one seeded generator, so a seed gives the same battery every time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from ._api import SOBEL_X, SOBEL_Y, correlate2d, edge_magnitude, grad_input, grad_kernel

__all__ = [
    "DEFAULT_CASES",
    "ROLES",
    "ROLE_INFO",
    "Case",
    "Role",
    "RoleInfo",
    "battery",
    "error_scale",
    "reference",
]

Role = Literal["forward", "grad-input", "grad-kernel", "edges"]
ROLES: tuple[Role, ...] = ("forward", "grad-input", "grad-kernel", "edges")

#: Cases run when no count is given: every hand-made case and a few random ones.
DEFAULT_CASES = 20

Array = NDArray[Any]
Float = NDArray[np.float64]


@dataclass(frozen=True)
class RoleInfo:
    """What a role's function receives and returns.

    Attributes
    ----------
    inputs : tuple of str
        Names of the arguments in call order, as the ``--cmd`` placeholders spell them.
    output : str
        What it returns.
    signature : str
        ``f(x, k) -> y`` and the like.
    """

    inputs: tuple[str, ...]
    output: str
    signature: str


ROLE_INFO: dict[Role, RoleInfo] = {
    "forward": RoleInfo(("x", "k"), "Y", "f(x, k) -> y"),
    "grad-input": RoleInfo(("dy", "k"), "dL/dX", "f(dy, k) -> dL/dX"),
    "grad-kernel": RoleInfo(("x", "dy"), "dL/dK", "f(x, dy) -> dL/dK"),
    "edges": RoleInfo(("x",), "E", "f(image) -> E"),
}


@dataclass(frozen=True, eq=False)
class Case:
    """One input of the battery, with everything every role needs.

    Attributes
    ----------
    index : int
        1-based position in the battery.
    label : str
        What the case exercises, e.g. ``"1 x n kernel"``.
    x : ndarray, shape (H, W)
        The image X (float64, float32, uint8 or int64).
    k : ndarray, shape (kh, kw)
        The kernel K; for ``edges`` the lab's Gx.
    dy : ndarray, shape (H - kh + 1, W - kw + 1)
        dL/dY for the gradient roles, of the same kind of dtype as X.
    """

    index: int
    label: str
    x: Array
    k: Array
    dy: Array

    def inputs(self, role: Role) -> tuple[Array, ...]:
        """The arguments of ``role``'s function, in call order."""
        named = {"x": self.x, "k": self.k, "dy": self.dy}
        return tuple(named[name] for name in ROLE_INFO[role].inputs)

    def output_shape(self, role: Role) -> tuple[int, int]:
        """The shape a correct answer has: Y's, X's, K's or E's."""
        h, w = self.x.shape
        if role == "forward":
            return (int(self.dy.shape[0]), int(self.dy.shape[1]))
        if role == "grad-input":
            return (h, w)
        if role == "grad-kernel":
            return (int(self.k.shape[0]), int(self.k.shape[1]))
        return (h - 2, w - 2)

    @property
    def dtype(self) -> str:
        """The dtypes of X and K, as ``"float64"`` or ``"uint8 / float64"``."""
        a, b = self.x.dtype.name, self.k.dtype.name
        return a if a == b else f"{a} / {b}"

    def rtol(self) -> float:
        """Relative tolerance: 1e-4 when an input is float32, 1e-6 otherwise."""
        low = any(a.dtype == np.float32 for a in (self.x, self.k, self.dy))
        return 1e-4 if low else 1e-6


def _f64(a: Array) -> Float:
    return np.asarray(a, dtype=np.float64)


def reference(role: Role, case: Case) -> Float:
    """Sobelcli's answer for ``case``, computed in float64.

    Parameters
    ----------
    role : {"forward", "grad-input", "grad-kernel", "edges"}
    case : Case

    Returns
    -------
    ndarray of float64, shape ``case.output_shape(role)``
    """
    x, k, dy = _f64(case.x), _f64(case.k), _f64(case.dy)
    if role == "forward":
        return np.asarray(correlate2d(x, k), dtype=np.float64)
    if role == "grad-input":
        return np.asarray(grad_input(dy, k), dtype=np.float64)
    if role == "grad-kernel":
        return np.asarray(grad_kernel(x, dy), dtype=np.float64)
    return np.asarray(edge_magnitude(x), dtype=np.float64)


def error_scale(role: Role, case: Case) -> Float:
    """How large rounding errors of each output element can be, before the tolerance.

    A sum of products is only as exact as the sizes of its terms, so the scale of element
    (i, j) is the same sum with every term made positive: ``sum |x| |k|`` over the terms of
    eq. (3), (5) or (6); for ``edges`` that of Gx * I plus Gy * I, divided by the maximum.

    Returns
    -------
    ndarray of float64, shape ``case.output_shape(role)``
    """
    x, k, dy = np.abs(_f64(case.x)), np.abs(_f64(case.k)), np.abs(_f64(case.dy))
    if role == "forward":
        return np.asarray(correlate2d(x, k), dtype=np.float64)
    if role == "grad-input":
        return np.asarray(grad_input(dy, k), dtype=np.float64)
    if role == "grad-kernel":
        return np.asarray(grad_kernel(x, dy), dtype=np.float64)
    peak = float(np.max(edge_magnitude(_f64(case.x), normalize=False)))
    terms = correlate2d(x, np.abs(SOBEL_X)) + correlate2d(x, np.abs(SOBEL_Y))
    return np.asarray(2.0 * terms / max(peak, 1e-300), dtype=np.float64)


# --- the battery --------------------------------------------------------------------------

Values = Callable[[np.random.Generator, tuple[int, int]], Array]


def _normal(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    return rng.standard_normal(shape)


def _float32(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    return rng.standard_normal(shape).astype(np.float32)


def _uint8(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    return rng.integers(0, 256, shape, dtype=np.uint8)


def _small_int(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    return rng.integers(-9, 10, shape, dtype=np.int64)


def _counting(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    return np.arange(1, shape[0] * shape[1] + 1, dtype=np.float64).reshape(shape)


def _step(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    rows, cols = np.indices(shape)
    return (rows >= shape[0] // 2).astype(np.float64) + 0.1 * cols


def _vertical_step(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    out: Array = _step(rng, (shape[1], shape[0])).T
    return out


def _diagonal(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    rows, cols = np.indices(shape)
    return (rows + 2 * cols >= shape[0]).astype(np.float64) + 0.05 * rows


def _magnitudes(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    return rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3, shape)


def _lab_kernel(rng: np.random.Generator, shape: tuple[int, int]) -> Array:
    return np.array(SOBEL_X, dtype=np.float64)


@dataclass(frozen=True)
class _Plan:
    label: str
    x_shape: tuple[int, int]
    k_shape: tuple[int, int]
    x_values: Values
    k_values: Values = _normal
    dy_values: Values = _normal


#: Hand-made cases of the three convolution roles, most telling first (a short battery keeps
#: the first ones).
_CONV_PLANS: tuple[_Plan, ...] = (
    _Plan("random non-square image and kernel", (6, 8), (2, 3), _normal),
    _Plan("counting numbers (easy to read)", (4, 6), (2, 3), _counting, _counting, _counting),
    _Plan("1 x n kernel", (5, 7), (1, 4), _normal),
    _Plan("n x 1 kernel", (6, 4), (3, 1), _normal),
    _Plan("kernel as large as the image", (4, 5), (4, 5), _normal),
    _Plan("one-row image", (1, 9), (1, 3), _normal),
    _Plan("1 x 1 kernel", (4, 5), (1, 1), _normal),
    _Plan("the lab's Gx on a step edge", (7, 9), (3, 3), _step, _lab_kernel),
    _Plan("even square sizes", (8, 8), (4, 4), _normal),
    _Plan("integer image and kernel (int64)", (5, 6), (2, 2), _small_int, _small_int, _small_int),
    _Plan("uint8 image, float kernel", (6, 7), (3, 3), _uint8),
    _Plan("float32 image and kernel", (7, 6), (3, 2), _float32, _float32, _float32),
    _Plan("one-column image", (7, 1), (2, 1), _normal),
    _Plan("1 x 1 image and kernel", (1, 1), (1, 1), _normal),
    _Plan("values from 1e-3 to 1e3", (5, 5), (3, 3), _magnitudes, _magnitudes),
)

#: Hand-made cases of ``edges`` (the kernel is always the lab's Gx and Gy).
_EDGE_PLANS: tuple[_Plan, ...] = (
    _Plan("random non-square image", (6, 8), (3, 3), _normal),
    _Plan("step edge", (7, 9), (3, 3), _step),
    _Plan("vertical step edge", (8, 6), (3, 3), _vertical_step),
    _Plan("3 x 3 image (one output value)", (3, 3), (3, 3), _normal),
    _Plan("3 x n image (one output row)", (3, 10), (3, 3), _normal),
    _Plan("n x 3 image (one output column)", (9, 3), (3, 3), _normal),
    _Plan("uint8 image", (8, 10), (3, 3), _uint8),
    _Plan("float32 image", (7, 6), (3, 3), _float32),
    _Plan("diagonal edge", (9, 9), (3, 3), _diagonal),
    _Plan("even non-square image", (6, 11), (3, 3), _normal),
    _Plan("counting numbers", (5, 7), (3, 3), _counting),
    _Plan("values from 1e-3 to 1e3", (6, 6), (3, 3), _magnitudes),
)


def _random_plan(rng: np.random.Generator, edges: bool) -> _Plan:
    low = 3 if edges else 1
    h, w = (int(v) for v in rng.integers(low, 13, 2))
    kh, kw = (3, 3) if edges else (int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1)))
    kind = rng.choice(["float64", "float64", "float64", "float32", "int64", "uint8"])
    values: dict[str, tuple[Values, Values]] = {
        "float64": (_normal, _normal),
        "float32": (_float32, _float32),
        "int64": (_small_int, _small_int),
        "uint8": (_uint8, _normal),
    }
    x_values, k_values = values[str(kind)]
    dy_values = _small_int if kind == "int64" else (_float32 if kind == "float32" else _normal)
    label = "random image" if edges else "random sizes"
    return _Plan(label, (h, w), (kh, kw), x_values, k_values, dy_values)


def battery(role: Role, count: int = DEFAULT_CASES, seed: int = 0) -> tuple[Case, ...]:
    """The cases of a run: the hand-made ones first, then random ones, ``count`` in all.

    Parameters
    ----------
    role : {"forward", "grad-input", "grad-kernel", "edges"}
    count : int
        How many cases (at least 1). Fewer than the hand-made ones keeps the first of them.
    seed : int
        Seed of every value and random shape: the same seed gives the same battery.

    Returns
    -------
    tuple of Case
    """
    if count < 1:
        raise ValueError(f"the battery needs at least one case, not {count}")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    edges = role == "edges"
    rng = np.random.default_rng(seed)
    fixed = _EDGE_PLANS if edges else _CONV_PLANS
    plans = list(fixed[:count])
    plans += [_random_plan(rng, edges) for _ in range(count - len(plans))]
    cases = []
    for index, plan in enumerate(plans, start=1):
        x = plan.x_values(rng, plan.x_shape)
        if edges:
            k = _lab_kernel(rng, (3, 3))
            dy = np.zeros((plan.x_shape[0] - 2, plan.x_shape[1] - 2))
        else:
            k = plan.k_values(rng, plan.k_shape)
            y_shape = (plan.x_shape[0] - plan.k_shape[0] + 1, plan.x_shape[1] - plan.k_shape[1] + 1)
            dy = plan.dy_values(rng, y_shape)
        cases.append(Case(index, plan.label, x, k, dy))
    return tuple(cases)
