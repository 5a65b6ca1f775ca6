"""The parts every streaming source shares: options, grey values, the source classes.

See :mod:`sobelcli.io.stream` for the protocols and the formats. This module imports numpy
and the standard library only; the format modules build on its classes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.io.pixels import check_layout, to_float
from sobelcli.names import LUMINANCE

__all__ = [
    "LUMINANCE",
    "ArraySource",
    "ChunkRowSource",
    "GreySource",
    "SinkOptions",
    "SourceOptions",
    "StreamUnsupportedError",
    "grey_rows",
    "one_line",
]

#: skimage's rgb2gray weights, as the in-memory reader.


class StreamUnsupportedError(ValueError):
    """An input or output that cannot be streamed (the in-memory path may still handle it)."""


class DecodeError(ValueError):
    """A file that its streaming decoder refuses part of the way (another decoder may not)."""


@dataclass(frozen=True)
class SourceOptions:
    """How a source turns samples into grey rows.

    Attributes
    ----------
    channel : int or None
        Take this channel of a colour image instead of the luminance.
    dtype : {numpy.float64, numpy.float32}
        dtype of the rows that ``read_rows`` returns.
    alpha : {"white", "black", "ignore"}
        What transparent pixels are composited over (see :func:`sobelcli.io.pixels.to_float`).
    zarr_array : str or None
        Path of the array inside a Zarr group (default: the group's array ``"0"``, the full
        resolution of an OME-Zarr multiscale image, or its only array).
    cached_chunks : int
        Decoded chunk rows (TIFF tile rows or strips, Zarr chunk rows) kept for reuse.
    read_ahead : bool
        Decode the next chunk row on a thread while the current one is used.
    workers : int
        Threads that decode the tiles of one TIFF tile row (zlib, LZW and JPEG release the GIL).
    spill : str or None
        A folder where a PNG or JPEG source keeps a copy of its decoded samples, in a
        temporary file without a name (gone when closed, even after a crash), so that a
        second pass reads them back instead of decoding the file again. None: decode again.
    """

    channel: int | None = None
    dtype: type[np.floating[Any]] = np.float64
    alpha: str = "white"
    zarr_array: str | None = None
    cached_chunks: int = 2
    read_ahead: bool = True
    workers: int = 2
    spill: str | None = None


@dataclass(frozen=True)
class SinkOptions:
    """How a sink stores the rows.

    Attributes
    ----------
    bits : {8, 16}
        PNG: values in [0, 1] (clipped) rounded to ``round(v * (2^bits - 1))``.
    compress : int
        PNG: zlib level 0-9; 1 uses zlib's run-length strategy, as the in-memory encoder.
    tile : tuple of int
        TIFF tile and Zarr chunk shape (rows, columns); TIFF tiles must be multiples of 16.
    tiff_dtype : {numpy.float32, numpy.float64}
        TIFF sample type (float32, as the in-memory writer).
    tiff_compression : str or None
        A tifffile compression name (``"zlib"``, ``"zstd"``, ...) or None for none.
    zarr_format : {2, 3}
    """

    bits: int = 8
    compress: int = 1
    tile: tuple[int, int] = (256, 256)
    tiff_dtype: type[np.floating[Any]] = np.float32
    tiff_compression: str | None = None
    zarr_format: int = 3


# --------------------------------------------------------------------------- grey values


def grey_rows(
    raw: NDArray[Any],
    *,
    channel: int | None,
    dtype: type[np.floating[Any]],
    name: str,
    alpha: str = "white",
) -> NDArray[np.floating]:
    """Grey float rows of raw samples, with the in-memory reader's scaling and channel rules.

    Parameters
    ----------
    raw : ndarray, shape (n, W) or (n, W, C) with C <= 4
        bool, integer or float samples.
    channel : int or None
        A channel to take instead of the luminance of a colour image.
    dtype : {numpy.float64, numpy.float32}
    name : str
        The file, for messages.

    Returns
    -------
    ndarray, shape (n, W), C-contiguous
        uint8 / uint16 as ``v.astype(dtype) * dtype(1 / max)``; colour (C >= 3) as
        ``(R * 0.2125 + G * 0.7154) + B * 0.0721``; C < 3 without a channel: the first channel.

    Notes
    -----
    The same function as the whole-image reader's (:func:`sobelcli.io.pixels.to_float`): each
    pixel gets the same three products and two sums whatever the strip, so a streamed image
    is bit for bit the one read whole, colour and alpha included. (A BLAS ``tensordot``
    would round a pixel differently with the strip height.)

    Raises
    ------
    ValueError
        For NaN or infinite values, or values beyond the range of ``dtype``.
    """
    return to_float(raw, name=name, dtype=dtype, channel=channel, alpha=alpha)


# --------------------------------------------------------------------------- sources


class GreySource:
    """Base of the sources: raw samples of rows, made grey by :func:`grey_rows`.

    Subclasses set the raw layout in ``__init__`` and implement :meth:`_raw`; ``shape`` is
    (H, W) whatever the number of channels. Use as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        name: str,
        raw_shape: tuple[int, ...],
        raw_dtype: np.dtype[Any],
        options: SourceOptions,
    ) -> None:
        self.name = name
        if np.dtype(options.dtype) not in (np.float32, np.float64):
            raise ValueError(f"{name}: dtype must be float32 or float64, got {options.dtype}")
        if raw_dtype.kind not in "biuf":
            raise ValueError(f"{name}: holds values of type {raw_dtype}, not numbers")
        check_layout(name, raw_shape, options.channel)
        self.raw_shape = tuple(int(n) for n in raw_shape)
        self.raw_dtype = raw_dtype
        self.shape: tuple[int, int] = (self.raw_shape[0], self.raw_shape[1])
        self.dtype: np.dtype[Any] = np.dtype(options.dtype)
        self.options = options
        #: What was done to the image that a user may want to know (as LoadedImage.notes).
        self.notes: list[str] = []

    def _raw(self, r0: int, r1: int) -> NDArray[Any]:
        """Raw samples of rows [r0, r1): shape (r1 - r0, W) or (r1 - r0, W, C)."""
        raise NotImplementedError

    def read_rows(self, r0: int, r1: int) -> NDArray[np.floating]:
        """Grey rows ``r0 <= r < r1``: a new float array of shape (r1 - r0, W).

        Raises
        ------
        ValueError
            If the range is empty or leaves [0, H), or the samples are not finite.
        """
        if not 0 <= r0 < r1 <= self.shape[0]:
            raise ValueError(
                f"{self.name}: rows [{r0}, {r1}) outside the image's 0..{self.shape[0]}"
            )
        return grey_rows(
            self._raw(r0, r1),
            channel=self.options.channel,
            alpha=self.options.alpha,
            dtype=self.options.dtype,
            name=self.name,
        )

    def read_once(self) -> None:
        """The rows will be read once only: a copy kept for a second pass is not needed."""

    def close(self) -> None:
        """Release the file (idempotent)."""

    def __enter__(self) -> GreySource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ChunkRowSource(GreySource):
    """A source stored in chunk rows of ``chunk_rows`` rows (tile rows, strips, chunk rows).

    Subclasses implement :meth:`_chunk`; a few decoded chunk rows are kept (least recently
    used first out), so that strips that do not line up with the chunks, and the overlap of
    consecutive strips, decode each chunk once. With ``options.read_ahead``, decoding chunk
    row k starts decoding row k + 1 on a thread (codecs release the GIL), so that reading
    overlaps the computation on the strips. Peak memory: ``cached_chunks + 2`` chunk rows.
    """

    def __init__(
        self,
        name: str,
        raw_shape: tuple[int, ...],
        raw_dtype: np.dtype[Any],
        options: SourceOptions,
        chunk_rows: int,
    ) -> None:
        super().__init__(name, raw_shape, raw_dtype, options)
        self.chunk_rows = max(1, min(int(chunk_rows), self.shape[0]))
        self._cache: OrderedDict[int, NDArray[Any]] = OrderedDict()
        self._decoding = threading.Lock()  # one _chunk call at a time
        self._ahead: tuple[int, Future[NDArray[Any]]] | None = None
        self._reader: ThreadPoolExecutor | None = None

    def _chunk(self, k: int) -> NDArray[Any]:
        """Raw samples of chunk row k: rows [k c, min(H, (k + 1) c)) for c = chunk_rows."""
        raise NotImplementedError

    def _decode(self, k: int) -> NDArray[Any]:
        with self._decoding:
            return self._chunk(k)

    def _cached(self, k: int) -> NDArray[Any]:
        hit = self._cache.get(k)
        if hit is not None:
            self._cache.move_to_end(k)
            return hit
        ahead = self._ahead
        if ahead is not None and ahead[0] == k:
            self._ahead = None
            chunk = ahead[1].result()
        else:
            chunk = self._decode(k)
        self._cache[k] = chunk
        while len(self._cache) > max(1, self.options.cached_chunks):
            self._cache.popitem(last=False)
        following = k + 1
        if (
            self.options.read_ahead
            and following * self.chunk_rows < self.shape[0]
            and following not in self._cache
            and (self._ahead is None or self._ahead[0] != following)
        ):
            if self._reader is None:
                self._reader = ThreadPoolExecutor(1, thread_name_prefix="sobelcli-read-ahead")
            self._ahead = (following, self._reader.submit(self._decode, following))
        return chunk

    def _raw(self, r0: int, r1: int) -> NDArray[Any]:
        c = self.chunk_rows
        parts = []
        for k in range(r0 // c, (r1 - 1) // c + 1):
            lo = max(r0, k * c) - k * c
            hi = min(r1, (k + 1) * c) - k * c
            parts.append(self._cached(k)[lo:hi])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def close(self) -> None:
        """Wait for a chunk being read ahead, and drop the decoded chunks."""
        if self._reader is not None:
            self._reader.shutdown(wait=True)
            self._reader = None
        self._ahead = None
        self._cache.clear()


class ArraySource(GreySource):
    """An array already in memory (or a memory map) seen as a row source; for tests and fallbacks.

    Parameters
    ----------
    array : array_like, shape (H, W) or (H, W, C) with C <= 4
    name : str
    options : SourceOptions
    """

    def __init__(
        self, array: Any, name: str = "<array>", options: SourceOptions | None = None
    ) -> None:
        arr = np.asarray(array) if not isinstance(array, np.ndarray) else array
        super().__init__(name, arr.shape, arr.dtype, options or SourceOptions())
        self._array = arr

    def _raw(self, r0: int, r1: int) -> NDArray[Any]:
        return self._array[r0:r1]


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (its type's name if it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__
