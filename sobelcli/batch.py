"""Batches: many images through one command, in parallel processes, one result per input.

The command's IMAGE arguments (files, folders, glob patterns) become :class:`Source` s;
:func:`plan` gives each an output and sorts out those that cannot or need not run;
:class:`Runner` calls the command's per-image work function on each :class:`Task`, in a
process pool or, with one job, in this process; :func:`execute` reports every
:class:`Result` as it comes (a line on stderr for a problem, a JSON line with ``--json``, a
progress bar on a terminal) and a summary at the end, also when interrupted.

Nothing here computes or decodes: the work function, a top-level function of the command's
module (so that it pickles by name), does. Workers ignore SIGINT (Ctrl-C reaches the whole
process group; the parent decides) and turn SIGTERM into an exception, so that a write in
progress removes its temporary file before the worker stops.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import click

from . import report

#: Files a folder argument contributes (a file named on the command line is read whatever its name).
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".npy"}
)
GLOB_CHARS = frozenset("*?[")
#: Output extension of each ``--format``.
FORMAT_SUFFIXES = {"png": ".png", "npy": ".npy", "tiff": ".tif"}
EXISTING = ("error", "skip", "overwrite")


@dataclass(frozen=True)
class Source:
    """One input: its path, the path its output keeps under ``-o``, and how it was found."""

    path: str
    rel: str
    found: bool = False  # in a folder or by a pattern, rather than named


@dataclass(frozen=True)
class Task:
    """What a work function gets: the input, the output, and the command's options."""

    source: str
    output: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    """The outcome of one input; ``status`` is ok, error, skipped, or cancelled (not reported)."""

    input: str
    output: str | None
    status: str
    error: str | None = None
    shape: list[int] | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The JSON line of this result."""
        return {
            "input": self.input,
            "output": self.output,
            "status": self.status,
            "error": self.error,
            "shape": self.shape,
            "seconds": round(self.seconds, 4),
            **self.extra,
        }


Work = Callable[[Task], dict[str, Any]]


# --- inputs -------------------------------------------------------------------------------


def is_pattern(arg: str) -> bool:
    """A glob pattern the shell left alone: glob characters, and no file of that name."""
    return bool(GLOB_CHARS & set(arg)) and not os.path.lexists(arg)


def is_batch(args: Sequence[str], output: str | None = None) -> bool:
    """Several arguments, a folder, a pattern, or ``-o`` an existing folder (or ending in /).

    One file (or ``-``) with ``-o FILE`` is not a batch.
    """
    if len(args) != 1:
        return True
    if args[0] == "-":
        return False
    if os.path.isdir(args[0]) or is_pattern(args[0]):
        return True
    return output is not None and (os.path.isdir(output) or output.endswith(("/", os.sep)))


def expand(args: Iterable[str], recursive: bool = False) -> tuple[list[Source], list[Result]]:
    """The sources named by the arguments, and an error for each argument that names none.

    A folder gives its image files (by extension; hidden files skipped), and with
    ``recursive`` those of its subfolders, each keeping its path relative to the folder. A
    pattern gives the files it matches (``**`` descends with ``recursive``), relative to its
    leading folder. Any other argument is a file, kept by its name, read whatever it is.
    """
    sources: list[Source] = []
    problems: list[Result] = []
    for arg in args:
        if os.path.isdir(arg):
            files = _walk(arg, recursive)
            base = arg
            why = "no image files in this folder" + ("" if recursive else " (add --recursive?)")
        elif is_pattern(arg):
            files = sorted(m for m in glob.glob(arg, recursive=recursive) if os.path.isfile(m))
            base, why = _pattern_base(arg), "no file matches this pattern"
        else:
            sources.append(Source(arg, os.path.basename(arg.rstrip("/")) or arg))
            continue
        if not files:
            problems.append(Result(arg, None, "error", f"{arg}: {why}"))
        sources += [Source(f, os.path.relpath(f, base), found=True) for f in files]
    return sources, problems


def _wanted(name: str) -> bool:
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES


def _walk(folder: str, recursive: bool) -> list[str]:
    if not recursive:
        with os.scandir(folder) as entries:
            return sorted(e.path for e in entries if _wanted(e.name) and e.is_file())
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        paths = (os.path.join(root, f) for f in sorted(files) if _wanted(f))
        found += [p for p in paths if os.path.isfile(p)]
    return found


def _pattern_base(pattern: str) -> str:
    head: list[str] = []
    for part in Path(pattern).parts[:-1]:
        if GLOB_CHARS & set(part):
            break
        head.append(part)
    return os.path.join(*head) if head else "."


# --- outputs ------------------------------------------------------------------------------


def output_for(source: Source, out_dir: str | None, suffix: str, ext: str) -> str:
    """``NAME{suffix}{ext}`` beside the input, or under ``out_dir`` at the input's relative path."""
    rel = Path(source.rel)
    name = f"{rel.stem}{suffix}{ext}"
    if out_dir is None:
        return str(Path(source.path).with_name(name))
    return str(Path(out_dir, rel.parent, name))


def _key(path: str) -> str:
    return os.path.realpath(path)


def plan(
    sources: Sequence[Source],
    out_dir: str | None,
    suffix: str,
    ext: str,
    existing: str = "error",
    options: dict[str, Any] | None = None,
) -> tuple[list[Task], list[Result]]:
    """One task per input, and the results decided before running (errors, skipped).

    Inputs found in a folder or by a pattern are dropped when they are this batch's own
    outputs (from an earlier run) or lie under ``out_dir``. An output that is an input, or
    the output of another input, is an error. An existing output is an error, skipped, or
    replaced, as ``existing`` says ("error", "skip", "overwrite").
    """
    outputs = {s: output_for(s, out_dir, suffix, ext) for s in sources}
    kept = _inputs(sources, {_key(o) for o in outputs.values()}, out_dir)
    inputs = {_key(s.path) for s in kept}
    tasks: list[Task] = []
    decided: list[Result] = []
    claimed: dict[str, str] = {}
    for s in kept:
        out = outputs[s]
        problem = _conflict(s, out, inputs, claimed, existing)
        claimed.setdefault(_key(out), s.path)
        if problem == "skip":
            decided.append(Result(s.path, out, "skipped"))
        elif problem:
            decided.append(Result(s.path, out, "error", problem))
        else:
            tasks.append(Task(s.path, out, dict(options or {})))
    return tasks, decided


def _inputs(sources: Sequence[Source], own_outputs: set[str], out_dir: str | None) -> list[Source]:
    """The sources once each, without found ones that are outputs (of this batch, or under -o)."""
    root = _key(out_dir) + os.sep if out_dir else None
    kept: list[Source] = []
    seen: set[str] = set()
    for s in sources:
        key = _key(s.path)
        if key in seen or (s.found and (key in own_outputs or (root and key.startswith(root)))):
            continue
        seen.add(key)
        kept.append(s)
    return kept


def _conflict(
    s: Source, out: str, inputs: set[str], claimed: dict[str, str], existing: str
) -> str | None:
    key = _key(out)
    if key in inputs:
        return f"{s.path}: its output {out} is an input of this batch; it would be overwritten"
    if key in claimed:
        return f"{s.path}: its output {out} is also the output of {claimed[key]}"
    if os.path.isdir(out):
        return f"{s.path}: its output {out} is a folder"
    if os.path.lexists(out):
        if existing == "skip":
            return "skip"
        if existing != "overwrite":
            return f"{s.path}: {out} exists (--overwrite replaces it, --skip-existing keeps it)"
    return None


# --- running ------------------------------------------------------------------------------


def default_jobs() -> int:
    """The number of cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


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
    from .images import ImageError

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
        threads = None if os.environ.get("SOBELCLI_THREADS") else max(1, default_jobs() // workers)
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


# --- reporting ----------------------------------------------------------------------------


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

    @property
    def not_done(self) -> int:
        """Inputs neither finished nor decided: cancelled by --fail-fast or an interrupt."""
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


def execute(
    name: str,
    tasks: Sequence[Task],
    decided: Sequence[Result],
    work: Work,
    *,
    jobs: int,
    fail_fast: bool,
    as_json: bool,
    quiet: bool,
) -> Tally:
    """Run a planned batch and report it; the summary is printed even when interrupted."""
    tally = Tally(total=len(tasks) + len(decided))
    start = time.perf_counter()
    try:
        for result in decided:
            _report(result, tally, as_json, quiet)
        if fail_fast and tally.error:
            return tally
        with Runner(work, jobs) as runner:
            runner.start(tasks)
            with report.progress(name, len(tasks), quiet) as bar:
                task_id = bar.task_ids[0]
                for result in runner.results(fail_fast):
                    _report(result, tally, as_json, quiet)
                    done = bar.tasks[0].completed + 1
                    rate = done / max(time.perf_counter() - start, 1e-9)
                    bar.update(task_id, completed=done, extra=f"{rate:.1f}/s")
    except BaseException as exc:
        tally.interrupted = not isinstance(exc, Exception)
        tally.stopped = _stopped_by(exc)
        raise
    finally:
        tally.seconds = time.perf_counter() - start
        _finish(name, tally, as_json, quiet)
    return tally


def _stopped_by(exc: BaseException) -> str:
    if not isinstance(exc, Exception):
        return "interrupted"
    if isinstance(exc, BrokenPipeError):
        return "stopped as stdout was closed"
    return f"stopped by {type(exc).__name__}"


def _report(result: Result, tally: Tally, as_json: bool, quiet: bool) -> None:
    if result.status == "ok":
        tally.ok += 1
        for note in result.notes:
            report.info(f"{result.input}: {note}", quiet)
        for text in result.warnings:
            report.warn(f"{result.input}: {text}")
    elif result.status == "skipped":
        tally.skipped += 1
        report.info(f"skipped: {result.input}: {result.output} exists", quiet)
    else:
        tally.error += 1
        report.console().print(f"error: {result.error}", markup=False, style="red")
    if as_json:
        report.emit_json(result.record())


def _finish(name: str, tally: Tally, as_json: bool, quiet: bool) -> None:
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


# --- the command side ---------------------------------------------------------------------


def run_command(
    name: str,
    args: Sequence[str],
    work: Work,
    options: dict[str, Any],
    *,
    output: str | None,
    suffix: str,
    fmt: str,
    recursive: bool,
    jobs: int | None,
    fail_fast: bool,
    existing: str,
    as_json: bool,
    quiet: bool,
) -> None:
    """What ``edges`` and ``grad-input`` do with a batch; exits 1 when an input failed."""
    if "-" in args:
        raise click.UsageError("'-' (stdin) takes a single IMAGE, not a batch")
    out_dir = _output_folder(output)
    sources, problems = expand(args, recursive)
    tasks, decided = plan(
        sources, out_dir, suffix, FORMAT_SUFFIXES[fmt], existing, {**options, "make_folder": True}
    )
    if out_dir is not None and tasks:
        from .images import make_folder

        make_folder(out_dir)
    tally = execute(
        name,
        tasks,
        [*problems, *decided],
        work,
        jobs=jobs or default_jobs(),
        fail_fast=fail_fast,
        as_json=as_json,
        quiet=quiet,
    )
    if tally.error:
        raise click.exceptions.Exit(1)


def _output_folder(output: str | None) -> str | None:
    if output is None:
        return None
    if output == "-":
        raise click.BadParameter(
            "with several inputs -o names a folder, not stdout", param_hint="-o"
        )
    if os.path.exists(output) and not os.path.isdir(output):
        raise click.BadParameter(
            f"{output!r} is a file; with several inputs -o names a folder", param_hint="-o"
        )
    if not os.path.isdir(output) and Path(output).suffix.lower() in {
        ".png",
        ".npy",
        ".tif",
        ".tiff",
    }:
        raise click.BadParameter(
            f"{output!r} looks like a file; with several inputs -o names "
            "a folder (created if missing)",
            param_hint="-o",
        )
    return output
