"""Strips of an image with the halo a kernel needs, its borders extended as numpy.pad does.

Output row ``o`` of a correlation with a kernel of height kh reads the kh rows
``o - top <= g < o - top + kh`` of the image extended by ``top`` rows above and ``bottom`` rows
below (a :class:`Window`): a 3 x 3 operator without a pad mode has ``top = bottom = 0`` (the
valid (H - 2) x (W - 2) map), with one ``top = bottom = 1`` (the H x W map), and the full
convolution of ``grad-input`` ``top = bottom = kh - 1`` (zeros). So a strip of n output rows
is computed from n + kh - 1 input rows: its own and an overlap of kh - 1 rows with its
neighbours, which :func:`padded_strips` reads once (it keeps the previous strip's tail).

The rows above the image's top and below its bottom follow the scipy.ndimage border mode, as
``numpy.pad`` makes them (:func:`border_index`):

- ``reflect`` (numpy "symmetric"), period 2H: rows a b c d become b a | a b c d | d c;
- ``mirror`` (numpy "reflect"), period 2H - 2: c b | a b c d | c b;
- ``nearest`` (numpy "edge"), ``clip(g, 0, H - 1)``: a a | a b c d | d d;
- ``constant``: zeros, 0 0 | a b c d | 0 0;
- ``wrap``, ``g mod H``, from the far end: c d | a b c d | a b.

Those rows are read once, before the first strip (for ``wrap`` the image's last rows first),
and kept (:class:`BorderRows`); columns are extended on each strip with ``numpy.pad``, which
pads axis by axis, so the corners are those of ``numpy.pad(image, width, mode)``.
:mod:`sobelcli.engine.stream_conv` streams ``grad-input``'s full convolution on these strips.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from sobelcli.engine.strips import NUMPY_PAD

__all__ = [
    "NUMPY_PAD",
    "STRIP_BYTES",
    "BorderRows",
    "RowReader",
    "RowWriter",
    "StreamResult",
    "Window",
    "border_index",
    "check_strip_rows",
    "default_strip_rows",
    "padded_strips",
]

#: Bytes of one strip of input rows when the strip height is not given: 512 KiB, small
#: enough that a strip and the buffers of its computation stay in the caches and add ~9 MB
#: to the process at 2048 x 2048 (15 MB at 6144 x 6144), large enough that the per-strip
#: cost of Python stays small (256 KiB: 35-60% slower whole runs; 8 MiB: +40 MB).
STRIP_BYTES = 1 << 19
#: Called as ``progress(rows_done, rows_total)`` after each strip.
Progress = Callable[[int, int], None]


class RowReader(Protocol):
    """What the strips need of a source (:class:`sobelcli.io.stream.RowSource` is one)."""

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W)."""
        ...

    @property
    def dtype(self) -> np.dtype[Any]:
        """float32 or float64."""
        ...

    def read_rows(self, r0: int, r1: int) -> NDArray[np.floating]:
        """Rows ``r0 <= r < r1``, shape (r1 - r0, W)."""
        ...


@dataclass(frozen=True)
class Window:
    """How output rows and columns depend on input ones, for a kernel of kh x kw.

    Output ``(o, p)`` reads the input extended by ``top`` / ``bottom`` rows and ``left`` /
    ``right`` columns, at rows ``o - top .. o - top + kh - 1`` and columns
    ``p - left .. p - left + kw - 1``. The output is therefore
    ``(H + top + bottom - kh + 1) x (W + left + right - kw + 1)``.
    """

    kh: int
    kw: int
    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0

    def __post_init__(self) -> None:
        if self.kh < 1 or self.kw < 1 or min(self.top, self.bottom, self.left, self.right) < 0:
            raise ValueError(f"invalid window {self}")

    @classmethod
    def valid(cls, kh: int, kw: int) -> Window:
        """No extension: the (H - kh + 1) x (W - kw + 1) valid correlation."""
        return cls(kh, kw)

    @classmethod
    def same(cls, kh: int, kw: int) -> Window:
        """Extended by (kh - 1) // 2 above and kh // 2 below (likewise columns): H x W out."""
        return cls(kh, kw, (kh - 1) // 2, kh // 2, (kw - 1) // 2, kw // 2)

    @classmethod
    def full(cls, kh: int, kw: int) -> Window:
        """Extended by kh - 1 and kw - 1 on each side: the (H + kh - 1) x (W + kw - 1) full map."""
        return cls(kh, kw, kh - 1, kh - 1, kw - 1, kw - 1)

    @property
    def extended(self) -> bool:
        """Whether the image is extended at all (and so needs a border mode)."""
        return bool(self.top or self.bottom or self.left or self.right)

    def output_shape(self, shape: tuple[int, int]) -> tuple[int, int]:
        """(rows, columns) of the output for an input of ``shape``."""
        h, w = shape
        return (h + self.top + self.bottom - self.kh + 1, w + self.left + self.right - self.kw + 1)


class RowWriter(Protocol):
    """What the engine needs of a sink (:class:`sobelcli.io.stream.RowSink` is one)."""

    def write_rows(self, rows: NDArray[np.floating]) -> None:
        """Append rows of shape (n, W)."""
        ...


@dataclass(frozen=True)
class StreamResult:
    """What a streamed computation did.

    Attributes
    ----------
    shape : tuple of int
        (rows, columns) written.
    strips : int
        Strips written (per pass).
    passes : int
        1, or 2 when a global maximum was computed first.
    maximum : float or None
        ``max E`` (magnitude) or ``max |G|`` (x, y) when normalised; None otherwise.
    """

    shape: tuple[int, int]
    strips: int
    passes: int
    maximum: float | None


def border_index(rows: NDArray[np.integer], n: int, pad: str) -> NDArray[np.intp]:
    """The image row that each extended row ``g`` copies, or -1 for a zero row (``constant``).

    Parameters
    ----------
    rows : ndarray of int
        Row indices of the extended image, any value (``g < 0`` above, ``g >= n`` below).
    n : int
        Rows of the image.
    pad : {"reflect", "mirror", "nearest", "constant", "wrap"}

    Returns
    -------
    ndarray of intp, the shape of ``rows``
        The same rows as ``numpy.pad(arange(n), width, NUMPY_PAD[pad])`` for any width:
        ``reflect`` has period 2n (``g -> 2n - 1 - (g mod 2n)`` past n), ``mirror`` period
        2n - 2 (``g -> 2n - 2 - (g mod (2n - 2))``), ``wrap`` period n.
    """
    g = np.asarray(rows, dtype=np.intp)
    if pad == "nearest":
        return np.clip(g, 0, n - 1)
    if pad == "wrap":
        return np.mod(g, n)
    if pad == "constant":
        return np.where((g >= 0) & (g < n), g, -1)
    if pad == "reflect":
        m = np.mod(g, 2 * n)
        return np.where(m < n, m, 2 * n - 1 - m)
    if pad == "mirror":
        if n == 1:
            return np.zeros_like(g)
        m = np.mod(g, 2 * n - 2)
        return np.where(m < n, m, 2 * n - 2 - m)
    raise ValueError(f"unknown pad mode {pad!r}; choose one of {', '.join(NUMPY_PAD)}")


class BorderRows:
    """The image rows that the extension above and below the image copies, read once."""

    def __init__(self, source: RowReader, window: Window, pad: str | None) -> None:
        h, w = source.shape
        self.width = w
        self.dtype = source.dtype
        self.pad = pad
        self.rows: dict[int, NDArray[np.floating]] = {}
        if not (window.top or window.bottom):
            return
        if pad is None:
            raise ValueError("an extended window needs a pad mode")
        outside = np.concatenate(
            [np.arange(-window.top, 0), np.arange(h, h + window.bottom)]
        ).astype(np.intp)
        wanted = np.unique(border_index(outside, h, pad))
        wanted = wanted[wanted >= 0]
        # Read consecutive rows together: two reads at most for any mode with a short halo.
        runs = np.split(wanted, np.flatnonzero(np.diff(wanted) != 1) + 1) if wanted.size else []
        for run in runs:
            block = source.read_rows(int(run[0]), int(run[-1]) + 1)
            for i, r in enumerate(run):
                self.rows[int(r)] = block[i]

    def block(self, g0: int, g1: int, n: int) -> NDArray[np.floating]:
        """Rows g0 <= g < g1 of the extension (all outside the image), shape (g1 - g0, W)."""
        assert self.pad is not None
        index = border_index(np.arange(g0, g1), n, self.pad)
        out = np.empty((g1 - g0, self.width), dtype=self.dtype)
        for i, r in enumerate(index.tolist()):  # a loop over the halo's few rows
            if r < 0:
                out[i] = 0
            else:
                out[i] = self.rows[r]
        return out


def default_strip_rows(width: int, itemsize: int, halo: int = 2) -> int:
    """Output rows per strip so that its input rows take about :data:`STRIP_BYTES`."""
    return max(1, STRIP_BYTES // max(1, width * itemsize) - halo)


def check_strip_rows(strip_rows: int | None, width: int, itemsize: int, halo: int) -> int:
    """``strip_rows`` checked to be >= 1, or :func:`default_strip_rows` when None."""
    if strip_rows is None:
        return default_strip_rows(width, itemsize, halo)
    if int(strip_rows) < 1:
        raise ValueError(f"strip_rows must be at least 1, got {strip_rows}")
    return int(strip_rows)


#: Strip-sized buffers that streaming holds at most: the input rows and their copy joined to
#: the rows kept from the strip above, the engine's scratch rows on each thread, the output,
#: and the encoder's quantised copies in its queue.
STRIP_COPIES = 10


def strip_memory(shape: tuple[int, int], itemsize: int, strip_rows: int | None = None) -> int:
    """Bytes that streaming an image of ``shape`` takes, about: :data:`STRIP_COPIES` strips.

    Parameters
    ----------
    shape : tuple of int
        (H, W) of the input.
    itemsize : int
        Bytes of one float of the strips (4 or 8).
    strip_rows : int, optional
        Output rows per strip (default: :func:`default_strip_rows`).
    """
    h, w = shape
    rows = min(h, check_strip_rows(strip_rows, w, itemsize, 2) + 2)
    return STRIP_COPIES * rows * w * itemsize


def padded_strips(
    source: RowReader,
    window: Window,
    pad: str | None,
    *,
    strip_rows: int | None = None,
    min_rows: int = 1,
    borders: BorderRows | None = None,
) -> Iterator[tuple[int, NDArray[np.floating]]]:
    """The input strips of a windowed computation, extended at the image's borders.

    Parameters
    ----------
    source : RowReader
        An image of shape (H, W).
    window : Window
        kh, kw and the extension on each side.
    pad : str or None
        The border mode of the extension; None only for an unextended window.
    strip_rows : int, optional
        Output rows per strip (default: :func:`default_strip_rows`).
    min_rows : int
        The last strip, if shorter, is merged into the one before it (when there is one).
    borders : optional
        The border rows of an earlier pass, so that they are not read again.

    Yields
    ------
    o0 : int
        First output row of the strip.
    block : ndarray, shape (n + kh - 1, W + left + right), read-only
        Rows ``o0 - top <= g < o0 + n - top + kh - 1`` of the extended image, for the strip's
        n output rows; a valid correlation of it with a kh x kw kernel gives those n rows.
        Consecutive strips share their kh - 1 overlapping rows, read from the source once.
    """
    h, w = source.shape
    oh, ow = window.output_shape((h, w))
    if oh < 1 or ow < 1:
        raise ValueError(
            f"image of shape {(h, w)} is smaller than the {window.kh} x {window.kw} kernel; "
            "use a pad mode to filter images thinner than the kernel"
        )
    if window.extended and pad is None:
        raise ValueError("an extended window needs a pad mode")
    rows = check_strip_rows(strip_rows, w, source.dtype.itemsize, window.kh - 1)
    edge = borders if borders is not None else BorderRows(source, window, pad)
    held: NDArray[np.floating] | None = None
    held_lo = 0
    starts = list(range(0, oh, rows))
    if len(starts) > 1 and oh - starts[-1] < min_rows:
        starts.pop()
    for i, o0 in enumerate(starts):
        o1 = starts[i + 1] if i + 1 < len(starts) else oh
        g0 = o0 - window.top
        g1 = o1 - window.top + window.kh - 1
        lo, hi = max(g0, 0), min(g1, h)
        parts: list[NDArray[np.floating]] = []
        if g0 < 0:
            parts.append(edge.block(g0, min(0, g1), h))
        if lo < hi:
            if held is not None and held_lo <= lo < held_lo + held.shape[0]:
                held_hi = held_lo + held.shape[0]
                kept = held[lo - held_lo : hi - held_lo]
                inner = (
                    np.concatenate([kept, source.read_rows(held_hi, hi)]) if hi > held_hi else kept
                )
                del kept  # a view that would keep the previous strip alive
            else:
                inner = source.read_rows(lo, hi)
            held, held_lo = inner, lo
            parts.append(inner)
        if g1 > h:
            parts.append(edge.block(max(g0, h), g1, h))
        block = parts[0].view() if len(parts) == 1 else np.concatenate(parts)
        if window.left or window.right:
            assert pad is not None
            widths = ((0, 0), (window.left, window.right))
            block = np.pad(block, widths, mode=NUMPY_PAD[pad])  # type: ignore[call-overload]
        block.flags.writeable = False  # it may share rows with the next strip
        del parts
        yield o0, block
        del block
