"""Connecting to a dask scheduler (or starting a local cluster), and closing it.

- :func:`connect` opens a :class:`distributed.Client` to a scheduler address, or to a
  ``LocalCluster`` of worker processes on 127.0.0.1 for ``"local"``, and always closes what it
  opened. An unreachable scheduler raises :class:`ClusterError` (a ``ConnectionError``) with a
  one-line message naming the address. Every worker, those that join later included, gets its
  share of the engine's threads (:class:`EngineThreads`, which calls
  :func:`sobelcli.engine.set_threads`).
- :func:`sobelcli.dask.tasks.run_batch` runs a batch on the client, one task per file.

Workers must see the same files at the same paths (one machine, or a shared file system) and
have sobelcli installed.
"""

# dask and distributed ship no type hints for most of their functions.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

try:
    import dask
    from distributed import Client, LocalCluster
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError as exc:  # pragma: no cover - the extra is not installed
    raise ImportError(
        f"sobelcli.dask.cluster needs dask and distributed ({exc}); "
        "install them with: pip install 'sobelcli[dask]'"
    ) from exc

__all__ = ["ClusterError", "ClusterOptions", "EngineThreads", "connect", "lost"]


class ClusterError(ConnectionError):
    """The cluster failed: the scheduler is unreachable or lost, or a worker died.

    ``str(error)`` is one line that names the scheduler address, file or chunk.
    """


@dataclass(frozen=True)
class ClusterOptions:
    """How :func:`connect` connects, and the ``LocalCluster`` it starts for ``"local"``.

    Attributes
    ----------
    n_workers : int
        Worker processes of a local cluster.
    threads_per_worker : int
        Task threads of each local worker.
    engine_threads : int or None
        Threads of sobelcli's engine in each worker (:func:`sobelcli.engine.set_threads`).
        None: the worker's cores shared among its task threads, and for a local cluster among
        its workers too.
    connect_timeout : float
        Seconds to wait for a remote scheduler before :class:`ClusterError`.
    allowed_failures : int
        Local cluster only: how many worker deaths a task may cause before it fails (dask's
        ``distributed.scheduler.allowed-failures``; a remote scheduler keeps its own setting).
        0: a task that kills its worker fails at once, instead of killing up to 4 workers.
    quiet : bool
        Keep distributed's own log lines (worker restarts, closed streams) off stderr.
    """

    n_workers: int = 2
    threads_per_worker: int = 1
    engine_threads: int | None = None
    connect_timeout: float = 5.0
    allowed_failures: int = 0
    quiet: bool = True

    def __post_init__(self) -> None:
        if self.n_workers < 1 or self.threads_per_worker < 1:
            raise ValueError("a local cluster needs at least 1 worker with at least 1 thread")
        if self.engine_threads is not None and self.engine_threads < 1:
            raise ValueError(f"engine_threads must be at least 1, got {self.engine_threads}")
        if not self.connect_timeout > 0:
            raise ValueError(f"connect_timeout must be positive, got {self.connect_timeout}")
        if self.allowed_failures < 0:
            raise ValueError(f"allowed_failures must be >= 0, got {self.allowed_failures}")


class EngineThreads(WorkerPlugin):
    """A worker plugin that gives sobelcli's engine its share of the worker's cores.

    ``threads`` None: the cores sobelcli's engine sees, divided by the worker's task threads
    (a ``dask worker`` with one thread per core gets 1 engine thread per task).
    """

    idempotent = True  # registering it again (a second client) changes nothing

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def setup(self, worker: Any) -> None:
        """Called on each worker as it starts, or at once on those running."""
        from sobelcli.engine import cpu_count, set_threads

        state = getattr(worker, "state", None)
        tasks = int(getattr(state, "nthreads", 0) or getattr(worker, "nthreads", 1) or 1)
        set_threads(self.threads or max(1, cpu_count() // tasks))


# --- connecting -----------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_logs(quiet: bool) -> Iterator[None]:
    """Raise the level of distributed's loggers in this process while the cluster runs."""
    if not quiet:
        yield
        return
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def first_line(exc: BaseException) -> str:
    """The first line of an error's message, or its type's name."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _close(client: Client | None, cluster: LocalCluster | None) -> None:
    """Close the client, then the local cluster; never raise (we may be unwinding an error)."""
    if client is not None:
        with contextlib.suppress(Exception):
            client.close(timeout=10)
    if cluster is not None:
        with contextlib.suppress(Exception):
            cluster.close(timeout=10)


def _local_cluster(options: ClusterOptions) -> LocalCluster:
    config = {
        "distributed.scheduler.allowed-failures": options.allowed_failures,
        "distributed.scheduler.worker-saturation": 1.0,  # no task waits on a busy worker
    }
    with dask.config.set(config):
        return LocalCluster(
            n_workers=options.n_workers,
            processes=True,
            threads_per_worker=options.threads_per_worker,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.CRITICAL if options.quiet else logging.WARNING,
            # No dashboard; the scheduler's health routes on a free loopback port.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )


def _engine_threads(options: ClusterOptions, local: bool) -> int | None:
    if options.engine_threads is not None or not local:
        return options.engine_threads
    from sobelcli.engine import cpu_count

    return max(1, cpu_count() // (options.n_workers * options.threads_per_worker))


@contextlib.contextmanager
def connect(address: str, options: ClusterOptions | None = None) -> Iterator[Client]:
    """A client of a dask scheduler, closed (with any cluster it started) on leaving.

    Parameters
    ----------
    address : str
        A scheduler address (``tcp://HOST:8786``, or ``HOST:PORT``), or ``"local"`` to start a
        ``LocalCluster`` of ``options.n_workers`` worker processes bound to 127.0.0.1, with no
        dashboard.
    options : ClusterOptions, optional

    Yields
    ------
    distributed.Client
        Not set as dask's default scheduler: pass it to the functions of this package.

    Raises
    ------
    ClusterError
        The scheduler did not answer within ``options.connect_timeout`` seconds, the address is
        malformed, or the local cluster did not start.

    Examples
    --------
    >>> with connect("local") as client:  # doctest: +SKIP
    ...     for task, result in run_batch(client, work, tasks):
    ...         print(task, result)
    """
    options = options or ClusterOptions()
    local = address == "local"
    client: Client | None = None
    cluster: LocalCluster | None = None
    with _quiet_logs(options.quiet):
        try:
            if local:
                cluster = _local_cluster(options)
                client = Client(cluster, set_as_default=False)
            else:
                client = Client(
                    address, timeout=f"{options.connect_timeout}s", set_as_default=False
                )
            plugin = EngineThreads(_engine_threads(options, local))
            client.register_plugin(plugin, name="sobelcli-engine-threads")
        except (OSError, TimeoutError, RuntimeError) as exc:
            _close(client, cluster)
            if local:
                raise ClusterError(
                    f"could not start a local dask cluster: {first_line(exc)}"
                ) from None
            raise ClusterError(
                f"cannot reach the dask scheduler at {address} "
                f"(no answer within {options.connect_timeout:g} s)"
            ) from None
        except ImportError as exc:  # a worker could not unpickle the plugin
            _close(client, cluster)
            raise ClusterError(
                f"the dask workers of {address} cannot import sobelcli ({first_line(exc)}); "
                "install sobelcli[dask] on them"
            ) from None
        except (ValueError, TypeError) as exc:
            _close(client, cluster)
            raise ClusterError(
                f"{address!r} is not a dask scheduler address (such as tcp://HOST:8786, or "
                f"'local'): {first_line(exc)}"
            ) from None
        except BaseException:
            _close(client, cluster)
            raise
        try:
            yield client
        finally:
            _close(client, cluster)


def _address(client: Client) -> str:
    try:
        return str(getattr(client.scheduler, "address", None) or "the scheduler")
    except Exception:  # noqa: BLE001 - only for a message
        return "the scheduler"


def lost(client: Client) -> ClusterError:
    """The error of a client whose scheduler went away."""
    return ClusterError(f"lost the connection to the dask scheduler at {_address(client)}")
