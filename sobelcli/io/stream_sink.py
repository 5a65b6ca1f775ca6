"""The atomic sink that every streaming output builds on: a temporary beside the target, a rename.

Rows are counted and checked as they come; :meth:`AtomicSink.commit` finishes the temporary
file (or folder) and renames it onto the target with :func:`os.replace`, and any error, or
leaving a ``with`` block by an exception (Ctrl-C included), removes it and leaves the target
as it was.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.io.files import drop_part, forget_part, new_part

__all__ = ["AtomicSink", "BackgroundWriter", "WriterStopped"]


class AtomicSink:
    """Base of the sinks: rows counted and checked, a temporary beside the target, a rename.

    Subclasses write to ``self.temp`` in :meth:`_write` and finish it in :meth:`_finish`;
    :meth:`_discard` releases what they hold when aborted. The states are open, committed
    and aborted: after commit or abort, writes raise ValueError.

    Parameters
    ----------
    path : str or path-like
        The target; its folder must exist.
    shape : tuple of int
        (H, W) of the image.
    folder : bool
        The temporary (and the target) is a folder (Zarr), not a file.
    """

    def __init__(
        self, path: str | os.PathLike[str], shape: tuple[int, int], *, folder: bool = False
    ) -> None:
        self.path = str(path)
        h, w = (int(n) for n in shape)
        if h < 1 or w < 1:
            raise ValueError(f"{self.path}: cannot write an image of shape {shape}")
        self.shape: tuple[int, int] = (h, w)
        self.rows_written = 0
        target = Path(path)
        parent = target.parent
        if not parent.is_dir():
            raise FileNotFoundError(
                f"{self.path}: cannot write: folder {str(parent)!r} does not exist"
            )
        if target.is_dir() and not folder:
            raise IsADirectoryError(f"{self.path}: cannot write: is a folder")
        if target.exists() and folder and not target.is_dir():
            raise FileExistsError(f"{self.path}: cannot write: a file of that name exists")
        self._target = target
        self._folder = folder
        try:
            self.temp = new_part(target, folder=folder)
        except OSError as exc:
            raise OSError(f"{self.path}: cannot write: {exc.strerror or exc}") from None
        self._state = "open"

    # subclass hooks
    def _write(self, rows: NDArray[Any]) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Complete the temporary (trailers, flushes, close) before the rename."""

    def _discard(self) -> None:
        """Release files and threads after an error; the temporary is removed afterwards."""

    def write_rows(self, rows: NDArray[Any]) -> None:
        """Append rows of shape (n, W) below the rows written so far.

        Raises
        ------
        ValueError
            For a closed sink, a wrong width, or more than H rows in all.
        OSError
            When the disk refuses (full, read-only); the sink is then aborted.
        """
        if self._state != "open":
            raise ValueError(f"{self.path}: the output is already {self._state}")
        arr = np.asarray(rows)
        if arr.ndim != 2 or arr.shape[1] != self.shape[1]:
            raise ValueError(
                f"{self.path}: rows of shape {arr.shape} do not fit "
                f"an image of width {self.shape[1]}"
            )
        if self.rows_written + arr.shape[0] > self.shape[0]:
            raise ValueError(
                f"{self.path}: {self.rows_written + arr.shape[0]} rows written, "
                f"more than the image's {self.shape[0]}"
            )
        if arr.shape[0] == 0:
            return
        with self._or_abort():
            self._write(arr)
        self.rows_written += arr.shape[0]

    def commit(self) -> None:
        """Finish the temporary and rename it onto the target (a folder: swapped in).

        Raises
        ------
        ValueError
            If fewer than H rows were written; the sink is aborted, nothing is saved.
        OSError
            When the file cannot be finished or renamed; nothing is left behind.
        """
        if self._state != "open":
            raise ValueError(f"{self.path}: the output is already {self._state}")
        if self.rows_written != self.shape[0]:
            self.abort()
            raise ValueError(
                f"{self.path}: only {self.rows_written} of {self.shape[0]} rows were written; "
                "nothing saved"
            )
        with self._or_abort():
            self._finish()
            self._rename()
            forget_part(self.temp)
        self._state = "committed"

    @contextmanager
    def _or_abort(self) -> Iterator[None]:
        """Any failure in the block aborts the sink; an OSError comes out naming the target."""
        try:
            yield
        except OSError as exc:
            self.abort()
            raise OSError(f"{self.path}: cannot write: {exc.strerror or exc}") from None
        except BaseException:
            self.abort()
            raise

    def _rename(self) -> None:
        if not self._folder or not self._target.exists():
            os.replace(self.temp, self._target)
            return
        # A folder cannot replace a non-empty folder: move the old one aside, then drop it.
        old = self._target.with_name(f".{self._target.name}.{os.urandom(4).hex()}.old")
        os.replace(self._target, old)
        try:
            os.replace(self.temp, self._target)
        except BaseException:
            os.replace(old, self._target)
            raise
        import shutil  # here: it imports bz2 and lzma, 2 ms of every run's start

        shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        """Drop the temporary; the target keeps whatever it was (idempotent)."""
        if self._state != "open":
            return
        self._state = "aborted"
        try:
            self._discard()
        finally:
            drop_part(self.temp)

    def __enter__(self) -> AtomicSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    def __del__(self) -> None:
        if getattr(self, "_state", None) == "open":
            self.abort()


class WriterStopped(Exception):
    """Raised inside a :class:`BackgroundWriter`'s thread when the sink is aborted."""


_STOP = object()


class BackgroundWriter:
    """A thread that consumes the items a sink hands over, so encoding overlaps computing.

    ``consume(get)`` runs on the thread; ``get()`` returns the next item given to
    :meth:`put`, blocking, and raises :class:`WriterStopped` once :meth:`stop` is called.
    The queue holds ``depth`` items, so the producer waits rather than piles up memory.
    An exception in the thread is raised again in the producer by :meth:`put` or
    :meth:`join`. zlib and tifffile's codecs release the GIL, so the thread runs in parallel.

    Parameters
    ----------
    consume : callable
        ``consume(get) -> None``.
    name : str
        The thread's name.
    depth : int
        Items queued at most.
    """

    def __init__(self, consume: Callable[[Callable[[], Any]], None], name: str, depth: int = 2):
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self._consume = consume
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._consume(self._get)
        except BaseException as exc:  # noqa: BLE001 - handed back to the producer
            self.error = exc

    def _get(self) -> Any:
        item = self._queue.get()
        if item is _STOP:
            raise WriterStopped
        return item

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error
        raise OSError("the writer thread stopped")

    def put(self, item: Any) -> None:
        """Queue an item for the thread (waiting while the queue is full)."""
        while True:
            if not self._thread.is_alive():
                self._raise()
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def join(self) -> None:
        """Wait for the thread to finish its items; raise its error, if any."""
        while self._thread.is_alive():
            self._thread.join(timeout=0.1)
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """Drop the queued items, stop the thread at its next ``get()`` and wait for it."""
        if not self._thread.is_alive():
            return
        try:
            while True:
                self._queue.get_nowait()
        except queue.Empty:
            pass
        try:
            self._queue.put_nowait(_STOP)
        except queue.Full:  # pragma: no cover - emptied just above
            pass
        self._thread.join(timeout=30)
