"""The full convolution of ``grad-input`` (``convolve2d(Y, K, "full")``), streamed strip by strip.

The input dL/dY is extended by kh - 1 rows and kw - 1 columns of zeros on each side
(:meth:`~sobelcli.engine.stream_strips.Window.full`) and each strip of it is correlated with
the flipped kernel by ``sobelcli.correlate2d``, passed in as ``correlate=``, exactly as the
in-memory ``grad_input`` does on the whole array.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.engine.stream_strips import (
    Progress,
    RowReader,
    RowWriter,
    StreamResult,
    Window,
    check_strip_rows,
    padded_strips,
)

__all__ = ["CorrelateFunction", "full_convolution_strips", "stream_full_convolution"]

#: ``sobelcli.correlate2d``: (image, kernel, method=...) -> valid correlation.
CorrelateFunction = Callable[..., NDArray[np.floating]]


def _kernel(kernel: Any) -> NDArray[np.float64]:
    k = np.asarray(kernel)
    if k.ndim != 2 or k.size == 0 or k.dtype.kind not in "biuf":
        raise ValueError(f"kernel must be a non-empty 2-D array of numbers, got shape {k.shape}")
    kf = k.astype(np.float64)
    if not np.isfinite(kf).all():
        raise ValueError("kernel holds NaN or infinite values")
    return kf


def full_convolution_strips(
    source: RowReader,
    kernel: Any,
    *,
    correlate: CorrelateFunction,
    method: str = "direct",
    strip_rows: int | None = None,
) -> Iterator[tuple[int, NDArray[np.floating]]]:
    """The full convolution of a row source with a kernel (``grad_input``), strip by strip.

    ``Z = convolve2d(Y, K, "full")``: the valid correlation of Y extended by kh - 1 rows and
    kw - 1 columns of zeros on each side with the flipped kernel ``K[::-1, ::-1]``, of shape
    (H + kh - 1) x (W + kw - 1). A strip of n output rows reads n + kh - 1 rows: an overlap of
    kh - 1 rows with each neighbour.

    Parameters
    ----------
    source : RowReader
        dL/dY, shape (H, W).
    kernel : array_like, shape (kh, kw)
    correlate : callable
        ``sobelcli.correlate2d``.
    method : {"direct", "separable", "fft", "auto"}
        Passed to ``correlate`` for each strip. ``direct`` and ``separable`` give the
        in-memory ``grad_input(Y, K, method=...)`` bit for bit; ``fft`` agrees within its
        rounding (~1e-15 of the largest value in float64); ``auto`` chooses per strip, so
        resolve it once for the whole image when bits matter.
    strip_rows : int, optional

    Yields
    ------
    o0 : int
    values : ndarray, shape (n, W + kw - 1)
    """
    k = _kernel(kernel)
    kh, kw = k.shape
    flipped = np.ascontiguousarray(k[::-1, ::-1]).astype(source.dtype)
    window = Window.full(kh, kw)
    # The direct method sums shifted slices unless the output has fewer pixels than the kernel
    # has nonzero taps (then it takes a dot product per pixel, rounded differently): keep every
    # strip at least that large, as the whole image is.
    ow = window.output_shape(source.shape)[1]
    least = -(-int(np.count_nonzero(k)) // ow)
    rows = check_strip_rows(strip_rows, ow, source.dtype.itemsize, kh - 1)
    for o0, block in padded_strips(
        source, window, "constant", strip_rows=max(rows, least), min_rows=least
    ):
        yield o0, correlate(block, flipped, method=method)


def stream_full_convolution(
    source: RowReader,
    sink: RowWriter,
    kernel: Any,
    *,
    correlate: CorrelateFunction,
    method: str = "direct",
    strip_rows: int | None = None,
    progress: Progress | None = None,
) -> StreamResult:
    """Write :func:`full_convolution_strips` to a sink of shape (H + kh - 1, W + kw - 1).

    One pass; the sink is not committed here (see :func:`sobelcli.engine.stream.stream_edge_map`).
    """
    k = _kernel(kernel)
    shape = Window.full(*k.shape).output_shape(source.shape)
    count = 0
    for o0, values in full_convolution_strips(
        source, k, correlate=correlate, method=method, strip_rows=strip_rows
    ):
        sink.write_rows(values)
        count += 1
        if progress is not None:
            progress(o0 + values.shape[0], shape[0])
    return StreamResult(shape, count, 1, None)
