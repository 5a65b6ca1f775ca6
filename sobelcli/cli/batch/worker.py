"""One task in a worker: the attempt, its error line, and the worker's signal handling.

Workers ignore SIGINT (Ctrl-C reaches the whole process group; the parent decides) and turn
SIGTERM into an exception, so that a write in progress removes its temporary file before the
worker stops.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from sobelcli.cli.batch.types import Result, Task, Work
from sobelcli.cli.main import one_line, quiet_unraisable


def attempt(work: Work, task: Task, reraise: bool = False) -> Result:
    """Run ``work`` on one task; an ordinary exception becomes an error result.

    With ``reraise`` (one IMAGE, in this process) only the input's own problems (ValueError,
    OSError, MemoryError) become a result; anything else, and a closed stdout, goes on to the
    command's error boundary.
    """
    start = time.perf_counter()
    try:
        if task.make_folder:
            from sobelcli.io import make_folder

            make_folder(os.path.dirname(task.output) or ".")
        done = work(task)
    except Exception as exc:  # noqa: BLE001 - every failure is this input's, in one line
        own = isinstance(exc, (ValueError, OSError, MemoryError))
        if reraise and (isinstance(exc, BrokenPipeError) or not own):
            raise
        return Result(
            task.source,
            task.output,
            "error",
            error_message(task.source, exc),
            seconds=time.perf_counter() - start,
        )
    return Result(
        task.source,
        task.output,
        "ok",
        None,
        done.shape,
        time.perf_counter() - start,
        done.notes,
        done.warnings,
        done.figures,
    )


def error_message(source: str, exc: BaseException) -> str:
    """One line naming the input; ImageError messages already name their file."""
    from sobelcli.io import ImageError

    text = one_line(exc)
    if isinstance(exc, ImageError):
        return text
    if isinstance(exc, MemoryError):
        return f"{source}: not enough memory"
    if not isinstance(exc, (ValueError, OSError)):
        text = f"internal error: {type(exc).__name__}: {text}"
    return f"{source}: {text}"


class _Stop(BaseException):
    """Raised in a busy worker by SIGTERM: the task unwinds, cleaning up its files."""


_worker_state = {"busy": False, "stopping": False}


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (they are delivered on leaving), where the OS allows."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _init_worker(threads: int | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_stop)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    from sobelcli.engine import set_threads

    set_threads(threads)


def _on_stop(signum: int, frame: FrameType | None) -> None:
    _worker_state["stopping"] = True
    sys.unraisablehook = quiet_unraisable  # objects cut off half-built complain from __del__
    if _worker_state["busy"]:
        raise _Stop


def _attempt_in_worker(work: Work, task: Task) -> Result:
    if _worker_state["stopping"]:
        return Result(task.source, task.output, "cancelled")
    _worker_state["busy"] = True
    try:
        return attempt(work, task)
    except _Stop:
        return Result(task.source, task.output, "cancelled")
    finally:
        _worker_state["busy"] = False
