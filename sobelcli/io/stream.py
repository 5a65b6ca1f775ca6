"""Row sources and row sinks: images larger than memory, read and written a strip of rows at a time.

A **row source** is an image of shape (H, W) that hands out grey float rows on demand::

    source.shape            # (H, W)
    source.dtype            # float64 (default) or float32
    source.read_rows(r0, r1)  # ndarray, shape (r1 - r0, W): rows r0 <= r < r1

The grey values are those of the in-memory reader (:func:`sobelcli.io.read.read_image`):
8- and 16-bit integers are scaled to [0, 1] (``v * (1 / 255)`` or ``v * (1 / 65535)``), booleans
become 0 and 1, other integers and floats keep their values; colour becomes the luminance
``Y = 0.2125 R + 0.7154 G + 0.0721 B`` (alpha ignored; within 1 ulp of the in-memory value, see
:func:`~sobelcli.io.stream_base.grey_rows`) unless a channel is chosen. Sources hold a few
decoded chunks at most (a TIFF tile row, a Zarr chunk row), never the whole image.

A **row sink** takes the output rows top to bottom with ``write_rows(rows)`` and then
``commit()``: it writes to a temporary file (or folder) beside the target and renames it into
place with :func:`os.replace`, so a reader never sees half a file. ``abort()`` (or leaving a
``with`` block by any exception, Ctrl-C included) removes the temporary and leaves nothing.

Modules:

- this one: the protocols and :func:`open_source` / :func:`open_sink` (the format told by
  the bytes, or by the extension);
- :mod:`sobelcli.io.stream_base`: options, grey values, the source base classes and
  :class:`ArraySource` (an array in memory); :mod:`sobelcli.io.stream_sink`: the atomic sink
  and its writer thread;
- :mod:`sobelcli.io.stream_npy`: ``.npy`` in and out; :mod:`sobelcli.io.stream_tiff`: tiled
  and striped TIFF / BigTIFF in, tiled BigTIFF out (tifffile); :mod:`sobelcli.io.stream_zarr`:
  Zarr arrays in and out (zarr); :mod:`sobelcli.io.stream_vips`: PNG and JPEG in (pyvips,
  optional); :mod:`sobelcli.io.stream_png`: PNG out, rows deflated as they come (zlib).

Errors are :class:`ValueError` or :class:`OSError` whose message starts with the file name;
:class:`StreamUnsupportedError` (a ValueError) marks an input that exists and may well be
readable in memory, but not as a stream.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from sobelcli.io.stream_base import (
    LUMINANCE,
    ArraySource,
    ChunkRowSource,
    GreySource,
    SinkOptions,
    SourceOptions,
    StreamUnsupportedError,
    grey_rows,
)
from sobelcli.io.stream_npy import NpySink, NpySource
from sobelcli.io.stream_sink import AtomicSink

__all__ = [
    "LUMINANCE",
    "SINK_FORMATS",
    "ArraySource",
    "AtomicSink",
    "ChunkRowSource",
    "GreySource",
    "NpySink",
    "NpySource",
    "RowSink",
    "RowSource",
    "SinkOptions",
    "SourceOptions",
    "StreamUnsupportedError",
    "grey_rows",
    "open_sink",
    "open_source",
    "sniff_format",
]

NPY_MAGIC = b"\x93NUMPY"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: Output formats by extension.
SINK_FORMATS: dict[str, str] = {
    ".png": "png",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".npy": "npy",
    ".zarr": "zarr",
}


@runtime_checkable
class RowSource(Protocol):
    """An image of shape (H, W) read as grey float rows, top to bottom or in any order."""

    @property
    def name(self) -> str:
        """The file name, for messages."""
        ...

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the grey image."""
        ...

    @property
    def dtype(self) -> np.dtype[Any]:
        """float64 or float32: the dtype of the rows returned."""
        ...

    def read_rows(self, r0: int, r1: int) -> NDArray[np.floating]:
        """Rows ``r0 <= r < r1`` as a new array of shape (r1 - r0, W)."""
        ...

    def close(self) -> None:
        """Release the file."""
        ...


@runtime_checkable
class RowSink(Protocol):
    """A file of shape (H, W) written row strip by row strip, then committed atomically."""

    @property
    def path(self) -> str:
        """The target path."""
        ...

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the image written."""
        ...

    def write_rows(self, rows: NDArray[np.floating]) -> None:
        """Append rows of shape (n, W) below those already written."""
        ...

    def commit(self) -> None:
        """Finish the file and rename it into place; all H rows must have been written."""
        ...

    def abort(self) -> None:
        """Drop the temporary file; the target is left as it was."""
        ...


def sniff_format(path: str | os.PathLike[str]) -> str:
    """The streamable format of a file or folder, told by its bytes: a key of :func:`open_source`.

    Returns
    -------
    {"npy", "tiff", "png", "jpeg", "zarr"}

    Raises
    ------
    OSError
        For a missing or unreadable file.
    StreamUnsupportedError
        For a format that cannot be streamed (BMP, GIF, WebP, ...).
    """
    p = Path(path)
    name = str(path)
    if p.is_dir():
        if any((p / marker).exists() for marker in ("zarr.json", ".zarray", ".zgroup")):
            return "zarr"
        raise StreamUnsupportedError(f"{name}: is a folder, not a Zarr array")
    try:
        with p.open("rb") as fh:
            head = fh.read(8)
    except FileNotFoundError:
        raise OSError(f"{name}: no such file") from None
    except PermissionError:
        raise OSError(f"{name}: permission denied") from None
    except OSError as exc:
        raise OSError(f"{name}: cannot read: {exc.strerror or exc}") from None
    if not head:
        raise ValueError(f"{name}: file is empty")
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head[:4] in TIFF_MAGICS:
        return "tiff"
    if head.startswith(PNG_MAGIC):
        return "png"
    if head.startswith(JPEG_MAGIC):
        return "jpeg"
    raise StreamUnsupportedError(
        f"{name}: not a format that can be streamed (TIFF, Zarr, .npy, PNG and JPEG can)"
    )


def open_source(path: str | os.PathLike[str], options: SourceOptions | None = None) -> GreySource:
    """Open an image file or Zarr folder as a row source, the format told by its bytes.

    Parameters
    ----------
    path : str or path-like
        A TIFF / BigTIFF (tiled or striped), ``.npy``, PNG, JPEG file, or a Zarr array folder.
    options : SourceOptions, optional

    Returns
    -------
    GreySource
        A :class:`RowSource`; close it, or use it as a context manager.

    Raises
    ------
    OSError, ValueError
        Naming the file; :class:`StreamUnsupportedError` for what only the in-memory reader
        may read (another format, pyvips missing for PNG / JPEG, an EXIF rotation, ...).
    """
    opts = options or SourceOptions()
    fmt = sniff_format(path)
    if fmt == "npy":
        return NpySource(path, opts)
    if fmt == "tiff":
        from sobelcli.io.stream_tiff import TiffSource

        return TiffSource(path, opts)
    if fmt == "zarr":
        from sobelcli.io.stream_zarr import ZarrSource

        return ZarrSource(path, opts)
    from sobelcli.io.stream_vips import VipsSource

    return VipsSource(path, opts)


def open_sink(
    path: str | os.PathLike[str],
    shape: tuple[int, int],
    *,
    dtype: type[np.floating[Any]] | np.dtype[Any] = np.float64,
    options: SinkOptions | None = None,
) -> AtomicSink:
    """A sink for ``path``, by its extension: ``.png``, ``.tif`` / ``.tiff``, ``.npy``, ``.zarr``.

    Parameters
    ----------
    path : str or path-like
    shape : tuple of int
        (H, W) of the output.
    dtype : numpy dtype
        dtype of the values for ``.npy`` and ``.zarr`` (TIFF: ``options.tiff_dtype``).
    options : SinkOptions, optional

    Returns
    -------
    AtomicSink
        A :class:`RowSink`; use it as a context manager (commit on success, abort on error).

    Raises
    ------
    ValueError
        For another extension.
    OSError
        When the folder is missing or not writable.
    """
    opts = options or SinkOptions()
    ext = Path(path).suffix.lower()
    fmt = SINK_FORMATS.get(ext)
    if fmt is None:
        raise ValueError(
            f"{path}: cannot stream to {ext or 'a file without extension'}: "
            f"use {', '.join(SINK_FORMATS)}"
        )
    if fmt == "npy":
        return NpySink(path, shape, dtype)
    if fmt == "png":
        from sobelcli.io.stream_png import PngSink

        return PngSink(path, shape, bits=opts.bits, compress=opts.compress)
    if fmt == "tiff":
        from sobelcli.io.stream_tiff import TiffSink

        return TiffSink(
            path, shape, dtype=opts.tiff_dtype, tile=opts.tile, compression=opts.tiff_compression
        )
    from sobelcli.io.stream_zarr import ZarrSink

    return ZarrSink(path, shape, dtype=dtype, chunks=opts.tile, zarr_format=opts.zarr_format)
