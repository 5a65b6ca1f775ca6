"""Low-level kernels behind :mod:`sobelcli.core.correlate` and :mod:`sobelcli.core.edges`.

Private: inputs are already validated 2-D float arrays of one dtype. Every kernel is a short
list of numpy ufunc calls with ``out=`` on preallocated buffers, so that no pass over the
image allocates. This module only gathers the engine's parts, one job each:

- :mod:`sobelcli.engine.strips`: strips and threads (``run_strips``, the shared thread pool, and
  the tunables ``STRIP_BYTES``, ``MIN_STRIP_ROWS``, ``THREAD_MIN_PIXELS``: patch them there);
- :mod:`sobelcli.engine.cost`: the cost model of :func:`sobelcli.core.correlate.choose_method`;
- :mod:`sobelcli.engine.slices`: direct and separable correlation by shifted slices, and the
  exact rank-1 factoring that picks the separable path;
- :mod:`sobelcli.engine.fft`: correlation through numpy.fft;
- :mod:`sobelcli.engine.sobel`: the fused 3 x 3 derivative pair and its magnitude.
"""

from __future__ import annotations

from sobelcli.engine.cost import (
    CALL_NS,
    DOT_NS,
    FFT_FIXED_NS,
    FFT_MARGIN,
    FFT_NS,
    PASS_NS,
    QUICK_NS,
    direct_cost,
    fft_cost,
    separable_cost,
    tap_cost,
)
from sobelcli.engine.fft import FFT_COMPLEX, fft_shape, fft_valid, next_fast_len
from sobelcli.engine.slices import direct, rank1_factors, separable
from sobelcli.engine.sobel import gradient_magnitude, gradient_pair
from sobelcli.engine.strips import (
    Array,
    Buffers,
    cpu_count,
    run_strips,
    scale_rows,
    set_threads,
    strip_rows,
    thread_count,
    threads,
)

__all__ = [
    "CALL_NS",
    "DOT_NS",
    "FFT_COMPLEX",
    "FFT_FIXED_NS",
    "FFT_MARGIN",
    "FFT_NS",
    "PASS_NS",
    "QUICK_NS",
    "Array",
    "Buffers",
    "cpu_count",
    "direct",
    "direct_cost",
    "fft_cost",
    "fft_shape",
    "fft_valid",
    "gradient_magnitude",
    "gradient_pair",
    "next_fast_len",
    "rank1_factors",
    "run_strips",
    "scale_rows",
    "set_threads",
    "separable",
    "separable_cost",
    "strip_rows",
    "tap_cost",
    "thread_count",
    "threads",
]
