"""Zarr arrays (format 2 or 3) read a chunk row at a time, and written a chunk row at a time.

zarr decodes only the chunks a slice touches, but keeps none: the source reads whole chunk
rows and keeps the last few (:class:`~sobelcli.io.stream.ChunkRowSource`), so strips that do
not line up with the chunks decode each chunk once. The sink gathers rows until a chunk row
is full and writes it in one assignment, so no chunk is written twice; it builds the array in
a temporary folder beside the target and renames it into place.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.io.stream_base import (
    ChunkRowSource,
    SourceOptions,
    StreamUnsupportedError,
    one_line,
)
from sobelcli.io.stream_sink import AtomicSink

__all__ = ["ZarrSink", "ZarrSource"]


def _import_zarr(name: str) -> Any:
    try:
        import zarr
    except ImportError as exc:
        raise StreamUnsupportedError(f"{name}: Zarr needs the zarr package ({exc})") from None
    return zarr


class ZarrSource(ChunkRowSource):
    """A Zarr array of shape (H, W) or (H, W, C) as a row source.

    Leading axes of length 1 (an OME-Zarr ``(t, c, z, y, x)`` image of one plane) are dropped.
    A group is read through its array ``options.zarr_array``, else its array ``"0"`` (the
    full resolution of an OME-Zarr multiscale image), else its only array.

    Parameters
    ----------
    path : str or path-like
        The array's (or group's) folder.
    options : SourceOptions, optional
    """

    def __init__(self, path: str | os.PathLike[str], options: SourceOptions | None = None) -> None:
        name = str(path)
        opts = options or SourceOptions()
        zarr = _import_zarr(name)
        try:
            node = zarr.open(os.fspath(path), mode="r")
        except FileNotFoundError:
            raise OSError(f"{name}: no such Zarr array") from None
        except Exception as exc:  # noqa: BLE001 - zarr raises many types for bad metadata
            raise ValueError(f"{name}: not a readable Zarr array ({one_line(exc)})") from None
        array = self._pick(name, node, opts.zarr_array, zarr)
        shape = tuple(int(n) for n in array.shape)
        lead = 0
        while len(shape) - lead > 3 and shape[lead] == 1:
            lead += 1
        if len(shape) - lead == 3 and shape[lead] == 1 and shape[-1] > 4:
            lead += 1
        self._prefix: tuple[int, ...] = (0,) * lead
        raw_shape = shape[lead:]
        super().__init__(name, raw_shape, np.dtype(array.dtype), opts, int(array.chunks[lead]))
        self._array: Any = array

    @staticmethod
    def _pick(name: str, node: Any, wanted: str | None, zarr: Any) -> Any:
        if isinstance(node, zarr.Array):
            if wanted:
                raise ValueError(f"{name}: is an array, not a group holding {wanted!r}")
            return node
        arrays = dict(node.arrays())
        if wanted:
            if wanted not in arrays:
                raise ValueError(f"{name}: the group has no array {wanted!r}")
            return arrays[wanted]
        if "0" in arrays:
            return arrays["0"]
        if len(arrays) == 1:
            return next(iter(arrays.values()))
        listed = ", ".join(sorted(arrays)) or "none"
        raise ValueError(f"{name}: a Zarr group; choose one of its arrays ({listed})")

    def _chunk(self, k: int) -> NDArray[Any]:
        if self._array is None:
            raise ValueError(f"{self.name}: the source is closed")
        c = self.chunk_rows
        key = (*self._prefix, slice(k * c, min(self.shape[0], (k + 1) * c)))
        try:
            return np.asarray(self._array[key])
        except OSError as exc:
            raise OSError(f"{self.name}: cannot read: {exc.strerror or exc}") from None
        except Exception as exc:  # noqa: BLE001 - codecs raise their own error types
            raise ValueError(f"{self.name}: cannot decode a chunk: {one_line(exc)}") from None

    def close(self) -> None:
        """Drop the array and the cached chunks."""
        super().close()
        self._array = None


class ZarrSink(AtomicSink):
    """A Zarr array of shape (H, W), written a chunk row at a time into a temporary folder.

    Parameters
    ----------
    path : str or path-like
        The target folder (conventionally ``*.zarr``); an existing one is replaced on commit.
    shape : tuple of int
        (H, W).
    dtype : numpy dtype
    chunks : tuple of int
        Chunk (rows, columns).
    zarr_format : {2, 3}
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        shape: tuple[int, int],
        *,
        dtype: type[np.floating[Any]] | np.dtype[Any] = np.float64,
        chunks: tuple[int, int] = (256, 256),
        zarr_format: int = 3,
    ) -> None:
        zarr = _import_zarr(str(path))
        if not hasattr(zarr, "create_array"):
            raise StreamUnsupportedError(f"{path}: writing Zarr needs zarr 3 or later")
        if len(chunks) != 2 or min(chunks) < 1:
            raise ValueError(f"{path}: Zarr chunks must be two positive numbers, got {chunks}")
        super().__init__(path, shape, folder=True)
        self.dtype = np.dtype(dtype)
        self.chunks = (min(int(chunks[0]), self.shape[0]), min(int(chunks[1]), self.shape[1]))
        self._held: list[NDArray[Any]] = []
        self._count = 0
        self._stored = 0  # rows in the array; the rest wait in _held for a full chunk row
        with self._or_abort():  # a full disk names the output
            self._array: Any = zarr.create_array(
                store=os.fspath(self.temp),
                shape=self.shape,
                chunks=self.chunks,
                dtype=self.dtype,
                zarr_format=zarr_format,
                fill_value=0,
                overwrite=True,
            )

    def _flush(self, final: bool) -> None:
        c = self.chunks[0]
        while self._count >= c or (final and self._count):
            rows = np.concatenate(self._held) if len(self._held) > 1 else self._held[0]
            take = min(c, rows.shape[0])
            self._array[self._stored : self._stored + take] = rows[:take]
            self._stored += take
            rest = rows[take:]
            self._held = [rest] if rest.shape[0] else []
            self._count = rest.shape[0]

    def _write(self, rows: NDArray[Any]) -> None:
        self._held.append(rows.astype(self.dtype))
        self._count += rows.shape[0]
        self._flush(final=False)

    def _finish(self) -> None:
        self._flush(final=True)
        self._array = None

    def _discard(self) -> None:
        self._held = []
        self._array = None
