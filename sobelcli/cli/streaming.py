"""Images through ``edges`` and ``grad-input`` in strips: whether to stream, and the calls.

A job streams (:func:`stream_edges`, :func:`stream_grad`) when its input is a file whose
format streams (TIFF / BigTIFF, ``.npy``, PNG, JPEG; ``edges`` at any size,
:data:`sobelcli.names.STREAM_MIN_PIXELS`; ``grad-input``, and ``edges`` in the workers of a
parallel batch, from :data:`~sobelcli.names.SHARED_STREAM_MIN_PIXELS`) or a Zarr array, and
its output is a ``.png``, ``.tif``, ``.npy`` or ``.zarr`` file: the input is read a strip of
rows at a time (:mod:`sobelcli.io.stream`), each strip goes through the core's own functions
(:mod:`sobelcli.engine.stream`) and the output is written as the strips come, to a
temporary beside it that is renamed into place at the end. A normalised map takes two passes (the
maximum, then the write), as does a ``grad-input`` PNG (its minimum and maximum first).

Everything else takes the in-memory path: stdin (read whole, within
``--max-pixels``; a pipe is not spooled to disk, which would trade the reader's size limit for
a full disk: save a big image to a file first), stdout, an image over ``--max-pixels`` that
is not big (refused there), options that need the whole image (Canny, ``--colour``, ...),
and inputs that only the in-memory reader reads
(:class:`~sobelcli.io.stream.StreamUnsupportedError`: an EXIF rotation, CMYK, palette TIFF, a
missing codec, ...). Either way the values are the same.

This module imports only the standard library at first, so ``--help`` stays fast; the
header of a file is read by :mod:`sobelcli.cli.stream_probe`, without tifffile or pyvips.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sobelcli import names
from sobelcli.cli.stream_probe import is_zarr_store, probe

if TYPE_CHECKING:  # pragma: no cover
    from sobelcli.cli.batch import Done, Task
    from sobelcli.cli.commands.edges import EdgeJob
    from sobelcli.cli.commands.grad_input import GradJob

#: Output extensions that a stream can be written to.
STREAM_OUTPUTS = frozenset({".png", ".tif", ".tiff", ".npy", ".zarr"})
#: Output rows per strip; None: about ``engine.stream_strips.STRIP_BYTES`` of input rows.
STRIP_ROWS: int | None = None
#: More pixels per byte of file than deflate (1032:1) gives a 1-bit image: not a real image.
PIXELS_PER_BYTE = 10_000
#: Chunks (rows, columns) of a ``.zarr`` output: 1 MB of float32 each.
ZARR_CHUNKS = (512, 512)
#: What a missing zarr package says.
ZARR_MISSING = "Zarr needs the zarr package: pip install 'sobelcli[dask]'"
#: The help of --max-pixels and --format on the commands that stream.
# --------------------------------------------------------------------------- the decision


def stream_input(source: str, output: str, max_pixels: int | None, least: int) -> str | None:
    """The format to stream ``source`` from, or None for the in-memory path (see the module).

    ``least`` is the fewest pixels worth streaming. An image over ``--max-pixels`` (its
    default when None) is left to the in-memory reader, which refuses it from its header,
    unless the limit is the default, the image big (:data:`sobelcli.names.BIG_IMAGE_PIXELS`)
    and its file large enough to hold its pixels at a real compression (not a decompression
    bomb nor a truncated file): by default a big image is limited by disk only.
    """
    if output == "-" or Path(output).suffix.lower() not in STREAM_OUTPUTS:
        if source != "-" and is_zarr_store(source):
            from sobelcli.io import ImageError

            wanted = "give -o NAME.png, .tif, .npy or .zarr"
            raise ImageError(source, f"a Zarr array is streamed to a file: {wanted}")
        return None
    found = probe(source)
    if found is None:
        return None
    fmt, pixels = found
    if fmt == "zarr":
        return fmt
    limit = names.DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    if pixels > limit and (
        max_pixels is not None
        or pixels < names.BIG_IMAGE_PIXELS
        or pixels > PIXELS_PER_BYTE * os.path.getsize(source)
    ):
        return None  # the in-memory reader refuses it, in its words
    return fmt if pixels >= least else None


def _zarr_ready(path: str) -> None:
    import importlib.util

    from sobelcli.io import ImageError

    if importlib.util.find_spec("zarr") is None:
        raise ImageError(path, ZARR_MISSING)


def _as_image_error(exc: BaseException, path: str, *others: str) -> Exception:
    """A stream error as one ImageError naming its file: the one its message starts with."""
    from sobelcli.io import ImageError
    from sobelcli.io.stream_base import one_line

    text = one_line(exc)
    if isinstance(exc, ImageError):
        return exc
    for name in (path, *others):
        if name and text.startswith(name + ": "):
            return ImageError(name, text[len(name) + 2 :])
    return ImageError(path, text)


def _open(path: str, fmt: str, read: Any, dtype: Any, output: str) -> Any:
    """The row source, or None when the in-memory reader should read it instead.

    A second pass reads a PNG's or JPEG's decoded samples back from a nameless file in the
    output's folder (``SourceOptions.spill``), where the output itself is about to go.
    """
    from sobelcli.io.stream import SourceOptions, open_source
    from sobelcli.io.stream_base import ChunkRowSource

    if fmt == "zarr":
        _zarr_ready(path)
    try:
        spill = _folder(output)
        options = SourceOptions(channel=read.channel, dtype=dtype, alpha=read.alpha, spill=spill)
        source = open_source(path, options)
    except (ValueError, OSError) as exc:
        if fmt == "zarr":  # only a stream reads Zarr: its error is the answer
            raise _as_image_error(exc, path) from None
        return None  # the in-memory reader reads it, or says what is wrong in its words
    import numpy as np

    from sobelcli.engine.stream_strips import strip_memory
    from sobelcli.io import ImageError
    from sobelcli.io.limits import human_size

    h, w = source.shape
    chunk = source.chunk_rows * w if isinstance(source, ChunkRowSource) else 0
    needed = strip_memory(source.shape, np.dtype(dtype).itemsize, STRIP_ROWS)
    problem = None
    if read.max_pixels is not None and h * w > read.max_pixels:  # given: it limits every image
        problem = f"image is {w} x {h} = {h * w:,} pixels, over the limit of {read.max_pixels:,}"
        setting = "max_pixels"
    elif chunk > read.pixel_limit:  # decoded in chunks as large as the image
        problem = f"its chunks of {chunk:,} pixels are over the limit of {read.pixel_limit:,}"
        setting = "max_pixels"
    elif needed > read.max_memory:
        problem = f"streaming this {w} x {h} image takes about {human_size(needed)} of memory"
        problem += f", over the limit of {human_size(read.max_memory)}"
        setting = "max_memory"
    if problem is None:
        return source
    source.close()
    if fmt != "zarr" and (setting == "max_pixels" or h * w < names.BIG_IMAGE_PIXELS):
        return None  # the in-memory reader decides, by its own estimate, in its words
    raise ImageError(path, problem, setting)


def _folder(output: str) -> str:
    """The output's folder: where its temporaries, and the copies kept between passes, go."""
    return os.path.dirname(os.path.abspath(output))


def _sink(path: str, shape: tuple[int, int], dtype: Any, bits: int = 8, compress: int = 1) -> Any:
    from sobelcli.io import ImageError
    from sobelcli.io.stream import SinkOptions, open_sink

    fmt = Path(path).suffix.lower()
    tile = ZARR_CHUNKS if fmt == ".zarr" else (256, 256)
    if fmt == ".zarr":
        _zarr_ready(path)
        if os.path.isdir(path) and not is_zarr_store(path):
            raise ImageError(path, "is a folder, not a Zarr array; not replaced")
    options = SinkOptions(bits=bits, compress=compress, tile=tile)
    try:
        return open_sink(path, shape, dtype=dtype, options=options)
    except (ValueError, OSError) as exc:
        raise _as_image_error(exc, path) from None


def save_image(
    path: str,
    values: Any,
    *,
    bits: int = 8,
    compress: int = 1,
    fmt: str | None = None,
    quality: int = 90,
) -> None:
    """Save an in-memory map as ``sobelcli.io.save_image`` does, and ``.zarr`` too (float32)."""
    import numpy as np

    from sobelcli import io as sio

    if Path(path).suffix.lower() != ".zarr" or path == "-":
        sio.save_image(path, values, bits=bits, compress=compress, fmt=fmt, quality=quality)
        return
    with _sink(path, values.shape, np.float32) as sink:
        for r0 in range(0, values.shape[0], ZARR_CHUNKS[0]):
            sink.write_rows(values[r0 : r0 + ZARR_CHUNKS[0]])


@contextmanager
def _progress(name: str) -> Iterator[Callable[[int, int], None]]:
    """``progress(rows_done, rows_total)`` drawing a bar on stderr for one IMAGE on a terminal.

    Not in a batch (its own bar is drawn, or it runs in worker processes) nor with --quiet.
    """
    import sys

    import click

    ctx = click.get_current_context(silent=True)
    quiet = bool(ctx is not None and ctx.params.get("quiet"))
    if ctx is None or quiet or not sys.stderr.isatty():  # no bar to draw: rich not imported
        yield lambda done, total: None
        return
    from sobelcli.cli import report

    live = getattr(report.console(), "_live_stack", None)
    import multiprocessing  # here, not at the top: --help lists this module's command

    if live or multiprocessing.parent_process() is not None:
        yield lambda done, total: None
        return
    with report.progress(f"{name} (streamed)", None, quiet) as bar:
        task_id = bar.task_ids[0]

        def update(done: int, total: int) -> None:
            bar.update(task_id, completed=done, total=total, extra="rows")

        yield update


class _Checked:
    """The sink of an edge map: finite values checked, ``--threshold`` applied, the top kept."""

    def __init__(self, sink: Any, source: str, threshold: float | None) -> None:
        import numpy as np

        self.sink, self.source, self.threshold = sink, source, threshold
        self.top = 0.0
        self._isfinite = np.isfinite  # imported once, not at every strip

    def write_rows(self, rows: Any) -> None:
        if not self._isfinite(rows).all():
            from sobelcli.io import ImageError

            raise ImageError(self.source, "values too large: the edge map overflows")
        if self.threshold is not None:
            rows = (rows >= self.threshold).astype(rows.dtype)
        self.top = max(self.top, float(rows.max(initial=0.0)))
        self.sink.write_rows(rows)


# --------------------------------------------------------------------------- edges


def stream_edges(job: EdgeJob, task: Task) -> Done | None:
    """Write the edge map of ``task`` in strips, or None to take the in-memory path."""
    if not job.plain:
        return None
    fmt = stream_input(task.source, task.output, job.read.max_pixels, names.STREAM_MIN_PIXELS)
    if fmt in ("png", "jpeg") and "numpy" not in sys.modules:  # the first image of a process
        from sobelcli.io import early

        early.start(task.source, _folder(task.output))  # decoded while numpy is imported
    from sobelcli.engine.strips import cpu_count, threads

    if fmt is not None and threads() < cpu_count():  # a parallel batch's worker: no core spare
        fmt = stream_input(
            task.source, task.output, job.read.max_pixels, names.SHARED_STREAM_MIN_PIXELS
        )
    if fmt is None:
        return None
    import numpy as np

    from sobelcli.cli.batch import Done
    from sobelcli.core.edges import edge_map
    from sobelcli.engine.stream import EdgeOptions, edge_output_shape, stream_edge_map
    from sobelcli.io.spill import StripFile
    from sobelcli.io.stream_base import DecodeError

    out = Path(task.output).suffix.lower()
    dtype = np.float64 if out == ".npy" else np.float32
    source = _open(task.source, fmt, job.read, dtype, task.output)
    if source is None:
        return None
    with source:
        options = EdgeOptions(job.kind, job.operator, job.normalize, job.pad)  # type: ignore[arg-type]
        try:
            shape = edge_output_shape(source.shape, job.pad)
            if min(shape) < 1:
                raise ValueError(
                    f"image of shape {source.shape} is smaller than the 3 x 3 kernel; "
                    "use a pad mode to filter images thinner than 3 pixels"
                )
        except ValueError as exc:
            raise _as_image_error(exc, task.source) from None
        # The first pass keeps its strips on disk for the second (io/spill.py), if it can.
        keep = None
        if options.passes == 2:
            keep = StripFile(_folder(task.output), shape[0] * shape[1] * np.dtype(dtype).itemsize)
            if keep.ready:
                source.read_once()
        try:
            with (
                _sink(task.output, shape, dtype, job.bits, job.compress) as sink,
                _progress("edges") as progress,
                np.errstate(over="ignore", invalid="ignore"),
            ):
                checked = _Checked(sink, task.source, job.threshold)
                stream_edge_map(
                    source,
                    checked,
                    options,
                    edge_map=edge_map,
                    strip_rows=STRIP_ROWS,
                    progress=progress,
                    keep=keep,
                )
        except DecodeError as exc:
            if source.shape[0] * source.shape[1] >= names.BIG_IMAGE_PIXELS:
                raise _as_image_error(exc, task.source) from None
            return None  # libvips is stricter than Pillow (an IDAT's CRC): read it in memory
        except (ValueError, OSError) as exc:  # the commit's errors too
            raise _as_image_error(exc, task.source, task.output) from None
        finally:
            if keep is not None:
                keep.close()
    warnings = []
    if out == ".png" and not job.normalize and checked.top > 1.0:
        warnings.append("values above 1 are clipped in a PNG; write .npy to keep the raw values")
    return Done(list(shape), list(source.notes), warnings)


# --------------------------------------------------------------------------- grad-input


def stream_grad(job: GradJob, task: Task) -> Done | None:
    """Write dL/dX of ``task`` in strips, or None to take the in-memory path (stream_grad.py)."""
    from sobelcli.cli.stream_grad import stream_grad_input

    return stream_grad_input(job, task)
