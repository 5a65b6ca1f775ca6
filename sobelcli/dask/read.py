"""One huge image as a lazy dask array, read by the workers: TIFF (tifffile) or Zarr (zarr).

:func:`open_image` reads only the header on the client; the graph carries the path, and each
chunk task opens the file on its worker and reads the tiles or strips under it (tifffile's
Zarr view of a TIFF, or the Zarr array itself). Grey values as ``sobelcli edges`` reads them:
8- and 16-bit integers scaled to [0, 1], colour by luminance unless a channel is chosen.
"""

# dask ships no type hints for most of its functions.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
from numpy.typing import NDArray

from sobelcli.names import ALPHA_MODES, LUMINANCE

__all__ = ["LUMINANCE", "is_tiff", "open_image"]


def _zarr_level0(obj: Any, source: str) -> Any:
    """The array of a Zarr node: itself, or a group's full-resolution level ("0") or only array."""
    import zarr

    if isinstance(obj, zarr.Array):
        return obj
    names = sorted(name for name, _ in obj.arrays())
    if "0" in names:
        return obj["0"]
    if len(names) == 1:
        return obj[names[0]]
    raise ValueError(f"{source}: a Zarr group of {len(names)} arrays; name the one to read")


def is_tiff(path: Path) -> bool:
    """True when the file starts as a TIFF or BigTIFF does (False for a folder)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except IsADirectoryError:
        return False
    return head[:2] in (b"II", b"MM") and head[2:4] in (b"*\0", b"\0*", b"+\0", b"\0+")


@dataclass(frozen=True)
class _TiffReader:
    """A picklable view of a TIFF's first image for :func:`dask.array.from_array`.

    Only the path travels with the graph; each read opens the file on the worker and reads the
    tiles or strips under the slice through tifffile's Zarr store.
    """

    path: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    stamp: tuple[int, int]  # size and mtime: a changed file is another dask token

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __dask_tokenize__(self) -> tuple[Any, ...]:
        return ("sobelcli-tiff", self.path, self.shape, str(self.dtype), self.stamp)

    def __getitem__(self, key: Any) -> NDArray[Any]:
        import tifffile
        import zarr

        with tifffile.TiffFile(self.path) as tif:
            node = zarr.open(tif.aszarr(), mode="r")
            return np.asarray(_zarr_level0(node, self.path)[key])


def _aligned_chunks(shape: Sequence[int], stored: Sequence[int], chunk: int) -> tuple[int, ...]:
    """Chunks of about ``chunk`` x ``chunk`` pixels made of whole stored tiles or strips.

    Stored tiles smaller than ``chunk`` are grouped; a stored strip as wide as the image keeps
    its width and the rows shrink to keep the area near ``chunk ** 2``. Channels stay whole.
    """
    h, w = shape[0], shape[1]
    sh, sw = max(1, min(stored[0], h)), max(1, min(stored[1], w))
    cw = min(w, max(sw, round(chunk / sw) * sw))
    rows = chunk * chunk // cw if sw == w else chunk  # strips: about chunk ** 2 pixels
    ch = min(h, max(sh, round(rows / sh) * sh))
    return (ch, cw, *shape[2:])


def _grey_block(
    block: NDArray[Any], *, path: str, precision: str, channel: int | None, alpha: str
) -> NDArray[np.floating]:
    """Grey floats of one block, as ``sobelcli edges`` reads any image, pixel by pixel.

    :func:`sobelcli.io.pixels.to_float`: integers scaled to [0, 1], alpha composited (or
    dropped), luminance computed elementwise, so a chunk gets the bits of the whole image.
    """
    from sobelcli.io.pixels import to_float

    grey: NDArray[np.floating] = to_float(
        block, name=path, dtype=np.dtype(precision).type, channel=channel, alpha=alpha
    )
    return grey


def open_image(
    path: str | os.PathLike[str],
    *,
    chunk: int = 2048,
    dtype: str = "float32",
    channel: int | None = None,
    alpha: str = "white",
) -> da.Array:
    """A TIFF or Zarr image as a lazy grey float dask array, read by the workers.

    Parameters
    ----------
    path : str or path-like
        A TIFF / BigTIFF file (its first image, full resolution), or a Zarr array, or a Zarr
        group whose array "0" (OME-Zarr's full resolution) or only array is read.
    chunk : int
        Chunks of about ``chunk`` x ``chunk`` pixels, made of whole stored tiles or strips.
    dtype : {"float32", "float64"}
    channel : int, optional
        For a colour image: this channel instead of the luminance
        ``0.2125 R + 0.7154 G + 0.0721 B``.
    alpha : {"white", "black", "ignore"}
        How the alpha channel of grey + alpha or RGBA is composited (``--alpha``).

    Returns
    -------
    dask.array.Array, shape (H, W)
        8- and 16-bit integers scaled to [0, 1], as sobelcli reads images.

    Raises
    ------
    ValueError
        Not a TIFF or Zarr array, or not an image of shape (H, W) or (H, W, C) with C <= 4.
    FileNotFoundError
    """
    source = os.fspath(path)
    p = Path(source)
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    if alpha not in ALPHA_MODES:
        raise ValueError(f"unknown alpha mode {alpha!r}; choose one of {', '.join(ALPHA_MODES)}")
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1 pixel, got {chunk}")
    if not p.exists():
        raise FileNotFoundError(f"{source}: no such file or folder")
    if is_tiff(p):
        import tifffile

        with tifffile.TiffFile(source) as tif:  # the header only: the client needs no zarr
            if not tif.series:
                raise ValueError(f"{source}: a TIFF file without an image")
            series = tif.series[0]
            level = series.levels[0] if series.levels else series
            shape, raw_dtype = tuple(level.shape), level.dtype
            page = level.keyframe
            stored = tuple(getattr(page, "chunks", None) or shape)
            if len(stored) != len(shape) and len(shape) >= 2:  # a stack or an odd layout
                stored = shape
        stat = p.stat()
        reader = _TiffReader(source, shape, np.dtype(raw_dtype), (stat.st_size, stat.st_mtime_ns))
        _check_image_shape(source, shape, channel)
        chunks = _aligned_chunks(shape, stored, chunk)
        arr = da.from_array(reader, chunks=chunks, lock=False, asarray=False, fancy=False)
    else:
        import zarr

        try:
            node = _zarr_level0(zarr.open(source, mode="r"), source)
        except (ValueError, FileNotFoundError, KeyError) as exc:
            raise ValueError(f"{source}: neither a TIFF file nor a Zarr array ({exc})") from None
        shape = tuple(node.shape)
        _check_image_shape(source, shape, channel)
        arr = da.from_zarr(node, chunks=_aligned_chunks(shape, tuple(node.chunks), chunk))
    grey: da.Array = da.map_blocks(
        _grey_block,
        arr,
        path=source,
        precision=dtype,
        channel=channel,
        alpha=alpha,
        dtype=np.dtype(dtype),
        drop_axis=(2,) if arr.ndim == 3 else (),
        meta=np.empty((0, 0), dtype=dtype),
    )
    return grey


def _check_image_shape(source: str, shape: tuple[int, ...], channel: int | None) -> None:
    if len(shape) == 3 and 1 <= shape[2] <= 4:
        if channel is not None and not 0 <= channel < shape[2]:
            raise ValueError(
                f"{source}: has {shape[2]} channel(s); the channel must be 0 to {shape[2] - 1}"
            )
        return
    if len(shape) != 2:
        raise ValueError(
            f"{source}: array of shape {shape} is not an image; expected (H, W) or (H, W, C) "
            "with C <= 4"
        )
    if channel not in (None, 0):
        raise ValueError(f"{source}: is a grey image; channel {channel} does not exist")
    if 0 in shape:
        raise ValueError(f"{source}: image is empty (shape {shape})")
