"""Batches: many images through one command, in parallel processes, one result per input.

The command's IMAGE arguments (files, folders, glob patterns) become :class:`Source` s;
:func:`plan` gives each an output and sorts out those that cannot or need not run;
:class:`Runner` calls the command's per-image work function on each :class:`Task`, in a
process pool or, with one job, in this process; :func:`execute` reports every
:class:`Result` as it comes (a line on stderr for a problem, a JSON line with ``--json``, a
progress bar on a terminal) and a summary at the end, also when interrupted.

Nothing here computes or decodes: the work function, a top-level function of the command's
module (so that it pickles by name), does. This module is what the commands call
(:func:`run_command`) and gathers the batch's parts, one job each:

- :mod:`sobelcli.cli.batch.types`: the records (:class:`Source`, :class:`Task`, :class:`Result`);
- :mod:`sobelcli.cli.batch.inputs`: expanding files, folders and glob patterns;
- :mod:`sobelcli.cli.batch.plan`: each input's output, and the conflicts;
- :mod:`sobelcli.cli.batch.worker`: one task in a worker process, and its signal handling;
- :mod:`sobelcli.cli.batch.pool`: the process pool, stopped cleanly on an interrupt;
- :mod:`sobelcli.cli.batch.run`: reporting each result, the progress bar and the summary.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from sobelcli.cli.batch.inputs import GLOB_CHARS, IMAGE_SUFFIXES, expand, is_batch, is_pattern
from sobelcli.cli.batch.plan import EXISTING, output_for, plan
from sobelcli.cli.batch.pool import Runner, default_jobs
from sobelcli.cli.batch.run import Tally, execute
from sobelcli.cli.batch.types import Result, Source, Task, Work
from sobelcli.cli.batch.worker import STOP_SIGNALS, attempt, error_message

__all__ = [
    "EXISTING",
    "FORMAT_SUFFIXES",
    "GLOB_CHARS",
    "IMAGE_SUFFIXES",
    "STOP_SIGNALS",
    "Result",
    "Runner",
    "Source",
    "Tally",
    "Task",
    "Work",
    "attempt",
    "default_jobs",
    "error_message",
    "execute",
    "expand",
    "is_batch",
    "is_pattern",
    "output_for",
    "plan",
    "run_command",
    "run_single",
    "skipped_single",
]

#: Output extension of each ``--format``.
FORMAT_SUFFIXES = {"png": ".png", "npy": ".npy", "tiff": ".tif"}


def skipped_single(image: str, target: str, as_json: bool, quiet: bool) -> bool:
    """For a single IMAGE with --skip-existing: report and return True when ``target`` exists."""
    if target in ("", "-") or not os.path.lexists(target):
        return False
    from sobelcli.cli import report

    report.info(f"skipped: {image}: {target} exists", quiet)
    if as_json:
        report.emit_json(Result(image, target, "skipped").record())
    return True


def run_single(work: Work, task: Task, as_json: bool) -> dict[str, Any]:
    """Run one IMAGE's work in this process; on failure print its JSON error line, then raise.

    So ``--json`` accounts for a single IMAGE as it does for each input of a batch.
    """
    try:
        return work(task)
    except ValueError as exc:  # ImageError too; the command's error boundary reports it
        if as_json:
            from sobelcli.cli import report

            report.emit_json(Result(task.source, task.output, "error", str(exc)).record())
        raise


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
        from sobelcli.io import make_folder

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
