"""TIFF / BigTIFF, tiled or striped, read a tile row at a time; tiled BigTIFF written as rows come.

Reading uses tifffile's own segment machinery, one chunk row at a time: the byte ranges of
the tiles (or the strip) that cover rows ``[k c, (k + 1) c)`` are read in file order with
``FileHandle.read_segments`` and decoded with ``TiffPage.decode`` (any compression and
predictor tifffile decodes: with ``imagecodecs`` installed that includes LZW, JPEG, zstd,
WebP, ...). A tile row's tiles are decoded on ``SourceOptions.workers`` threads. This is what
tifffile's Zarr store does per chunk, without zarr's per-chunk overhead and with the few last
chunk rows cached. Uncompressed striped images whose strips lie back to back (the layout of
many single-strip writers) are read row range by row range with ``os.pread`` instead, so a
one-strip 10-gigabyte file is not one chunk.

Values are those of the in-memory reader (Pillow): samples as stored, 1-bit as booleans,
"min-is-white" grey inverted (``max - v``, or ``not v``). Not streamed
(:class:`~sobelcli.io.stream.StreamUnsupportedError`): palette, CMYK, YCbCr other than in
JPEG, volumes (image depth > 1), and an orientation tag other than 1.

Writing: :class:`TiffSink` runs ``tifffile.TiffWriter.write`` on a thread, fed a generator of
tiles cut from the rows that :meth:`~TiffSink.write_rows` hands over through a queue of two
strips, so compression overlaps the computation and the whole image is never in memory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.io.stream_base import (
    ChunkRowSource,
    SourceOptions,
    StreamUnsupportedError,
    one_line,
)
from sobelcli.io.stream_sink import AtomicSink, BackgroundWriter

__all__ = ["CONTIGUOUS_ROW_BYTES", "TiffSink", "TiffSource"]

#: Bytes per chunk row when an uncompressed contiguous image is read with os.pread.
CONTIGUOUS_ROW_BYTES = 4 << 20
MINISWHITE, MINISBLACK, RGB, YCBCR = 0, 1, 2, 6
JPEG_COMPRESSIONS = {6, 7, 34892, 33007}


class TiffSource(ChunkRowSource):
    """The first page of a TIFF / BigTIFF file as a row source, a chunk row at a time.

    Parameters
    ----------
    path : str or path-like
    options : SourceOptions, optional

    Notes
    -----
    Peak memory is about ``cached_chunks + 1`` decoded chunk rows: a tile row of a 100 000
    pixel wide 8-bit RGB image in 512-row tiles is 150 MB, so prefer tiles of 256 rows or
    less for very wide images. A compressed single-strip image is one chunk: the whole image.
    """

    def __init__(self, path: str | os.PathLike[str], options: SourceOptions | None = None) -> None:
        import tifffile

        name = str(path)
        opts = options or SourceOptions()
        try:
            tif = tifffile.TiffFile(path)
        except FileNotFoundError:
            raise OSError(f"{name}: no such file") from None
        except PermissionError:
            raise OSError(f"{name}: permission denied") from None
        except Exception as exc:  # noqa: BLE001 - tifffile raises many types for bad bytes
            raise ValueError(f"{name}: not a readable TIFF ({one_line(exc)})") from None
        self._tif: Any = tif
        try:
            page = tif.pages.first
            _ = page.shape, page.dtype, page.chunks  # parse the tags now
        except Exception as exc:  # noqa: BLE001 - tifffile raises many types for bad tags
            tif.close()
            raise ValueError(f"{name}: not a readable TIFF ({one_line(exc)})") from None
        try:
            raw_shape, raw_dtype = self._layout(name, page)
            self._contiguous = bool(
                not page.is_tiled
                and page.compression == 1
                and page.is_contiguous
                and page.bitspersample in (8, 16, 32, 64)
                and page.fillorder == 1
                and (page.planarconfig == 1 or page.samplesperpixel == 1)
            )
            if self._contiguous:
                row_bytes = int(np.prod(raw_shape[1:])) * raw_dtype.itemsize
                chunk_rows = max(1, CONTIGUOUS_ROW_BYTES // row_bytes)
                self._offset = int(page.dataoffsets[0])
                self._file_dtype = np.dtype(tif.byteorder + raw_dtype.char)
            else:
                chunk_rows = int(page.chunks[0])
            super().__init__(name, raw_shape, raw_dtype, opts, chunk_rows)
        except BaseException:
            tif.close()
            raise
        if len(tif.pages) > 1:
            self.notes.append(f"{len(tif.pages)} pages; the first is used")
        self._page: Any = page
        self._invert = page.photometric == MINISWHITE
        self._separate = page.planarconfig == 2 and page.samplesperpixel > 1
        self._decodeargs: dict[str, Any] = {}
        if page.compression in JPEG_COMPRESSIONS:
            self._decodeargs["jpegtables"] = page.jpegtables
            self._decodeargs["jpegheader"] = page.keyframe.jpegheader
        self._pool: ThreadPoolExecutor | None = None
        try:  # decode the first chunk row now: a missing codec shows here, not half-way
            self._cached(0)
        except ValueError as exc:
            self.close()
            raise StreamUnsupportedError(str(exc)) from None

    @staticmethod
    def _layout(name: str, page: Any) -> tuple[tuple[int, ...], np.dtype[Any]]:
        if page.imagedepth > 1:
            raise StreamUnsupportedError(
                f"{name}: a volume (depth {page.imagedepth}), not an image"
            )
        photometric = int(page.photometric) if page.photometric is not None else MINISBLACK
        plain = {MINISWHITE, MINISBLACK, RGB}
        if photometric not in plain and not (
            photometric == YCBCR and page.compression in JPEG_COMPRESSIONS
        ):
            raise StreamUnsupportedError(
                f"{name}: photometric {page.photometric!r} is converted by the in-memory reader"
            )
        orientation = page.tags.get(274)
        if orientation is not None and int(orientation.value) != 1:
            raise StreamUnsupportedError(
                f"{name}: orientation {int(orientation.value)} must be applied in memory"
            )
        if page.dtype is None:
            raise ValueError(f"{name}: samples of a type tifffile cannot decode")
        dtype = np.dtype(np.bool_) if page.bitspersample == 1 else np.dtype(page.dtype)
        h, w, spp = int(page.imagelength), int(page.imagewidth), int(page.samplesperpixel)
        return ((h, w) if spp == 1 else (h, w, spp)), dtype

    def _chunk(self, k: int) -> NDArray[Any]:
        if self._tif is None:
            raise ValueError(f"{self.name}: the source is closed")
        c = self.chunk_rows
        r0 = k * c
        n = min(self.shape[0], r0 + c) - r0
        raw = self._read_contiguous(r0, n) if self._contiguous else self._decode_rows(r0, n)
        if self._invert:
            if raw.dtype == np.bool_:
                np.logical_not(raw, out=raw)
            elif raw.dtype.kind == "u":
                np.subtract(np.iinfo(raw.dtype).max, raw, out=raw)
        return raw

    def _read_contiguous(self, r0: int, n: int) -> NDArray[Any]:
        row_bytes = int(np.prod(self.raw_shape[1:])) * self._file_dtype.itemsize
        fh = self._tif.filehandle
        try:
            with fh.lock:
                fh.seek(self._offset + r0 * row_bytes)
                data = fh.read(n * row_bytes)
        except OSError as exc:
            raise OSError(f"{self.name}: cannot read: {exc.strerror or exc}") from None
        if len(data) < n * row_bytes:
            raise ValueError(f"{self.name}: the TIFF is truncated at row {r0}")
        flat = np.frombuffer(data, dtype=self._file_dtype)
        return flat.reshape((n, *self.raw_shape[1:])).astype(self.raw_dtype)

    def _decode_rows(self, r0: int, n: int) -> NDArray[Any]:
        page = self._page
        h, w = self.shape
        spp = self.raw_shape[2] if len(self.raw_shape) == 3 else 1
        out = np.zeros((n, w, spp), dtype=self.raw_dtype)
        k = r0 // self.chunk_rows
        planes = range(spp) if self._separate else range(1)
        down = -(-h // self.chunk_rows)  # tile rows, or strips, per sample plane
        if page.is_tiled:
            across = -(-w // int(page.tilewidth))
            per_plane = down * across
            indices = [s * per_plane + k * across + j for s in planes for j in range(across)]
        else:
            indices = [s * down + k for s in planes]
        offsets = [page.dataoffsets[i] for i in indices]
        counts = [page.databytecounts[i] for i in indices]
        fh = self._tif.filehandle
        decode = page.decode
        args = self._decodeargs
        try:
            segments = list(fh.read_segments(offsets, counts, indices=indices, sort=True))

            def one(segment: tuple[bytes | None, int]) -> Any:
                return decode(segment[0], segment[1], **args)

            workers = max(1, self.options.workers)
            if workers > 1 and len(segments) > 1:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(workers, thread_name_prefix="sobelcli-tiff")
                results = list(self._pool.map(one, segments))
            else:
                results = [one(segment) for segment in segments]
        except OSError as exc:
            raise OSError(f"{self.name}: cannot read: {exc.strerror or exc}") from None
        except Exception as exc:  # noqa: BLE001 - codecs raise their own error types
            raise ValueError(f"{self.name}: cannot decode: {one_line(exc)}") from None
        for data, (s, _d, y, x, _c), _shape in results:
            if data is None:  # an empty segment: zeros, as tifffile's fill value
                continue
            tile = data[0]  # (length, width, contig samples)
            rows = min(tile.shape[0], r0 + n - y, h - y)
            cols = min(tile.shape[1], w - x)
            dst = out[y - r0 : y - r0 + rows, x : x + cols]
            if self._separate:
                dst[:, :, s] = tile[:rows, :cols, 0]
            else:
                dst[...] = tile[:rows, :cols]
        return out if spp > 1 else out[:, :, 0]

    def close(self) -> None:
        """Close the file and the decoding threads."""
        super().close()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._tif is not None:
            self._tif.close()
            self._tif = None


class TiffSink(AtomicSink):
    """A tiled BigTIFF of one float sample per pixel, written as the rows come.

    Parameters
    ----------
    path : str or path-like
    shape : tuple of int
        (H, W).
    dtype : {numpy.float32, numpy.float64}
        Sample type; float32 (default) as the in-memory writer.
    tile : tuple of int
        Tile (rows, columns), multiples of 16.
    compression : str or None
        A tifffile compression name (``"zlib"``, ``"zstd"``, ``"lzw"``, ...), None for none.

    Notes
    -----
    Memory: one tile row being cut into tiles, two strips in the queue, and what tifffile
    holds while compressing.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        shape: tuple[int, int],
        *,
        dtype: type[np.floating[Any]] | np.dtype[Any] = np.float32,
        tile: tuple[int, int] = (256, 256),
        compression: str | None = None,
    ) -> None:
        if len(tile) != 2 or any(t < 16 or t % 16 for t in tile):
            raise ValueError(f"{path}: TIFF tiles must be multiples of 16, got {tile}")
        super().__init__(path, shape)
        self.dtype = np.dtype(dtype)
        self.tile = (int(tile[0]), int(tile[1]))
        self.compression = compression
        self._writer = BackgroundWriter(self._run, "sobelcli-tiff-writer")

    def _run(self, get: Callable[[], NDArray[Any]]) -> None:
        import tifffile

        with tifffile.TiffWriter(self.temp, bigtiff=True) as writer:
            writer.write(
                self._tiles(get),
                shape=self.shape,
                dtype=self.dtype,
                tile=self.tile,
                compression=self.compression,
                photometric="minisblack",
                metadata=None,
            )

    def _tiles(self, get: Callable[[], NDArray[Any]]) -> Iterator[NDArray[Any]]:
        th, tw = self.tile
        h, w = self.shape
        done = 0
        held: list[NDArray[Any]] = []
        count = 0
        while done < h:
            item = get()
            held.append(item)
            count += item.shape[0]
            while count >= th or (count and done + count == h):
                rows = np.concatenate(held) if len(held) > 1 else held[0]
                take = min(th, rows.shape[0])
                band = rows[:take]
                for c in range(0, w, tw):
                    yield np.ascontiguousarray(band[:, c : c + tw])
                rest = rows[take:]
                held = [rest] if rest.shape[0] else []
                count = rest.shape[0]
                done += take

    def _write(self, rows: NDArray[Any]) -> None:
        try:
            self._writer.put(rows.astype(self.dtype))  # a copy: the caller may reuse its rows
        except (ValueError, TypeError, RuntimeError) as exc:
            raise ValueError(f"{self.path}: cannot write TIFF: {one_line(exc)}") from None

    def _finish(self) -> None:
        try:
            self._writer.join()
        except (ValueError, TypeError, RuntimeError) as exc:
            raise ValueError(f"{self.path}: cannot write TIFF: {one_line(exc)}") from None

    def _discard(self) -> None:
        self._writer.stop()
