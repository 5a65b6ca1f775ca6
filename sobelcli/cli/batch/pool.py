"""A batch's process pool: runs the tasks, stops the workers cleanly on an interrupt."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
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
        with _signals_blocked():  # the workers start with them blocked, until their handlers
            self._pool = ProcessPoolExecutor(
                workers, mp_context=_context(), initializer=_init_worker, initargs=(threads,)
            )
            self._futures = {
                self._pool.submit(_attempt_in_worker, self.work, t): t for t in self._tasks
            }
            self._procs = dict(getattr(self._pool, "_processes", None) or {})

    def results(self, fail_fast: bool = False) -> Iterator[Result]:
        """Results as tasks finish; after the first error with ``fail_fast``, only running ones."""
        if self._pool is None:
            for task in self._tasks:
                result = attempt(self.work, task)
                yield result
                if fail_fast and result.status == "error":
                    return
            return
        for future in as_completed(self._futures):
            result = self._collect(future)
            if result.status == "cancelled":
                continue
            yield result
            if fail_fast and result.status == "error":
                for other in self._futures:
                    other.cancel()

    def _collect(self, future: Future[Result]) -> Result:
        task = self._futures[future]
        if future.cancelled():
            return Result(task.source, task.output, "cancelled")
        try:
            return future.result()
        except _Stop:
            return Result(task.source, task.output, "cancelled")
        except BaseException as exc:  # noqa: BLE001 - a worker died (out of memory, a crash)
            return Result(
                task.source,
                task.output,
                "error",
                error_message(task.source, exc).replace(
                    "internal error", "the worker process failed", 1
                ),
            )

    def _close(self, abort: bool) -> None:
        assert self._pool is not None
        escalate = [signal.SIGTERM, getattr(signal, "SIGKILL", signal.SIGTERM)]
        if abort:
            for future in self._futures:
                future.cancel()
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


def _context() -> Any:
    """Fork on Linux: the workers start in milliseconds, before any thread of ours exists."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return None
