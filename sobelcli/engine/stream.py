"""Edge maps and full convolutions of images larger than memory, computed strip by strip.

A row source (``shape``, ``dtype`` and ``read_rows(r0, r1)``, as the sources of
:mod:`sobelcli.io.stream`) is cut into strips of output rows, each read with the halo the
kernel needs and its borders extended by the pad mode (:mod:`sobelcli.engine.stream_strips`).
Each strip goes through the public API, passed in by the caller as ``edge_map=`` (the
function ``sobelcli.edge_map``) or ``correlate=`` (``sobelcli.correlate2d``): the engine
imports nothing above itself, and the strip is computed by exactly the code that computes
whole images::

    import sobelcli
    from sobelcli.engine.stream import EdgeOptions, edge_output_shape, stream_edge_map
    from sobelcli.io.stream import open_sink, open_source

    with open_source("scan.tif") as src:
        with open_sink("edges.png", edge_output_shape(src.shape, None)) as out:
            stream_edge_map(src, out, EdgeOptions(), edge_map=sobelcli.edge_map)

Normalising by the global maximum takes two passes, as libvips does: the first computes every
strip and keeps its maximum; the second computes them again and divides, or, given a
:class:`StripStore` (``keep=``) where the first pass kept every strip, reads them back.
``magnitude`` is ``E / max E``; ``x`` and ``y`` are ``G / (2 max |G|) + 0.5``; ``angle`` is
mapped pointwise, ``(atan2(Gy, Gx) + pi) / (2 pi)``, in one pass; unnormalised maps take one
pass.

Memory: a strip of ``strip_rows`` rows (about ``STRIP_BYTES`` by default) and the buffers of
one ``edge_map`` call on it; never an array of the image's size.

Exactness: in float64 and float32 the maps equal ``sobelcli.edge_map(whole image, ...)`` bit
for bit, for every kind, operator and pad mode and any strip height, because each output
pixel is computed by the same operations on the same values and the divisor is the same
float. One exception, shared with the in-memory engine's own strips: where all the squared
gradients of a whole in-memory strip lie below ``tiny / eps`` (about 1e-292 in float64, 1e-31
in float32) but not all are zero, that engine uses ``hypot``, whose last bit may differ from
``sqrt(gx^2 + gy^2)``; images scaled from 8- or 16-bit samples never come near.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from sobelcli.engine.stream_conv import full_convolution_strips, stream_full_convolution
from sobelcli.engine.stream_strips import (
    NUMPY_PAD,
    BorderRows,
    Progress,
    RowReader,
    RowWriter,
    StreamResult,
    Window,
    padded_strips,
)
from sobelcli.names import OPERATORS, OUTPUT_KINDS

__all__ = [
    "KINDS",
    "OPERATORS",
    "EdgeOptions",
    "RowWriter",
    "StreamResult",
    "StripStore",
    "edge_maximum",
    "edge_output_shape",
    "edge_strips",
    "full_convolution_strips",
    "stream_edge_map",
    "stream_full_convolution",
]

Kind = Literal["magnitude", "x", "y", "angle"]
KINDS: tuple[str, ...] = OUTPUT_KINDS
#: ``sobelcli.edge_map``: (image, kind, operator, normalize, pad) -> map.
EdgeMapFunction = Callable[..., NDArray[np.floating]]


class StripStore(Protocol):
    """Strips of the first pass kept for the second (:class:`sobelcli.io.spill.StripFile`)."""

    @property
    def count(self) -> int:
        """Strips kept."""
        ...

    @property
    def rows(self) -> int:
        """Rows kept, in all."""
        ...

    def put(self, values: NDArray[np.floating]) -> bool:
        """Keep a strip below the others; False (and nothing kept from now on) when it cannot."""
        ...

    def get(self, index: int) -> NDArray[np.floating]:
        """Strip ``index``, a new writable array."""
        ...

    def rows_before(self, index: int) -> int:
        """Rows of the strips before ``index``."""
        ...


@dataclass(frozen=True)
class EdgeOptions:
    """The edge map asked for: the arguments of ``sobelcli.edge_map`` but the image.

    Attributes
    ----------
    kind : {"magnitude", "x", "y", "angle"}
    operator : {"sobel", "scharr", "prewitt"}
    normalize : bool
    pad : {"reflect", "mirror", "nearest", "constant", "wrap"} or None
        None: the valid (H - 2) x (W - 2) map; a mode: H x W.
    """

    kind: Kind = "magnitude"
    operator: str = "sobel"
    normalize: bool = True
    pad: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown output kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.operator not in OPERATORS:
            raise ValueError(
                f"unknown operator {self.operator!r}; choose one of {', '.join(OPERATORS)}"
            )
        if self.pad is not None and self.pad not in NUMPY_PAD:
            raise ValueError(f"unknown pad mode {self.pad!r}; choose one of {', '.join(NUMPY_PAD)}")

    @property
    def passes(self) -> int:
        """2 when the global maximum is needed first (normalised magnitude, x, y), else 1."""
        return 2 if self.normalize and self.kind != "angle" else 1


def edge_output_shape(shape: tuple[int, int], pad: str | None) -> tuple[int, int]:
    """(H - 2, W - 2) without a pad mode, (H, W) with one."""
    return (shape[0], shape[1]) if pad is not None else (shape[0] - 2, shape[1] - 2)


def _edge_window(source: RowReader, options: EdgeOptions) -> Window:
    """The 3 x 3 window of the options, after the checks ``edge_map`` makes on the whole image."""
    h, w = source.shape
    if options.pad is None and min(h, w) < 3:
        raise ValueError(
            f"image of shape {(h, w)} is smaller than the 3 x 3 kernel; "
            "use a pad mode to filter images thinner than 3 pixels"
        )
    return Window.same(3, 3) if options.pad is not None else Window.valid(3, 3)


def _edge_pass(
    source: RowReader,
    options: EdgeOptions,
    edge_map: EdgeMapFunction,
    strip_rows: int | None,
    borders: BorderRows,
) -> Iterator[tuple[int, NDArray[np.floating]]]:
    """Each strip's map, normalised only if that is pointwise (the angle)."""
    window = _edge_window(source, options)
    pointwise = options.normalize and options.kind == "angle"
    for o0, block in padded_strips(
        source, window, options.pad, strip_rows=strip_rows, borders=borders
    ):
        yield o0, edge_map(block, options.kind, options.operator, pointwise, None)
        del block  # before the next strip is read: at most one strip's input held


def edge_maximum(
    source: RowReader,
    options: EdgeOptions,
    *,
    edge_map: EdgeMapFunction,
    strip_rows: int | None = None,
    progress: Progress | None = None,
    borders: BorderRows | None = None,
    keep: StripStore | None = None,
) -> float:
    """The first pass: ``max E`` for magnitude, ``max |G|`` for x and y, strip by strip.

    Parameters
    ----------
    source : RowReader
    options : EdgeOptions
        ``kind`` magnitude, x or y.
    edge_map : callable
        ``sobelcli.edge_map``.
    strip_rows : int, optional
        Output rows per strip; the result does not depend on it.
    progress : callable, optional
        ``progress(rows_done, rows_total)`` after each strip.
    borders : BorderRows, optional
        The rows of the border extension, if already read.
    keep : StripStore, optional
        Where each strip's map is kept for the second pass, as long as it takes them.

    Returns
    -------
    float
        The largest value over the whole map (0.0 for a flat image; NaN if it holds one): the
        float that the in-memory ``edge_map`` divides by (x, y: by twice it).
    """
    if options.kind == "angle":
        raise ValueError("an angle map needs no maximum")
    window = _edge_window(source, options)
    edge = borders if borders is not None else BorderRows(source, window, options.pad)
    oh = window.output_shape(source.shape)[0]
    top = 0.0
    for o0, values in _edge_pass(source, options, edge_map, strip_rows, edge):
        top = float(np.maximum(top, values.max()))  # a NaN stays, as in np.max
        if options.kind != "magnitude":  # max |G| = max(max G, -min G), without a temporary
            top = float(np.maximum(top, -values.min()))
        if keep is not None and not keep.put(values):
            keep = None  # the store is full: the second pass computes the strips again
        if progress is not None:
            progress(o0 + values.shape[0], oh)
        del values  # before the next strip is computed
    return top


def edge_strips(
    source: RowReader,
    options: EdgeOptions,
    *,
    edge_map: EdgeMapFunction,
    strip_rows: int | None = None,
    maximum: float | None = None,
    progress: Progress | None = None,
    borders: BorderRows | None = None,
) -> Iterator[tuple[int, NDArray[np.floating]]]:
    """The edge map of a row source, strip by strip, normalised by the global maximum.

    Parameters
    ----------
    source : RowReader
        An image of shape (H, W); float32 rows give float32 maps, float64 float64.
    options : EdgeOptions
    edge_map : callable
        ``sobelcli.edge_map``, called on each strip with ``pad=None``.
    strip_rows : int, optional
        Output rows per strip (>= 1); the result does not depend on it.
    maximum : float, optional
        The result of :func:`edge_maximum` if known; otherwise, when the options need it, a
        first pass computes it before the first strip is yielded.
    progress : callable, optional
        ``progress(rows_done, rows_total)`` after each strip, rows_total counting the passes.
    borders : BorderRows, optional
        The rows of the border extension, if already read.

    Yields
    ------
    o0 : int
        First output row of the strip.
    values : ndarray, shape (n, W - 2), or (n, W) with a pad mode
        Rows ``o0 <= o < o0 + n`` of ``sobelcli.edge_map(image, kind, operator, normalize,
        pad)``; the caller owns them.
    """
    window = _edge_window(source, options)
    oh = window.output_shape(source.shape)[0]
    if borders is None:
        borders = BorderRows(source, window, options.pad)
    first_pass = options.passes == 2 and maximum is None
    total = (2 if first_pass else 1) * oh
    done = oh if first_pass else 0

    def report(rows: int, _total: int) -> None:
        if progress is not None:
            progress(rows, total)

    top = maximum
    if first_pass:
        top = edge_maximum(
            source,
            options,
            edge_map=edge_map,
            strip_rows=strip_rows,
            progress=report,
            borders=borders,
        )
    for o0, values in _edge_pass(source, options, edge_map, strip_rows, borders):
        if options.passes == 2:
            assert top is not None
            _normalise(values, options.kind, top)
        report(done + o0 + values.shape[0], total)
        yield o0, values
        del values  # the caller holds it while it needs it


def _normalise(values: NDArray[np.floating], kind: str, top: float) -> None:
    """In place, as ``edge_map`` does: ``E / top``; a signed map ``G / (2 top) + 0.5``."""
    if kind == "magnitude":
        if top > 0:
            np.divide(values, top, out=values)  # as the in-memory scale_rows
    else:
        if top > 0:
            values /= 2 * values.dtype.type(top)  # as edge_map: signed /= 2 * top
        values += 0.5


def stream_edge_map(
    source: RowReader,
    sink: RowWriter,
    options: EdgeOptions,
    *,
    edge_map: EdgeMapFunction,
    strip_rows: int | None = None,
    progress: Progress | None = None,
    keep: StripStore | None = None,
) -> StreamResult:
    """Write the edge map of a row source to a row sink, strip by strip (two passes if normalised).

    The sink is not committed here: use it as a context manager (see the module's example),
    which commits when the block ends normally and removes the temporary file on any
    exception, Ctrl-C included.

    Parameters
    ----------
    source : RowReader
    sink : RowWriter
        Of shape ``edge_output_shape(source.shape, options.pad)``.
    options : EdgeOptions
    edge_map : callable
        ``sobelcli.edge_map``.
    strip_rows : int, optional
    progress : callable, optional
        ``progress(rows_done, rows_total)``, rows_total counting both passes.
    keep : StripStore, optional
        Where the first pass keeps each strip's map: the second pass reads them back, divides
        them and writes them, instead of reading and computing the strips again (the same
        floats: the same operations made them). When the store fails, it computes them again.

    Returns
    -------
    StreamResult
    """
    window = _edge_window(source, options)
    shape = window.output_shape(source.shape)
    borders = BorderRows(source, window, options.pad)
    total = options.passes * shape[0]
    offset = total - shape[0]

    def report(rows: int, _total: int) -> None:
        if progress is not None:
            progress(rows, total)

    def second(rows: int, _total: int) -> None:
        report(offset + rows, total)

    top: float | None = None
    if options.passes == 2:
        top = edge_maximum(
            source,
            options,
            edge_map=edge_map,
            strip_rows=strip_rows,
            progress=report,
            borders=borders,
            keep=keep,
        )
    if top is not None and keep is not None and keep.rows == shape[0]:
        for count in range(keep.count):
            values = keep.get(count)
            _normalise(values, options.kind, top)
            sink.write_rows(values)
            second(keep.rows_before(count + 1), shape[0])
            del values
        return StreamResult(shape, keep.count, options.passes, top)
    count = 0
    strips = edge_strips(
        source,
        options,
        edge_map=edge_map,
        strip_rows=strip_rows,
        maximum=top,
        progress=second,
        borders=borders,
    )
    while (strip := next(strips, None)) is not None:
        sink.write_rows(strip[1])
        del strip  # freed before the next strip is computed
        count += 1
    return StreamResult(shape, count, options.passes, top)
