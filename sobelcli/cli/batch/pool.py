"""A batch's process pool: runs the tasks, stops the workers cleanly on an interrupt.

When a worker dies (the out-of-memory killer, a crash), the pool is broken: the input it was
working on gets one error line saying so, and every input not yet done is returned as not run
(status ``cancelled``, with the reason), not each with the pool's long message.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any

from sobelcli.cli.batch.types import Result, Task, Work
from sobelcli.cli.batch.worker import (
    _attempt_in_worker,
    _init_worker,
    _signals_blocked,
    _Stop,
    attempt,
    error_message,
)
from sobelcli.cli.main import signal_name, stops_deferred

#: The reason given for the inputs not run after a worker died.
WORKER_DIED = "a worker process died"


def default_jobs() -> int:
    """The number of cores this process may use: one worker each."""
    from sobelcli.engine import cpu_count

    return cpu_count()


class Runner:
    """Runs tasks with ``jobs`` processes (in this process for one); a context manager.

    Leaving the ``with`` block normally waits for the running tasks; leaving it by an
    exception (Ctrl-C, SIGTERM) cancels what has not started and stops the workers, whose
    writes in progress remove their temporary files. A second interrupt kills them.
    """

    def __init__(self, work: Work, jobs: int = 1) -> None:
        self.work = work
        self.jobs = max(1, jobs)
        self._tasks: list[Task] = []
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[Future[Result], Task] = {}
        self._procs: dict[int, Any] = {}
        self._index: dict[Future[Result], int] = {}
        self._started: Any = None
        #: One line about a worker that died with no input to blame (it was idle), or None.
        self.failure: str | None = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._pool is not None:
            self._close(abort=kind is not None)

    def start(self, tasks: Sequence[Task]) -> None:
        """Queue the tasks; with a pool, the workers start now (before any progress thread)."""
        self._tasks = list(tasks)
        workers = min(self.jobs, len(self._tasks))
        if workers < 2:
            return
        threads = max(1, default_jobs() // workers)
        context = _context()
        # Each task records the pid of the worker that starts it: if a worker dies, its input
        # is the one to blame, and the others were not run.
        self._started = (context or multiprocessing.get_context()).RawArray("i", len(self._tasks))
        with _signals_blocked():  # the workers start with them blocked, until their handlers
            self._pool = ProcessPoolExecutor(
                workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(threads, os.getpid(), self._started),
            )
            for i, task in enumerate(self._tasks):
                future = self._pool.submit(_attempt_in_worker, self.work, task, i)
                self._futures[future] = task
                self._index[future] = i
            self._procs = dict(getattr(self._pool, "_processes", None) or {})

    def results(self, fail_fast: bool = False) -> Iterator[Result]:
        """Results as tasks finish; after the first error with ``fail_fast``, only running ones.

        A task cancelled by ``fail_fast`` gives nothing; one not run because a worker died (or
        was stopped by a signal) gives a ``cancelled`` result whose ``error`` says why.
        """
        if self._pool is None:
            for task in self._tasks:
                result = attempt(self.work, task)
                yield result
                if fail_fast and result.status == "error":
                    return
            return
        pending = set(self._futures)
        stopping = False
        while pending:
            # While stopping, the pool's thread cancels what has not started; a cancelled
            # future never wakes a waiter, hence the look at each. A stop signal is raised
            # between waits, never inside one: ``wait`` takes every future's lock in turn, and
            # an exception there would leave some held, and the pool's thread stuck at exit.
            with stops_deferred():
                done, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            if stopping:
                done |= {f for f in pending if f.cancelled()}
            for future in sorted(done, key=self._index.__getitem__):
                pending.discard(future)
                if _broken(future):
                    yield from self._after_death(
                        sorted(pending, key=self._index.__getitem__), future
                    )
                    return
                result = self._collect(future)
                if result.status == "cancelled" and not result.error:
                    continue
                yield result
                if fail_fast and result.status == "error" and not stopping:
                    # Cancelled by the pool's own thread: cancelling here could race with a
                    # worker's death, which Python 3.11 does not survive.
                    stopping = True
                    self._pool.shutdown(wait=False, cancel_futures=True)

    def _collect(self, future: Future[Result]) -> Result:
        task = self._futures[future]
        if future.cancelled():
            return Result(task.source, task.output, "cancelled")
        try:
            return future.result()
        except _Stop:
            return Result(task.source, task.output, "cancelled")
        except BaseException as exc:  # noqa: BLE001 - a failure of the worker, not the input
            return Result(
                task.source,
                task.output,
                "error",
                error_message(task.source, exc).replace(
                    "internal error", "the worker process failed", 1
                ),
            )

    def _after_death(self, rest: list[Future[Result]], first: Future[Result]) -> Iterator[Result]:
        """A worker died: the pool fails every pending task at once. Sort them out.

        Tasks that finished before still give their results; the one the dead worker was on
        gives one error line; the others are not run.
        """
        # The pool fails them all together: this is a moment (a cancelled one never wakes us).
        wait([f for f in rest if not f.cancelled()], timeout=30)
        # The pool then stops the other workers with SIGTERM: they exit 128 + 15 once their
        # tasks have unwound. The worker that died first is the one with another exit code.
        dead = self._dead_workers()
        codes = {pid: code for pid, code in dead.items() if code != 128 + signal.SIGTERM}
        broken = [first, *(f for f in rest if _broken(f))]
        blamed = [f for f in broken if self._started_by(f) in codes]
        for future in rest:
            if future.done() and not _broken(future):
                result = self._collect(future)
                if result.status != "cancelled" or result.error:
                    yield result
        if not blamed:  # it died idle, or before it said which task it had
            how = ", ".join(sorted({_how_it_died(c) for c in (codes or dead).values()}))
            self.failure = f"{WORKER_DIED} ({how or _how_it_died(None)})"
        for future in blamed:
            task = self._futures[future]
            code = codes.get(self._started_by(future))
            yield Result(
                task.source,
                task.output,
                "error",
                f"{task.source}: the worker process failed: it died ({_how_it_died(code)})",
            )
        for future in sorted(broken, key=self._index.__getitem__):
            if future not in blamed:
                task = self._futures[future]
                yield Result(task.source, task.output, "cancelled", WORKER_DIED)

    def _started_by(self, future: Future[Result]) -> int:
        started = self._started
        i = self._index.get(future, -1)
        return int(started[i]) if started is not None and 0 <= i < len(started) else 0

    def _dead_workers(self, timeout: float = 5.0) -> dict[int, int | None]:
        """The workers that died: pid and exit code (negative: the signal that killed it)."""
        procs = list(self._procs.items())
        try:
            ready = set(multiprocessing.connection.wait([p.sentinel for _, p in procs], 0))
        except (OSError, ValueError):
            ready = set()
        codes: dict[int, int | None] = {}
        deadline = time.monotonic() + timeout
        for pid, proc in procs:
            if proc.sentinel not in ready:
                continue
            code = proc.exitcode  # None for a moment if the pool's thread is reaping it too
            while code is None and time.monotonic() < deadline:
                time.sleep(0.01)
                code = proc.exitcode
            if code != 0:
                codes[pid] = code
        return codes

    def _close(self, abort: bool) -> None:
        assert self._pool is not None
        escalate = [signal.SIGTERM, getattr(signal, "SIGKILL", signal.SIGTERM)]
        if abort:
            # What has not started is cancelled by the pool's thread; the workers, told to
            # stop, unwind their tasks (removing temporary files) and exit.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._signal(escalate.pop(0))
        interrupt: BaseException | None = None
        while True:
            try:
                self._pool.shutdown(wait=True, cancel_futures=True)
                break
            except BaseException as exc:  # another Ctrl-C or SIGTERM while waiting: press harder
                interrupt = interrupt or exc
                if not escalate:
                    raise
                self._signal(escalate.pop(0))
        if interrupt is not None:
            raise interrupt

    def _signal(self, signum: int) -> None:
        procs = {**self._procs, **(getattr(self._pool, "_processes", None) or {})}
        for proc in procs.values():
            try:
                if proc.is_alive() and proc.pid:
                    os.kill(proc.pid, signum)
            except (OSError, ValueError, AssertionError):
                pass


def _broken(future: Future[Result]) -> bool:
    """True when the future failed because a worker of the pool died."""
    return (
        future.done()
        and not future.cancelled()
        and isinstance(future.exception(), BrokenProcessPool)
    )


def _how_it_died(code: int | None) -> str:
    """``killed by SIGKILL; out of memory?``, ``stopped by SIGHUP``, ``exit status 3``."""
    if code is None:
        return "killed, or out of memory?"
    if code < 0:
        kill = getattr(signal, "SIGKILL", None)
        return f"killed by {signal_name(-code)}" + ("; out of memory?" if -code == kill else "")
    if code > 128 and not signal_name(code - 128).startswith("signal "):
        return f"stopped by {signal_name(code - 128)}"  # a worker's own exit after a signal
    return f"exit status {code}"


def _context() -> Any:
    """Fork on Linux: the workers start in milliseconds, before any thread of ours exists."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return None
