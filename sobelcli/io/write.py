"""Writing maps: ``.png`` (8 or 16 bit), ``.tif`` (float32), ``.npy`` (raw), ``-`` for stdout."""

from __future__ import annotations

import errno
import io
import os
import sys

import numpy as np
from numpy.typing import NDArray

from sobelcli.io.files import ImageError, atomic_write, is_stream, output_format
from sobelcli.io.png import encode_png

__all__ = ["encode", "is_stream", "output_format", "quantize", "save_image", "write_stdout"]


def encode(
    values: NDArray[np.floating], fmt: str, *, bits: int = 8, compress: int = 1, quality: int = 90
) -> bytes:
    """Encode a map as file bytes.

    Parameters
    ----------
    values : ndarray, shape (H, W)
        For ``png``, values in [0, 1] (clipped), quantised to ``bits`` (8 or 16).
    fmt : {"png", "npy", "tiff", "jpeg", "webp"}
        ``npy`` keeps the array as it is; ``tiff`` stores float32 values; ``jpeg`` and ``webp``
        are 8-bit, lossy at ``quality`` (1-100; WebP at 100 is lossless).
    bits : {8, 16}
    compress : int
        zlib level 0-9 for PNG; 1 (the default) is fast, 9 is small.
    """
    if fmt == "npy":
        buf = io.BytesIO()
        np.save(buf, values, allow_pickle=False)
        return buf.getvalue()
    if fmt == "tiff":
        import imageio.v3 as iio

        return bytes(
            iio.imwrite("<bytes>", values.astype(np.float32), extension=".tif", plugin="pillow")
        )
    if fmt in ("jpeg", "webp"):
        return _pillow(quantize(values, 8), fmt, quality)
    if fmt != "png":
        raise ValueError(f"cannot encode an image as {fmt}")
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    return encode_png(quantize(values, bits), compress)


def _pillow(pixels: NDArray[np.integer], fmt: str, quality: int) -> bytes:
    from PIL import Image

    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be 1 to 100, got {quality}")
    buf = io.BytesIO()
    options = {"lossless": True} if fmt == "webp" and quality == 100 else {"quality": quality}
    Image.fromarray(pixels).save(buf, format=fmt.upper(), **options)
    return buf.getvalue()


def quantize(values: NDArray[np.floating], bits: int = 8) -> NDArray[np.integer]:
    """Round values in [0, 1] (clipped) to 8- or 16-bit integers, in strips of rows.

    Strips keep the float temporaries small: a 4096 x 4096 map needs its 16 MiB of output and
    about 1 MiB more, not two more float copies of itself.
    """
    top = 255 if bits == 8 else 65535
    out = np.empty(values.shape, dtype=np.uint8 if bits == 8 else np.uint16)
    step = max(1, (1 << 18) // max(1, values[0].size if values.ndim > 1 else 1))
    for r in range(0, values.shape[0], step):
        block = np.clip(values[r : r + step], 0.0, 1.0)
        block *= top
        out[r : r + step] = np.rint(block, out=block)
    return out


def save_image(
    path: str | os.PathLike[str],
    values: NDArray[np.floating],
    *,
    bits: int = 8,
    compress: int = 1,
    fmt: str | None = None,
    quality: int = 90,
) -> None:
    """Encode ``values`` for the format of ``path``; write it atomically (``-``: PNG on stdout).

    On stdout every byte is checked: a short write (a full disk, a file size limit) or a closed
    stream raises ImageError naming stdout, never a silent truncated image. A reader that went
    away (``| head``) raises BrokenPipeError, for the caller to end quietly.
    """
    kind = output_format(path, fmt)
    data = encode(values, kind, bits=bits, compress=compress, quality=quality)
    if str(path) == "-":
        write_stdout(data)
    elif is_stream(path):  # a device or a pipe: written as it is, nothing to rename
        try:
            with open(path, "wb") as fh:
                fh.write(data)
        except OSError as exc:
            raise ImageError(path, f"cannot write: {exc.strerror or exc}") from None
    else:
        atomic_write(path, data)


def write_stdout(data: bytes) -> None:
    """Write all of ``data`` to standard output, through its file descriptor where it has one.

    Raises
    ------
    ImageError
        When stdout is closed or a write fails or writes nothing (EFBIG, ENOSPC, EBADF ...).
    BrokenPipeError
        When the reader has gone.
    """
    stream = sys.stdout
    if stream is None:
        raise ImageError("stdout", "cannot write: it is closed")
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # a stream in memory (tests, notebooks)
        fd = -1
    try:
        if fd < 0:
            stream.buffer.write(data)
            stream.buffer.flush()
            return
        stream.flush()  # anything written before goes first
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            if written <= 0:
                raise OSError(errno.EIO, f"no byte written, {len(view)} of {len(data)} left")
            view = view[written:]
    except BrokenPipeError:
        raise
    except OSError as exc:
        reason = "it is closed" if exc.errno == errno.EBADF else (exc.strerror or str(exc))
        raise ImageError("stdout", f"cannot write: {reason}") from None
