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
from typing import Any

from sobelcli.cli.batch.types import Result, Task, Work


def attempt(work: Work, task: Task) -> Result:
    """Run ``work`` on one task; an ordinary exception becomes an error result."""
    start = time.perf_counter()
    try:
        info = dict(work(task))
    except Exception as exc:  # noqa: BLE001 - every failure is this input's, in one line
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
        info.pop("shape", None),
        time.perf_counter() - start,
        info.pop("notes", []),
        info.pop("warnings", []),
        info,
    )


def error_message(source: str, exc: BaseException) -> str:
    """One line naming the input; ImageError messages already name their file."""
    from sobelcli.io import ImageError

    text = " ".join(str(exc).split()) or type(exc).__name__
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
    if threads is not None:
        os.environ["SOBELCLI_THREADS"] = str(threads)


def _on_stop(signum: int, frame: FrameType | None) -> None:
    _worker_state["stopping"] = True
    sys.unraisablehook = _quiet_unraisable  # objects cut off half-built complain from __del__
    if _worker_state["busy"]:
        raise _Stop


def _quiet_unraisable(unraisable: Any) -> None:
    """Say nothing about errors in ``__del__`` once stopping."""


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
