"""Futures followed to their end on the client, and a batch run as one task per file.

- :func:`results` follows futures as they finish, with progress, and turns what went wrong
  with the cluster into a one-line :class:`~sobelcli.dask.client.ClusterError`.
- :func:`run_batch` runs a picklable ``work(task)`` on each task, one dask task each, keeping
  no more tasks in flight than the cluster has threads: a worker that dies takes only the task
  it was running with it, and a batch that stops early leaves the rest unstarted.
"""

# dask and distributed ship no type hints for most of their functions.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError
from typing import Any, Protocol, TypeVar

from distributed import Client, as_completed
from distributed.scheduler import KilledWorker

from sobelcli.dask.client import ClusterError, lost

__all__ = ["Progress", "Work", "died_on", "results", "run_batch"]

#: ``progress(done, total)``: called after each finished chunk or file.
Progress = Callable[[int, int], None]

T = TypeVar("T")
R = TypeVar("R")
T_contra = TypeVar("T_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)


class Work(Protocol[T_contra, R_co]):
    """The per-file function of a batch: ``work(task) -> result``.

    It runs on the workers, so it must pickle: a top-level function of an importable module
    (or an instance of a top-level class, such as a frozen dataclass with ``__call__``), and
    its task and result must pickle too. It should catch its own per-file errors and report
    them in its result: an exception it raises ends the whole batch.
    """

    def __call__(self, task: T_contra, /) -> R_co:
        """Process one task on a worker."""
        ...


def died_on(name: str) -> str:
    """The one-line message of a worker that died while working on ``name``."""
    return f"a dask worker died while working on {name} (killed, or out of memory?)"


def results(
    client: Client,
    futures: dict[Any, str],
    progress: Progress | None = None,
    done: int = 0,
    total: int = 0,
    *,
    feed: Callable[[], list[Any]] | None = None,
    on_death: Callable[[Any, str], Any] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """``(future, result)`` of the futures as they finish, with progress; errors translated.

    ``futures`` maps each future to the name of its work (a file, a chunk). After each finished
    future, ``feed()`` may return new futures to wait for too (adding them to ``futures``).
    The work's own exception is re-raised as it is; a lost scheduler is a ClusterError, and so
    is a dead worker unless ``on_death(future, message)`` gives the result to yield instead.
    On leaving early (an error, Ctrl-C, a closed generator) the unfinished futures are
    cancelled.
    """
    try:
        finished = as_completed(
            list(futures), loop=client.loop, with_results=True, raise_errors=False
        )
        for future, result in finished:
            name = futures[future]
            if future.status == "error":
                exc = future.exception()
                if isinstance(exc, KilledWorker):
                    if on_death is None:
                        raise ClusterError(died_on(name)) from None
                    result = on_death(future, died_on(name))
                else:
                    future.result()  # re-raises the work's exception, with its traceback
            elif future.status != "finished" or isinstance(result, CancelledError):
                raise lost(client)  # cancelled: the scheduler went away
            done += 1
            if progress is not None:
                progress(done, total)
            yield future, result
            for more in feed() if feed is not None else ():
                finished.add(more)
    except OSError as exc:  # the comm to the scheduler closed while waiting
        if client.status not in ("running", "connecting"):
            raise lost(client) from exc
        raise
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:
            with contextlib.suppress(Exception):
                client.cancel(pending)


def run_batch(
    client: Client,
    work: Work[T, R],
    tasks: Iterable[T],
    *,
    name: Callable[[T], str] = str,
    progress: Progress | None = None,
    died: Callable[[T, str], R] | None = None,
    stop: Callable[[R], bool] | None = None,
) -> Iterator[tuple[T, R]]:
    """Run ``work(task)`` for every task on the cluster, one dask task each.

    No more tasks are in flight than the cluster has threads (at least 1), so each worker
    holds only what it runs: a worker that dies takes only its own task with it.

    Parameters
    ----------
    client : distributed.Client
        From :func:`connect`.
    work : Work
        A picklable top-level function (or callable object) taking one task.
    tasks : iterable
        Picklable tasks (say, input and output paths); each is sent to one worker.
    name : callable, optional
        How a task is named in a :class:`ClusterError` (default ``str``).
    progress : callable, optional
        ``progress(done, total)`` after each finished task.
    died : callable, optional
        ``died(task, message)``: the result of a task whose worker died (the batch goes on);
        without it a dead worker ends the batch with :class:`ClusterError`.
    stop : callable, optional
        ``stop(result)`` true: start no more tasks; those running still finish and are yielded.

    Yields
    ------
    (task, result)
        In the order the tasks finish.

    Raises
    ------
    ClusterError
        A worker died while running a task (the message names it), or the scheduler was lost.
    Exception
        Whatever ``work`` raised, re-raised as it is; the tasks not yet finished are cancelled.
    """
    items = list(tasks)
    token = uuid.uuid4().hex[:12]
    by_future: dict[Any, T] = {}
    names: dict[Any, str] = {}
    queue = iter(enumerate(items))
    stopped = False

    def feed() -> list[Any]:
        """Submit tasks until as many are in flight as the cluster has threads (at least 1)."""
        if stopped:
            return []
        slots = max(1, sum(client.nthreads().values()))
        new: list[Any] = []
        while len(by_future) < slots:
            i, task = next(queue, (-1, None))
            if i < 0:
                break
            future = client.submit(work, task, key=f"sobelcli-batch-{token}-{i}", pure=False)
            by_future[future] = task  # type: ignore[assignment]
            names[future] = name(task)  # type: ignore[arg-type]
            new.append(future)
        return new

    feed()
    on_death = None if died is None else (lambda f, msg: died(by_future[f], msg))
    for future, result in results(
        client, names, progress, 0, len(items), feed=feed, on_death=on_death
    ):
        task = by_future.pop(future)
        names.pop(future, None)
        if stop is not None and stop(result):
            stopped = True
        yield task, result
