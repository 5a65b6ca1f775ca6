"""Strips and threads of the engine: row blocks over a shared thread pool, strip by strip.

The output rows are split into strips whose buffers stay in the L2 cache; a large image is
cut into one contiguous block of rows per core, each walked strip by strip on its own thread
with its own reused buffers (numpy releases the GIL inside its loops). The tunables below are
read at call time, so tests may monkeypatch them on this module.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: scipy.ndimage's names for the border modes (``names.PAD_MODES``), and numpy.pad's for each:
#: the one table of the package (core, the strips and Dask's chunks pad with it).
NUMPY_PAD: dict[str, str] = {
    "reflect": "symmetric",  # d c b a | a b c d | d c b a
    "mirror": "reflect",  # d c b | a b c d | c b a
    "nearest": "edge",  # a a a | a b c d | d d d
    "constant": "constant",  # 0 0 0 | a b c d | 0 0 0
    "wrap": "wrap",  # b c d | a b c d | a b c
}

Array = NDArray[np.floating]
Buffers = list[NDArray[Any]]

#: Bytes of one strip's buffers together. Measured on a 2-core Zen 4 (1 MiB L2, 32 MiB L3):
#: 2 MiB beats L2-sized strips, as fewer ufunc calls outweigh the L3 traffic.
STRIP_BYTES = 1 << 21
#: Images with fewer output pixels than this run on one thread.
THREAD_MIN_PIXELS = 1 << 17
#: Fewest output rows in a strip, so that Python's per-call cost stays small.
MIN_STRIP_ROWS = 4

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


_thread_limit: int | None = None


def cpu_count() -> int:
    """The number of cores this process may run on (its affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def set_threads(n: int | None) -> None:
    """Use at most ``n`` threads per call from now on; None goes back to one per core.

    A batch worker sets its share of the cores here, so that two workers do not each start a
    thread per core.
    """
    global _thread_limit
    if n is not None and n < 1:
        raise ValueError(f"thread count must be at least 1, got {n}")
    _thread_limit = n


def threads() -> int:
    """Threads a call may use: the limit of :func:`set_threads`, else one per core."""
    return _thread_limit or cpu_count()


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
    return max(1, min(threads(), blocks))


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


def scale_rows(a: Array, divisor: float) -> None:
    """In place ``a /= divisor``, by blocks of rows over the threads."""

    def part(r0: int, r1: int) -> Callable[[], None]:
        def run() -> None:
            np.divide(a[r0:r1], divisor, out=a[r0:r1])

        return run

    _parallel([part(r0, r1) for r0, r1 in _splits(a.shape[0], thread_count(a.size, a.shape[0]))])
