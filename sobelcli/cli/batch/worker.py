"""One task in a worker: the attempt, its error line, and the worker's signal handling.

Workers ignore SIGINT (Ctrl-C reaches the whole process group; the parent decides). SIGTERM
and the other terminating signals (SIGHUP, SIGUSR1, SIGUSR2, SIGALRM) end a worker: at once
when it is idle, and when busy after its task has unwound (an exception), so that a write in
progress removes its temporary file first. The pool then sees a worker gone, as it would by
default; a worker that lingered instead could wait forever on a queue lock held by a sibling
that was killed.

A worker also stops when its parent dies (SIGKILL, a crash): on Linux the kernel sends it
SIGTERM (the parent-death signal), elsewhere a thread watches the parent's pid and sends it.
No worker outlives its batch.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from sobelcli.cli.batch.types import Result, Task, Work
from sobelcli.cli.main import one_line, quiet_unraisable, terminating_signals


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
    """Raised in a busy worker by a terminating signal: the task unwinds, cleaning up its files."""


#: A worker's state: busy with a task; the signal that stopped it (0: none); and the batch's
#: shared array where each task records the pid of the worker that started it.
_worker_state: dict[str, Any] = {"busy": False, "stopping": 0, "started": None}


#: What a worker catches: SIGINT (ignored: the parent decides) and the terminating signals.
STOP_SIGNALS = {signal.SIGINT, *terminating_signals()}

#: Linux's prctl option that asks for a signal when the parent dies.
PR_SET_PDEATHSIG = 1

#: How often the watchdog thread looks at the parent's pid, where prctl is not available.
WATCH_SECONDS = 0.5


@contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold the stop signals back (they are delivered on leaving), where the OS allows."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _init_worker(threads: int | None, parent: int = 0, started: Any = None) -> None:
    """Set up a worker: signal handlers, the watch on ``parent`` (its pid), its threads."""
    _worker_state.update(busy=False, stopping=0, started=started)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in terminating_signals():
        # SIGTERM always (the parent stops its workers with it); the others unless ignored
        # since the start (nohup), as in the parent.
        if signum == signal.SIGTERM or signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, _on_stop)
    if parent:
        _watch_parent(parent)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    from sobelcli.engine import set_threads

    set_threads(threads)


def _watch_parent(parent: int) -> None:
    """Get SIGTERM when the parent dies: prctl on Linux, a watchdog thread elsewhere."""
    if not _set_parent_death_signal(signal.SIGTERM):
        threading.Thread(target=_watchdog, args=(parent,), name="parent-watch", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the signal was asked for
        os._exit(128 + signal.SIGTERM)


def _set_parent_death_signal(signum: int) -> bool:
    """Ask the kernel for ``signum`` when the parent dies; False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)  # this process's symbols: libc's among them
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watchdog(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)  # handled in the main thread, as the kernel's would be


def _on_stop(signum: int, frame: FrameType | None) -> None:
    if _worker_state["stopping"]:
        return  # unwinding already: a second exception could skip the clean-up
    _worker_state["stopping"] = signum
    sys.unraisablehook = quiet_unraisable  # objects cut off half-built complain from __del__
    if _worker_state["busy"]:
        raise _Stop(signum)
    _exit(signum)  # idle: nothing to clean up


def _exit(signum: int) -> None:
    files = sys.modules.get("sobelcli.io.files")
    if files is not None:
        files.remove_unfinished()
    os._exit(128 + signum)


def _attempt_in_worker(work: Work, task: Task, index: int = -1) -> Result:
    try:
        _worker_state["busy"] = True
        started = _worker_state["started"]
        if started is not None and 0 <= index < len(started):
            started[index] = os.getpid()
        return attempt(work, task)
    except _Stop:  # the task has unwound: its temporary file is gone
        _exit(int(_worker_state["stopping"] or signal.SIGTERM))
        raise  # not reached
    finally:
        _worker_state["busy"] = False
