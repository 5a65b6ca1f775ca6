"""2 x 2 max-pooling with stride 2, like Keras' MaxPooling2D with 'valid' padding.

Odd sizes are floored: the last row or column is dropped (11 -> 5), and gets no gradient.
The backward routes each output's gradient to the one input that won its window; on a tie
the first in (top-left, top-right, bottom-left, bottom-right) order wins, like an argmax.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["PoolCache", "maxpool2d_backward", "maxpool2d_forward"]

Array = NDArray[np.floating]
PoolCache = tuple[Array, Array]
_OFFSETS = ((0, 0), (0, 1), (1, 0), (1, 1))


def _quarters(x: Array) -> list[Array]:
    h2, w2 = x.shape[1] // 2, x.shape[2] // 2
    return [x[:, a : 2 * h2 : 2, b : 2 * w2 : 2] for a, b in _OFFSETS]


def maxpool2d_forward(x: Array) -> tuple[Array, PoolCache]:
    """Max over non-overlapping 2 x 2 windows.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
        H and W at least 2.

    Returns
    -------
    y : ndarray, shape (N, H // 2, W // 2, C)
        ``y[n, i, j, c] = max(x[n, 2i + a, 2j + b, c] for a, b in {0, 1})``.
    cache : tuple
        (x, y), references only.
    """
    if x.ndim != 4 or x.shape[1] < 2 or x.shape[2] < 2:
        raise ValueError(f"max-pool needs (N, H, W, C) with H, W >= 2, got shape {x.shape}")
    q = _quarters(x)
    y = np.maximum(np.maximum(q[0], q[1]), np.maximum(q[2], q[3]))
    return y, (x, y)


def maxpool2d_backward(dy: Array, cache: PoolCache) -> Array:
    """dL/dX of :func:`maxpool2d_forward`: dL/dY placed at each window's (first) maximum.

    Parameters
    ----------
    dy : ndarray, shape (N, H // 2, W // 2, C)
    cache : tuple
        The forward's cache.

    Returns
    -------
    ndarray, shape (N, H, W, C)
        Zero everywhere except at one position per window.
    """
    x, y = cache
    dx = np.zeros(x.shape, dtype=np.result_type(x.dtype, dy.dtype))
    taken = np.zeros(y.shape, dtype=bool)
    h2, w2 = y.shape[1], y.shape[2]
    for (a, b), xq in zip(_OFFSETS, _quarters(x), strict=True):
        won = xq == y
        won &= ~taken
        taken |= won
        dx[:, a : 2 * h2 : 2, b : 2 * w2 : 2] = np.where(won, dy, 0)
    return dx
