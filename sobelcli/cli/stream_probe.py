"""The header of an image file, read without decoding it: may it stream, and how many pixels.

Only the standard library (and numpy for ``.npy``): tifffile and pyvips cost more to import
than a small image costs to decode, and most images take the in-memory path.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

__all__ = ["ZARR_MARKERS", "is_zarr_store", "probe"]

#: Files whose presence makes a folder a Zarr array or group (formats 3 and 2).
ZARR_MARKERS = ("zarr.json", ".zarray", ".zgroup")


def is_zarr_store(path: str | os.PathLike[str]) -> bool:
    """True for a folder holding a Zarr array or group (its metadata file is there)."""
    p = Path(path)
    return p.is_dir() and any((p / marker).exists() for marker in ZARR_MARKERS)


def probe(path: str) -> tuple[str, int] | None:
    """(format, pixels) of an input that may stream, from its header; None for anything else.

    Zarr gives -1 pixels (always streamed). Only the header is read, with the standard library
    (and numpy for ``.npy``); a file that cannot be parsed gives None, so that the in-memory
    reader says what is wrong with it.
    """
    if path == "-":
        return None
    if is_zarr_store(path):
        return "zarr", -1
    if not os.path.isfile(path):  # a pipe or a device: read once, whole, by the in-memory reader
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(32)
            if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
                w, h = struct.unpack(">II", head[16:24])
                return "png", w * h
            if head.startswith(b"\xff\xd8\xff"):
                size = _jpeg_size(fh)
                return ("jpeg", size[0] * size[1]) if size else None
            if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
                size = _tiff_size(fh, head)
                return ("tiff", size[0] * size[1]) if size else None
            if head.startswith(b"\x93NUMPY"):
                return _npy_pixels(fh)
    except (OSError, ValueError, struct.error):
        return None
    return None


def _jpeg_size(fh: Any) -> tuple[int, int] | None:
    """(height, width) from a JPEG's start-of-frame marker."""
    sof = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
    fh.seek(2)
    for _ in range(10_000):
        byte = fh.read(1)
        while byte == b"\xff":
            byte = fh.read(1)
        if not byte:
            return None
        marker = byte[0]
        if marker == 0x01 or 0xD0 <= marker <= 0xD9:
            continue
        (length,) = struct.unpack(">H", fh.read(2))
        if marker in sof:
            h, w = struct.unpack(">xHH", fh.read(5))
            return h, w
        fh.seek(length - 2, os.SEEK_CUR)
    return None


def _tiff_size(fh: Any, head: bytes) -> tuple[int, int] | None:
    """(height, width) from the first IFD of a TIFF or BigTIFF (tags 257 and 256)."""
    order = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"+\x00", b"\x00+")
    count_fmt, entry, value_fmt = ("Q", 20, "Q") if big else ("H", 12, "I")
    offset = struct.unpack(order + ("Q" if big else "I"), head[8:16] if big else head[4:8])[0]
    fh.seek(offset)
    (count,) = struct.unpack(order + count_fmt, fh.read(struct.calcsize(count_fmt)))
    data = fh.read(min(int(count), 4096) * entry)
    found: dict[int, int] = {}
    for i in range(0, len(data) - entry + 1, entry):
        tag, kind = struct.unpack(order + "HH", data[i : i + 4])
        if tag in (256, 257):
            value = data[i + 4 + struct.calcsize(value_fmt) : i + entry]
            code = {3: "H", 4: "I", 16: "Q"}.get(kind)
            if code is None:
                return None
            found[tag] = struct.unpack(order + code, value[: struct.calcsize(code)])[0]
    if 256 in found and 257 in found:
        return found[257], found[256]
    return None


def _npy_pixels(fh: Any) -> tuple[str, int] | None:
    import numpy as np

    fh.seek(0)
    version = np.lib.format.read_magic(fh)
    shape, _, _ = getattr(np.lib.format, f"read_array_header_{version[0]}_{version[1]}")(fh)
    if len(shape) not in (2, 3):
        return None
    return "npy", int(shape[0]) * int(shape[1])
