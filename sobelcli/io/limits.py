"""How much an image may take: the pixel count and peak memory of a read, from its header.

:class:`Limits` is checked before decoding; :func:`picture_cost` and :func:`webp_size` read
what a Pillow image or a WebP header will need.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sobelcli.io.files import ImageError
from sobelcli.names import DEFAULT_MAX_MEMORY, DEFAULT_MAX_PIXELS

#: Pillow modes that numpy takes as they are; any other (P, PA, CMYK, YCbCr, ...) becomes RGB(A).
DIRECT_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F", "RGB", "RGBA"}
WITH_ALPHA = {"PA": "RGBA", "RGBa": "RGBA"}  # the others become RGB


def human_size(n: int) -> str:
    """Bytes for people: ``4.19 GiB``, ``512 MiB``."""
    shift = next((s for s in (30, 20, 10) if n >= 1 << s), 0)
    return f"{n / (1 << shift):.3g} {({30: 'GiB', 20: 'MiB', 10: 'KiB'}).get(shift, 'bytes')}"


Cost = tuple[int, int, int]  # bytes a pixel: the decoded array, its channels, the decoder's


@dataclass(frozen=True)
class Limits:
    """What one read may take (None: no limit), checked from the header before decoding.

    The memory is the bytes read plus, per pixel, the most of three moments: the decoder's
    buffers, the decoded array and its transient copy; the decoded array, its float copy and
    the grey image (``itemsize`` bytes a pixel: 4 or 8); the grey image and the caller's
    working arrays (``working`` bytes a pixel). A chosen ``channel`` is not made grey.
    """

    max_pixels: int | None = DEFAULT_MAX_PIXELS
    max_memory: int | None = DEFAULT_MAX_MEMORY
    itemsize: int = 8
    working: int = 16
    channel: int | None = None

    def per_pixel(self, raw: int, bands: int, decoder: int = 0) -> int:
        """Peak bytes per pixel for a decoded array of ``raw`` bytes and ``bands`` channels."""
        used = 3 if bands >= 3 and self.channel is None else 1
        grey = self.itemsize
        scale = raw + used * grey + (grey if used > 1 else 0)
        return max(decoder + 2 * raw, scale, grey + self.working)

    def check(self, source: str, shape: tuple[int, ...], cost: Cost, held: int, what: str) -> None:
        """Refuse an image over either limit; ``cost`` is (raw, bands, decoder) per pixel."""
        height, width = (int(shape[0]), int(shape[1])) if len(shape) >= 2 else (0, 0)
        pixels, size = height * width, f"{width} x {height}"
        if self.max_pixels is not None and pixels > self.max_pixels:
            problem = f"image is {size} = {pixels:,} pixels, over the limit of {self.max_pixels:,}"
            raise ImageError(source, problem, "max_pixels")
        needed = held + pixels * self.per_pixel(*cost)
        if self.max_memory is not None and needed > self.max_memory:
            problem = f"reading this {size} {what} takes about {human_size(needed)} of memory"
            limit = f"over the limit of {human_size(self.max_memory)}"
            raise ImageError(source, f"{problem}, {limit}", "max_memory")


def webp_size(data: bytes) -> tuple[int, int]:
    """(height, width) from a WebP's first chunk: libwebp allocates its canvas on opening."""
    chunk, body = data[12:16], data[20:30].ljust(10, b"\0")
    if chunk == b"VP8L":  # 14 bits each of width - 1 and height - 1 after a signature byte
        bits = int.from_bytes(body[1:5], "little")
        return (bits >> 14 & 0x3FFF) + 1, (bits & 0x3FFF) + 1
    if chunk == b"VP8X":  # 24 bits each of width - 1 and height - 1 after 4 bytes of flags
        return int.from_bytes(body[7:10], "little") + 1, int.from_bytes(body[4:7], "little") + 1
    size = int.from_bytes(body[6:10], "little")  # VP8: 14 bits each of width and height
    return size >> 16 & 0x3FFF, size & 0x3FFF


def picture_cost(im: Any) -> Cost:
    """(raw, bands, decoder) bytes a pixel to decode ``im``: see :meth:`Limits.per_pixel`.

    Pillow keeps 1, 2 or 4 bytes a pixel (4 in colour), and a converted copy of a palette or
    CMYK image; libwebp holds two RGBA canvases and Pillow a copy; libtiff's strip and a BMP's
    expanded RLE can be the whole image; a progressive JPEG keeps its coefficients.
    """
    from PIL import Image

    mode = im.mode
    out = mode if mode in DIRECT_MODES else WITH_ALPHA.get(mode, "RGB")
    bands = Image.getmodebands(out)
    raw = bands * (2 if out.startswith("I;16") else 4 if out in ("I", "F") else 1)
    decoder = 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4
    decoder += 0 if mode in DIRECT_MODES else 4  # the converted copy
    decoder += {"WEBP": 12, "TIFF": raw, "BMP": raw}.get(im.format, 0)
    decoder += 2 * bands if im.info.get("progressive") else 0
    return raw, bands, decoder
