"""An input decoded while the process is still starting: libvips on a thread, numpy not needed.

``sobelcli edges photo.png -o edges.png`` spends about 70 ms importing numpy, on one core and
holding the GIL, before it reads a row. Decoding needs no numpy, and libvips releases the GIL:
:func:`start` opens the PNG or JPEG and decodes it on a thread, top to bottom, into a nameless
:class:`~sobelcli.io.spill.SpillFile` beside the output, while the main thread imports. The
streaming reader (:class:`~sobelcli.io.stream_vips.VipsSource`) then takes over with
:func:`take`: the rows decoded so far, the file that holds them, and the image, decoded down
to where it stopped. Measured on 2 cores: a 2048 x 2048 PNG's decode (37 ms) ends before
numpy's import does; at 6144 x 6144, the first 70 ms of its 0.3 s.

At most one decode is pending (a process starts once); :func:`discard` stops it, and drops its
file, when the run does not stream after all. Any error stops it quietly: the reader opens the
file again and reports the problem in its own words. This module imports no numpy.
"""

from __future__ import annotations

import os
import threading
from typing import Any, NamedTuple

from sobelcli.io.spill import SpillFile

__all__ = ["FETCH_BYTES", "Decoded", "discard", "start", "take"]

#: Decoded bytes per libvips request. Each request waits for the GIL, which the importing
#: thread gives up every 5 ms: at 2048², 128 KiB requests made the whole run 229 ms, 512 KiB 208.
FETCH_BYTES = 1 << 19


class Decoded(NamedTuple):
    """What :func:`take` hands over: the decoder, and the rows it has put in the copy.

    The thread's region on the image is dropped on that thread (libvips keeps a region's
    buffers per thread); the taker makes a region of its own and reads on from ``rows``.
    """

    image: Any  # pyvips.Image, opened in sequential mode, decoded down to ``rows``
    copy: SpillFile  # rows 0 <= r < rows, as libvips gives them
    rows: int
    row_bytes: int


class _Decode:
    """The thread that decodes ``path`` into a copy in ``folder`` until it ends or is stopped."""

    def __init__(self, pyvips: Any, path: str, folder: str) -> None:
        self.path = path
        self.result: Decoded | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(pyvips, folder), name="sobelcli-early-decode", daemon=True
        )
        self._thread.start()

    def _run(self, pyvips: Any, folder: str) -> None:
        copy: SpillFile | None = None
        try:
            image = pyvips.Image.new_from_file(self.path, access="sequential", fail_on="error")
            width, height = int(image.width), int(image.height)
            region = pyvips.Region.new(image)
            step = max(1, FETCH_BYTES // max(1, width * int(image.bands)))
            data = region.fetch(0, 0, width, min(step, height))
            row_bytes = len(data) // min(step, height)
            copy = SpillFile(folder, row_bytes * height)
            rows = 0
            while copy.append(data):  # False: no room, or a full disk (the file is dropped)
                rows += len(data) // row_bytes
                if rows == height or self._stop.is_set():
                    del region, data  # here, on the thread that made them
                    self.result = Decoded(image, copy, rows, row_bytes)
                    return
                data = region.fetch(0, rows, width, min(step, height - rows))
        except Exception:  # noqa: BLE001 - the reader opens the file again and says what is wrong
            if copy is not None:
                copy.close()

    def stop(self) -> Decoded | None:
        """Stop after the request under way, and wait: what was decoded, or None."""
        self._stop.set()
        self._thread.join()
        return self.result


_pending: _Decode | None = None


def start(path: str, folder: str) -> bool:
    """Start decoding ``path`` (a PNG or JPEG file) into a copy in ``folder``, on a thread.

    False, and nothing started, without pyvips or when a decode is already pending.
    """
    global _pending
    if _pending is not None:
        return False
    try:
        import pyvips
    except (ImportError, OSError):
        return False
    # numpy's import sets OPENBLAS_MAIN_FREE (putenv) unless it is set, then unsets it; a
    # change to the environment while another thread reads it (libvips, glib) may crash the
    # process (seen once in ~400 runs): set it first, to numpy's value, before the thread starts.
    os.environ.setdefault("OPENBLAS_MAIN_FREE", "1")
    _pending = _Decode(pyvips, os.fspath(path), folder)
    return True


def take(path: str, row_bytes: int) -> Decoded | None:
    """The decode of ``path`` started by :func:`start`, stopped, if its rows are ``row_bytes``.

    The caller owns the result (the copy is its to close); None when there is none to take.
    """
    global _pending
    pending, _pending = _pending, None
    if pending is None:
        return None
    decoded = pending.stop()
    if decoded is None or pending.path != os.fspath(path) or decoded.row_bytes != row_bytes:
        if decoded is not None:
            decoded.copy.close()
        return None
    return decoded


def discard() -> None:
    """Stop a pending decode, if any, and drop its copy."""
    global _pending
    pending, _pending = _pending, None
    if pending is not None and (decoded := pending.stop()) is not None:
        decoded.copy.close()
