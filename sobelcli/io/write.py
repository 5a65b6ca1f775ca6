"""Writing maps: ``.png`` (8 or 16 bit), ``.tif`` (float32), ``.npy`` (raw), ``-`` for stdout."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from sobelcli.io.files import ImageError, atomic_write
from sobelcli.io.png import encode_png
from sobelcli.names import OUTPUT_SUFFIXES

__all__ = ["encode", "output_format", "quantize", "save_image"]


def output_format(path: str | os.PathLike[str]) -> str:
    """The format written for an output path (``-`` is PNG); ValueError for an unknown extension."""
    if str(path) == "-":
        return "png"
    ext = Path(path).suffix.lower()
    if ext not in OUTPUT_SUFFIXES:
        raise ValueError(
            f"cannot write {ext or 'a file without extension'}: use {', '.join(OUTPUT_SUFFIXES)}"
        )
    return OUTPUT_SUFFIXES[ext]


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
    if fmt == "tiff":
        import imageio.v3 as iio

        return bytes(
            iio.imwrite("<bytes>", values.astype(np.float32), extension=".tif", plugin="pillow")
        )
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    return encode_png(quantize(values, bits), compress)


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
    path: str | os.PathLike[str], values: NDArray[np.floating], *, bits: int = 8, compress: int = 1
) -> None:
    """Encode ``values`` for the format of ``path``; write it atomically (``-``: PNG on stdout)."""
    data = encode(values, output_format(path), bits=bits, compress=compress)
    if str(path) == "-":
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise ImageError("stdout", f"cannot write: {exc.strerror or exc}") from None
    else:
        atomic_write(path, data)
