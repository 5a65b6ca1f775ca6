"""Reading images: PNG, JPEG, TIFF, BMP, GIF (first frame), WebP and ``.npy``, as grey floats.

``-`` reads the bytes from stdin. The format is told by the bytes, not by the name. Colour
becomes grey (luminance ``0.2125 R + 0.7154 G + 0.0721 B``, as skimage's ``rgb2gray``; alpha
ignored) unless a channel is chosen; 8- and 16-bit integers are scaled to [0, 1]; EXIF
orientation is applied. The size is checked from the header, before decoding.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.io.files import ImageError
from sobelcli.names import DEFAULT_MAX_PIXELS

__all__ = ["LUMINANCE", "LoadedImage", "load_image", "read_array", "read_image"]

LUMINANCE = (0.2125, 0.7154, 0.0721)
NPY_MAGIC = b"\x93NUMPY"


@dataclass
class LoadedImage:
    """A grey image and what was done to get it."""

    pixels: NDArray[np.floating]
    source: str
    mode: str
    notes: list[str] = field(default_factory=list)


def _byte_limit(max_pixels: int | None) -> int | None:
    """The most bytes an image within ``max_pixels`` can take: 4 float64 channels and 64 MiB."""
    return None if max_pixels is None else max_pixels * 32 + (64 << 20)


def _read_limited(fh: Any, path: str | os.PathLike[str], limit: int | None) -> bytes:
    """All of a file's bytes, refusing more than ``limit`` without reading (or holding) them."""
    if limit is None:
        return fh.read()  # type: ignore[no-any-return]
    try:
        info = os.fstat(fh.fileno())
    except (OSError, AttributeError, io.UnsupportedOperation):
        info = None
    if info is not None and stat.S_ISREG(info.st_mode):
        if info.st_size > limit:
            raise ImageError(
                path,
                f"file of {info.st_size:,} bytes is larger than any image within the pixel limit",
                "max_pixels",
            )
        return fh.read()  # type: ignore[no-any-return]
    chunks, total = [], 0
    while total <= limit:  # a pipe, stdin or a device: read in chunks and stop early
        chunk = fh.read(1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        raise ImageError(
            path,
            f"more than {limit:,} bytes: larger than any image within the pixel limit",
            "max_pixels",
        )
    return b"".join(chunks)


def _read_bytes(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    if str(path) == "-":
        if sys.stdin.isatty():
            raise ImageError(
                "-", "stdin is a terminal; pipe an image in, as in: cat in.png | sobelcli edges -"
            )
        data = _read_limited(sys.stdin.buffer, path, limit)
    else:
        p = Path(path)
        if p.is_dir():
            raise ImageError(path, "is a folder, not an image")
        try:
            with p.open("rb") as fh:
                data = _read_limited(fh, path, limit)
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
            f"{max_pixels:,}",
            "max_pixels",
        )


def _decode_npy(
    source: str, data: bytes, max_pixels: int | None, image: bool = True
) -> NDArray[Any]:
    buf = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buf)
        reader = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }
        shape, _, dtype = reader[version](buf)
    except Exception as exc:  # noqa: BLE001 - any header problem is a bad file
        raise ImageError(source, f"not a valid .npy file ({_first_line(exc)})") from None
    if dtype.hasobject:
        raise ImageError(source, "the .npy holds Python objects, not numbers")
    if image and (len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] > 4)):
        raise ImageError(
            source,
            f"array of shape {shape} is not an image; expected (H, W) or (H, W, C) with C <= 4",
        )
    _check_size(source, shape, max_pixels)
    needed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - buf.tell() < needed:
        raise ImageError(
            source,
            f"the .npy is truncated: its header promises {needed:,} bytes of data, "
            f"the file holds {len(data) - buf.tell():,}",
        )
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)  # type: ignore[no-any-return]
    except Exception as exc:  # noqa: BLE001
        raise ImageError(source, f"cannot read the .npy array ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _decode_picture(
    source: str, data: bytes, max_pixels: int | None
) -> tuple[NDArray[Any], str, list[str]]:
    import warnings

    try:
        with warnings.catch_warnings():
            # Pillow's warnings on odd metadata would break the one-line report.
            warnings.simplefilter("ignore")
            with _c_stderr_silenced():
                arr, mode, notes = _open_picture(source, data, max_pixels)
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(source, "not enough memory to decode this image") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad bytes
        problem = _first_line(exc)
        if "cannot identify image file" in problem or "can not handle the given uri" in problem:
            problem = "not a readable image (unknown or corrupt format)"
        raise ImageError(source, f"cannot decode image: {problem}") from None
    return arr, mode, notes


@contextmanager
def _c_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to the null device: libtiff prints its errors there itself."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


#: Pillow modes that numpy takes as they are; any other (P, PA, CMYK, YCbCr, ...) becomes RGB(A).
DIRECT_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F", "RGB", "RGBA"}


def _open_picture(
    source: str, data: bytes, max_pixels: int | None
) -> tuple[NDArray[Any], str, list[str]]:
    """Decode the first frame with Pillow, once, after checking the size from the header.

    EXIF orientation is applied and palette, CMYK and other modes become RGB(A), as imageio's
    Pillow plugin does. Pillow is called directly: the same decoder, 35 ms sooner per process
    than through imageio's import and wrapping, a tenth of a whole ``sobelcli edges`` run.
    """
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = None  # sobelcli checks the size itself, from the header
    notes: list[str] = []
    with Image.open(io.BytesIO(data)) as im:
        _check_size(source, (im.height, im.width), max_pixels)
        mode = im.mode
        if getattr(im, "is_animated", False):
            notes.append(f"{im.n_frames} frames; the first is used")
            im.seek(0)
        orientation = im.getexif().get(0x0112, 1)
        if orientation not in (1, None):
            notes.append(f"EXIF orientation {orientation} applied")
        frame = ImageOps.exif_transpose(im) if orientation not in (1, None) else im
        if frame.mode not in DIRECT_MODES:
            frame = frame.convert("RGBA" if frame.mode in ("PA", "RGBa") else "RGB")
        return np.asarray(frame), mode, notes


def _to_grey(source: str, arr: NDArray[Any], channel: int | None) -> NDArray[Any]:
    if arr.ndim == 3 and arr.shape[2] in (1, 2, 3, 4):
        n = arr.shape[2]
        if channel is not None:
            if not 0 <= channel < n:
                raise ImageError(
                    source, f"has {n} channel(s); the channel must be 0 to {n - 1}", "channel"
                )
            return arr[:, :, channel]
        if n < 3:
            return arr[:, :, 0]
        return arr[:, :, :3]
    if arr.ndim != 2:
        raise ImageError(
            source,
            f"array of shape {arr.shape} is not an image; expected (H, W) or (H, W, C) with C <= 4",
        )
    if channel not in (None, 0):
        raise ImageError(source, f"is a grey image; channel {channel} does not exist", "channel")
    return arr


def _scaled(source: str, arr: NDArray[Any], dtype: type[np.floating[Any]]) -> NDArray[np.floating]:
    if arr.dtype == np.bool_:
        out = arr.astype(dtype)
    elif arr.dtype in (np.uint8, np.uint16):
        out = arr.astype(dtype)
        out *= dtype(1.0 / np.iinfo(arr.dtype).max)
    elif arr.dtype.kind in "iuf":
        with np.errstate(over="ignore", invalid="ignore"):
            out = arr.astype(dtype)
        if not np.isfinite(out).all():
            what = "NaN or infinite values" if arr.dtype.kind == "f" else "integers"
            if np.isfinite(arr).all():
                what = f"values beyond the range of {np.dtype(dtype).name}"
            raise ImageError(source, f"holds {what}")
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
    data = _read_bytes(path, _byte_limit(max_pixels))
    notes: list[str] = []
    if data.startswith(NPY_MAGIC):
        arr, mode = _decode_npy(source, data, max_pixels), "npy"
    else:
        arr, mode, notes = _decode_picture(source, data, max_pixels)
    if arr.size == 0:
        raise ImageError(source, f"image is empty (shape {arr.shape})")
    grey = _scaled(source, _to_grey(source, arr, channel), dtype)
    return LoadedImage(grey, source, mode, notes)


def load_image(path: str | os.PathLike[str], **options: Any) -> NDArray[np.floating]:
    """Shortcut for ``read_image(path, **options).pixels``: a grey (H, W) float array."""
    return read_image(path, **options).pixels


def read_array(path: str | os.PathLike[str], max_bytes: int = 1 << 26) -> NDArray[Any]:
    """Read a small ``.npy`` array (a kernel, a starting image) as it is stored.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file; never unpickled.
    max_bytes : int
        Refuse larger files without reading them.

    Returns
    -------
    ndarray
        Any shape; the caller checks what it needs.
    """
    if str(path) == "-":
        raise ImageError(path, "an array cannot be read from stdin here; name a .npy file")
    return _decode_npy(str(path), _read_bytes(path, max_bytes), None, image=False)
