"""``--scheduler`` on edges and grad-input: the same outputs, lines and exit codes as a local run.

Two real processes (``--scheduler local`` on a folder, and ``SOBELCLI_SCHEDULER`` on a TIFF to
Zarr), the rest through CliRunner against the module's LocalCluster (tests/dask/conftest.py);
everything binds to 127.0.0.1 only, runs under the SIGALRM watchdog, and is stopped on failure
(a real process in its own process group, killed whole). The local runs they are compared with
take ``--jobs 1``: no batch pool is forked while the cluster's threads run in this process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

distributed = pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")
tifffile = pytest.importorskip("tifffile")

import imageio.v3 as iio  # noqa: E402

from sobelcli.cli import scheduler  # noqa: E402
from sobelcli.cli.batch import Task  # noqa: E402
from sobelcli.cli.main import cli  # noqa: E402
from tests.dask.conftest import by_value  # noqa: E402

pytestmark = pytest.mark.xdist_group("dask-cluster")  # one cluster per run with --dist loadgroup

UNREACHABLE = "tcp://127.0.0.1:1"


@pytest.fixture(autouse=True, scope="module")
def _functions_by_value() -> Iterator[None]:
    yield from by_value(sys.modules[__name__])


@pytest.fixture
def address(client: Any) -> str:
    return str(client.scheduler.address)


def run(*args: str, **env: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env or None, catch_exceptions=False)


def sobelcli_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``sobelcli ARGS`` in its own process group, killed whole if it overruns or fails."""
    merged = {k: v for k, v in os.environ.items() if k != scheduler.ENVVAR}
    merged.update({"NO_COLOR": "1", **(env or {})})
    command = [sys.executable, "-m", "sobelcli", *args]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=merged,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=45)
    finally:
        try:  # the process, and any worker it started that outlived it
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def records(stdout: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The input lines (by input, without seconds) and the summary of --json output."""
    found = [json.loads(line) for line in stdout.splitlines() if line.strip()]
    summary = next((r for r in found if r.get("summary")), None)
    lines = sorted(
        ({k: v for k, v in r.items() if k != "seconds"} for r in found if not r.get("summary")),
        key=lambda r: r["input"],
    )
    return lines, summary


def images(folder: Path, n: int = 4) -> Path:
    rng = np.random.default_rng(0)
    (folder / "sub").mkdir(parents=True)
    for i in range(n):
        pixels = rng.integers(0, 256, (30 + i, 40), dtype=np.uint8)
        iio.imwrite(folder / ("sub" if i % 2 else ".") / f"p{i}.png", pixels)
    (folder / "bad.png").write_bytes(b"not a png")
    return folder


def tiled_tiff(path: Path, shape: tuple[int, int] = (90, 110)) -> Path:
    pixels = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    tifffile.imwrite(path, pixels, tile=(16, 16))
    return path


def same_files(a: Path, b: Path) -> None:
    names = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


# --- real processes -------------------------------------------------------------------------


def test_a_folder_on_a_local_cluster_equals_the_local_batch(tmp_path: Path) -> None:
    src = images(tmp_path / "in")
    args = ["edges", str(src), "-r", "--json", "--pad", "reflect"]
    here = run(*args, "-o", str(tmp_path / "local"), "-j", "1")
    there = sobelcli_process(*args, "-o", str(tmp_path / "cluster"), "--scheduler", "local")
    assert there.returncode == here.exit_code == 1  # bad.png
    same_files(tmp_path / "local", tmp_path / "cluster")
    local_lines, local_summary = records(here.stdout)
    lines, summary = records(there.stdout)
    assert [r | {"output": None} for r in lines] == [r | {"output": None} for r in local_lines]
    assert summary is not None and local_summary is not None
    assert {k: v for k, v in summary.items() if k != "seconds"} == {
        k: v for k, v in local_summary.items() if k != "seconds"
    }
    assert "Traceback" not in there.stderr
    assert f"error: {src / 'bad.png'}: not a readable image" in there.stderr
    assert "edges: 4 written, 1 failed, 0 skipped" in there.stderr


def test_a_tiff_to_zarr_through_the_environment_variable(tmp_path: Path, address: str) -> None:
    source = tiled_tiff(tmp_path / "big.tif")
    target = tmp_path / "edges.zarr"
    done = sobelcli_process(
        "edges", str(source), "-o", str(target), "--json", env={scheduler.ENVVAR: address}
    )
    assert done.returncode == 0, done.stderr
    [line], _ = records(done.stdout)
    assert line == {
        "input": str(source),
        "output": str(target),
        "status": "ok",
        "error": None,
        "shape": [88, 108],
    }
    assert f"wrote {target} (88 x 108 pixels" in done.stderr
    local = run("edges", str(source), "-o", str(tmp_path / "local.tif"))
    assert local.exit_code == 0
    written = zarr.open_array(str(target), mode="r")[:]
    assert written.dtype == np.float32
    assert np.array_equal(written, tifffile.imread(tmp_path / "local.tif"))


# --- CliRunner against the module's cluster -------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        ["--pad", "reflect"],
        ["--output-kind", "x", "--operator", "scharr"],
        ["--threshold", "0.3", "--pad", "wrap"],
        ["--output-kind", "angle", "--no-normalize"],
    ],
)
def test_huge_image_chunks_equal_a_local_run(
    tmp_path: Path, address: str, monkeypatch: pytest.MonkeyPatch, options: list[str]
) -> None:
    monkeypatch.setattr(scheduler, "CHUNK", 24)  # chunk borders every 24 pixels
    source = tiled_tiff(tmp_path / "big.tif")
    there = run(
        "edges", str(source), "-o", str(tmp_path / "e.zarr"), *options, "--scheduler", address
    )
    assert there.exit_code == 0, there.output
    here = run("edges", str(source), "-o", str(tmp_path / "e.tif"), *options)
    assert here.exit_code == 0, here.output
    written = zarr.open_array(str(tmp_path / "e.zarr"), mode="r")[:]
    assert np.array_equal(written, tifffile.imread(tmp_path / "e.tif"))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_grad_input_on_the_cluster_equals_a_local_run(
    tmp_path: Path, address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler, "CHUNK", 32)
    source = tiled_tiff(tmp_path / "big.tif")
    args = ["--loss", "logcosh", "-k", "laplace", "--json"]
    there = run(
        "grad-input", str(source), "-o", str(tmp_path / "g.zarr"), *args, "--scheduler", address
    )
    here = run("grad-input", str(source), "-o", str(tmp_path / "g.npy"), *args)
    assert there.exit_code == here.exit_code == 0, there.output
    [mine], _ = records(there.stdout)
    [theirs], _ = records(here.stdout)
    assert mine.pop("L") == pytest.approx(theirs.pop("L"), rel=1e-12)
    assert mine | {"output": None} == theirs | {"output": None}
    written = zarr.open_array(str(tmp_path / "g.zarr"), mode="r")[:]
    assert np.array_equal(written, np.load(tmp_path / "g.npy").astype(np.float32))
    # A batch: one task per file, the local batch's files and figures.
    src = images(tmp_path / "in", 3)
    batch = ["grad-input", str(src), "--format", "npy", "--json", "-r"]
    there = run(*batch, "-o", str(tmp_path / "c"), "--scheduler", address)
    here = run(*batch, "-o", str(tmp_path / "l"), "-j", "1")
    assert there.exit_code == here.exit_code == 1
    same_files(tmp_path / "l", tmp_path / "c")
    strip = lambda r: {k: v for k, v in r.items() if k != "output"}  # noqa: E731
    assert [strip(r) for r in records(there.stdout)[0]] == [
        strip(r) for r in records(here.stdout)[0]
    ]


def test_existing_outputs_and_skip_existing(tmp_path: Path, address: str) -> None:
    src = images(tmp_path / "in", 2)
    (tmp_path / "bad.png").unlink(missing_ok=True)
    (src / "bad.png").unlink()
    out = tmp_path / "out"
    first = run("edges", str(src), "-r", "-o", str(out), "--scheduler", address, "--json")
    assert first.exit_code == 0, first.output
    again = run("edges", str(src), "-r", "-o", str(out), "--scheduler", address, "--json")
    assert again.exit_code == 1  # existing outputs are errors, as in a local batch
    assert records(again.stdout)[1]["error"] == 2
    # Everything skipped: nothing to run, so no cluster is needed at all.
    resumed = run(
        "edges",
        str(src),
        "-r",
        "-o",
        str(out),
        "--scheduler",
        UNREACHABLE,
        "--skip-existing",
        "--json",
    )
    assert resumed.exit_code == 0, resumed.output
    assert records(resumed.stdout)[1]["skipped"] == 2


def test_a_file_whose_worker_dies_fails_alone(
    tmp_path: Path, client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks = [Task(str(tmp_path / f"{name}.png"), str(tmp_path / f"{name}.out")) for name in "abcd"]
    from sobelcli.cli.batch.run import execute

    runner = scheduler.ClusterRunner(Killer(), client)
    tally = execute("edges", tasks, [], runner, fail_fast=False, as_json=True, quiet=False)
    out, err = capsys.readouterr()
    lines, summary = records(out)
    assert [r["status"] for r in lines] == ["ok", "error", "ok", "ok"]
    assert lines[1]["error"] == f"{tasks[1].source}: {DIED}"
    assert f"error: {tasks[1].source}: {DIED}" in err
    assert summary is not None and (summary["ok"], summary["error"]) == (3, 1)
    assert (tally.ok, tally.error) == (3, 1)


DIED = "the dask worker running it died (killed, or out of memory?)"


@dataclass(frozen=True)
class Killer:
    """A job that kills its worker on b.png, as the out-of-memory killer would."""

    def __call__(self, task: Task) -> Any:
        from sobelcli.cli.batch import Done

        if task.source.endswith("b.png"):
            os.kill(os.getpid(), signal.SIGKILL)
        return Done([1, 1])


# --- no cluster -----------------------------------------------------------------------------


def test_an_unreachable_scheduler_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler, "CONNECT_TIMEOUT", 0.5)
    source = tiled_tiff(tmp_path / "x.tif", (20, 20))
    out = tmp_path / "x.png"
    done = run("edges", str(source), "-o", str(out), "--scheduler", UNREACHABLE)
    assert done.exit_code == 1
    assert done.output == (
        f"Error: cannot reach the dask scheduler at {UNREACHABLE} (no answer within 0.5 s)\n"
    )
    # The environment variable, a batch, and --json: one error object.
    src = images(tmp_path / "in", 2)
    done = run(
        "edges", str(src), "-o", str(tmp_path / "out"), "--json", SOBELCLI_SCHEDULER=UNREACHABLE
    )
    assert done.exit_code == 1
    assert json.loads(done.stdout) == {
        "status": "error",
        "error": f"cannot reach the dask scheduler at {UNREACHABLE} (no answer within 0.5 s)",
    }
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.output
    assert not out.exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["edges", "-", "-o", "x.png"], "'-' (stdin, stdout) cannot go to a cluster"),
        (["edges", "a.png", "b.png", "-j", "2"], "--jobs does nothing with --scheduler"),
        (["grad-input", "a.png", "--wrt", "kernel"], "--scheduler computes dL/dX"),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    done = run(*args, "--scheduler", UNREACHABLE)
    assert done.exit_code == 2
    assert message in done.output


def test_help_names_the_option_and_imports_no_dask() -> None:
    code = (
        "import sys\nfrom sobelcli.cli.main import main\n"
        "for args in (['edges', '--help'], ['grad-input', '--help']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'dask', 'distributed', 'zarr'}\n"
        "print('HEAVY', sorted(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert "HEAVY []" in done.stdout, done.stdout
    assert done.stdout.count("--scheduler ADDRESS") == 2
    assert done.stdout.count("SOBELCLI_SCHEDULER") == 2
