"""Exact rank-1 factoring of a kernel, for the separable path."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sobelcli.engine.strips import Array


def rank1_factors(k: NDArray[np.generic]) -> tuple[Array, Array] | None:
    """Exact factors (u, v) with ``outer(u, v) == k`` for a rank-1 kernel, else None.

    The pivot (largest entry) column and row give the factors, so small-integer kernels such
    as Sobel's factor without rounding: Gx = outer([-2, 0, 2], [0.5, 1, 0.5]). A power of two
    is then moved between the factors (exact) to make as many weights +-1 as possible, which
    saves a multiply each: Gx = outer([-1, 0, 1], [1, 2, 1]).
    """
    kf = np.asarray(k, dtype=np.float64)
    p, q = np.unravel_index(int(np.argmax(np.abs(kf))), kf.shape)
    pivot = kf[p, q]
    if pivot == 0:
        return None
    u = kf[:, q].copy()
    v = kf[p, :] / pivot
    scale = float(np.abs(kf).max())
    if not np.allclose(np.outer(u, v), kf, rtol=0, atol=1e-12 * scale):
        return None
    best, best_ones = 1.0, -1
    for t in [*np.abs(u[u != 0]), *(1.0 / np.abs(v[v != 0]))]:
        m, e = np.frexp(t)
        if m != 0.5:  # not a power of two: scaling by it would round
            continue
        c = float(t)
        with np.errstate(over="ignore", under="ignore"):
            uc, vc = u / c, v * c
        if not (np.array_equal(uc * c, u) and np.array_equal(vc / c, v)):
            continue  # overflow or underflow: not exact
        ones = int(np.sum(np.abs(uc) == 1.0) + np.sum(np.abs(vc) == 1.0))
        if ones > best_ones:
            best, best_ones = c, ones
    return u / best, v * best
