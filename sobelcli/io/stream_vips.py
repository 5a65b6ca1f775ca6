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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from sobelcli.io import early
from sobelcli.io.spill import SpillFile
from sobelcli.io.stream_base import (
    DecodeError,
    GreySource,
    SourceOptions,
    StreamUnsupportedError,
)

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
    again from the top. With ``options.spill`` (a folder) the decoded samples are also
    written, as they come from the top, to a file without a name there, and rows above the
    decoder are read back from it: a second pass costs a read of the disk's cache instead of
    a decode (at 6144 x 6144, 0.3 s of the run), and no memory. The next request (the same
    number of rows, below the last) is decoded on a thread while the last is used.

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
        png = _png_header(self._path)
        #: libvips turns a tRNS chunk into an alpha band, which Pillow leaves out: dropped here.
        self._drop_alpha = png is not None and png.colour_type in (0, 2, 3) and bands in (2, 4)
        if png is not None and png.colour_type == 4 and png.depth == 16:
            raise StreamUnsupportedError(f"{name}: 16-bit grey + alpha is read as RGBA in memory")
        bands -= self._drop_alpha
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
        if png is not None and png.frames > 1:  # an animated PNG: as the in-memory reader says
            self.notes.append(f"{png.frames} frames; the first is used")
        self._image: Any = image
        self._region: Any = self._pyvips.Region.new(image)
        self._next = 0  # rows above this have been decoded by the open image
        self._kept: NDArray[Any] | None = None
        self._kept_lo = 0
        self._ahead: _Ahead | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._row_bytes = int(np.prod(raw_shape[1:])) * self.raw_dtype.itemsize
        self.raw_bytes = self._row_bytes * self.shape[0]  #: bytes of the decoded samples
        spill = self.options.spill
        #: the copy of the decoded rows from the top, for a second pass (None: decode again)
        self._copy = SpillFile(spill, self.raw_bytes) if spill is not None else None
        self._spilled = 0  # rows above this are in the copy
        self._grow = True  # rows decoded from the top are appended to the copy
        if not (self._drop_alpha or self._high_byte):  # rows are libvips' own: adopt them
            self._adopt(early.take(self._path, self._row_bytes))
        else:  # rows to be changed first: a decode started early is of no use
            early.discard()

    def _adopt(self, decoded: early.Decoded | None) -> None:
        """Go on from a decode started before numpy was imported (:mod:`sobelcli.io.early`)."""
        if decoded is None:
            return
        if self._copy is not None:
            self._copy.close()
        self._copy, self._next = decoded.copy, decoded.rows
        self._spilled = decoded.rows
        if decoded.rows < self.shape[0]:  # read on from there, through a region of this thread
            self._image, self._region = decoded.image, self._pyvips.Region.new(decoded.image)
        else:  # all in the copy: no decoder
            self._image = self._region = None
            _drop_cache(self._pyvips)

    def _open(self, name: str) -> Any:
        try:
            # fail_on: libvips's default pads a truncated or corrupt file with black rows,
            # where the in-memory reader (Pillow) refuses it.
            return self._pyvips.Image.new_from_file(
                self._path, access="sequential", fail_on="error"
            )
        except self._pyvips.Error as exc:
            raise DecodeError(f"{name}: cannot decode image: {_vips_message(exc)}") from None

    def _decode(self, r0: int, r1: int) -> NDArray[Any]:
        """Rows ``r0 <= r < r1``: from the copy, or the decoder (opened anew if it is past r0)."""
        if self._image is None and r1 > self._spilled:
            raise ValueError(f"{self.name}: the source is closed")
        if r0 < self._spilled:  # in the copy, at least at the top
            assert self._copy is not None
            hi = min(r1, self._spilled)
            try:
                data = self._copy.read(r0 * self._row_bytes, (hi - r0) * self._row_bytes)
            except OSError as exc:
                raise OSError(f"{self.name}: {exc}") from None
            shape = (hi - r0, *self.raw_shape[1:])
            top = np.frombuffer(data, dtype=self.raw_dtype).reshape(shape)
            if hi == r1:
                return top
            if self._next == hi:  # the decoder is where the copy ends
                return np.concatenate([top, self._decode(hi, r1)])
        if r0 < self._next:  # behind the decoder: start again from the top
            self._image = self._region = None
            _drop_cache(self._pyvips)
            self._image = self._open(self.name)
            self._region = self._pyvips.Region.new(self._image)
        w = self.shape[1]
        try:
            data = self._region.fetch(0, r0, w, r1 - r0)
        except self._pyvips.Error as exc:
            raise DecodeError(f"{self.name}: cannot decode image: {_vips_message(exc)}") from None
        self._next = r1
        bands = (int(self._image.bands),) if self._image.bands > 1 else ()
        rows = np.frombuffer(data, dtype=self._stored).reshape((r1 - r0, self.shape[1], *bands))
        if self._drop_alpha:
            rows = np.ascontiguousarray(rows[..., :-1] if rows.shape[-1] > 2 else rows[..., 0])
        if self._high_byte:
            rows = (rows >> 8).astype(np.uint8)
        if self._copy is not None and self._copy.ready and self._grow and r0 == self._spilled:
            self._keep(rows)
        return rows

    def read_once(self) -> None:
        """No copy of the decoded samples: the caller reads the rows once."""
        self._grow = False  # the rows already in the copy (decoded early) are read from it
        if self._copy is not None and self._spilled == 0:
            self._copy.close()
            self._copy = None

    def _keep(self, rows: NDArray[Any]) -> None:
        """Append decoded rows to the copy; on a full disk, drop the copy and decode again."""
        assert self._copy is not None
        if not self._copy.append(np.ascontiguousarray(rows)):  # a full disk: decode again
            self._copy, self._spilled = None, 0
            return
        self._spilled += rows.shape[0]
        if self._spilled == self.shape[0]:  # all in the copy: the decoder's buffers can go
            self._image = self._region = None
            _drop_cache(self._pyvips)

    def _fetch(self, r0: int, r1: int) -> NDArray[Any]:
        """Rows from ``r0`` to ``r1`` or beyond (what was decoded ahead), then decode ahead.

        The decoder runs one request ahead on a thread (libvips releases the GIL), so the next
        strip is decoded while this one is computed; the thread is always joined before the
        decoder is touched again, so it is never used by two threads at once.
        """
        ahead, self._ahead = self._ahead, None
        rows: NDArray[Any] | None = None
        if ahead is not None:
            ahead.join()  # a guess that missed is dropped, its error with it
            if ahead.r0 == r0:
                ready = ahead.wait()
                rows = (
                    ready if ahead.r1 >= r1 else np.concatenate([ready, self._decode(ahead.r1, r1)])
                )
        if rows is None:
            rows = self._decode(r0, r1)
        end = r0 + rows.shape[0]
        if end < self.shape[0] and self.options.read_ahead:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="sobelcli-decode")
            self._ahead = _Ahead(self._pool, self._decode, end, min(self.shape[0], end + (r1 - r0)))
        return rows

    def _raw(self, r0: int, r1: int) -> NDArray[Any]:
        kept, lo = self._kept, self._kept_lo
        hi = lo + (kept.shape[0] if kept is not None else 0)
        if kept is not None and lo <= r0 and r1 <= hi:
            return kept[r0 - lo : r1 - lo]
        if kept is not None and lo <= r0 < hi:
            rows = np.concatenate([kept[r0 - lo :], self._fetch(hi, r1)])
        else:
            rows = self._fetch(r0, r1)
        self._kept, self._kept_lo = rows, r0
        return rows[: r1 - r0]

    def close(self) -> None:
        """Drop the libvips image (after the decoding ahead, if any, has stopped)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._copy is not None:
            self._copy.close()
            self._copy, self._spilled = None, 0
        self._image = None
        self._region = None
        self._kept = None
        _drop_cache(self._pyvips)


class _PngHeader(NamedTuple):
    depth: int
    colour_type: int
    frames: int  # of an animated PNG (acTL), else 1


def _png_header(path: str) -> _PngHeader | None:
    """Bit depth, colour type and frame count of a PNG (None for another format or a bad one).

    Reads the chunks up to the first IDAT: IHDR, and acTL if the PNG is animated.
    """
    try:
        with open(path, "rb") as fh:
            if fh.read(8) != b"\x89PNG\r\n\x1a\n":
                return None
            ihdr = fh.read(25)
            if len(ihdr) < 25 or ihdr[4:8] != b"IHDR":
                return None
            frames = 1
            for _ in range(10_000):  # chunks before the image data are few
                head = fh.read(8)
                if len(head) < 8 or head[4:8] == b"IDAT":
                    break
                size = int.from_bytes(head[:4], "big")
                if head[4:8] == b"acTL":
                    frames = max(1, int.from_bytes(fh.read(4), "big"))
                    size -= 4
                fh.seek(size + 4, os.SEEK_CUR)  # the data and the CRC
    except OSError:
        return None
    return _PngHeader(ihdr[16], ihdr[17], frames)


def _drop_cache(pyvips: Any) -> None:
    """Empty libvips' operation cache, which would keep a decoded pass's buffers (7 MB at 6144^2).

    Lowering the cache's size trims it; the size is then put back as it was.
    """
    size = pyvips.cache_get_max()
    pyvips.cache_set_max(0)
    pyvips.cache_set_max(size)


class _Ahead:
    """``decode(r0, r1)`` submitted to the source's decoding thread; :meth:`wait` returns it."""

    def __init__(
        self, pool: ThreadPoolExecutor, decode: Callable[[int, int], NDArray[Any]], r0: int, r1: int
    ) -> None:
        self.r0, self.r1 = r0, r1
        self._future: Future[NDArray[Any]] = pool.submit(decode, r0, r1)

    def join(self) -> None:
        """Wait for the decoding to end, whatever its outcome."""
        futures_wait([self._future])

    def wait(self) -> NDArray[Any]:
        """The decoded rows, or the decoder's error raised here."""
        return self._future.result()


def _vips_message(exc: BaseException) -> str:
    text = " ".join(str(getattr(exc, "detail", "") or exc).split())
    return text or type(exc).__name__
