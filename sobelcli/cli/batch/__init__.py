"""Images through a command: one IMAGE or a batch, by one path, one result per input.

A command hands :func:`run_images` its IMAGE arguments and its per-input work (a picklable
:data:`Work`: a frozen dataclass of its options with ``__call__(task) -> Done``). One file
runs here, in this process, and reports a line (or one JSON record); several files, a folder
or a pattern make a batch: :func:`~.plan.make_plan` gives each input an output and sorts out
those that cannot or need not run, :class:`~.pool.Runner` calls the work on each
:class:`Task` in a process pool, and :func:`~.run.execute` reports every :class:`Result` as
it comes and a summary at the end.

- :mod:`.types`: the records (:class:`BatchOptions`, :class:`Source`, :class:`Task`,
  :class:`Done`, :class:`Result`);
- :mod:`.inputs`: expanding files, folders and glob patterns;
- :mod:`.plan`: each input's output, and the conflicts;
- :mod:`.worker`: one task in a worker process, and its signal handling;
- :mod:`.pool`: the process pool, stopped cleanly on an interrupt;
- :mod:`.run`: running a planned batch, its progress bar and summary.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from sobelcli.cli.batch.inputs import expand, is_batch, is_pattern
from sobelcli.cli.batch.plan import make_plan, output_name
from sobelcli.cli.batch.types import BatchOptions, Done, Result, Task, Work
from sobelcli.names import FORMAT_SUFFIX, OUTPUT_SUFFIXES

# The process pool (multiprocessing, concurrent.futures: 25 ms of imports) and the worker's
# signal handling are imported when a batch runs, not for one IMAGE.

__all__ = [
    "BatchOptions",
    "Done",
    "Result",
    "Task",
    "Work",
    "plan_batch",
    "report_single",
    "run_images",
    "single_target",
    "skipped",
]


def run_images(
    name: str,
    images: Sequence[str],
    output: str | None,
    work: Work,
    batch: BatchOptions,
    *,
    suffix: str,
    as_json: bool,
    quiet: bool,
    protected: Sequence[str] = (),
    describe: Callable[[Result], str] | None = None,
) -> None:
    """Run ``work`` on each image; exit 1 (``click.exceptions.Exit``) when an input failed.

    Parameters
    ----------
    name : str
        The command, for the progress bar and the summary.
    images : sequence of str
        The IMAGE arguments: files, folders, patterns, or ``-``.
    output : str or None
        ``-o``: a file (or ``-``) for one IMAGE, a folder for a batch.
    work : Work
    batch : BatchOptions
    suffix : str
        Added to an input's stem to name its output (``_edges``).
    protected : sequence of str
        Other files the command reads (a kernel): no output may replace them.
    describe : callable, optional
        The "wrote ..." line of one IMAGE's result.
    """
    if is_batch(images, output):
        if "-" in images:
            raise click.UsageError("'-' (stdin) takes a single IMAGE, not a batch")
        from sobelcli.cli.batch.pool import Runner, default_jobs
        from sobelcli.cli.batch.run import execute

        tasks, decided = plan_batch(images, output, batch, suffix, protected)
        runner = Runner(work, batch.jobs or default_jobs())
        tally = execute(name, tasks, decided, runner, batch.fail_fast, as_json, quiet)
        if tally.error or tally.not_run:
            raise click.exceptions.Exit(1)
        return
    image = images[0]
    target = single_target(image, output, batch, suffix, protected, as_json)
    if skipped(image, target, batch, as_json, quiet):
        return
    from sobelcli.cli.batch.worker import attempt

    result = attempt(work, Task(image, target, fmt=batch.fmt), reraise=True)
    report_single(result, as_json, quiet, describe)


def plan_batch(
    images: Sequence[str],
    output: str | None,
    batch: BatchOptions,
    suffix: str,
    protected: Sequence[str] = (),
) -> tuple[list[Task], list[Result]]:
    """A batch's tasks, and the results decided before running (bad arguments, conflicts)."""
    out_dir = output_folder(output, batch_reason(images))
    sources, problems = expand(images, batch.recursive)
    ext = FORMAT_SUFFIX[batch.fmt or "png"]
    tasks, decided = make_plan(sources, out_dir, suffix, ext, batch.existing, protected, batch.name)
    return tasks, [*problems, *decided]


def single_target(
    image: str,
    output: str | None,
    batch: BatchOptions,
    suffix: str,
    protected: Sequence[str] = (),
    as_json: bool = False,
) -> str:
    """The output of one IMAGE (``-o``, ``--name``, or ``NAME{suffix}.png`` beside it), checked."""
    from sobelcli.cli.options import check_output, default_output, format_of

    ext = FORMAT_SUFFIX[batch.fmt or "png"]
    if output is None and batch.name is not None and image != "-":
        output = str(Path(image).with_name(output_name(image, suffix, ext, batch.name)))
    target = output or default_output(image, suffix, ext)
    if as_json and target == "-":
        raise click.UsageError("--json and an image on stdout (-o -) cannot share stdout")
    format_of(target, batch.fmt)
    check_output(target, [image, *protected])
    return target


def skipped(image: str, target: str, batch: BatchOptions, as_json: bool, quiet: bool) -> bool:
    """With --skip-existing, report an IMAGE whose output exists and return True."""
    if batch.existing != "skip" or target == "-" or not os.path.lexists(target):
        return False
    from sobelcli.cli import report

    report.info(f"skipped: {image}: {target} exists", quiet)
    if as_json:
        report.emit_json(Result(image, target, "skipped").record())
    return True


def report_single(
    result: Result, as_json: bool, quiet: bool, describe: Callable[[Result], str] | None
) -> None:
    """Report one IMAGE's result: notes, warnings, its JSON line and the "wrote" line.

    A failed one prints its JSON error line and raises ``click.ClickException`` (exit 1).
    """
    from sobelcli.cli import report

    if result.status == "error":
        if as_json:
            report.emit_json(result.record())
        raise click.ClickException(result.error or "failed")
    for note in result.notes:
        report.info(f"{result.input}: {note}", quiet)
    for text in result.warnings:
        report.warn(text)
    if as_json:
        report.emit_json(result.record())
    if result.output != "-" and describe is not None:
        report.info(describe(result), quiet)


def batch_reason(images: Sequence[str]) -> str:
    """Why the IMAGE arguments are a batch, for the messages about ``-o``."""
    if len(images) == 1 and is_pattern(images[0]):
        return f"{images[0]!r} is a pattern"
    if len(images) == 1 and os.path.isdir(images[0]):
        return f"{images[0]!r} is a folder"
    return "with several inputs"


def output_folder(output: str | None, reason: str = "with several inputs") -> str | None:
    """The folder -o names for a batch (None: beside each input); usage errors otherwise.

    ``reason`` (:func:`batch_reason`) starts the messages: why -o must name a folder.
    """
    if output is None:
        return None
    if output == "-":
        raise click.BadParameter(f"{reason}: -o names a folder, not stdout", param_hint="-o")
    if os.path.exists(output) and not os.path.isdir(output):
        raise click.BadParameter(
            f"{output!r} is a file; {reason}: -o names a folder", param_hint="-o"
        )
    if not os.path.isdir(output) and Path(output).suffix.lower() in OUTPUT_SUFFIXES:
        raise click.BadParameter(
            f"{output!r} looks like a file; {reason}: -o names a folder (created if missing)",
            param_hint="-o",
        )
    return output
