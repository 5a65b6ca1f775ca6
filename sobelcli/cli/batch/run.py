"""A batch's report: each result as it comes, a progress bar, and the summary at the end."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sobelcli.cli import report
from sobelcli.cli.batch.types import Result, Task
from sobelcli.cli.main import stops_deferred


@dataclass
class Tally:
    """Counts of a batch, for its summary."""

    total: int = 0
    ok: int = 0
    error: int = 0
    skipped: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    stopped: str = "stopped at the first failure"
    not_run: int = 0  # inputs reported as not run: a worker died or was stopped

    @property
    def not_done(self) -> int:
        """Inputs neither finished nor decided: the summary's ``cancelled``.

        Cancelled by --fail-fast or an interrupt, or not run after a worker died.
        """
        return self.total - self.ok - self.error - self.skipped

    def summary(self) -> dict[str, Any]:
        """The final JSON line."""
        return {
            "summary": True,
            "ok": self.ok,
            "error": self.error,
            "skipped": self.skipped,
            "cancelled": self.not_done,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 4),
        }


class BatchRunner(Protocol):
    """What runs a batch's tasks: the local process pool (:class:`Runner`) or a cluster.

    A context manager; ``start`` queues the tasks, ``results`` yields one :class:`Result` per
    task as it finishes, and ``failure`` says, once set, why the rest will not run.
    """

    failure: str | None

    def __enter__(self) -> BatchRunner: ...

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> Any: ...

    def start(self, tasks: Sequence[Task]) -> None:
        """Queue the tasks (workers may start now)."""

    def results(self, fail_fast: bool = False) -> Iterator[Result]:
        """Results as tasks finish; after the first error with ``fail_fast``, running ones."""


def execute(
    name: str,
    tasks: Sequence[Task],
    decided: Sequence[Result],
    runner: BatchRunner,
    fail_fast: bool,
    as_json: bool,
    quiet: bool,
) -> Tally:
    """Run a planned batch with ``runner`` and report it, the summary even when interrupted.

    Inputs not run because a worker died get a ``not run`` line (JSON status ``cancelled``)
    and count in ``Tally.not_run``.
    """
    tally = Tally(total=len(tasks) + len(decided))
    start = time.perf_counter()
    since = time.time_ns()
    seen: set[str] = set()
    try:
        for result in decided:
            report_result(result, tally, as_json, quiet)
        if fail_fast and tally.error:
            return tally
        with runner:
            runner.start(tasks)
            with report.progress(name, len(tasks), quiet) as bar:
                task_id = bar.task_ids[0]
                for result in runner.results(fail_fast):
                    if runner.failure and not tally.not_run:
                        report.console().print(
                            f"error: {runner.failure}", markup=False, style="red"
                        )
                    # A stop signal waits until the result is counted, told and marked seen:
                    # else the summary would count it twice, or tell it without its line.
                    with stops_deferred():
                        report_result(result, tally, as_json, quiet)
                        seen.add(result.input)
                    done = bar.tasks[0].completed + 1
                    rate = done / max(time.perf_counter() - start, 1e-9)
                    bar.update(task_id, completed=done, extra=f"{rate:.1f}/s")
    except BaseException as exc:
        tally.interrupted = not isinstance(exc, Exception)
        tally.stopped = stopped_by(exc)
        if tally.interrupted:
            _written_before_the_stop(tasks, seen, since, tally, as_json, quiet)
        raise
    finally:
        tally.seconds = time.perf_counter() - start
        finish(name, tally, as_json, quiet)
    return tally


def _written_before_the_stop(
    tasks: Sequence[Task], seen: set[str], since: int, tally: Tally, as_json: bool, quiet: bool
) -> None:
    """Count the outputs a worker finished as the batch was stopped, before it could say so.

    An output whose file this batch wrote (modified since it started) is reported as written,
    so that the summary accounts for every output that exists.
    """
    for task in tasks:
        if task.source in seen:
            continue
        try:
            written = os.stat(task.output).st_mtime_ns >= since
        except OSError:
            continue
        if written:
            report_result(Result(task.source, task.output, "ok"), tally, as_json, quiet)


def stopped_by(exc: BaseException) -> str:
    """How a batch was stopped, for its summary line."""
    if not isinstance(exc, Exception):
        return "interrupted"
    if isinstance(exc, BrokenPipeError):
        return "stopped as stdout was closed"
    if isinstance(exc, OSError) and "stdout" in str(exc):
        return "stopped as stdout failed"
    return f"stopped by {type(exc).__name__}"


def report_result(result: Result, tally: Tally, as_json: bool, quiet: bool) -> None:
    """Count one result and tell it: a note, warning or error line, and its JSON line."""
    if result.status == "ok":
        tally.ok += 1
        for note in result.notes:
            report.info(f"{result.input}: {note}", quiet)
        for text in result.warnings:
            report.warn(f"{result.input}: {text}")
    elif result.status == "skipped":
        tally.skipped += 1
        report.info(f"skipped: {result.input}: {result.output} exists", quiet)
    elif result.status == "cancelled":  # not run, and why: counted in the summary's "cancelled"
        tally.not_run += 1
        tally.stopped = result.error or "not run"
        report.console().print(f"not run: {result.input}", markup=False)
        if as_json:
            report.emit_json({**result.record(), "error": f"not run: {tally.stopped}"})
        return
    else:
        tally.error += 1
        report.console().print(f"error: {result.error}", markup=False, style="red")
    if as_json:
        report.emit_json(result.record())


def finish(name: str, tally: Tally, as_json: bool, quiet: bool) -> None:
    """The summary: one line on stderr, and the summary JSON line."""
    text = (
        f"{name}: {tally.ok} written, {tally.error} failed, {tally.skipped} skipped "
        f"in {tally.seconds:.1f} s"
    )
    if tally.not_done:
        text += f"; {tally.stopped}, {tally.not_done} not done"
    if tally.interrupted:
        report.console().print(text, markup=False)
    else:
        report.info(text, quiet)
    if as_json:
        report.emit_json(tally.summary())
