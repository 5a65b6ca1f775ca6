"""Low-level kernels behind :mod:`sobelcli.conv` and :mod:`sobelcli.edges`.

Private: inputs are already validated 2-D float arrays of one dtype. Every kernel is a short
list of numpy ufunc calls with ``out=`` on preallocated buffers, so that no pass over the
image allocates. The output rows are split into strips whose buffers stay in the L2 cache;
a large image is cut into one contiguous block of rows per core, each walked strip by strip
on its own thread with its own reused buffers (numpy releases the GIL inside its loops).
The FFT path is threaded the same way: row transforms by blocks of rows, column transforms
by blocks of columns.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]
Buffers = list[NDArray[Any]]

#: Bytes of one strip's buffers together: about half of the 1 MiB L2 cache of one core.
STRIP_BYTES = 1 << 19
#: Images with fewer output pixels than this run on one thread.
THREAD_MIN_PIXELS = 1 << 18
#: Fewest output rows in a strip, so that Python's per-call cost stays small.
MIN_STRIP_ROWS = 4

_NUMPY2 = int(np.__version__.split(".")[0]) >= 2

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _threads() -> int:
    env = os.environ.get("SOBELCLI_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return os.cpu_count() or 1


def _forget_pool() -> None:
    """Drop the pool in a forked child: its threads did not survive the fork."""
    global _pool, _pool_size
    _pool, _pool_size = None, 0


if hasattr(os, "register_at_fork"):  # pragma: no branch
    os.register_at_fork(after_in_child=_forget_pool)


def _executor(workers: int) -> ThreadPoolExecutor:
    """The shared pool, grown to at least ``workers`` threads; kept between calls."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < workers:
            old = _pool
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sobelcli")
            _pool_size = workers
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def _parallel(tasks: Sequence[Callable[[], None]]) -> None:
    """Run the tasks, the first on this thread and the others on the pool; re-raise errors."""
    if len(tasks) == 1:
        tasks[0]()
        return
    pool = _executor(len(tasks) - 1)
    futures: list[Future[None]] = [pool.submit(task) for task in tasks[1:]]
    try:
        tasks[0]()
    finally:
        for future in futures:
            future.result()


def _splits(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous, nearly equal, non-empty ranges covering ``[0, n)``."""
    parts = max(1, min(parts, n))
    edges = [n * i // parts for i in range(parts + 1)]
    return [(edges[i], edges[i + 1]) for i in range(parts)]


def strip_rows(width: int, itemsize: int, taps: int = 1) -> int:
    """Rows per strip so that ``taps`` row buffers of ``width`` fit in about STRIP_BYTES."""
    return max(MIN_STRIP_ROWS, STRIP_BYTES // max(1, width * itemsize * max(1, taps)))


def thread_count(pixels: int, blocks: int) -> int:
    """Threads for a job of ``pixels`` output pixels that splits into at most ``blocks``."""
    if pixels < THREAD_MIN_PIXELS:
        return 1
    return max(1, min(_threads(), blocks))


def run_strips(
    n_rows: int,
    rows: int,
    work: Callable[[int, int, Buffers], None],
    pixels: int,
    scratch: Callable[[], Buffers] | None = None,
) -> None:
    """Call ``work(r0, r1, buffers)`` on consecutive row ranges of at most ``rows`` rows.

    The ranges cover ``[0, n_rows)``. Each thread gets one contiguous block of rows, calls
    ``scratch()`` once for its own buffers and walks its block top to bottom; the image runs
    on one thread when it has fewer than THREAD_MIN_PIXELS output pixels.
    """
    rows = max(1, rows)
    threads = thread_count(pixels, -(-n_rows // rows))

    def block(b0: int, b1: int) -> Callable[[], None]:
        def run() -> None:
            buffers = scratch() if scratch is not None else []
            for r0 in range(b0, b1, rows):
                work(r0, min(r0 + rows, b1), buffers)

        return run

    _parallel([block(b0, b1) for b0, b1 in _splits(n_rows, threads)])


def _accumulate(out: Array, src: Array, weight: float, tmp: Array, first: bool) -> None:
    """out (+)= weight * src: one ufunc pass when the weight is +-1 or this is the first tap."""
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


def tap_cost(weights: Sequence[float]) -> int:
    """Ufunc passes that :func:`_accumulate` spends on these taps (zeros are skipped)."""
    nonzero = [w for w in weights if w != 0.0]
    if not nonzero:
        return 1
    return sum(1 if abs(w) == 1.0 else 2 for w in nonzero) - (abs(nonzero[0]) != 1.0)


def direct(x: Array, k: Array) -> Array:
    """Valid correlation as a sum of kh * kw shifted slices: cost ~ taps * oh * ow."""
    kh, kw = k.shape
    oh, ow = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.empty((oh, ow), dtype=x.dtype)
    taps = [(a, b, float(k[a, b])) for a in range(kh) for b in range(kw) if k[a, b] != 0]
    if not taps:
        out.fill(0)
        return out
    # The strip's window of x, its output and one temporary share the strip budget.
    rows = strip_rows(ow, x.itemsize, 2 + (kh - 1 + MIN_STRIP_ROWS) // MIN_STRIP_ROWS)

    def scratch() -> Buffers:
        return [np.empty((rows, ow), dtype=x.dtype)]

    def work(r0: int, r1: int, buffers: Buffers) -> None:
        dst = out[r0:r1]
        tmp = buffers[0][: r1 - r0]
        for i, (a, b, weight) in enumerate(taps):
            _accumulate(dst, x[r0 + a : r1 + a, b : b + ow], weight, tmp, i == 0)

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
        ones = int(np.sum(np.abs(u / c) == 1.0) + np.sum(np.abs(v * c) == 1.0))
        if ones > best_ones:
            best, best_ones = c, ones
    return u / best, v * best


def separable(x: Array, u: Array, v: Array) -> Array:
    """Valid correlation with ``outer(u, v)``: a pass along rows with v, then along columns with u."""
    kh, kw = len(u), len(v)
    oh, ow = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.empty((oh, ow), dtype=x.dtype)
    uu = [(a, float(t)) for a, t in enumerate(u) if t != 0]
    vv = [(b, float(t)) for b, t in enumerate(v) if t != 0]
    if not uu or not vv:
        out.fill(0)
        return out
    rows = max(strip_rows(ow, x.itemsize, 4), kh)

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


def fft_shape(image_shape: tuple[int, int]) -> tuple[int, int]:
    """The periodic grid of :func:`fft_valid`: fast lengths at least the image's size.

    A circular correlation over a period P >= H wraps only outputs that a valid correlation
    drops, so no zero padding by the kernel's size is needed.
    """
    return next_fast_len(image_shape[0]), next_fast_len(image_shape[1])


def _rfft_rows(
    src: NDArray[Any], n: int, dst: NDArray[Any], inverse: bool = False, keep: int = 0
) -> None:
    """dst[...] = rfft(src, n) along rows (or irfft(src, n)[:, :keep] when ``inverse``)."""
    if inverse:
        dst[...] = np.fft.irfft(src, n, axis=1)[:, :keep]
    elif _NUMPY2 and dst.dtype == np.result_type(src.dtype, np.complex64):
        np.fft.rfft(src, n, axis=1, out=dst)
    else:
        dst[...] = np.fft.rfft(src, n, axis=1)


def _fft_cols(spec: NDArray[Any], inverse: bool = False) -> None:
    """In place: fft (or ifft) of ``spec`` along axis 0."""
    fn = np.fft.ifft if inverse else np.fft.fft
    if _NUMPY2:
        fn(spec, axis=0, out=spec)
    else:  # pragma: no cover - numpy 1.x
        spec[...] = fn(spec, axis=0)


def fft_valid(x: Array, k: Array) -> Array:
    """Valid correlation through numpy.fft: cost ~ P log P for the periodic grid P >= H x W.

    ``Y = irfft2(rfft2(X) * conj(rfft2(K)))`` on the grid of :func:`fft_shape`, in the image's
    precision (numpy >= 2 transforms float32 as complex64). The row transforms are split by
    rows and the column transforms by columns over the threads; the kernel's row transforms
    run on its own kh rows only, and the inverse row transforms on the kept rows only.
    """
    kh, kw = k.shape
    h, w = x.shape
    oh, ow = h - kh + 1, w - kw + 1
    ph, pw = fft_shape((h, w))
    ctype = np.result_type(x.dtype, np.complex64) if _NUMPY2 else np.dtype(np.complex128)
    cols = pw // 2 + 1
    spec = np.zeros((ph, cols), dtype=ctype)
    kspec = np.zeros((ph, cols), dtype=ctype)
    out = np.empty((oh, ow), dtype=x.dtype)
    threads = thread_count(ph * pw, max(h, cols))

    def by_rows(fn: Callable[[int, int], None], n: int) -> None:
        _parallel([(lambda a=a, b=b: fn(a, b)) for a, b in _splits(n, threads)])

    def forward_rows(a: int, b: int) -> None:
        _rfft_rows(x[a:b], pw, spec[a:b])

    def forward_cols(a: int, b: int) -> None:
        _fft_cols(spec[:, a:b])
        _fft_cols(kspec[:, a:b])
        np.conjugate(kspec[:, a:b], out=kspec[:, a:b])
        np.multiply(spec[:, a:b], kspec[:, a:b], out=spec[:, a:b])
        _fft_cols(spec[:, a:b], inverse=True)

    def inverse_rows(a: int, b: int) -> None:
        _rfft_rows(spec[a:b], pw, out[a:b], inverse=True, keep=ow)

    _rfft_rows(k, pw, kspec[:kh])
    by_rows(forward_rows, h)
    by_rows(forward_cols, cols)
    by_rows(inverse_rows, oh)
    return out


def _smooth3(
    out: Array, left: Array, mid: Array, right: Array, s: tuple[float, float, float], pair: Array
) -> None:
    """out = s0 * left + s1 * mid + s2 * right, in as few passes as the weights allow.

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
    rows = strip_rows(x.shape[1], x.itemsize, 3)

    def work(r0: int, r1: int, buffers: Buffers) -> None:
        gx, gy, _ = _derivatives(x[r0 : r1 + 2], smooth, buffers)
        combine(gx, gy, r0, r1)

    run_strips(oh, rows, work, oh * ow, lambda: _pair_rows(rows, x.shape[1], x.dtype))


def gradient_magnitude(x: Array, smooth: tuple[float, float, float], normalize: bool) -> Array:
    """``sqrt(gx^2 + gy^2)`` of :func:`gradient_pair`, divided by its maximum when ``normalize``.

    One pass computes the magnitude strip by strip with each strip's maximum, avoiding
    ``np.hypot`` (a scalar libm call per pixel, ~30x slower than three SIMD passes); a second,
    threaded pass divides by the maximum. A map whose maximum is 0 is left as zeros.
    """
    oh, ow = x.shape[0] - 2, x.shape[1] - 2
    out = np.empty((oh, ow), dtype=x.dtype)
    rows = strip_rows(x.shape[1], x.itemsize, 3)
    tops: list[float] = []

    def work(r0: int, r1: int, buffers: Buffers) -> None:
        gx, gy, _ = _derivatives(x[r0 : r1 + 2], smooth, buffers)
        np.multiply(gx, gx, out=gx)
        np.multiply(gy, gy, out=gy)
        np.add(gx, gy, out=gx)
        dst = out[r0:r1]
        np.sqrt(gx, out=dst)
        if normalize:
            tops.append(float(dst.max()))  # list.append is atomic

    run_strips(oh, rows, work, oh * ow, lambda: _pair_rows(rows, x.shape[1], x.dtype))
    if normalize:
        top = max(tops)
        if top > 0:
            scale_rows(out, top)
    return out


def scale_rows(a: Array, divisor: float) -> None:
    """In place ``a /= divisor``, by blocks of rows over the threads."""

    def part(r0: int, r1: int) -> Callable[[], None]:
        def run() -> None:
            np.divide(a[r0:r1], divisor, out=a[r0:r1])

        return run

    _parallel([part(r0, r1) for r0, r1 in _splits(a.shape[0], thread_count(a.size, a.shape[0]))])
