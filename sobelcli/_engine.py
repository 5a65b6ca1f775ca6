"""Low-level kernels behind :mod:`sobelcli.conv` and :mod:`sobelcli.edges`.

Private: inputs are already validated 2-D float arrays of one dtype. Work is split into
strips of output rows so that temporaries stay in cache, and the strips of a large image
are spread over the cores (numpy releases the GIL inside its loops).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]

#: Bytes of one strip's row buffer: about half of a typical L2 cache.
STRIP_BYTES = 1 << 18
#: Images with fewer output pixels than this run on one thread.
THREAD_MIN_PIXELS = 1 << 19


def _threads() -> int:
    env = os.environ.get("SOBELCLI_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return os.cpu_count() or 1


def strip_rows(width: int, itemsize: int, taps: int = 1) -> int:
    """Rows per strip so that one strip's buffers fit in about STRIP_BYTES."""
    return max(4, STRIP_BYTES // max(1, width * itemsize * max(1, taps)))


def run_strips(n_rows: int, rows: int, work: Callable[[int, int], None], pixels: int) -> None:
    """Call ``work(r0, r1)`` for consecutive row ranges covering ``[0, n_rows)``.

    Ranges go to a thread pool when the image has at least THREAD_MIN_PIXELS output pixels.
    """
    bounds = [(r, min(r + rows, n_rows)) for r in range(0, n_rows, rows)]
    threads = min(_threads(), len(bounds))
    if threads <= 1 or pixels < THREAD_MIN_PIXELS:
        for r0, r1 in bounds:
            work(r0, r1)
        return
    # Interleave so that each thread walks the image top to bottom in cache-sized steps.
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(work, r0, r1) for r0, r1 in bounds]:
            future.result()


def _axpy(out: Array, src: Array, weight: float, tmp: Array) -> None:
    """out += weight * src, without a multiply when weight is +-1."""
    if weight == 1.0:
        np.add(out, src, out=out)
    elif weight == -1.0:
        np.subtract(out, src, out=out)
    elif weight != 0.0:
        np.multiply(src, weight, out=tmp)
        np.add(out, tmp, out=out)


def direct(x: Array, k: Array) -> Array:
    """Valid correlation as a sum of kh * kw shifted slices: cost kh * kw * oh * ow."""
    kh, kw = k.shape
    oh, ow = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.zeros((oh, ow), dtype=x.dtype)
    taps = [(a, b, float(k[a, b])) for a in range(kh) for b in range(kw) if k[a, b] != 0]

    def work(r0: int, r1: int) -> None:
        dst = out[r0:r1]
        tmp = np.empty_like(dst)
        for a, b, weight in taps:
            _axpy(dst, x[r0 + a : r1 + a, b : b + ow], weight, tmp)

    run_strips(oh, strip_rows(ow, x.itemsize), work, oh * ow)
    return out


def rank1_factors(k: NDArray[np.generic]) -> tuple[Array, Array] | None:
    """Exact factors (u, v) with ``outer(u, v) == k`` for a rank-1 kernel, else None.

    The pivot (largest entry) column and row give the factors, so small-integer kernels such
    as Sobel's factor without rounding: Gx = outer([-2, 0, 2], [0.5, 1, 0.5]).
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
    return u, v


def separable(x: Array, u: Array, v: Array) -> Array:
    """Valid correlation with ``outer(u, v)``: a pass along rows with v, then along columns with u."""
    kh, kw = len(u), len(v)
    oh, ow = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.zeros((oh, ow), dtype=x.dtype)
    uu = [float(t) for t in u]
    vv = [float(t) for t in v]

    def work(r0: int, r1: int) -> None:
        src = x[r0 : r1 + kh - 1]
        rowpass = np.zeros((src.shape[0], ow), dtype=x.dtype)
        tmp = np.empty_like(rowpass)
        for b, weight in enumerate(vv):
            _axpy(rowpass, src[:, b : b + ow], weight, tmp)
        dst = out[r0:r1]
        tmp2 = np.empty_like(dst)
        for a, weight in enumerate(uu):
            _axpy(dst, rowpass[a : a + r1 - r0], weight, tmp2)

    run_strips(oh, strip_rows(ow, x.itemsize, 2), work, oh * ow)
    return out


def next_fast_len(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n: a size numpy.fft transforms quickly."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def fft_valid(x: Array, k: Array) -> Array:
    """Valid correlation through numpy.fft: cost ~ H W log(H W), independent of the kernel size."""
    kh, kw = k.shape
    h, w = x.shape
    shape = (next_fast_len(h + kh - 1), next_fast_len(w + kw - 1))
    spec = np.fft.rfft2(x, shape)
    spec *= np.fft.rfft2(k[::-1, ::-1], shape)
    full = np.fft.irfft2(spec, shape)
    return np.ascontiguousarray(full[kh - 1 : h, kw - 1 : w], dtype=x.dtype)


def gradient_pair(
    x: Array,
    smooth: tuple[float, float, float],
    combine: Callable[[Array, Array, int, int], None],
) -> None:
    """Fused 3 x 3 derivative pair, strip by strip, handed to ``combine(gx, gy, r0, r1)``.

    With s = ``smooth`` and d = (-1, 0, 1): gx = correlation with outer(d, s) (the derivative
    along axis 0, the lab's Gx for Sobel) and gy = correlation with outer(s, d) (its
    transpose). Each strip smooths and differences its rows once and shares them.
    """
    oh, ow = x.shape[0] - 2, x.shape[1] - 2
    s0, s1, s2 = smooth

    def work(r0: int, r1: int) -> None:
        src = x[r0 : r1 + 2]
        left, mid, right = src[:, :ow], src[:, 1 : ow + 1], src[:, 2 : ow + 2]
        sm = np.multiply(mid, s1)
        tmp = np.empty_like(sm)
        _axpy(sm, left, s0, tmp)
        _axpy(sm, right, s2, tmp)
        df = np.subtract(right, left)
        n = r1 - r0
        gx = np.subtract(sm[2 : n + 2], sm[:n])
        gy = np.multiply(df[1 : n + 1], s1)
        _axpy(gy, df[:n], s0, tmp[:n])
        _axpy(gy, df[2 : n + 2], s2, tmp[:n])
        combine(gx, gy, r0, r1)

    run_strips(oh, strip_rows(ow, x.itemsize, 6), work, oh * ow)
