"""Strips kept on disk between two passes, in a file without a name: no memory, no leftovers.

A normalised edge map takes two passes (the maximum first). Rather than computing every strip
again, the first pass writes each strip's floats to a file that has no name
(:func:`sobelcli.io.files.anonymous_file`), beside the output; the second reads them back,
mostly from the disk's cache, divides and writes them. The file is made only where the disk
has :data:`SPILL_ROOM` times its size free, so the output never runs short of room because of
it, and gone when closed, or when the process ends in any way. numpy is imported by
:class:`StripFile`'s methods only: :mod:`sobelcli.io.early` fills a :class:`SpillFile` before
numpy is loaded.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

from sobelcli.io.files import anonymous_file, read_at, write_at

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["SPILL_ROOM", "SpillFile", "StripFile", "room_for"]

#: A copy is made only where the disk has this many times its size free.
SPILL_ROOM = 4


def room_for(folder: str, size: int) -> bool:
    """Whether ``folder``'s file system has :data:`SPILL_ROOM` times ``size`` bytes free."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs (Windows): no copy
        return False
    return st.f_bavail * st.f_frsize >= SPILL_ROOM * size


class SpillFile:
    """Bytes appended to a nameless file and read back by offset.

    The one primitive of both copies kept between passes (a strip store's maps, a decoder's
    samples). A write that fails (a full disk) drops the file: ``append`` says False
    from then on, and the caller does without it. Nothing is left on disk in any case.

    Parameters
    ----------
    folder : str
        Where the file goes (the output's folder).
    size : int
        Bytes it will hold at most; no file is made without room for :data:`SPILL_ROOM` times.
    """

    def __init__(self, folder: str, size: int) -> None:
        self._fd = -1
        self.size = 0  #: bytes appended so far
        if room_for(folder, size):
            try:
                self._fd = anonymous_file(folder)
            except OSError:
                pass

    @property
    def ready(self) -> bool:
        """Whether bytes can be kept (a file was made, and no write has failed)."""
        return self._fd >= 0

    def append(self, data: Any) -> bool:
        """Write ``data`` (bytes-like) after the bytes kept; False, and the file dropped, if not."""
        if self._fd < 0:
            return False
        try:
            write_at(self._fd, data, self.size)
        except OSError:  # part may be written: the copy is dropped, never read with a hole
            self.close()
            return False
        self.size += memoryview(data).nbytes
        return True

    def read(self, offset: int, size: int) -> bytearray:
        """``size`` bytes from ``offset``, writable; OSError when the file has fewer."""
        data = read_at(self._fd, size, offset) if self._fd >= 0 else bytearray()
        if len(data) != size:
            raise OSError("a copy kept on disk was cut short")
        return data

    def close(self) -> None:
        """Drop the file (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self.size = 0


class StripFile:
    """Strips of rows kept in a :class:`SpillFile`, top to bottom, read back by index.

    A :class:`sobelcli.engine.stream.StripStore`: ``put`` says False once the file is gone,
    and the caller computes again.

    Parameters
    ----------
    folder : str
    size : int
        As :class:`SpillFile`'s.
    """

    def __init__(self, folder: str, size: int) -> None:
        import numpy  # here, not at the top, nor at every strip: SpillFile is numpy-free

        self._np = numpy
        self._file = SpillFile(folder, size)
        self._strips: list[tuple[int, tuple[int, ...], np.dtype[Any]]] = []  # offset, shape
        self._rows = [0]  # rows before each strip

    @property
    def ready(self) -> bool:
        """Whether strips can be kept."""
        return self._file.ready

    @property
    def count(self) -> int:
        """Strips kept."""
        return len(self._strips)

    @property
    def rows(self) -> int:
        """Rows kept, in all."""
        return self._rows[-1]

    def rows_before(self, index: int) -> int:
        """Rows of the strips before ``index``."""
        return self._rows[index]

    def put(self, values: NDArray[Any]) -> bool:
        """Keep a strip below the others; False (and nothing kept) when it cannot."""
        data = self._np.ascontiguousarray(values)
        offset = self._file.size
        if not self._file.append(data):
            self._strips.clear()
            self._rows = [0]
            return False
        self._strips.append((offset, data.shape, data.dtype))
        self._rows.append(self._rows[-1] + data.shape[0])
        return True

    def get(self, index: int) -> NDArray[Any]:
        """Strip ``index``, as a new writable array."""
        offset, shape, dtype = self._strips[index]
        data = self._file.read(offset, math.prod(shape) * dtype.itemsize)
        return self._np.frombuffer(data, dtype=dtype).reshape(shape)

    def close(self) -> None:
        """Drop the file (idempotent); nothing kept is readable after."""
        self._file.close()
        self._strips.clear()
        self._rows = [0]

    def __enter__(self) -> StripFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
