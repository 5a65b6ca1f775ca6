"""The lab's convolutions on dask arrays, lazily: :func:`correlate2d` and :func:`grad_input`.

:func:`correlate2d` is the lab's eq. (3) and :func:`grad_input` its eq. (6), dL/dX.

Each chunk reads ``kh - 1`` rows and ``kw - 1`` columns of its neighbours and runs the
in-memory method on them; ``"direct"`` and ``"separable"`` equal the in-memory functions bit
for bit.
"""

# dask ships no type hints for most of its functions.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import math
from typing import Any

import dask.array as da
import numpy as np
from numpy.typing import ArrayLike, NDArray

from sobelcli.dask.chunks import METHODS, Method, api, check_array, halo_map, working_dtype

__all__ = ["correlate2d", "grad_input"]


# --- the lab's convolutions -----------------------------------------------------------------


def _kernel(k: ArrayLike, method: str) -> NDArray[Any]:
    kernel = np.array(k, copy=True)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    # The in-memory function on an image the kernel's size checks the kernel (2-D, real,
    # finite, non-empty) with its own messages; direct: an fft or separable check could fail
    # on this image alone.
    api("correlate2d")(
        np.zeros(kernel.shape if kernel.ndim == 2 else (1, 1)), kernel, method="direct"
    )
    return kernel


def _least_outputs(kernel: NDArray[Any], method: str, shape: tuple[int, int]) -> tuple[int, int]:
    """Smallest output chunk (rows, cols) so that the direct method sums taps in every chunk.

    The engine's direct method switches to per-pixel dot products (another rounding) when a
    map has fewer pixels than the kernel has nonzero taps; chunks of at least that many
    pixels keep it on the tap path, like the whole image (or are the whole image).
    """
    if method not in ("auto", "direct"):
        return (1, 1)
    taps = max(1, int(np.count_nonzero(kernel)))
    oh, ow = shape
    rows = min(oh, math.isqrt(taps - 1) + 1)
    cols = min(ow, -(-taps // rows))
    if rows * cols < taps:
        rows = min(oh, -(-taps // cols))
    return (rows, cols)


def _correlate_block(block: NDArray[Any], kernel: NDArray[Any], method: str) -> NDArray[Any]:
    out: NDArray[Any] = api("correlate2d")(block, kernel, method=method)
    return out


def _correlate(x: da.Array, kernel: NDArray[Any], method: str) -> da.Array:
    kh, kw = kernel.shape
    oh, ow = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    least = _least_outputs(kernel, method, (oh, ow))
    return halo_map(
        x,
        (kh - 1, kw - 1),
        _correlate_block,
        x.dtype,
        {"kernel": kernel, "method": method},
        least=least,
    )


def correlate2d(x: da.Array, k: ArrayLike, *, method: Method = "auto") -> da.Array:
    """Valid cross-correlation of a dask image with a kernel, lazily: the lab's eq. (3).

    ``y[i, j] = sum_{a, b} x[i + a, j + b] * k[a, b]`` (0-based, no kernel flip).

    Parameters
    ----------
    x : dask.array.Array, shape (H, W)
        The image; float16/float32 compute in float32, others in float64.
    k : array_like, shape (kh, kw)
        A small in-memory kernel, kh <= H and kw <= W; each chunk reads ``kh - 1`` rows and
        ``kw - 1`` columns of its neighbours.
    method : {"auto", "direct", "separable", "fft"}
        The in-memory method run on each chunk. ``"direct"`` and ``"separable"`` equal
        ``sobelcli.correlate2d(X, k, method=...)`` bit for bit; ``"auto"`` picks per chunk
        (so may pick another method than for the whole image, differing in the last bits);
        ``"fft"`` rounds per chunk (~1e-15 of the largest value in float64).

    Returns
    -------
    dask.array.Array, shape (H - kh + 1, W - kw + 1)
    """
    x = check_array(x)
    kernel = _kernel(k, method)
    if kernel.shape[0] > x.shape[0] or kernel.shape[1] > x.shape[1]:
        raise ValueError(
            f"kernel of shape {kernel.shape} is larger than image of shape {x.shape}; "
            "a valid correlation needs image at least as large in both axes"
        )
    x = x.astype(working_dtype(x.dtype))
    return _correlate(x, kernel, method)


def grad_input(dy: da.Array, k: ArrayLike, *, method: Method = "auto") -> da.Array:
    """dL/dX of ``Y = K * X`` from dL/dY, lazily: the full convolution of the lab's eq. (6).

    ``dx = correlate2d(pad(dy, (kh - 1, kw - 1), 0), flip(k))``, as
    :func:`sobelcli.grad_input` computes it in memory.

    Parameters
    ----------
    dy : dask.array.Array, shape (h, w)
        dL/dY.
    k : array_like, shape (kh, kw)
        The forward's kernel.
    method : {"auto", "direct", "separable", "fft"}
        As in :func:`correlate2d`: ``"direct"`` and ``"separable"`` are bit for bit equal to
        ``sobelcli.grad_input(dY, k, method=...)``.

    Returns
    -------
    dask.array.Array, shape (h + kh - 1, w + kw - 1)
        Chunked like ``dy``, the first chunk of each axis ``kh - 1`` (``kw - 1``) longer.
    """
    dy = check_array(dy, "dL/dY")
    kernel = _kernel(k, method)
    dtype = working_dtype(dy.dtype)
    kh, kw = kernel.shape
    padded = da.pad(dy.astype(dtype), ((kh - 1, kh - 1), (kw - 1, kw - 1)), mode="constant")
    # The leading pad joins dy's first chunk (the trailing one joins the last in _layout).
    joined = tuple(
        (c[0] + c[1], *c[2:]) if width and len(c) > 1 else c
        for c, width in zip(padded.chunks, (kh - 1, kw - 1), strict=True)
    )
    padded = padded.rechunk(joined)
    flipped = np.ascontiguousarray(kernel[::-1, ::-1]).astype(dtype, copy=False)
    return _correlate(padded, flipped, method)
