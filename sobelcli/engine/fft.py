"""Valid correlation through numpy.fft on a periodic grid of fast lengths.

Threaded like the strips: row transforms by blocks of rows, column transforms by blocks of
columns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.engine.strips import Array, _parallel, _splits, thread_count

_NUMPY2 = int(np.__version__.split(".")[0]) >= 2


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
