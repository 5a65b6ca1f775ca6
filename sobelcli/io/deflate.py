"""The deflate step of PNG: zlib, or Intel's ISA-L where it is installed and the level is 1.

Both write a standard zlib stream (RFC 1950) that any PNG reader inflates; only the choice
of matches differs, so the pixels read back are the same and the file a few percent larger.
Measured on the "Up"-filtered rows of a 2048 x 2048 edge map (``python bench/run.py``, group
``deflate``): zlib level 1 with the run-length strategy 47 ms and 2.47 MB; zlib-ng at the same
settings 26 ms, 2.47 MB; ISA-L (the ``isal`` package, ``isal.isal_zlib``) level 1 13-16 ms and
2.56 MB. Level 1 is the default of every command, so it takes ISA-L when ``isal`` imports;
levels 2-9 ask for a smaller file and keep zlib, whose higher levels ISA-L does not have.
``isal`` releases the GIL as zlib does, so a writer thread deflates beside the computation.
"""

from __future__ import annotations

import zlib
from typing import Any, Protocol

__all__ = ["Compressor", "compressor", "fast_deflate_available"]


class Compressor(Protocol):
    """What :func:`compressor` returns: ``zlib.compressobj``'s two methods."""

    def compress(self, data: Any, /) -> bytes:
        """Deflated bytes of ``data`` (some may wait for the next call or the flush)."""
        ...

    def flush(self, mode: int = ..., /) -> bytes:
        """The rest of the stream, and its trailer."""
        ...


def _isal() -> Any:
    try:
        from isal import isal_zlib
    except ImportError:
        return None
    return isal_zlib


def fast_deflate_available() -> bool:
    """Whether level 1 deflates with ISA-L (the ``isal`` package imports)."""
    return _isal() is not None


def compressor(level: int, *, run_length: bool = True) -> Compressor:
    """A zlib-format compressor for PNG's IDAT stream.

    Parameters
    ----------
    level : int
        0 (stored) to 9. Level 1 uses ISA-L when ``isal`` is installed, else zlib.
    run_length : bool
        At zlib level 1, the run-length strategy (faster and smaller on filtered edge maps);
        other levels use zlib's default strategy.

    Returns
    -------
    Compressor
        ``compress(data) -> bytes`` and ``flush() -> bytes``; the concatenated output is one
        zlib stream.
    """
    if not 0 <= level <= 9:
        raise ValueError(f"compression level must be 0 to 9, got {level}")
    if level == 1:
        fast = _isal()
        if fast is not None:
            packer: Compressor = fast.compressobj(1, fast.DEFLATED, 15)
            return packer
    strategy = zlib.Z_RLE if level == 1 and run_length else zlib.Z_DEFAULT_STRATEGY
    return zlib.compressobj(level, zlib.DEFLATED, 15, 9, strategy)
