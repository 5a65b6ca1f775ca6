"""Process tuning for training, best effort and stdlib only: BLAS threads and malloc.

**BLAS threads.** Ask numpy's OpenBLAS for one thread in the calling thread.

Training runs its own worker threads, one per core, each on part of a batch; an OpenBLAS
that also started threads per call would oversubscribe the cores (and on small matrices
its thread wake-ups cost more than they save). OpenBLAS >= 0.3.27 has a per-thread
setting, ``openblas_set_num_threads_local``; when it or OpenBLAS itself cannot be found
(another BLAS, another OS) nothing is changed.

**malloc.** Every batch allocates the same few arrays of 1-10 MB. glibc serves those with
fresh ``mmap`` pages and gives them back on ``free``, so each batch pays thousands of page
faults (measured: a fifth of the training time, all of it system time). Raising glibc's
mmap and trim thresholds keeps the freed blocks in the heap for the next batch. Only glibc
has ``mallopt``; elsewhere nothing is changed.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

__all__ = ["keep_freed_memory", "set_local_threads"]


@functools.cache
def _setter() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    import numpy  # noqa: F401  (loads its BLAS)

    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    paths = {line.split()[-1] for line in maps.splitlines() if "openblas" in line.lower()}
    for path in sorted(p for p in paths if p.startswith("/")):
        try:
            lib = ctypes.CDLL(path)
            fn = lib.openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_int]
        fn.restype = ctypes.c_int
        return fn
    return None


def set_local_threads(n: int) -> bool:
    """Set OpenBLAS' thread count for the calling thread; False if that is not possible."""
    fn = _setter()
    if fn is None:
        return False
    fn(int(n))
    return True


M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
#: glibc's largest mmap threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX).
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024


@functools.cache
def keep_freed_memory() -> bool:
    """Make glibc reuse freed blocks up to 32 MB instead of unmapping them (once per process).

    Returns True when glibc accepted the settings.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)
    ok &= mallopt(M_TRIM_THRESHOLD, 4 * MMAP_THRESHOLD_MAX)
    ok &= mallopt(M_TOP_PAD, MMAP_THRESHOLD_MAX)
    return bool(ok)
