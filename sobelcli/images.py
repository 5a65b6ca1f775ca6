"""Every file sobelcli reads or writes: images in, maps out, atomically.

Reading: PNG, JPEG, TIFF, BMP, GIF (first frame), WebP through imageio's Pillow plugin, and
``.npy`` arrays; ``-`` reads the bytes from stdin. The format is told by the bytes, not by the
name. Colour becomes grey (luminance ``0.2125 R + 0.7154 G + 0.0721 B``, as skimage's
``rgb2gray``; alpha ignored) unless a channel is chosen; 8- and 16-bit integers are scaled to
[0, 1]; EXIF orientation is applied. The size is checked from the header, before decoding.

Writing: ``.png`` (8 or 16 bit), ``.tif`` (float32 values), ``.npy`` (the raw array), ``-``
for PNG on stdout. Files are written to a temporary file in the target folder and renamed
into place, so a reader never sees half a file and a failed run leaves nothing behind.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "OUTPUT_FORMATS",
    "ImageError",
    "LoadedImage",
    "atomic_write",
    "encode",
    "encode_png",
    "load_image",
    "load_kernel_file",
    "read_image",
    "save_image",
]

#: Refuse images with more pixels than this unless told otherwise (a decompression-bomb guard).
DEFAULT_MAX_PIXELS = 250_000_000
#: Output formats by file extension.
OUTPUT_FORMATS: dict[str, str] = {".png": "png", ".npy": "npy", ".tif": "tiff", ".tiff": "tiff"}
LUMINANCE = (0.2125, 0.7154, 0.0721)
NPY_MAGIC = b"\x93NUMPY"


class ImageError(ValueError):
    """A file that cannot be read or written; ``str()`` is one line naming the file."""

    def __init__(self, source: str | os.PathLike[str], problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


@dataclass
class LoadedImage:
    """A grey image and what was done to get it."""

    pixels: NDArray[np.floating]
    source: str
    mode: str
    notes: list[str] = field(default_factory=list)


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    if str(path) == "-":
        if sys.stdin.isatty():
            raise ImageError("-", "stdin is a terminal; pipe an image in, as in: cat in.png | sobelcli edges -")
        data = sys.stdin.buffer.read()
    else:
        p = Path(path)
        if p.is_dir():
            raise ImageError(path, "is a folder, not an image")
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise ImageError(path, "no such file") from None
        except PermissionError:
            raise ImageError(path, "permission denied") from None
        except OSError as exc:
            raise ImageError(path, f"cannot read: {exc.strerror or exc}") from None
    if not data:
        raise ImageError(path, "file is empty")
    return data


def _check_size(source: str, shape: tuple[int, ...], max_pixels: int | None) -> None:
    if len(shape) < 2:
        return
    pixels = int(shape[0]) * int(shape[1])
    if max_pixels is not None and pixels > max_pixels:
        raise ImageError(
            source,
            f"image is {shape[1]} x {shape[0]} = {pixels:,} pixels, over the limit of "
            f"{max_pixels:,} (raise it with --max-pixels)",
        )


def _decode_npy(source: str, data: bytes, max_pixels: int | None) -> NDArray[Any]:
    buf = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buf)
        shape, _, dtype = np.lib.format._read_array_header(buf, version)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - any header problem is a bad file
        raise ImageError(source, f"not a valid .npy file ({exc})") from None
    if dtype.hasobject:
        raise ImageError(source, "the .npy holds Python objects, not numbers")
    _check_size(source, shape, max_pixels)
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)  # type: ignore[no-any-return]
    except Exception as exc:  # noqa: BLE001
        raise ImageError(source, f"cannot read the .npy array ({exc})") from None


def _decode_picture(source: str, data: bytes, max_pixels: int | None) -> tuple[NDArray[Any], str, list[str]]:
    import imageio.v3 as iio
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # sobelcli checks the size itself, from the header
    notes: list[str] = []
    try:
        with iio.imopen(data, "r", plugin="pillow") as fh:
            props = fh.properties(index=0)
            _check_size(source, props.shape, max_pixels)
            meta = fh.metadata(index=0, exclude_applied=False)
            mode = str(meta.get("mode", ""))
            if props.n_images and props.n_images > 1:
                notes.append(f"{props.n_images} frames; the first is used")
            arr = fh.read(index=0, rotate=True, mode="RGB" if mode == "CMYK" else None)
            if meta.get("Orientation", 1) not in (1, None):
                notes.append(f"EXIF orientation {meta['Orientation']} applied")
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(source, "not enough memory to decode this image") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad bytes
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "cannot identify image file" in problem or "can not handle the given uri" in problem:
            problem = "not a readable image (unknown or corrupt format)"
        raise ImageError(source, f"cannot decode image: {problem}") from None
    return arr, mode, notes


def _to_grey(source: str, arr: NDArray[Any], channel: int | None) -> NDArray[Any]:
    if arr.ndim == 3 and arr.shape[2] in (1, 2, 3, 4):
        n = arr.shape[2]
        if channel is not None:
            if not 0 <= channel < n:
                raise ImageError(source, f"has {n} channel(s); --channel must be 0 to {n - 1}")
            return arr[:, :, channel]
        if n < 3:
            return arr[:, :, 0]
        return arr[:, :, :3]
    if arr.ndim != 2:
        raise ImageError(
            source, f"array of shape {arr.shape} is not an image; expected (H, W) or (H, W, C) with C <= 4"
        )
    if channel not in (None, 0):
        raise ImageError(source, f"is a grey image; --channel {channel} does not exist")
    return arr


def _scaled(source: str, arr: NDArray[Any], dtype: type[np.floating[Any]]) -> NDArray[np.floating]:
    if arr.dtype == np.bool_:
        out = arr.astype(dtype)
    elif arr.dtype in (np.uint8, np.uint16):
        out = arr.astype(dtype)
        out *= dtype(1.0 / np.iinfo(arr.dtype).max)
    elif arr.dtype.kind in "iuf":
        out = arr.astype(dtype)
        if not np.isfinite(out).all():
            raise ImageError(source, "holds NaN or infinite values")
    else:
        raise ImageError(source, f"holds values of type {arr.dtype}, not numbers")
    if out.ndim == 3:  # colour: luminance of R, G, B
        out = np.tensordot(out, np.asarray(LUMINANCE, dtype=dtype), axes=([2], [0]))
    return np.ascontiguousarray(out)


def read_image(
    path: str | os.PathLike[str],
    *,
    channel: int | None = None,
    dtype: type[np.floating[Any]] = np.float64,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> LoadedImage:
    """Read an image file (or ``-`` for stdin) as a grey float array.

    Parameters
    ----------
    path : str or path-like
        The file, or ``"-"`` for stdin.
    channel : int, optional
        Take this channel of a colour image instead of the luminance.
    dtype : {numpy.float64, numpy.float32}
    max_pixels : int or None
        Refuse, before decoding, an image with more pixels than this.

    Returns
    -------
    LoadedImage
        ``pixels`` of shape (H, W), integers scaled to [0, 1].

    Raises
    ------
    ImageError
        With a one-line message that names the file.
    """
    source = "-" if str(path) == "-" else str(path)
    data = _read_bytes(path)
    if data.startswith(NPY_MAGIC):
        arr, mode, notes = _decode_npy(source, data, max_pixels), "npy", []
    else:
        arr, mode, notes = _decode_picture(source, data, max_pixels)
    if arr.size == 0:
        raise ImageError(source, f"image is empty (shape {arr.shape})")
    grey = _scaled(source, _to_grey(source, arr, channel), dtype)
    return LoadedImage(grey, source, mode, notes)


def load_image(path: str | os.PathLike[str], **options: Any) -> NDArray[np.floating]:
    """Shortcut for ``read_image(path, **options).pixels``: a grey (H, W) float array."""
    return read_image(path, **options).pixels


def load_kernel_file(path: str | os.PathLike[str]) -> NDArray[np.float64]:
    """Read a kernel from a ``.npy`` file (a 2-D array of real numbers)."""
    from .kernels import check_kernel

    arr = _decode_npy(str(path), _read_bytes(path), None) if str(path) != "-" else None
    if arr is None:
        raise ImageError(path, "a kernel cannot be read from stdin")
    try:
        return check_kernel(arr, str(path))
    except ValueError as exc:
        raise ImageError(path, str(exc).removeprefix(f"{path}: ")) from None


def output_format(path: str | os.PathLike[str]) -> str:
    """The format written for an output path (``-`` is PNG); ValueError for an unknown extension."""
    if str(path) == "-":
        return "png"
    ext = Path(path).suffix.lower()
    if ext not in OUTPUT_FORMATS:
        raise ValueError(f"cannot write {ext or 'a file without extension'}: use {', '.join(OUTPUT_FORMATS)}")
    return OUTPUT_FORMATS[ext]


def encode(values: NDArray[np.floating], fmt: str, *, bits: int = 8, compress: int = 1) -> bytes:
    """Encode a map as file bytes.

    Parameters
    ----------
    values : ndarray, shape (H, W)
        For ``png``, values in [0, 1] (clipped), quantised to ``bits`` (8 or 16).
    fmt : {"png", "npy", "tiff"}
        ``npy`` keeps the array as it is; ``tiff`` stores float32 values.
    bits : {8, 16}
    compress : int
        zlib level 0-9 for PNG; 1 (the default) is fast, 9 is small.
    """
    if fmt == "npy":
        buf = io.BytesIO()
        np.save(buf, values, allow_pickle=False)
        return buf.getvalue()
    import imageio.v3 as iio

    if fmt == "tiff":
        return bytes(iio.imwrite("<bytes>", values.astype(np.float32), extension=".tif", plugin="pillow"))
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    top = 255 if bits == 8 else 65535
    scaled = np.clip(values, 0.0, 1.0) * top
    pixels = np.rint(scaled, out=scaled).astype(np.uint8 if bits == 8 else np.uint16)
    return encode_png(pixels, compress)


def encode_png(pixels: NDArray[np.integer], compress: int = 1) -> bytes:
    """PNG bytes of an already quantised uint8/uint16 array, (H, W) grey or (H, W, 3) RGB."""
    import imageio.v3 as iio

    return bytes(iio.imwrite("<bytes>", pixels, extension=".png", plugin="pillow", compress_level=compress))


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file in the same folder and a rename.

    Raises
    ------
    ImageError
        When the folder does not exist or cannot be written; no file is left behind.
    """
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise ImageError(path, f"cannot write: folder {str(folder)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise ImageError(path, f"cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ImageError(path, f"cannot write: {exc.strerror or exc}") from None
        raise


def save_image(
    path: str | os.PathLike[str], values: NDArray[np.floating], *, bits: int = 8, compress: int = 1
) -> None:
    """Encode ``values`` for the format of ``path`` and write it atomically (``-``: PNG on stdout)."""
    data = encode(values, output_format(path), bits=bits, compress=compress)
    if str(path) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        atomic_write(path, data)
