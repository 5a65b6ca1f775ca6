"""Scalar losses of a convolution's output Y, each with its gradient dL/dY beside it.

* ``sumsq``:    L = sum y^2,                      dL/dY = 2 Y          (the lab's loss)
* ``logcosh``:  L = sum log(cosh(y)),             dL/dY = tanh(Y)
* ``softplus``: L = sum log(1 + exp(y)),          dL/dY = 1 / (1 + exp(-Y))
* ``sum``:      L = sum y,                        dL/dY = 1            (linear: the adjoint alone)

``logcosh`` and ``softplus`` are not quadratic, so a finite-difference check of them tests
more than rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sobelcli.names import LOSS_NAMES

__all__ = ["LOSSES", "Loss", "get_loss"]

Array = NDArray[np.floating]


@dataclass(frozen=True)
class Loss:
    """A loss: ``value(y)`` per element (summed by the caller) and ``grad(y)`` = dL/dY."""

    name: str
    formula: str
    elementwise: Callable[[Array], Array]
    grad: Callable[[Array], Array]

    def value(self, y: Array) -> float:
        """L(Y), summed in float64."""
        return float(np.sum(self.elementwise(y), dtype=np.float64))


def _logcosh(y: Array) -> Array:
    a = np.abs(y)
    # log(cosh(y)) = |y| + log1p(exp(-2|y|)) - log(2), stable for large |y|.
    return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)  # type: ignore[no-any-return]


def _softplus(y: Array) -> Array:
    return np.logaddexp(0.0, y)


def _sigmoid(y: Array) -> Array:
    return 0.5 * (1.0 + np.tanh(0.5 * y))  # type: ignore[no-any-return]


LOSSES: dict[str, Loss] = {
    "sumsq": Loss("sumsq", "L = sum y^2", lambda y: y * y, lambda y: 2.0 * y),
    "logcosh": Loss("logcosh", "L = sum log cosh y", _logcosh, np.tanh),
    "softplus": Loss("softplus", "L = sum log(1 + e^y)", _softplus, _sigmoid),
    "sum": Loss("sum", "L = sum y", lambda y: y, np.ones_like),
}
assert tuple(LOSSES) == LOSS_NAMES


def get_loss(name: str) -> Loss:
    """Return a named loss; ValueError lists the known names."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
