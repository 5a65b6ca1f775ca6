""".npy files streamed: rows read with positioned reads, written with sequential writes.

Neither side maps the file: every page of a memory map that is touched counts in the
process's resident memory (RssFile) until it is unmapped, so reading or writing a 10 GB
array through a map shows a 10 GB peak RSS, even though the kernel may drop clean pages.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.io.files import read_at
from sobelcli.io.stream_base import GreySource, SourceOptions, one_line
from sobelcli.io.stream_sink import AtomicSink

__all__ = ["NpySink", "NpySource"]


class NpySource(GreySource):
    """A ``.npy`` file, its rows read with positioned reads (``os.pread``), not through a map.

    The header is parsed by ``numpy.load(path, mmap_mode="r")``, which checks the file holds
    all the data it promises. A C-order array is then read row range by row range with
    ``os.pread`` at ``offset + r0 * W * C * itemsize``: a memory map would do as well for
    speed, but every page it touches counts in the process's resident memory (RssFile) until
    unmapped, so peak RSS would grow to the file's size. A Fortran-order array, whose rows
    are not contiguous, is read through the memory map.
    """

    def __init__(self, path: str | os.PathLike[str], options: SourceOptions | None = None) -> None:
        name = str(path)
        try:
            mapped = np.load(path, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            raise OSError(f"{name}: no such file") from None
        except PermissionError:
            raise OSError(f"{name}: permission denied") from None
        except (ValueError, OSError) as exc:
            raise ValueError(f"{name}: not a readable .npy array ({one_line(exc)})") from None
        if not isinstance(mapped, np.memmap):  # pragma: no cover - np.load of a .npy maps it
            raise ValueError(f"{name}: not a .npy array")
        super().__init__(name, mapped.shape, mapped.dtype, options or SourceOptions())
        self._fortran = bool(mapped.flags.f_contiguous and not mapped.flags.c_contiguous)
        self._offset = int(mapped.offset)
        self._row_items = int(np.prod(mapped.shape[1:], dtype=np.int64))
        self._mapped: np.memmap[Any, Any] | None = mapped if self._fortran else None
        if not self._fortran:
            del mapped
        self._fd: int | None = os.open(path, os.O_RDONLY)

    def _raw(self, r0: int, r1: int) -> NDArray[Any]:
        if self._mapped is not None:
            return np.array(self._mapped[r0:r1])
        if self._fd is None:
            raise ValueError(f"{self.name}: the source is closed")
        size = self.raw_dtype.itemsize * self._row_items
        try:
            buf = read_at(self._fd, (r1 - r0) * size, self._offset + r0 * size)
        except OSError as exc:
            raise OSError(f"{self.name}: cannot read: {exc.strerror or exc}") from None
        if len(buf) < (r1 - r0) * size:
            raise ValueError(f"{self.name}: the .npy is truncated at row {r0 + len(buf) // size}")
        flat = np.frombuffer(buf, dtype=self.raw_dtype)
        return flat.reshape((r1 - r0, *self.raw_shape[1:]))

    def close(self) -> None:
        """Close the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._mapped = None


class NpySink(AtomicSink):
    """A ``.npy`` file written row by row: a version 1.0 header, then the rows as they come.

    Plain sequential writes rather than ``open_memmap``: the pages of a written map count in
    the writer's resident memory until unmapped, so a 10 GB output would show a 10 GB peak.

    Parameters
    ----------
    path : str or path-like
    shape : tuple of int
        (H, W).
    dtype : numpy dtype
        The stored dtype (rows are cast to it); float64 keeps the in-memory path's values.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        shape: tuple[int, int],
        dtype: type[np.floating[Any]] | np.dtype[Any] = np.float64,
    ) -> None:
        super().__init__(path, shape)
        self.dtype = np.dtype(dtype).newbyteorder("=")
        header = {
            "descr": np.lib.format.dtype_to_descr(self.dtype),
            "fortran_order": False,
            "shape": self.shape,
        }
        with self._or_abort():  # a full disk names the output
            self._fh = open(self.temp, "wb")  # noqa: SIM115 - closed in _finish / _discard
            np.lib.format.write_array_header_1_0(self._fh, header)

    def _write(self, rows: NDArray[Any]) -> None:
        self._fh.write(np.ascontiguousarray(rows, dtype=self.dtype).data)

    def _finish(self) -> None:
        self._fh.close()

    def _discard(self) -> None:
        self._fh.close()
