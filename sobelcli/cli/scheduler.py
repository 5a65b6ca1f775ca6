"""``--scheduler ADDRESS``: ``edges`` and ``grad-input`` on a dask.distributed cluster.

A command adds :data:`scheduler_option` and, given an address, hands its IMAGE arguments and
its per-input job to :func:`run_on_cluster` instead of ``run_images``:

- a batch (several IMAGEs, a folder, a pattern) is planned as the local batch plans it (the
  same outputs, ``--skip-existing``, conflicts), and each file becomes one dask task that runs
  the command's own job on a worker; the lines, ``--json`` records, summary and exit status
  are the local batch's. A worker that dies fails its file (one error line) and the batch goes
  on, as a nanny restarts the worker;
- one TIFF or Zarr IMAGE written to ``-o OUT.zarr`` is cut into chunks that the workers read,
  compute (``map_overlap``) and write (:mod:`sobelcli.dask.cluster`); the client builds the
  graph and draws the progress;
- any other single IMAGE is one task on one worker, reported as a local run reports it.

An unreachable scheduler is one line and exit 1 before any work; a dead worker or a lost
scheduler in a single image is one line and exit 1, with no partial output (outputs are
written to a temporary beside the target and renamed). Workers must see the same paths and
have sobelcli installed. This module imports only click at first: ``--help`` stays light.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # pragma: no cover
    from sobelcli.cli.batch import BatchOptions, Result, Task

#: The environment variable that gives ``--scheduler`` when the option is not on the line.
ENVVAR = "SOBELCLI_SCHEDULER"
#: Worker processes of ``--scheduler local`` (one engine thread each per core they share).
LOCAL_WORKERS = 2
#: Seconds to wait for a remote scheduler before saying it cannot be reached.
CONNECT_TIMEOUT = 5.0
#: Chunks of a huge image are about CHUNK x CHUNK pixels (whole stored tiles): 16 MB of
#: float32, so that the client's and scheduler's cost per chunk stays well under the workers'.
CHUNK = 2048

scheduler_option = click.option(
    "--scheduler",
    metavar="ADDRESS",
    envvar=ENVVAR,
    show_envvar=True,
    default=None,
    help="Run on a dask.distributed cluster. ADDRESS is its scheduler (tcp://HOST:8786, as "
    "'dask scheduler' prints it), or 'local' to start a LocalCluster of 2 worker processes on "
    "127.0.0.1. A batch becomes one task per file; one TIFF or Zarr IMAGE with -o OUT.zarr is "
    "cut into chunks shared by the workers. Workers need sobelcli installed and must see the "
    "same paths. Needs pip install 'sobelcli[dask]'.",
)


def run_on_cluster(
    name: str,
    images: Sequence[str],
    output: str | None,
    job: Any,
    batch: BatchOptions,
    address: str,
    *,
    suffix: str,
    as_json: bool,
    quiet: bool,
    protected: Sequence[str] = (),
    describe: Callable[[Result], str] | None = None,
) -> None:
    """Run a command's ``job`` on each image on the cluster at ``address``; as ``run_images``.

    Exits 1 (``click.exceptions.Exit``) when an input of a batch failed; a single image that
    fails, or a cluster that cannot be reached, raises a ``click.ClickException``.
    """
    from sobelcli.cli.batch.inputs import is_batch

    _refuse_unused(images, output)
    try:
        import sobelcli.dask.cluster  # noqa: F401 - here, for one line if it is missing
    except ImportError as exc:
        raise click.ClickException(
            f"--scheduler needs dask and distributed ({exc}): pip install 'sobelcli[dask]'"
        ) from None
    if is_batch(images, output):
        _batch(name, images, output, job, batch, address, suffix, as_json, quiet, protected)
        return
    from sobelcli.cli.batch import report_single, single_target, skipped

    image = images[0]
    target = single_target(image, output, batch, suffix, protected)
    if skipped(image, target, batch, as_json, quiet):
        return
    if _chunked(image, target, job):
        result = _huge_image(name, image, target, job, address, as_json, quiet)
    else:
        result = _one_file(image, target, job, address, as_json)
    report_single(result, as_json, quiet, describe)


def _refuse_unused(images: Sequence[str], output: str | None) -> None:
    from sobelcli.cli.options import refuse_unused

    ctx = click.get_current_context()
    refuse_unused(ctx, "with --scheduler (the cluster's workers share the work)", "jobs")
    if ctx.params.get("wrt", "input") != "input":
        raise click.UsageError("--scheduler computes dL/dX (--wrt input); drop one")
    if "-" in images or output == "-":
        raise click.UsageError(
            "--scheduler: the workers read and write files; '-' (stdin, stdout) cannot go to "
            "a cluster"
        )


@contextlib.contextmanager
def _client(address: str, as_json: bool, **keys: Any) -> Iterator[Any]:
    """A client of the cluster; failing to connect prints one line (and one JSON record)."""
    from sobelcli.cli.options import json_errors
    from sobelcli.dask.cluster import ClusterOptions, connect

    with contextlib.ExitStack() as stack:
        with json_errors(as_json, **keys):
            options = ClusterOptions(n_workers=LOCAL_WORKERS, connect_timeout=CONNECT_TIMEOUT)
            client = stack.enter_context(connect(address, options))
        yield client


def _died(task: Task, message: str) -> Result:
    """The result of a file whose worker died: one error line, as the local batch gives."""
    from sobelcli.cli.batch import Result

    why = "the dask worker running it died (killed, or out of memory?)"
    return Result(task.source, task.output, "error", f"{task.source}: {why}")


def _work(job: Any) -> Callable[[Task], Result]:
    """The picklable per-file work of a task: the job in ``attempt``, as in a local worker."""
    from sobelcli.cli.batch.worker import attempt

    return functools.partial(attempt, job)


# --- a batch --------------------------------------------------------------------------------


def _batch(
    name: str,
    images: Sequence[str],
    output: str | None,
    job: Any,
    batch: BatchOptions,
    address: str,
    suffix: str,
    as_json: bool,
    quiet: bool,
    protected: Sequence[str],
) -> None:
    """A batch planned and reported as the local one, its tasks run by a :class:`ClusterRunner`."""
    from sobelcli.cli.batch import plan_batch
    from sobelcli.cli.batch.run import execute

    tasks, decided = plan_batch(images, output, batch, suffix, protected)
    stopped = batch.fail_fast and any(r.status == "error" for r in decided)
    with contextlib.ExitStack() as stack:  # no cluster for a batch with nothing to run
        client = stack.enter_context(_client(address, as_json)) if tasks and not stopped else None
        runner = ClusterRunner(job, client)
        tally = execute(name, tasks, decided, runner, batch.fail_fast, as_json, quiet)
    if tally.error or tally.not_run:
        raise click.exceptions.Exit(1)


class ClusterRunner:
    """Runs a batch's tasks on a cluster, for ``sobelcli.cli.batch.run.execute``.

    The same interface as the local process pool (``start``, ``results``, ``failure``): each
    task is one dask task running the command's job in ``attempt``; a worker that dies fails
    its file; a lost scheduler ends the batch, the rest ``cancelled``. The client is the
    caller's (None when there is nothing to run).
    """

    def __init__(self, job: Any, client: Any) -> None:
        self.job, self._client = job, client
        self.failure: str | None = None
        self._tasks: list[Task] = []

    def __enter__(self) -> ClusterRunner:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        """Nothing to stop: the tasks of an interrupted batch end with the caller's client."""

    def start(self, tasks: Sequence[Task]) -> None:
        """Keep the tasks; they are sent to the cluster as results are asked for."""
        self._tasks = list(tasks)

    def results(self, fail_fast: bool = False) -> Iterator[Result]:
        """Results as the workers finish them."""
        from sobelcli.cli.batch import Result
        from sobelcli.dask.cluster import ClusterError, run_batch

        if not self._tasks or self._client is None:
            return
        stop = (lambda r: r.status == "error") if fail_fast else None
        done: set[Task] = set()
        try:
            for task, result in run_batch(
                self._client,
                _work(self.job),
                self._tasks,
                name=lambda t: t.source,
                died=_died,
                stop=stop,
            ):
                done.add(task)
                yield result
        except ClusterError as exc:  # the scheduler went away: the rest are not run
            self.failure = str(exc)
            for task in self._tasks:
                if task not in done:
                    yield Result(task.source, task.output, "cancelled", f"not run: {exc}")


# --- one image ------------------------------------------------------------------------------


def _chunked(image: str, target: str, job: Any) -> bool:
    """True for a TIFF or Zarr image to a ``.zarr``, with options the chunked path knows."""
    from sobelcli.cli.stream_probe import is_zarr_store
    from sobelcli.dask.read import is_tiff

    if Path(target.rstrip("/")).suffix.lower() != ".zarr" or not job.plain:
        return False
    return is_zarr_store(image) or (os.path.isfile(image) and is_tiff(Path(image)))


def _one_file(image: str, target: str, job: Any, address: str, as_json: bool) -> Result:
    """One IMAGE as one task on one worker; a dead worker is the image's error."""
    from sobelcli.cli.batch import Result, Task
    from sobelcli.dask.cluster import ClusterError, run_batch

    with _client(address, as_json, input=image, output=target) as client:
        try:
            ((_, result),) = run_batch(client, _work(job), [Task(image, target)], died=_died)
        except ClusterError as exc:  # the scheduler went away
            return Result(image, target, "error", f"{image}: {exc}")
    return result


def _huge_image(
    name: str, image: str, target: str, job: Any, address: str, as_json: bool, quiet: bool
) -> Result:
    """One TIFF or Zarr image into a Zarr array, chunk by chunk on the workers."""
    from sobelcli.cli import report
    from sobelcli.cli.batch import Result
    from sobelcli.cli.main import one_line
    from sobelcli.cli.stream_probe import is_zarr_store

    if os.path.isdir(target) and not is_zarr_store(target):
        return Result(image, target, "error", f"{target}: is a folder, not a Zarr array")
    start = time.perf_counter()
    with _client(address, as_json, input=image, output=target) as client:
        try:
            with report.progress(f"{name} (chunks)", None, quiet) as bar:
                task_id = bar.task_ids[0]

                def progress(done: int, total: int) -> None:
                    bar.update(task_id, completed=done, total=total, extra="chunks")

                if name == "edges":
                    shape, figures = _edges(client, image, target, job, progress)
                else:
                    shape, figures = _grad(client, image, target, job, progress)
        except (ValueError, OSError) as exc:
            text = one_line(exc)
            if not text.startswith(f"{image}: "):
                text = f"{image}: {text}"
            return Result(image, target, "error", text, seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    return Result(image, target, "ok", None, shape, seconds, extra=figures)


def _edges(client: Any, image: str, target: str, job: Any, progress: Any) -> tuple[Any, Any]:
    from sobelcli.dask import cluster

    options = cluster.EdgeOptions(
        kind=job.kind,
        operator=job.operator,
        normalize=job.normalize,
        pad=job.pad,
        threshold=job.threshold,
        channel=job.read.channel,
        alpha=job.read.alpha,
        chunk=CHUNK,
    )
    summary = cluster.edges_to_zarr(
        client, image, target, options, overwrite=True, progress=progress
    )
    return list(summary.shape), {}


def _grad(client: Any, image: str, target: str, job: Any, progress: Any) -> tuple[Any, Any]:
    from sobelcli.dask import cluster

    options = cluster.GradOptions(
        kernel=job.kernel,
        loss=job.loss,
        channel=job.read.channel,
        alpha=job.read.alpha,
        chunk=CHUNK,
    )
    summary = cluster.grad_input_to_zarr(
        client, image, target, options, overwrite=True, progress=progress
    )
    figures = {
        "wrt": "input",
        "kernel": job.kernel_name,
        "loss": job.loss,
        "L": summary.loss_value,
        "min": summary.minimum,
        "max": summary.maximum,
    }
    return list(summary.shape), figures
