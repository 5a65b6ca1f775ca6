"""Reading images: PNG, JPEG, TIFF, BMP, GIF (first frame), WebP and ``.npy``, as grey floats.

``-`` reads stdin. The format is told by the first bytes, not by the name; no other is read
(no DDS, ICO, TGA, JPEG 2000 ... by accident). Colour becomes grey (luminance ``0.2125 R +
0.7154 G + 0.0721 B``, as skimage's ``rgb2gray``; alpha composited over white unless told
otherwise) unless a channel is chosen;
8- and 16-bit integers are scaled to [0, 1]; EXIF orientation is applied. The pixel count and
the peak memory (:class:`Limits`) are checked from the header before decoding, and no more
bytes than the memory limit are read from a file, a pipe or a device.
"""

from __future__ import annotations

import io
import math
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
from sobelcli.io.limits import (
    DIRECT_MODES,
    WITH_ALPHA,
    Limits,
    human_size,
    picture_cost,
    webp_size,
)
from sobelcli.io.pixels import to_float
from sobelcli.names import DEFAULT_MAX_MEMORY, DEFAULT_MAX_PIXELS, LUMINANCE

__all__ = ["LUMINANCE", "Limits", "LoadedImage", "load_image", "read_array", "read_image"]

NPY_MAGIC = b"\x93NUMPY"
#: The formats read, by their first bytes (WebP: ``RIFF`` then ``WEBP`` at byte 8) and by name.
TIFFS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+", b"MM*\x00", b"II\x00*")
SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"GIF87a", b"GIF89a", NPY_MAGIC, *TIFFS)
PILLOW_FORMATS = ["PNG", "JPEG", "TIFF", "BMP", "GIF", "WEBP"]
UNSUPPORTED = "not a supported format (PNG, JPEG, TIFF, BMP, GIF, WebP or .npy)"
NOT_IMAGE = "is not an image; expected (H, W) or (H, W, C) with C <= 4"
#: EXIF orientation -> flip the rows (r), the columns (c), then swap the axes (s): as Pillow.
ORIENTATIONS = {2: "c", 3: "rc", 4: "r", 5: "s", 6: "rs", 7: "rcs", 8: "cs"}


@dataclass
class LoadedImage:
    """A grey image and what was done to get it."""

    pixels: NDArray[np.floating]
    source: str
    mode: str
    notes: list[str] = field(default_factory=list)


Bound = tuple[int | None, str, str | None]  # (most bytes, the limit it comes from, its setting)
Decoded = tuple[NDArray[Any], str, list[str]]  # (array, Pillow's mode or "npy", notes)


def _read_limited(fh: Any, path: str | os.PathLike[str], bound: Bound, image: bool) -> bytes:
    """A file's bytes, its first ones checked first, refusing more than ``bound`` allows."""
    limit, what, setting = bound
    try:
        info = os.fstat(fh.fileno())
        size = info.st_size - fh.tell() if stat.S_ISREG(info.st_mode) else None
    except (OSError, AttributeError, io.UnsupportedOperation):
        size = None
    if size is not None and limit is not None and size > limit:
        raise ImageError(path, f"file of {size:,} bytes is larger than {what}", setting)
    chunks = [fh.read(16 if size is not None else 1 << 20)]  # a pipe, stdin, a device: 1 MiB
    head, webp = chunks[0][:16], chunks[0][:4] == b"RIFF" and chunks[0][8:12] == b"WEBP"
    if head and image and not (head.startswith(SIGNATURES) or webp):
        raise ImageError(path, f"not a readable image: {UNSUPPORTED}")
    if head and not image and not head.startswith(NPY_MAGIC):
        raise ImageError(path, "not a valid .npy file (it does not start as one)")
    if size is not None:
        fh.seek(-len(chunks[0]), io.SEEK_CUR)
        return fh.read()  # type: ignore[no-any-return]
    total = len(chunks[0])
    while chunks[-1] and (limit is None or total <= limit):
        chunks.append(fh.read(1 << 20))
        total += len(chunks[-1])
    if limit is not None and total > limit:
        raise ImageError(path, f"more than {limit:,} bytes: larger than {what}", setting)
    return b"".join(chunks)


def _read_bytes(path: str | os.PathLike[str], bound: Bound, image: bool = True) -> bytes:
    if str(path) == "-":
        if sys.stdin.isatty():
            hint = "pipe an image in, as in: cat in.png | sobelcli edges -"
            raise ImageError("-", f"stdin is a terminal; {hint}")
        data = _read_limited(sys.stdin.buffer, path, bound, image)
    else:
        p = Path(path)
        if p.is_dir():
            raise ImageError(path, "is a folder, not an image")
        try:
            with p.open("rb") as fh:
                data = _read_limited(fh, path, bound, image)
        except OSError as exc:
            known = {FileNotFoundError: "no such file", PermissionError: "permission denied"}
            why = known.get(type(exc), f"cannot read: {exc.strerror or exc}")
            raise ImageError(path, why) from None
    if not data:
        raise ImageError(path, "file is empty")
    return data


def _decode_npy(source: str, data: bytes, limits: Limits | None) -> NDArray[Any]:
    """The array of a ``.npy``, its header checked first; an image within ``limits`` if given."""
    buf = io.BytesIO(data)
    try:
        major, minor = np.lib.format.read_magic(buf)  # versions 1.0 and 2.0
        shape, _, dtype = getattr(np.lib.format, f"read_array_header_{major}_{minor}")(buf)
    except Exception as exc:  # noqa: BLE001 - any header problem is a bad file
        raise ImageError(source, f"not a valid .npy file ({_first_line(exc)})") from None
    if dtype.hasobject:
        raise ImageError(source, "the .npy holds Python objects, not numbers")
    if limits is not None:
        if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] > 4):
            raise ImageError(source, f"array of shape {shape} {NOT_IMAGE}")
        bands = int(shape[2]) if len(shape) == 3 else 1
        limits.check(source, shape, (bands * dtype.itemsize, bands, 0), len(data), "array")
    needed, held = math.prod(shape) * dtype.itemsize, len(data) - buf.tell()
    if held < needed:
        promise = f"its header promises {needed:,} bytes of data, the file holds {held:,}"
        raise ImageError(source, f"the .npy is truncated: {promise}")
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)  # type: ignore[no-any-return]
    except Exception as exc:  # noqa: BLE001
        raise ImageError(source, f"cannot read the .npy array ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _decode_picture(source: str, data: bytes, limits: Limits, frame: int | None = None) -> Decoded:
    import warnings

    try:
        with warnings.catch_warnings(), _c_stderr_silenced():
            warnings.simplefilter("ignore")  # Pillow's warnings would break the one-line report
            arr, mode, notes = _open_picture(source, data, limits, frame)
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(source, "not enough memory to decode this image") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad bytes
        problem = _first_line(exc)
        if "cannot identify image file" in problem:
            kind = _tiff_kind(data) if data.startswith(TIFFS) else ""
            problem = f"{kind}, which is not read here" if kind else "not a readable image"
            problem += " (corrupt, or not one of PNG, JPEG, TIFF, BMP, GIF or WebP)"
        raise ImageError(source, f"cannot decode image: {problem}") from None
    return arr, mode, notes


def _tiff_kind(data: bytes) -> str:
    """What a TIFF that Pillow cannot read holds (float64, float16, float colour ...).

    Described from its first page's tags, not read: tifffile would read it, but without the
    optional imagecodecs it inflates a whole strip at once, with no bound from the header.
    """
    import logging

    import tifffile

    log = logging.getLogger("tifffile")
    disabled, log.disabled = log.disabled, True  # its warnings would break the one-line report
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            p = tif.pages.first
            size = f"{p.imagewidth} x {p.imagelength}"
            return f"a {size} TIFF of {p.dtype} samples, {p.samplesperpixel} a pixel"
    except Exception:  # noqa: BLE001 - a header tifffile cannot read either
        return ""
    finally:
        log.disabled = disabled


@contextmanager
def _c_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to the null device: libtiff prints its errors there itself."""
    try:
        saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no stderr at all
        yield
        return
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _open_picture(source: str, data: bytes, limits: Limits, frame: int | None = None) -> Decoded:
    """Decode the first frame with Pillow, once, after checking the limits from the header.

    Palette, CMYK and other modes become RGB(A), as imageio's Pillow plugin does. Pillow is
    called directly: the same decoder, 35 ms sooner per process than through imageio.
    """
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # sobelcli checks the size itself, from the header
    if data[:4] == b"RIFF":
        limits.check(source, webp_size(data), (3, 3, 16), len(data), "WebP image")
    notes: list[str] = []
    with Image.open(io.BytesIO(data), formats=PILLOW_FORMATS) as im:
        mode = im.mode
        limits.check(source, (im.height, im.width), picture_cost(im), len(data), f"{mode} image")
        frames = getattr(im, "n_frames", 1)
        if frame is not None and not 0 <= frame < frames:
            problem = f"has {frames} frame(s) (0 to {frames - 1}); frame {frame} does not exist"
            raise ImageError(source, problem, "frame")
        if frame is not None:
            im.seek(frame)
        elif frames > 1:
            notes.append(f"{frames} frames; the first is used")
            im.seek(0)
        frame = im if im.mode in DIRECT_MODES else im.convert(WITH_ALPHA.get(im.mode, "RGB"))
        arr = np.asarray(frame)
        orientation = im.getexif().get(0x0112, 1)  # after decoding: a PNG's may follow the pixels
    if orientation in ORIENTATIONS:  # a view, as ImageOps.exif_transpose would make the copy
        notes.append(f"EXIF orientation {orientation} applied")
        how = ORIENTATIONS[orientation]
        arr = arr[:: -1 if "r" in how else 1, :: -1 if "c" in how else 1]
        arr = arr.swapaxes(0, 1) if "s" in how else arr
    return arr, mode, notes


def read_image(
    path: str | os.PathLike[str],
    *,
    channel: int | None = None,
    dtype: type[np.floating[Any]] = np.float64,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_memory: int | None = DEFAULT_MAX_MEMORY,
    working_bytes: int = 16,
    frame: int | None = None,
    alpha: str = "white",
    colour: bool = False,
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
    max_memory : int or None
        Refuse, before decoding, an image whose reading and working would take more bytes of
        memory than this (see :class:`Limits`), and read no more bytes than this.
    working_bytes : int
        Bytes per pixel of the arrays the caller makes from the grey image (16: two float64).
    frame : int, optional
        The page of a multi-page TIFF or the frame of a GIF or WebP (default: the first).
    alpha : {"white", "black", "ignore"}
        The background that transparent pixels are composited over, or "ignore" to drop
        alpha: ``c a + background (1 - a)``.
    colour : bool
        Keep colour: ``pixels`` is (H, W, 3) (grey images repeated) instead of the luminance.

    Returns
    -------
    LoadedImage
        ``pixels`` of shape (H, W), integers scaled to [0, 1].

    Raises
    ------
    ImageError
        With a one-line message that names the file; ``setting`` names the limit passed.
    """
    source = "-" if str(path) == "-" else str(path)
    limits = Limits(max_pixels, max_memory, np.dtype(dtype).itemsize, working_bytes, channel)
    bound = (max_memory, f"the memory limit of {human_size(max_memory or 0)}", "max_memory")
    data = _read_bytes(path, bound)
    notes: list[str] = []
    if data.startswith(NPY_MAGIC):
        arr, mode = _decode_npy(source, data, limits), "npy"
    else:
        arr, mode, notes = _decode_picture(source, data, limits, frame)
    del data  # the bytes go before the float copy is made
    if arr.size == 0:
        raise ImageError(source, f"image is empty (shape {arr.shape})")
    if frame not in (None, 0) and mode == "npy":
        raise ImageError(
            source, f"a .npy array has one frame; frame {frame} does not exist", "frame"
        )
    grey = to_float(arr, name=source, dtype=dtype, channel=channel, alpha=alpha, colour=colour)
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
        Refuse larger files without reading them (or more bytes of a stream).

    Returns
    -------
    ndarray
        Any shape; the caller checks what it needs.
    """
    if str(path) == "-":
        raise ImageError(path, "an array cannot be read from stdin here; name a .npy file")
    bound = (max_bytes, f"the {human_size(max_bytes)} an array may take here", None)
    return _decode_npy(str(path), _read_bytes(path, bound, image=False), None)
