"""The fused 3 x 3 derivative pair (Sobel and kin) and its magnitude, strip by strip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from sobelcli.engine.slices import _accumulate
from sobelcli.engine.strips import Array, Buffers, run_strips, scale_rows, strip_rows


def _smooth3(
    out: Array, left: Array, mid: Array, right: Array, s: tuple[float, float, float], pair: Array
) -> None:
    """Set out = s0 * left + s1 * mid + s2 * right, in as few passes as the weights allow.

    ``pair`` is scratch of ``out``'s shape. (1, 2, 1) takes 3 passes; the pairwise form
    ``(l + m) + (m + r)`` of :func:`gradient_pair` does it in 2 where views allow.
    """
    s0, s1, s2 = s
    if s0 == s2 and s0 == s1:
        np.add(left, right, out=out)
        np.add(out, mid, out=out)
        if s0 != 1.0:
            np.multiply(out, s0, out=out)
        return
    if s0 == s2:
        np.add(left, right, out=out)
        if s0 != 1.0:
            np.multiply(out, s0, out=out)
        if s1 == 1.0:
            np.add(out, mid, out=out)
        else:
            np.multiply(mid, s1, out=pair)
            np.add(out, pair, out=out)
        return
    np.multiply(mid, s1, out=out)
    for src, weight in ((left, s0), (right, s2)):
        _accumulate(out, src, weight, pair, False)


def _pair_rows(rows: int, width: int, dtype: np.dtype[Any]) -> Buffers:
    """Scratch buffers of :func:`_derivatives` for strips of ``rows`` output rows.

    The fourth is touched only by operators that are not c (1, 2, 1); np.empty does not
    commit its pages until then.
    """
    return [np.empty((rows + 2) * width, dtype=dtype) for _ in range(4)]


def _derivatives(
    src: Array, s: tuple[float, float, float], buffers: Buffers
) -> tuple[Array, Array, Array]:
    """gx, gy of one strip (``src`` has n + 2 rows), and a free (n, ow) scratch buffer.

    gx smooths along rows with s then differences along columns; gy the other way round.
    For s = c (1, 2, 1) each smoothing is two pairwise sums, ``(a + b) + (b + c)``.
    """
    n, w = src.shape[0] - 2, src.shape[1]
    ow = w - 2
    b1, b2, b3 = buffers[:3]
    pairwise = s[0] == s[2] and s[1] == 2 * s[0]
    sm = b2[: (n + 2) * ow].reshape(n + 2, ow)
    if pairwise:
        p = b1[: (n + 2) * (w - 1)].reshape(n + 2, w - 1)
        np.add(src[:, :-1], src[:, 1:], out=p)
        np.add(p[:, :-1], p[:, 1:], out=sm)
    else:
        tmp = b1[: (n + 2) * ow].reshape(n + 2, ow)
        _smooth3(sm, src[:, :ow], src[:, 1 : ow + 1], src[:, 2:], s, tmp)
    gx = b3[: n * ow].reshape(n, ow)
    np.subtract(sm[2:], sm[:-2], out=gx)
    df = b1[: (n + 2) * ow].reshape(n + 2, ow)
    np.subtract(src[:, 2:], src[:, :-2], out=df)
    if pairwise:
        q = b2[: (n + 1) * ow].reshape(n + 1, ow)
        np.add(df[:-1], df[1:], out=q)
        gy = b1[: n * ow].reshape(n, ow)  # overwrites df, which q no longer needs
        np.add(q[:-1], q[1:], out=gy)
        free = b2[: n * ow].reshape(n, ow)
    else:
        gy = b2[: n * ow].reshape(n, ow)
        _smooth3(gy, df[:-2], df[1:-1], df[2:], s, buffers[3][: n * ow].reshape(n, ow))
        free = b1[: n * ow].reshape(n, ow)
    if pairwise and s[0] != 1.0:
        np.multiply(gx, s[0], out=gx)
        np.multiply(gy, s[0], out=gy)
    return gx, gy, free


def gradient_pair(
    x: Array,
    smooth: tuple[float, float, float],
    combine: Callable[[Array, Array, int, int], None],
) -> None:
    """Fused 3 x 3 derivative pair, strip by strip, handed to ``combine(gx, gy, r0, r1)``.

    With s = ``smooth`` and d = (-1, 0, 1): gx = correlation with outer(d, s) (the derivative
    along axis 0, the lab's Gx for Sobel) and gy = correlation with outer(s, d) (its
    transpose). Each strip smooths and differences its rows once and shares them. gx and gy
    are the thread's scratch buffers: ``combine`` must copy what it keeps before returning.
    """
    oh, ow = x.shape[0] - 2, x.shape[1] - 2
    rows = min(strip_rows(x.shape[1], x.itemsize, 3), oh)

    def work(r0: int, r1: int, buffers: Buffers) -> None:
        gx, gy, _ = _derivatives(x[r0 : r1 + 2], smooth, buffers)
        combine(gx, gy, r0, r1)

    run_strips(oh, rows, work, oh * ow, lambda: _pair_rows(rows, x.shape[1], x.dtype))


def gradient_magnitude(x: Array, smooth: tuple[float, float, float], normalize: bool) -> Array:
    """``sqrt(gx^2 + gy^2)`` of :func:`gradient_pair`, divided by its maximum when ``normalize``.

    One pass computes the magnitude strip by strip, with each strip's maximum (the square
    root of the largest sum of squares: the same value, as sqrt is monotonic and correctly
    rounded). It avoids ``np.hypot``, a scalar libm call per pixel ~30x slower than the three
    SIMD passes, except on a strip whose squares overflow or fall out of the normal range,
    which is redone with ``np.hypot`` (a flat strip is redone too, and found to be zeros).
    A second, threaded pass divides by the maximum; a map whose maximum is 0 stays zeros.
    """
    oh, ow = x.shape[0] - 2, x.shape[1] - 2
    out = np.empty((oh, ow), dtype=x.dtype)
    rows = min(strip_rows(x.shape[1], x.itemsize, 3), oh)
    info = np.finfo(x.dtype)
    small = float(info.tiny) / float(info.eps)  # squares below this have lost bits
    tops: list[float] = []

    def work(r0: int, r1: int, buffers: Buffers) -> None:
        src = x[r0 : r1 + 2]
        gx, gy, _ = _derivatives(src, smooth, buffers)
        dst = out[r0:r1]
        with np.errstate(over="ignore", under="ignore"):
            np.multiply(gx, gx, out=gx)
            np.multiply(gy, gy, out=gy)
            np.add(gx, gy, out=gx)
        top2 = gx.max()
        if np.isfinite(top2) and top2 >= small:
            np.sqrt(gx, out=dst)
            tops.append(float(np.sqrt(top2)))  # list.append is atomic
            return
        # Overflow, underflow, or a flat strip (all zeros, as often in a real picture).
        gx, gy, _ = _derivatives(src, smooth, buffers)
        if gx.any() or gy.any():
            np.hypot(gx, gy, out=dst)
            tops.append(float(dst.max()))
        else:
            dst.fill(0)

    run_strips(oh, rows, work, oh * ow, lambda: _pair_rows(rows, x.shape[1], x.dtype))
    if normalize:
        top = max(tops, default=0.0)
        if top > 0:
            scale_rows(out, top)
    return out
