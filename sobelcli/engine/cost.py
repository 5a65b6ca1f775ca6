"""The cost model of :func:`sobelcli.core.correlate.choose_method`: nanoseconds per path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.engine import strips as _strips
from sobelcli.engine.fft import fft_shape

#: The cost model of :func:`sobelcli.core.correlate.choose_method`, in nanoseconds, measured on the
#: 2-core Zen 4 of BENCHMARKS.md with one thread (``set_threads(1)``; every path is
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


def tap_cost(weights: Sequence[float] | NDArray[Any]) -> int:
    """Ufunc passes that :func:`._slices._accumulate` spends on these taps (zeros are skipped)."""
    w = np.abs(np.asarray(weights, dtype=np.float64).ravel())
    w = w[w != 0]
    if not w.size:
        return 1
    return int(2 * w.size - np.count_nonzero(w == 1.0) - (w[0] != 1.0))


def _pass_ns(dtype: np.dtype[Any]) -> float:
    return PASS_NS.get(np.dtype(dtype).name, PASS_NS["float64"])


def direct_cost(image_shape: tuple[int, int], k: NDArray[Any]) -> float:
    """Estimated nanoseconds of :func:`._slices.direct` (one thread)."""
    kh, kw = k.shape
    oh, ow = image_shape[0] - kh + 1, image_shape[1] - kw + 1
    if oh * ow < np.count_nonzero(k):
        return float(oh * ow * (kh * kw * DOT_NS + 10 * CALL_NS))
    itemsize = np.dtype(k.dtype).itemsize if k.dtype.kind == "f" else 8
    least = _strips.MIN_STRIP_ROWS
    rows = _strips.strip_rows(ow, itemsize, 2 + (kh - 1 + least) // least)
    passes = tap_cost(k)
    return float(passes * (oh * ow * _pass_ns(k.dtype) + -(-oh // rows) * CALL_NS))


def separable_cost(
    image_shape: tuple[int, int], u: NDArray[Any], v: NDArray[Any], dtype: np.dtype[Any]
) -> float:
    """Estimated nanoseconds of :func:`._slices.separable` (one thread)."""
    kh, kw = len(u), len(v)
    oh, ow = image_shape[0] - kh + 1, image_shape[1] - kw + 1
    rows = max(_strips.strip_rows(ow, np.dtype(dtype).itemsize, 4), 4 * kh)
    strips = -(-oh // rows)
    row_pass = tap_cost(v) * (oh + strips * (kh - 1)) * ow
    col_pass = tap_cost(u) * oh * ow
    calls = (tap_cost(v) + tap_cost(u)) * 2 * strips
    return (row_pass + col_pass) * _pass_ns(dtype) + calls * CALL_NS


def fft_cost(image_shape: tuple[int, int]) -> float:
    """Estimated nanoseconds of :func:`._fft.fft_valid` (one thread), whatever the kernel."""
    ph, pw = fft_shape(image_shape)
    n = ph * pw
    return FFT_NS * n * max(1.0, float(np.log2(n))) + FFT_FIXED_NS
