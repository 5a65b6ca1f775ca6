"""RMSprop with Keras' defaults.

Per weight w with gradient g, a running mean square v (starting at 0) scales the step::

    v <- rho v + (1 - rho) g^2
    w <- w - lr g / (sqrt(v) + eps)

lr = 1e-3, rho = 0.9, eps = 1e-7 (Keras' ``optimizer = "rmsprop"``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["RMSprop"]

Array = NDArray[np.floating]


class RMSprop:
    """RMSprop; ``step(params, grads)`` updates the arrays of ``params`` in place.

    Parameters
    ----------
    lr : float
        Learning rate, > 0.
    rho : float
        Decay of the mean square, in [0, 1).
    eps : float
        Added to sqrt(v) so that the step stays finite.
    """

    def __init__(self, lr: float = 1e-3, rho: float = 0.9, eps: float = 1e-7) -> None:
        if not lr > 0:
            raise ValueError(f"learning rate must be > 0, got {lr}")
        if not 0 <= rho < 1:
            raise ValueError(f"rho must be in [0, 1), got {rho}")
        self.lr, self.rho, self.eps = lr, rho, eps
        self.state: dict[str, Array] = {}

    def step(self, params: dict[str, Array], grads: dict[str, Array]) -> None:
        """One update of every weight that has a gradient (same keys as ``params``)."""
        for name, w in params.items():
            g = grads[name].astype(w.dtype, copy=False)
            v = self.state.get(name)
            if v is None:
                v = self.state[name] = np.zeros_like(w)
            v *= self.rho
            v += (1 - self.rho) * (g * g)
            w -= self.lr * g / (np.sqrt(v) + self.eps)
