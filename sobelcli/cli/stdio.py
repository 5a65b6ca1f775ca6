"""stdout and stderr that fail well: a closed or full stdout is one error line, stderr never is.

:func:`guard_streams` wraps both for the length of a command (the command line's
:func:`~sobelcli.cli.main.main` calls it); :func:`silence_stdout` drops what is still
buffered after a failed write.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["StdoutError", "guard_streams", "silence_stdout"]


class StdoutError(OSError):
    """A write to stdout failed (a full disk, a file size limit, a closed stream)."""

    def __str__(self) -> str:
        return f"cannot write to stdout: {self.strerror}"


class _Stream(io.RawIOBase):
    """File descriptor 1 (errors: StdoutError) or 2 (``quiet``: errors swallowed).

    After a failure it drops the rest, so the flush at exit adds no "Exception ignored".
    """

    def __init__(self, fd: int, quiet: bool = False) -> None:
        super().__init__()
        self._fd, self.quiet, self.failed = fd, quiet, False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)  # False for a closed descriptor

    def write(self, data: Any) -> int:
        size = len(memoryview(data).cast("B"))
        if self.failed:
            return size
        try:
            written = os.write(self._fd, data)
            if written <= 0 < size:
                raise OSError(errno.EIO, "no byte was written")
        except OSError as exc:
            self.failed = True
            if self.quiet:
                return size
            if isinstance(exc, BrokenPipeError):
                raise
            reason = "it is closed" if exc.errno == errno.EBADF else exc.strerror or str(exc)
            raise StdoutError(exc.errno, reason) from None
        return written


class _Unbuffered(io.BufferedWriter):
    """Written out at once (``python -u``), yet every byte of it: short writes are retried."""

    def write(self, data: Any) -> int:
        written = super().write(data)
        self.flush()
        return written


def _reserve_closed_descriptors() -> None:
    """Put /dev/null, opened the wrong way round, on a closed 0, 1 or 2 (``>&-``).

    No file opened later takes the number, and a write to a closed stdout fails (EBADF).
    """
    for fd, flags in ((0, os.O_WRONLY), (1, os.O_RDONLY), (2, os.O_RDONLY)):
        try:
            os.fstat(fd)
            continue  # open
        except OSError:
            pass
        try:
            new = os.open(os.devnull, flags)
            if new != fd:
                os.dup2(new, fd)  # inheritable, as 0, 1 and 2 are
                os.close(new)
            else:
                os.set_inheritable(fd, True)
        except OSError:
            pass


def guard_streams() -> Callable[[], None]:
    """Make sys.stdout report its failures as StdoutError, and sys.stderr swallow its own.

    Closed (``>&-``, ``2>&-``) or full, stdout fails only a command that needs it, with one
    line; stderr loses the messages, not the exit status. Returns: put the old streams back.
    """
    old = sys.stdin, sys.stdout, sys.stderr
    _reserve_closed_descriptors()
    if sys.stdin is None:
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # reads fail: EBADF
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        if stream is None or (stream is getattr(sys, f"__{name}__") and _fileno(stream) == fd):
            unbuffered = bool(getattr(stream, "write_through", False))  # python -u
            wrapper = io.TextIOWrapper(
                (_Unbuffered if unbuffered else io.BufferedWriter)(_Stream(fd, quiet=fd == 2)),
                encoding=getattr(stream, "encoding", None) or "utf-8",
                errors=getattr(stream, "errors", None) or "backslashreplace",
                line_buffering=fd == 2 or bool(getattr(stream, "line_buffering", False)),
                write_through=unbuffered,
            )
            setattr(sys, name, wrapper)

    def restore() -> None:
        sys.stdin, sys.stdout, sys.stderr = old

    return restore


def _fileno(stream: Any) -> int:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return -1


def silence_stdout() -> None:
    """After a failed write to stdout, drop whatever is still buffered for it."""
    raw = getattr(getattr(sys.stdout, "buffer", None), "raw", None)
    if isinstance(raw, _Stream):
        raw.failed = True
