"""Shared by the dask tests: a watchdog on every test, and one LocalCluster per module.

The cluster (2 worker processes bound to 127.0.0.1, no dashboard) is started by the first test
of a module that asks for it and closed when the module ends, whatever happened. Not later:
its threads (the client's event loop, the nannies' watchers) must be gone before the tests of
other folders fork their batch pools in the same process (a fork copies no thread, and a lock
one of them held would stay locked in the child). Every test runs under a SIGALRM watchdog,
so a hung scheduler fails the test instead of CI.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

#: Seconds a test (or the cluster's start) may take before it fails.
WATCHDOG_SECONDS = 60


def _expire(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError(f"ran over the {WATCHDOG_SECONDS} s watchdog")


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """Fail a test (and so close what it started) if it runs over WATCHDOG_SECONDS."""
    if not hasattr(signal, "SIGALRM"):  # pragma: no cover - not POSIX
        yield
        return
    previous = signal.signal(signal.SIGALRM, _expire)
    signal.alarm(WATCHDOG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def cluster_client() -> Iterator[Any]:
    """A client of a LocalCluster of 2 processes on 127.0.0.1, closed at the end of the module."""
    pytest.importorskip("distributed")
    from sobelcli.dask import cluster

    previous = signal.signal(signal.SIGALRM, _expire) if hasattr(signal, "SIGALRM") else None
    if previous is not None:
        signal.alarm(WATCHDOG_SECONDS)
    try:
        with cluster.connect("local", cluster.ClusterOptions(n_workers=2)) as client:
            if previous is not None:
                signal.alarm(0)
            yield client
    finally:
        if previous is not None:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def client(cluster_client: Any) -> Any:
    """The shared cluster's client, once both workers are up (a test may have killed one)."""
    cluster_client.wait_for_workers(2, timeout=30)
    return cluster_client


def by_value(module: Any) -> Iterator[None]:
    """Send the functions of a test module to the workers by value (they cannot import it)."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(module)
    try:
        yield
    finally:
        cloudpickle.unregister_pickle_by_value(module)
