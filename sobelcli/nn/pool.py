"""2 x 2 max-pooling with stride 2, like Keras' MaxPooling2D with 'valid' padding.

Odd sizes are floored: the last row or column is dropped (11 -> 5), and gets no gradient.
The backward sends each output's gradient to the input(s) equal to the window's maximum.
With distinct values that is the one winner, as in Keras. On an exact tie every maximum
receives it; in this network ties are zeros after a ReLU, whose backward then zeroes them,
so the composite gradient is the same as Keras' argmax routing. (Tie-breaking costs
several passes over the data; this is one comparison and one product.)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["PoolCache", "maxpool2d_backward", "maxpool2d_forward"]

Array = NDArray[np.floating]
PoolCache = tuple[Array, Array]


def _windows(x: Array) -> Array:
    """View (or, for odd sizes, a copy of the even crop) as (N, H//2, 2, W//2, 2, C)."""
    n, h, w, c = x.shape
    h2, w2 = h // 2, w // 2
    even = x[:, : 2 * h2, : 2 * w2, :]
    return np.ascontiguousarray(even).reshape(n, h2, 2, w2, 2, c)


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
    h2, w2 = x.shape[1] // 2, x.shape[2] // 2
    q = [x[:, a : 2 * h2 : 2, b : 2 * w2 : 2] for a in (0, 1) for b in (0, 1)]
    y = np.maximum(np.maximum(q[0], q[1]), np.maximum(q[2], q[3]))
    return y, (x, y)


def maxpool2d_backward(dy: Array, cache: PoolCache) -> Array:
    """dL/dX of :func:`maxpool2d_forward`: dL/dY placed at each window's maximum.

    Parameters
    ----------
    dy : ndarray, shape (N, H // 2, W // 2, C)
    cache : tuple
        The forward's cache.

    Returns
    -------
    ndarray, shape (N, H, W, C)
        ``dx[n, 2i + a, 2j + b, c] = dy[n, i, j, c]`` where x there equals the window's
        maximum, 0 elsewhere (and 0 in a dropped odd row or column).
    """
    x, y = cache
    n, h, w, c = x.shape
    h2, w2 = y.shape[1], y.shape[2]
    dtype = np.result_type(x.dtype, dy.dtype)
    won = _windows(x) == y[:, :, None, :, None, :]
    dx6: Array = np.multiply(won, dy[:, :, None, :, None, :], dtype=dtype)
    if (h, w) == (2 * h2, 2 * w2):
        return dx6.reshape(x.shape)
    dx = np.zeros(x.shape, dtype=dtype)
    dx[:, : 2 * h2, : 2 * w2, :] = dx6.reshape(n, 2 * h2, 2 * w2, c)
    return dx
