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

#: Bytes of one strip's buffers together. Measured on a 2-core Zen 4 (1 MiB L2, 32 MiB L3):
#: 2 MiB beats L2-sized strips, as fewer ufunc calls outweigh the L3 traffic.
STRIP_BYTES = 1 << 21
#: Images with fewer output pixels than this run on one thread.
THREAD_MIN_PIXELS = 1 << 17
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


def tap_cost(weights: Sequence[float] | NDArray[Any]) -> int:
    """Ufunc passes that :func:`_accumulate` spends on these taps (zeros are skipped)."""
    w = np.abs(np.asarray(weights, dtype=np.float64).ravel())
    w = w[w != 0]
    if not w.size:
        return 1
    return int(2 * w.size - np.count_nonzero(w == 1.0) - (w[0] != 1.0))


#: The cost model of :func:`sobelcli.conv.choose_method`, in nanoseconds, measured on the
#: 2-core Zen 4 of BENCHMARKS.md with one thread (``SOBELCLI_THREADS=1``; every path is
#: threaded alike): one ufunc pass over one output pixel, by dtype ...
PASS_NS: dict[str, float] = {"float32": 0.25, "float64": 0.45}
#: ... one ufunc call made from Python ...
CALL_NS = 1500.0
#: ... one product of an ``einsum`` window dot product (direct by outputs) ...
DOT_NS = 0.5
#: ... and the FFT path, per point of the periodic grid times log2 of the points (complex128
#: whatever the dtype), plus a fixed cost.
FFT_NS = 1.3
FFT_FIXED_NS = 1e5
#: The FFT path must be estimated this much cheaper to be chosen: the exact sums round less
#: (FFT error ~1e-16 of the largest output, not of each), and the model is +-20%.
FFT_MARGIN = 1.25
#: Below this estimated cost the choice does not matter: skip the rank-1 test.
QUICK_NS = 2e5


def _pass_ns(dtype: np.dtype[Any]) -> float:
    return PASS_NS.get(np.dtype(dtype).name, PASS_NS["float64"])


def direct_cost(image_shape: tuple[int, int], k: NDArray[Any]) -> float:
    """Estimated nanoseconds of :func:`direct` (one thread)."""
    kh, kw = k.shape
    oh, ow = image_shape[0] - kh + 1, image_shape[1] - kw + 1
    if oh * ow < np.count_nonzero(k):
        return float(oh * ow * (kh * kw * DOT_NS + 10 * CALL_NS))
    itemsize = np.dtype(k.dtype).itemsize if k.dtype.kind == "f" else 8
    rows = strip_rows(ow, itemsize, 2 + (kh - 1 + MIN_STRIP_ROWS) // MIN_STRIP_ROWS)
    passes = tap_cost(k)
    return float(passes * (oh * ow * _pass_ns(k.dtype) + -(-oh // rows) * CALL_NS))


def separable_cost(
    image_shape: tuple[int, int], u: NDArray[Any], v: NDArray[Any], dtype: np.dtype[Any]
) -> float:
    """Estimated nanoseconds of :func:`separable` (one thread)."""
    kh, kw = len(u), len(v)
    oh, ow = image_shape[0] - kh + 1, image_shape[1] - kw + 1
    rows = max(strip_rows(ow, np.dtype(dtype).itemsize, 4), 4 * kh)
    strips = -(-oh // rows)
    row_pass = tap_cost(v) * (oh + strips * (kh - 1)) * ow
    col_pass = tap_cost(u) * oh * ow
    calls = (tap_cost(v) + tap_cost(u)) * 2 * strips
    return (row_pass + col_pass) * _pass_ns(dtype) + calls * CALL_NS


def fft_cost(image_shape: tuple[int, int]) -> float:
    """Estimated nanoseconds of :func:`fft_valid` (one thread), whatever the kernel."""
    ph, pw = fft_shape(image_shape)
    n = ph * pw
    return FFT_NS * n * max(1.0, float(np.log2(n))) + FFT_FIXED_NS


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
    rows = min(strip_rows(ow, x.itemsize, 2 + (kh - 1 + MIN_STRIP_ROWS) // MIN_STRIP_ROWS), oh)

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
        with np.errstate(over="ignore", under="ignore"):
            uc, vc = u / c, v * c
        if not (np.array_equal(uc * c, u) and np.array_equal(vc / c, v)):
            continue  # overflow or underflow: not exact
        ones = int(np.sum(np.abs(uc) == 1.0) + np.sum(np.abs(vc) == 1.0))
        if ones > best_ones:
            best, best_ones = c, ones
    return u / best, v * best


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


def _fft_cols(spec: NDArray[np.complex128], inverse: bool = False) -> None:
    """In place: fft (or ifft) of ``spec`` along axis 0."""
    fn = np.fft.ifft if inverse else np.fft.fft
    if _NUMPY2:
        fn(spec, axis=0, out=spec)
    else:  # pragma: no cover - numpy 1.x
        spec[...] = fn(spec, axis=0)


#: complex dtype of the FFT path for each image dtype; see :func:`fft_valid`.
FFT_COMPLEX: dict[str, str] = {"float32": "complex128", "float64": "complex128"}


def _fft_ctype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    if not _NUMPY2:  # pragma: no cover - numpy 1.x transforms in double only
        return np.dtype(np.complex128)
    return np.dtype(FFT_COMPLEX.get(np.dtype(dtype).name, "complex128"))


def fft_valid(x: Array, k: Array) -> Array:
    """Valid correlation through numpy.fft: cost ~ P log P for the periodic grid P >= H x W.

    ``Y = irfft2(rfft2(X) * conj(rfft2(K)))`` on the grid of :func:`fft_shape`, in float64
    (complex128: numpy's complex64 forward transforms measured ~2x slower) but for a float32
    image's inverse row transforms (complex64, measured faster). Row transforms are split by
    rows and column transforms by columns over the threads; the kernel's row transforms run
    on its kh rows only, the inverse row transforms on the kept rows only. No BLAS call:
    OpenBLAS's spinning threads would compete with these.
    """
    kh, kw = k.shape
    h, w = x.shape
    oh, ow = h - kh + 1, w - kw + 1
    ph, pw = fft_shape((h, w))
    cols = pw // 2 + 1
    ctype = _fft_ctype(x.dtype)
    spec = np.empty((ph, cols), dtype=ctype)
    if ph > h:
        spec[h:] = 0
    krows = np.fft.rfft(np.asarray(k, dtype=ctype.char.lower()), pw, axis=1).astype(ctype)
    out = np.empty((oh, ow), dtype=x.dtype)
    threads = thread_count(ph * pw, max(h, cols))

    def split(fn: Callable[[int, int], None], n: int) -> None:
        def task(a: int, b: int) -> Callable[[], None]:
            return lambda: fn(a, b)

        _parallel([task(a, b) for a, b in _splits(n, threads)])

    def forward_rows(a: int, b: int) -> None:
        src = np.asarray(x[a:b], dtype=ctype.char.lower())
        if _NUMPY2:
            np.fft.rfft(src, pw, axis=1, out=spec[a:b])
        else:  # pragma: no cover - numpy 1.x
            spec[a:b] = np.fft.rfft(src, pw, axis=1)

    def columns(a: int, b: int) -> None:
        part = spec[:, a:b]
        kpart = np.zeros((ph, b - a), dtype=ctype)
        kpart[:kh] = krows[:, a:b]
        _fft_cols(kpart)
        np.conjugate(kpart, out=kpart)
        _fft_cols(part)
        np.multiply(part, kpart, out=part)
        _fft_cols(part, inverse=True)

    # numpy's complex-to-real transform in complex64 measured ~2x faster than in complex128
    # (unlike its other complex64 transforms): a float32 result takes it after a cast.
    inverse_type = np.dtype(np.complex64) if _NUMPY2 and x.dtype == np.float32 else ctype

    def inverse_rows(a: int, b: int) -> None:
        src = spec[a:b].astype(inverse_type, copy=False)
        out[a:b] = np.fft.irfft(src, pw, axis=1)[:, :ow]

    split(forward_rows, h)
    split(columns, cols)
    split(inverse_rows, oh)
    return out


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


def scale_rows(a: Array, divisor: float) -> None:
    """In place ``a /= divisor``, by blocks of rows over the threads."""

    def part(r0: int, r1: int) -> Callable[[], None]:
        def run() -> None:
            np.divide(a[r0:r1], divisor, out=a[r0:r1])

        return run

    _parallel([part(r0, r1) for r0, r1 in _splits(a.shape[0], thread_count(a.size, a.shape[0]))])
