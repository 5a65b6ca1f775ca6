"""Valid correlation by sums of shifted slices: any kernel (direct), or a rank-1 one (separable).

Every kernel is a short list of numpy ufunc calls with ``out=`` on preallocated buffers, so
that no pass over the image allocates; :func:`sobelcli.engine.strips.run_strips` walks the strips.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sobelcli.engine import strips as _strips
from sobelcli.engine.strips import Array, Buffers, run_strips, strip_rows


def _accumulate(out: Array, src: Array, weight: float, tmp: Array, first: bool) -> None:
    """Do out (+)= weight * src: one ufunc pass when the weight is +-1 or on the first tap."""
    if first:
        if weight == 1.0:
            np.copyto(out, src)
        elif weight == -1.0:
            np.negative(src, out=out)
        else:
            np.multiply(src, weight, out=out)
    elif weight == 1.0:
        np.add(out, src, out=out)
    elif weight == -1.0:
        np.subtract(out, src, out=out)
    else:
        np.multiply(src, weight, out=tmp)
        np.add(out, tmp, out=out)


def direct(x: Array, k: Array) -> Array:
    """Valid correlation as a sum of shifted slices: cost ~ taps * oh * ow.

    The Python loop runs over the kernel's nonzero taps, or over the outputs when there are
    fewer of those (a kernel nearly the image's size, as in ``grad_kernel``): each output is
    then one ``einsum`` dot product of a window with the kernel, accumulated in float64.
    """
    kh, kw = k.shape
    oh, ow = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.empty((oh, ow), dtype=x.dtype)
    nonzero = int(np.count_nonzero(k))
    if not nonzero:
        out.fill(0)
        return out
    if oh * ow < nonzero:

        def dots(r0: int, r1: int, buffers: Buffers) -> None:
            for i in range(r0, r1):
                for j in range(ow):
                    window = x[i : i + kh, j : j + kw]
                    out[i, j] = np.einsum("ij,ij->", window, k, dtype=np.float64)

        run_strips(oh, 1, dots, oh * ow * kh * kw)
        return out
    rows_k = k.tolist()
    taps = [(a, b, rows_k[a][b]) for a in range(kh) for b in range(kw) if rows_k[a][b] != 0]
    # The strip's window of x, its output and one temporary share the strip budget.
    least = _strips.MIN_STRIP_ROWS
    rows = min(strip_rows(ow, x.itemsize, 2 + (kh - 1 + least) // least), oh)

    def scratch() -> Buffers:
        return [np.empty((rows, ow), dtype=x.dtype)]

    def work(r0: int, r1: int, buffers: Buffers) -> None:
        dst = out[r0:r1]
        tmp = buffers[0][: r1 - r0]
        for i, (a, b, weight) in enumerate(taps):
            _accumulate(dst, x[r0 + a : r1 + a, b : b + ow], weight, tmp, i == 0)

    run_strips(oh, rows, work, oh * ow, scratch)
    return out


def separable(x: Array, u: Array, v: Array) -> Array:
    """Valid correlation with ``outer(u, v)``: a pass along rows with v, then columns with u."""
    kh, kw = len(u), len(v)
    oh, ow = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.empty((oh, ow), dtype=x.dtype)
    uu = [(a, float(t)) for a, t in enumerate(u) if t != 0]
    vv = [(b, float(t)) for b, t in enumerate(v) if t != 0]
    if not uu or not vv:
        out.fill(0)
        return out
    # Tall strips: each strip's row pass also covers the kh - 1 rows below it.
    rows = min(max(strip_rows(ow, x.itemsize, 4), 4 * kh), oh)

    def scratch() -> Buffers:
        return [
            np.empty((rows + kh - 1, ow), dtype=x.dtype),
            np.empty((rows + kh - 1, ow), dtype=x.dtype),
        ]

    def work(r0: int, r1: int, buffers: Buffers) -> None:
        n = r1 - r0
        src = x[r0 : r1 + kh - 1]
        rowpass = buffers[0][: n + kh - 1]
        tmp = buffers[1]
        for i, (b, weight) in enumerate(vv):
            _accumulate(rowpass, src[:, b : b + ow], weight, tmp[: n + kh - 1], i == 0)
        dst = out[r0:r1]
        for i, (a, weight) in enumerate(uu):
            _accumulate(dst, rowpass[a : a + n], weight, tmp[:n], i == 0)

    run_strips(oh, rows, work, oh * ow, scratch)
    return out


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
