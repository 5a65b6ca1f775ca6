"""PNG written as the rows come: quantised, "Up"-filtered and deflated strip by strip.

The file is the one the in-memory encoder (:mod:`sobelcli.io.png`) makes, cut differently into
IDAT chunks: the signature and IHDR first, then an IDAT chunk each time about
:data:`IDAT_BYTES` of deflated data are ready, then IEND. Each row is stored with PNG's "Up"
filter (the byte minus the byte above it, modulo 256, the first row against zeros) and one
zlib stream runs over all rows, deflated as the in-memory encoder deflates
(:mod:`sobelcli.io.deflate`). The deflating runs on a thread (zlib and ISA-L release the GIL),
two strips behind the computation. Memory: three strips of bytes, the last row, the
compressor's state and up to :data:`IDAT_BYTES` of deflated data.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.io.deflate import compressor
from sobelcli.io.stream_sink import AtomicSink, BackgroundWriter

__all__ = ["IDAT_BYTES", "PngSink", "quantize_rows"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
UP = 2
#: Deflated bytes gathered before an IDAT chunk is written.
IDAT_BYTES = 1 << 18


def _chunk(kind: bytes, data: bytes | bytearray) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + bytes(data) + struct.pack(">I", crc)


def _write_chunk(fh: Any, kind: bytes, data: bytes | bytearray) -> None:
    """One chunk written in three parts: the data is not copied."""
    fh.write(struct.pack(">I", len(data)) + kind)
    fh.write(data)
    fh.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))


def quantize_rows(values: NDArray[np.floating], bits: int) -> NDArray[np.integer]:
    """Round values in [0, 1] (clipped) to integers: ``rint(clip(v, 0, 1) * (2^bits - 1))``.

    The same operations as the in-memory writer's ``quantize``, so the pixels are equal.

    Parameters
    ----------
    values : ndarray, shape (n, W)
    bits : {8, 16}

    Returns
    -------
    ndarray, shape (n, W), uint8 or uint16
    """
    top = 255 if bits == 8 else 65535
    out: NDArray[np.integer] = np.empty(values.shape, dtype=np.uint8 if bits == 8 else np.uint16)
    step = max(1, (1 << 18) // max(1, values.shape[1]))  # float temporaries of ~2 MB
    for r in range(0, values.shape[0], step):
        block = np.clip(values[r : r + step], 0.0, 1.0)
        block *= top
        out[r : r + step] = np.rint(block, out=block)
    return out


class PngSink(AtomicSink):
    """A grey 8- or 16-bit PNG written strip by strip.

    Parameters
    ----------
    path : str or path-like
    shape : tuple of int
        (H, W); PNG allows up to 2^31 - 1 in each.
    bits : {8, 16}
    compress : int
        zlib level 0-9; 1 (default) with zlib's run-length strategy, as the in-memory encoder.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        shape: tuple[int, int],
        *,
        bits: int = 8,
        compress: int = 1,
    ) -> None:
        if bits not in (8, 16):
            raise ValueError(f"{path}: bits must be 8 or 16, got {bits}")
        if not 0 <= compress <= 9:
            raise ValueError(f"{path}: compression level must be 0 to 9, got {compress}")
        if max(shape) >= 2**31:
            raise ValueError(f"{path}: PNG cannot hold an image of shape {shape}")
        super().__init__(path, shape)
        self.bits = bits
        self._packer = compressor(compress)
        self._previous: NDArray[np.uint8] | None = None
        h, w = self.shape
        header = struct.pack(">IIBBBBB", w, h, bits, 0, 0, 0, 0)  # grey, deflate, no interlace
        with self._or_abort():  # a full disk names the output
            self._fh = open(self.temp, "wb")  # noqa: SIM115 - closed in _finish / _discard
            self._fh.write(SIGNATURE + _chunk(b"IHDR", header))
        self._writer = BackgroundWriter(self._deflate, "sobelcli-png-writer")

    def _deflate(self, get: Callable[[], NDArray[np.uint8] | None]) -> None:
        """On the writer thread: deflate filtered rows, write IDAT chunks, until None."""
        pending = bytearray()
        while (filtered := get()) is not None:
            pending += self._packer.compress(filtered.data)  # zlib releases the GIL
            if len(pending) >= IDAT_BYTES:
                _write_chunk(self._fh, b"IDAT", pending)
                pending.clear()
        pending += self._packer.flush()
        _write_chunk(self._fh, b"IDAT", pending)
        self._fh.write(_chunk(b"IEND", b""))
        self._fh.close()

    def _write(self, rows: NDArray[Any]) -> None:
        q = quantize_rows(rows, self.bits)
        raw = np.ascontiguousarray(q, dtype=">u2" if self.bits == 16 else np.uint8)
        data = raw.view(np.uint8).reshape(raw.shape[0], -1)
        filtered = np.empty((data.shape[0], data.shape[1] + 1), dtype=np.uint8)
        filtered[:, 0] = UP
        if self._previous is None:
            filtered[0, 1:] = data[0]
        else:
            np.subtract(data[0], self._previous, out=filtered[0, 1:])
        np.subtract(data[1:], data[:-1], out=filtered[1:, 1:])  # uint8 arithmetic wraps
        self._previous = data[-1].copy()
        self._writer.put(filtered)

    def _finish(self) -> None:
        self._writer.put(None)
        self._writer.join()

    def _discard(self) -> None:
        if hasattr(self, "_writer"):
            self._writer.stop()
        if hasattr(self, "_fh"):
            self._fh.close()
