"""sobelcli.dask.cluster on a LocalCluster of 2 worker processes bound to 127.0.0.1.

The cluster is the module's (tests/dask/conftest.py), closed whatever happens; every test
runs under a SIGALRM watchdog, so a hung scheduler fails the test instead of CI.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")
tifffile = pytest.importorskip("tifffile")

import imageio.v3 as iio  # noqa: E402

import sobelcli  # noqa: E402
from sobelcli.dask import cluster  # noqa: E402
from tests.dask.conftest import by_value  # noqa: E402

pytestmark = pytest.mark.xdist_group("dask-cluster")  # one cluster per run with --dist loadgroup

LUMINANCE = np.asarray(cluster.LUMINANCE, dtype=np.float32)


@pytest.fixture(autouse=True, scope="module")
def _functions_by_value() -> Iterator[None]:
    """The work functions below travel by value: the workers need not import this module."""
    yield from by_value(sys.modules[__name__])


def ready(client: Any) -> Any:
    """The client once both workers are up (a test may have killed one)."""
    client.wait_for_workers(2, timeout=30)
    return client


# --- work functions (top level: they run on the workers) ------------------------------------


def png_edges(task: tuple[str, str]) -> dict[str, Any]:
    """A batch's per-file work: PNG in, edge magnitude out as .npy."""
    source, output = task
    pixels = iio.imread(source).astype(np.float64) / 255.0
    edges = sobelcli.edge_magnitude(pixels)
    np.save(output, edges)
    return {"source": source, "output": output, "shape": list(edges.shape), "pid": os.getpid()}


def fail_on_bad(task: tuple[str, str]) -> dict[str, Any]:
    if "bad" in task[0]:
        raise ValueError(f"{task[0]}: not an image")
    return {"source": task[0]}


def die(task: Any) -> Any:
    """Kill the worker process running the victim, as the kernel's OOM killer would."""
    if task == "victim.png":
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return task


def negative_stops(task: int) -> int:
    time.sleep(0.1)
    return task


def engine_threads(task: Any) -> int:
    from sobelcli.engine import threads

    return threads()


def die_on_block(block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
    if block_info is not None and block_info[0]["chunk-location"] == (1, 1):
        os.kill(os.getpid(), signal.SIGKILL)
    return block


# --- connecting -----------------------------------------------------------------------------


def test_unreachable_scheduler_is_a_one_line_cluster_error() -> None:
    start = time.monotonic()
    with pytest.raises(cluster.ClusterError) as caught:
        with cluster.connect("tcp://127.0.0.1:1", cluster.ClusterOptions(connect_timeout=1)):
            pass  # pragma: no cover
    assert time.monotonic() - start < 8
    message = str(caught.value)
    assert isinstance(caught.value, ConnectionError)
    assert "tcp://127.0.0.1:1" in message and "\n" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_malformed_address_is_a_cluster_error() -> None:
    with pytest.raises(cluster.ClusterError, match="not a dask scheduler address"):
        with cluster.connect("nosuch://127.0.0.1:8786", cluster.ClusterOptions(connect_timeout=1)):
            pass  # pragma: no cover


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        cluster.ClusterOptions(n_workers=0)
    with pytest.raises(ValueError, match="threshold"):
        cluster.EdgeOptions(threshold=0.5, normalize=False)
    with pytest.raises(ValueError, match="pad mode"):
        cluster.EdgeOptions(pad="zero")


# --- a batch --------------------------------------------------------------------------------


def test_batch_of_pngs_to_npy(client: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    tasks = []
    for i in range(6):
        src = tmp_path / f"in{i}.png"
        iio.imwrite(src, rng.integers(0, 256, (20 + i, 17), dtype=np.uint8))
        tasks.append((str(src), str(tmp_path / f"in{i}_edges.npy")))
    seen: list[tuple[int, int]] = []
    results = dict(
        cluster.run_batch(
            ready(client), png_edges, tasks, progress=lambda d, t: seen.append((d, t))
        )
    )
    assert set(results) == set(tasks)
    assert seen[-1] == (6, 6) and len(seen) == 6
    assert {r["pid"] for r in results.values()} - {os.getpid()}  # ran in the workers
    for src, out in tasks:
        expected = sobelcli.edge_magnitude(iio.imread(src).astype(np.float64) / 255.0)
        assert np.array_equal(np.load(out), expected)
        assert results[(src, out)]["shape"] == list(expected.shape)


def test_work_exception_is_reraised(client: Any, tmp_path: Path) -> None:
    tasks = [("good.png", "a"), ("bad.png", "b")]
    with pytest.raises(ValueError, match=r"bad\.png: not an image"):
        list(cluster.run_batch(ready(client), fail_on_bad, tasks))


def test_a_worker_that_dies_names_the_task(client: Any) -> None:
    tasks = ["a.png", "victim.png", "b.png", "c.png", "d.png"]
    died = dict(
        cluster.run_batch(ready(client), die, tasks, died=lambda t, message: f"died: {message}")
    )
    # Only the task that killed its worker fails; the nanny restarts the worker, the rest run.
    assert died == {t: t for t in tasks if t != "victim.png"} | {
        "victim.png": "died: a dask worker died while working on victim.png "
        "(killed, or out of memory?)"
    }
    # Without died= it ends the batch with a one-line ClusterError: see the chunk test below.


def test_a_batch_stops_starting_tasks(client: Any) -> None:
    got = list(cluster.run_batch(ready(client), negative_stops, range(6), stop=lambda r: True))
    # At most one task per worker thread was in flight when the first finished; none started.
    assert 1 <= len(got) <= 2


def test_workers_share_their_cores_among_engine_threads(client: Any) -> None:
    from sobelcli.engine import cpu_count

    threads = {r for _, r in cluster.run_batch(ready(client), engine_threads, range(4))}
    assert threads == {max(1, cpu_count() // 2)}


# --- one huge image -------------------------------------------------------------------------


def no_leftovers(folder: Path) -> None:
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("options", "dtype"),
    [
        (cluster.EdgeOptions(chunk=32), np.float32),
        (cluster.EdgeOptions(kind="x", pad="wrap", chunk=16), np.float32),
        (cluster.EdgeOptions(kind="angle", pad="mirror", operator="scharr", chunk=40), np.float32),
        (
            cluster.EdgeOptions(pad="reflect", threshold=0.3, dtype="float64", chunk=24),
            np.float64,
        ),
        (cluster.EdgeOptions(kind="y", normalize=False, pad="nearest", chunk=16), np.float32),
    ],
)
def test_tiled_tiff_to_zarr_equals_in_memory(
    client: Any, tmp_path: Path, options: cluster.EdgeOptions, dtype: type
) -> None:
    pixels = np.random.default_rng(1).random((54, 66)).astype(np.float32)
    source = tmp_path / "big.tif"
    tifffile.imwrite(source, pixels, tile=(16, 16), bigtiff=True)
    target = tmp_path / "edges.zarr"
    seen: list[tuple[int, int]] = []
    summary = cluster.edges_to_zarr(
        ready(client), source, target, options, progress=lambda d, t: seen.append((d, t))
    )
    kind: Any = options.kind
    expected = sobelcli.edge_map(
        pixels.astype(dtype), kind, options.operator, options.normalize, options.pad
    )
    if options.threshold is not None:
        expected = (expected >= options.threshold).astype(expected.dtype)
    written = zarr.open_array(str(target), mode="r")
    assert written.dtype == expected.dtype
    assert np.array_equal(written[:], expected)
    assert summary.shape == expected.shape
    assert written.chunks == summary.chunks
    assert summary.maximum == float(expected.max()) and summary.minimum == float(expected.min())
    assert seen and seen[-1][0] == seen[-1][1] and len(seen) == seen[-1][1]
    assert written.attrs["sobelcli"]["kind"] == options.kind
    no_leftovers(tmp_path)


def test_colour_striped_tiff_is_read_as_grey(client: Any, tmp_path: Path) -> None:
    rgb = np.random.default_rng(2).integers(0, 256, (61, 47, 3), dtype=np.uint8)
    source = tmp_path / "rgb.tif"
    tifffile.imwrite(source, rgb, photometric="rgb", rowsperstrip=5)
    grey = cluster.open_image(source, chunk=10)
    assert grey.shape == (61, 47) and grey.dtype == np.float32
    scaled = rgb.astype(np.float32) * np.float32(1.0 / 255)
    r, g, b = (scaled[:, :, i] for i in range(3))
    expected_grey = r * LUMINANCE[0] + g * LUMINANCE[1] + b * LUMINANCE[2]  # elementwise
    assert np.array_equal(grey.compute(), expected_grey)
    np.testing.assert_allclose(  # and within rounding of skimage's rgb2gray dot product
        expected_grey, np.tensordot(scaled, LUMINANCE, axes=([2], [0])), rtol=1e-6
    )
    target = tmp_path / "rgb.zarr"
    cluster.edges_to_zarr(ready(client), source, target, cluster.EdgeOptions(chunk=10))
    written = zarr.open_array(str(target), mode="r")[:]
    assert np.array_equal(written, sobelcli.edge_magnitude(expected_grey))
    red = cluster.open_image(source, chunk=10, channel=0).compute()
    assert np.array_equal(red, scaled[:, :, 0])


@pytest.mark.parametrize("alpha", ["white", "black", "ignore"])
def test_alpha_is_composited_as_the_local_reader_does(tmp_path: Path, alpha: str) -> None:
    from sobelcli.io.pixels import to_float

    rgba = np.random.default_rng(7).integers(0, 256, (33, 29, 4), dtype=np.uint8)
    source = tmp_path / "rgba.tif"
    tifffile.imwrite(source, rgba, photometric="rgb", extrasamples=[2], tile=(16, 16))
    with dask.config.set(scheduler="synchronous"):
        got = cluster.open_image(source, chunk=8, alpha=alpha, dtype="float64").compute()
    assert np.array_equal(got, to_float(rgba, name="x", alpha=alpha))


def test_zarr_in_and_an_existing_target(client: Any, tmp_path: Path) -> None:
    pixels = np.random.default_rng(3).random((50, 40))
    source = tmp_path / "in.zarr"
    zarr.create_array(str(source), data=pixels, chunks=(8, 8))
    target = tmp_path / "out.zarr"
    options = cluster.EdgeOptions(dtype="float64", chunk=16)
    cluster.edges_to_zarr(ready(client), source, target, options, zarr_format=2)
    first = zarr.open_array(str(target))
    assert first.metadata.zarr_format == 2
    assert np.array_equal(first[:], sobelcli.edge_magnitude(pixels))
    with pytest.raises(FileExistsError):
        cluster.edges_to_zarr(client, source, target, options)
    cluster.edges_to_zarr(client, source, target, cluster.EdgeOptions(kind="x"), overwrite=True)
    replaced = zarr.open_array(str(target))[:]
    assert np.array_equal(replaced, sobelcli.edge_map(pixels.astype(np.float32), "x"))
    no_leftovers(tmp_path)


def test_a_failure_leaves_no_output(client: Any, tmp_path: Path) -> None:
    pixels = np.random.default_rng(4).random((40, 40))
    pixels[30, 5] = np.nan
    target = tmp_path / "nan.zarr"
    with pytest.raises(ValueError, match="NaN"):
        cluster.edges_to_zarr(
            ready(client), da.from_array(pixels, chunks=8), target, cluster.EdgeOptions()
        )
    assert not target.exists()
    no_leftovers(tmp_path)


def test_a_worker_dying_on_a_chunk_is_a_cluster_error(client: Any, tmp_path: Path) -> None:
    pixels = da.from_array(np.random.default_rng(5).random((40, 40)), chunks=10)
    doomed = pixels.map_blocks(die_on_block, dtype=pixels.dtype, meta=np.empty((0, 0)))
    target = tmp_path / "doomed.zarr"
    options = cluster.EdgeOptions(normalize=False)
    with pytest.raises(cluster.ClusterError) as caught:
        cluster.edges_to_zarr(ready(client), doomed, target, options)
    message = str(caught.value)
    assert "worker died" in message and "chunk (" in message and "\n" not in message
    assert not target.exists()
    no_leftovers(tmp_path)
    ready(client)


def test_connect_local_closes_what_it_started() -> None:
    psutil = pytest.importorskip("psutil")
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    with cluster.connect("local", cluster.ClusterOptions(n_workers=1)) as c:
        assert len(c.scheduler_info()["workers"]) == 1
        started = {p.pid for p in me.children(recursive=True)} - before
        assert started
    assert c.status == "closed"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and {p.pid for p in me.children(recursive=True)} & started:
        time.sleep(0.1)
    assert not {p.pid for p in me.children(recursive=True)} & started


@pytest.mark.parametrize(
    ("kernel", "loss", "chunk"),
    [("sobel-x", "sumsq", 16), ("laplace", "logcosh", 24), ("box3", "softplus", 40)],
)
def test_grad_input_to_zarr_equals_in_memory(
    client: Any, tmp_path: Path, kernel: str, loss: str, chunk: int
) -> None:
    from sobelcli.core.losses import get_loss

    pixels = np.random.default_rng(6).integers(0, 256, (40, 52), dtype=np.uint8)
    source = tmp_path / "x.tif"
    tifffile.imwrite(source, pixels, tile=(16, 16))
    k = sobelcli.parse_kernel(kernel)
    options = cluster.GradOptions(kernel=k, loss=loss, chunk=chunk)
    target = tmp_path / "g.zarr"
    summary = cluster.grad_input_to_zarr(ready(client), source, target, options)
    x = pixels.astype(np.float64) * (1 / 255)
    lo = get_loss(loss)
    y = sobelcli.correlate2d(x, k)
    expected = sobelcli.grad_input(lo.grad(y), k)
    written = zarr.open_array(str(target), mode="r")[:]
    assert written.dtype == np.float32 and summary.shape == expected.shape
    assert np.array_equal(written, expected.astype(np.float32))
    assert (summary.minimum, summary.maximum) == (expected.min(), expected.max())
    assert summary.loss_value == pytest.approx(lo.value(y), rel=1e-12)
    no_leftovers(tmp_path)
