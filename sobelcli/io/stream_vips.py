"""PNG and JPEG read a strip of rows at a time, through libvips (pyvips, an optional dependency).

Why libvips rather than a decoder of our own: a PNG row is stored "filtered", and two of the
five filters (Average, Paeth) depend on the decoded pixel to the left, so they cannot be
undone with numpy operations over a row; a hand-written decoder would need a Python loop per
pixel (minutes on 100 megapixels) or a compiled extension, and JPEG needs a real decoder in
any case. libvips, through the ``pyvips`` binding and the self-contained ``pyvips-binary``
wheel, decodes both in sequential mode with memory bounded by a few strips, as fast as
Pillow decodes a whole image (measured: 0.18 s for a 4000 x 4000 8-bit PNG, in 64-row
strips, against 0.15 s for Pillow's whole-image decode and 0.14 s for zlib's inflate alone).

The values are those of the in-memory reader (Pillow): palette images become RGB(A), 1-bit
images 0 and 1, and grey, grey + alpha, RGB and RGBA samples are the same numbers. Not
streamed (:class:`~sobelcli.io.stream.StreamUnsupportedError`, for the in-memory path to
read): images with an EXIF orientation other than 1, which Pillow's reader rotates; CMYK and
other colour spaces that Pillow converts with its own formulas. A 16-bit colour (or grey +
alpha) PNG is reduced to 8 bits as Pillow reduces it, to the high byte of each sample, so
that a streamed image has the values of the same image read in memory.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.io.stream_base import GreySource, SourceOptions, StreamUnsupportedError

__all__ = ["VIPS_FORMATS", "VipsSource", "pyvips_available"]

#: numpy dtype of each libvips band format.
VIPS_FORMATS: dict[str, str] = {
    "uchar": "uint8",
    "char": "int8",
    "ushort": "uint16",
    "short": "int16",
    "uint": "uint32",
    "int": "int32",
    "float": "float32",
    "double": "float64",
}
#: libvips interpretations whose samples the in-memory reader sees as they are.
PLAIN_INTERPRETATIONS = {"b-w", "srgb", "rgb", "grey16", "rgb16", "multiband"}


def pyvips_available() -> bool:
    """Whether pyvips and its libvips library can be imported."""
    try:
        import pyvips  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def _import_pyvips(name: str) -> Any:
    try:
        import pyvips
    except (ImportError, OSError) as exc:
        raise StreamUnsupportedError(
            f"{name}: streaming PNG and JPEG input needs pyvips "
            f"(pip install pyvips pyvips-binary): {exc}"
        ) from None
    return pyvips


class VipsSource(GreySource):
    """A PNG or JPEG file decoded top to bottom by libvips in sequential mode.

    libvips in sequential mode reads forwards only (a little back at most); this source
    keeps the rows of its last read, and opens the file anew when asked for rows above those
    (a second pass, or the bottom rows first for a ``wrap`` border), which decodes the file
    again from the top.

    Parameters
    ----------
    path : str or path-like
    options : SourceOptions, optional
    """

    def __init__(self, path: str | os.PathLike[str], options: SourceOptions | None = None) -> None:
        name = str(path)
        self._pyvips = _import_pyvips(name)
        self._path = os.fspath(path)
        image = self._open(name)
        fmt = VIPS_FORMATS.get(str(image.format))
        if fmt is None:
            raise StreamUnsupportedError(f"{name}: samples of libvips format {image.format}")
        if str(image.interpretation) not in PLAIN_INTERPRETATIONS:
            raise StreamUnsupportedError(
                f"{name}: colour space {image.interpretation} is converted by the in-memory reader"
            )
        if "orientation" in image.get_fields() and int(image.get("orientation")) not in (0, 1):
            raise StreamUnsupportedError(
                f"{name}: EXIF orientation {image.get('orientation')} must be applied in memory"
            )
        bands = int(image.bands)
        raw_shape = (int(image.height), int(image.width)) + ((bands,) if bands > 1 else ())
        #: Pillow keeps 16 bits of grey only: colour and grey + alpha become 8 (the high byte).
        self._high_byte = fmt == "uint16" and bands > 1
        stored = np.dtype(fmt)
        super().__init__(
            name,
            raw_shape,
            np.dtype(np.uint8) if self._high_byte else stored,
            options or SourceOptions(),
        )
        self._stored = stored
        self._image: Any = image
        self._region: Any = self._pyvips.Region.new(image)
        self._next = 0  # rows above this have been decoded by the open image
        self._kept: NDArray[Any] | None = None
        self._kept_lo = 0

    def _open(self, name: str) -> Any:
        try:
            # fail_on: libvips's default pads a truncated or corrupt file with black rows,
            # where the in-memory reader (Pillow) refuses it.
            return self._pyvips.Image.new_from_file(
                self._path, access="sequential", fail_on="error"
            )
        except self._pyvips.Error as exc:
            raise ValueError(f"{name}: cannot decode image: {_vips_message(exc)}") from None

    def _fetch(self, r0: int, r1: int) -> NDArray[Any]:
        if self._image is None:
            raise ValueError(f"{self.name}: the source is closed")
        if r0 < self._next:  # behind the decoder: start again from the top
            self._image = self._open(self.name)
            self._region = self._pyvips.Region.new(self._image)
        w = self.shape[1]
        try:
            data = self._region.fetch(0, r0, w, r1 - r0)
        except self._pyvips.Error as exc:
            raise ValueError(f"{self.name}: cannot decode image: {_vips_message(exc)}") from None
        self._next = r1
        rows = np.frombuffer(data, dtype=self._stored).reshape((r1 - r0, *self.raw_shape[1:]))
        return (rows >> 8).astype(np.uint8) if self._high_byte else rows

    def _raw(self, r0: int, r1: int) -> NDArray[Any]:
        kept = self._kept
        lo = self._kept_lo
        if kept is not None and lo <= r0 and r1 <= lo + kept.shape[0]:
            return kept[r0 - lo : r1 - lo]
        if kept is not None and lo <= r0 < lo + kept.shape[0] and r1 > self._next:
            fresh = self._fetch(self._next, r1)
            rows = np.concatenate([kept[r0 - lo :], fresh])
        else:
            rows = self._fetch(r0, r1)
        self._kept, self._kept_lo = rows, r0
        return rows

    def close(self) -> None:
        """Drop the libvips image."""
        self._image = None
        self._region = None
        self._kept = None


def _vips_message(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "detail", "") or exc).split())
    return text or type(exc).__name__
