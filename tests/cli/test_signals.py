"""Signals: every catchable terminating signal cleans up; no worker outlives its batch.

The processes are real. A small driver runs ``sobelcli`` with ``os.replace`` patched for the
outputs whose name holds ``slow``: the temporary file is complete, the driver leaves a flag
(``ready-<pid>``) and sleeps, and the test signals it there, deterministically mid-write. In
``die`` mode the process SIGKILLs itself there instead, as the out-of-memory killer would.
Every process started is killed in a ``finally``, by its process group.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sobelcli.cli.batch import pool, types
from sobelcli.io import atomic_write
from sobelcli.io.files import clear_stale_parts
from tests.conftest import SAMPLES

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux signals")

DRIVER = r"""
import os, signal, sys, time

# a normal start, whatever the test runner ignores (nohup, a background job)
for name in ("SIGHUP", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM"):
    signal.signal(getattr(signal, name), signal.SIG_DFL)
signal.signal(signal.SIGINT, signal.default_int_handler)

FLAGS = os.environ["SOBELCLI_TEST_FLAGS"]
MODE = os.environ["SOBELCLI_TEST_MODE"]
real_replace = os.replace


def patched(src, dst):
    if str(src).endswith(".part") and "slow" in os.path.basename(str(dst)):
        if MODE == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        open(os.path.join(FLAGS, f"ready-{os.getpid()}"), "w").close()
        time.sleep(60)
    return real_replace(src, dst)


os.replace = patched
from sobelcli.cli.main import main

main(sys.argv[1:])
"""

STOPPING = [
    signal.SIGHUP,
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGALRM,
]


class Driven:
    """A driver process in its own session, and what it was given."""

    def __init__(self, tmp_path: Path, args: list[str], mode: str = "hold") -> None:
        self.flags = tmp_path / "flags"
        self.flags.mkdir(exist_ok=True)
        driver = tmp_path / "driver.py"
        driver.write_text(DRIVER)
        env = {
            **os.environ,
            "SOBELCLI_TEST_FLAGS": str(self.flags),
            "SOBELCLI_TEST_MODE": mode,
            "NO_COLOR": "1",
        }
        self.proc = subprocess.Popen(
            [sys.executable, str(driver), *args],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )

    def held(self, count: int = 1, timeout: float = 20) -> list[int]:
        """Wait until ``count`` processes are held mid-write; their pids."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = [int(p.name.split("-")[1]) for p in self.flags.glob("ready-*")]
            if len(pids) >= count:
                return pids
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"not held in time: exit {self.proc.poll()}")

    def finish(self, timeout: float = 20) -> tuple[int, str, str]:
        stdout, stderr = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, stdout, stderr

    def kill_all(self) -> None:
        """Kill what is left of the process group (the driver and its workers)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(p) for p in task.read_text().split()]
    return found


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def copy_inputs(folder: Path, names: list[str]) -> None:
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes((SAMPLES / "camera.png").read_bytes())


# --- item 6: each terminating signal, mid-write, in one process and in a batch -------------------


@pytest.mark.parametrize("signum", STOPPING, ids=lambda s: signal.Signals(s).name)
def test_a_signal_mid_write_leaves_no_temporary_file(tmp_path: Path, signum: int) -> None:
    copy_inputs(tmp_path / "in", ["slow.png"])
    (tmp_path / "out").mkdir()
    run = Driven(tmp_path, ["edges", "in/slow.png", "-o", "out/slow_edges.png"])
    try:
        run.held()
        assert len(parts(tmp_path / "out")) == 1  # the write is in progress
        run.proc.send_signal(signum)
        code, _, stderr = run.finish()
    finally:
        run.kill_all()
    assert code == 128 + signum, stderr
    assert parts(tmp_path / "out") == [] and not (tmp_path / "out" / "slow_edges.png").exists()
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    word = "interrupted" if signum == signal.SIGINT else "terminated"
    assert stderr.startswith(f"sobelcli: {word}")


@pytest.mark.parametrize(
    ("signum", "whom"),
    [
        (signal.SIGHUP, "group"),  # a terminal hangs up: every process of the job
        (signal.SIGHUP, "parent"),
        (signal.SIGUSR1, "parent"),
        (signal.SIGUSR2, "group"),
        (signal.SIGALRM, "parent"),
    ],
    ids=lambda v: signal.Signals(v).name if isinstance(v, int) else v,
)
def test_a_signal_mid_batch_stops_workers_and_cleans_up(
    tmp_path: Path, signum: int, whom: str
) -> None:
    copy_inputs(tmp_path / "in", ["a.png", "slow.png"])
    run = Driven(tmp_path, ["edges", "in", "-o", "out", "--jobs", "2", "--json"])
    try:
        (worker,) = run.held()
        if whom == "group":
            os.killpg(run.proc.pid, signum)
        else:
            run.proc.send_signal(signum)
        code, stdout, stderr = run.finish()
        deadline = time.monotonic() + 10
        while alive(worker) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not alive(worker)
    finally:
        run.kill_all()
    assert code == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert parts(tmp_path / "out") == []
    summary = json.loads(stdout.splitlines()[-1])
    assert summary["interrupted"] is True and summary["ok"] + summary["cancelled"] == 2


# --- item 5: a batch parent killed outright ------------------------------------------------------


def test_workers_do_not_outlive_a_killed_parent(tmp_path: Path) -> None:
    # One worker idle (a.png is done), one busy mid-write (slow.png): both must go, and the
    # busy one must remove its temporary file first. Before: both stayed forever.
    copy_inputs(tmp_path / "in", ["a.png", "slow.png"])
    run = Driven(tmp_path, ["edges", "in", "-o", "out", "--jobs", "2"])
    workers: list[int] = []
    try:
        run.held()
        deadline = time.monotonic() + 20
        while not (tmp_path / "out" / "a_edges.png").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        workers = children(run.proc.pid)
        assert len(workers) == 2 and parts(tmp_path / "out")
        run.proc.kill()
        run.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.02)
        left = [pid for pid in workers if alive(pid)]
    finally:
        run.kill_all()
    assert left == []
    assert parts(tmp_path / "out") == []
    assert (tmp_path / "out" / "a_edges.png").exists()


# --- stale temporary files: removed by the next write into their folder ---------------------------


def test_stale_temporaries_are_cleared_by_the_next_write(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    live = subprocess.Popen(["sleep", "30"])
    try:
        old = time.time() - 3600
        stale = {
            f".a.png.{gone.pid}-0123abcd.part": None,  # its writer is dead
            ".b.png.89abcdef.part": old,  # the old naming, from before this process
        }
        kept = {
            f".c.png.{live.pid}-0123abcd.part": None,  # its writer is alive
            f".d.png.{os.getpid()}-0123abcd.part": None,  # this process's own
            ".e.png.fedcba98.part": time.time() + 3600,  # old naming, newer than this process
            f"f.png.{gone.pid}-0123abcd.part": None,  # no leading dot: not ours
            f".g.png.{gone.pid}-0123ABCD.part": None,  # upper-case hex: not ours
            f".h.png.{gone.pid}-0123abcd.part.bak": None,
            f".i.png.{gone.pid}-0123abc.part": old,  # 7 hex digits
            ".j.png.0-0123abcd.part": None,  # pid 0 would mean "my process group"
        }
        for name, mtime in {**stale, **kept}.items():
            (tmp_path / name).write_bytes(b"x")
            if mtime is not None:
                os.utime(tmp_path / name, (mtime, mtime))
        zarr = tmp_path / f".k.zarr.{gone.pid}-0123abcd.part"  # a Zarr output's folder: cleared
        (zarr / "c" / "0").mkdir(parents=True)
        (zarr / "c" / "0" / "0").write_bytes(b"chunk")
        (tmp_path / f".l.png.{gone.pid}-0123abcd.part").symlink_to(
            tmp_path / ".b.png.89abcdef.part"
        )  # a link: left alone
        kept_names = {*kept, f".l.png.{gone.pid}-0123abcd.part"}

        atomic_write(tmp_path / "out.png", b"data")
        names = {p.name for p in tmp_path.iterdir()}
        assert names == {"out.png", *kept_names}
        # once per folder per process: a later leftover waits for the next process
        (tmp_path / f".m.png.{gone.pid}-0123abcd.part").write_bytes(b"x")
        atomic_write(tmp_path / "out2.png", b"data")
        assert f".m.png.{gone.pid}-0123abcd.part" in {p.name for p in tmp_path.iterdir()}
        assert clear_stale_parts(tmp_path) == []
    finally:
        live.kill()
        live.wait()


# --- item 12: a worker killed mid-batch ---------------------------------------------------------


def test_a_worker_killed_mid_batch_is_one_line_and_the_rest_not_run(tmp_path: Path) -> None:
    names = ["a.png", "c.png", "d.png", "e.png", "f.png", "slow.png"]
    copy_inputs(tmp_path / "in", names)
    run = Driven(tmp_path, ["edges", "in", "-o", "out", "--jobs", "2", "--json"], mode="die")
    try:
        code, stdout, stderr = run.finish(timeout=60)
    finally:
        run.kill_all()
    assert code == 1, stderr
    lines = stderr.strip().splitlines()
    died = [line for line in lines if "died" in line and not line.startswith("edges:")]
    assert died == [
        "error: in/slow.png: the worker process failed: it died (killed by SIGKILL; out of memory?)"
    ], stderr
    assert "BrokenProcessPool" not in stderr and "abruptly" not in stderr
    records = [json.loads(line) for line in stdout.splitlines()]
    summary = records.pop()
    assert sorted(Path(r["input"]).name for r in records) == sorted(names)  # each input once
    by_name = {Path(r["input"]).name: r for r in records}
    assert by_name["slow.png"]["status"] == "error"
    not_run = sorted(n for n, r in by_name.items() if r["status"] == "cancelled")
    assert all(by_name[n]["error"] == "not run: a worker process died" for n in not_run)
    assert sorted(line[len("not run: in/") :] for line in lines if line.startswith("not run:")) == (
        not_run
    )
    assert summary["error"] == 1 and summary["cancelled"] == len(not_run)
    assert summary["ok"] + summary["error"] + summary["cancelled"] == len(names)
    assert f"{len(not_run)} not done" in lines[-1] or not not_run
    # the killed worker could not remove its temporary file; the next write into the folder does
    assert len(parts(tmp_path / "out")) == 1
    later = subprocess.run(
        [sys.executable, "-m", "sobelcli", "edges", "in/a.png", "-o", "out/again.png"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert later.returncode == 0 and parts(tmp_path / "out") == []


def die_on_b(task: types.Task) -> types.Done:
    if Path(task.source).name == "b.png":
        os.kill(os.getpid(), signal.SIGKILL)
    return types.Done([1, 1])


def wait_for_go(task: types.Task) -> types.Done:
    """slow.png says it has started and waits for 'go'; a.png waits until slow.png started."""
    here = Path(task.source).parent
    if "slow" in task.source:
        (here / "slow-started").touch()
    wait_for = here / ("go" if "slow" in task.source else "slow-started")
    deadline = time.monotonic() + 20
    while not wait_for.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return types.Done([1, 1])


def test_runner_blames_only_the_input_of_the_dead_worker(tmp_path: Path) -> None:
    tasks = [types.Task(str(tmp_path / f"{n}.png"), str(tmp_path / f"{n}_o.png")) for n in "abcde"]
    with pool.Runner(die_on_b, jobs=2) as runner:
        runner.start(tasks)
        results = list(runner.results())
    assert sorted(Path(r.input).name for r in results) == [f"{n}.png" for n in "abcde"]
    errors = [r for r in results if r.status == "error"]
    assert [Path(r.input).name for r in errors] == ["b.png"]
    assert errors[0].error and errors[0].error.endswith(
        "it died (killed by SIGKILL; out of memory?)"
    )
    assert all(r.status == "ok" or r.error == pool.WORKER_DIED for r in results if r not in errors)
    assert runner.failure is None


def test_runner_reports_an_idle_worker_that_died(tmp_path: Path) -> None:
    # a.png is done and its worker idle when it is killed (slow.png is in the other worker):
    # no input to blame, one notice.
    tasks = [
        types.Task(str(tmp_path / f"{n}.png"), str(tmp_path / f"{n}_o.png")) for n in ("a", "slow")
    ]
    try:
        with pool.Runner(wait_for_go, jobs=2) as runner:
            runner.start(tasks)
            results = []
            for result in runner.results():
                results.append(result)
                if Path(result.input).name == "a.png":
                    os.kill(int(runner._started[0]), signal.SIGKILL)
    finally:
        (tmp_path / "go").touch()
    by_name = {Path(r.input).name: r for r in results}
    assert by_name["a.png"].status == "ok"
    assert by_name["slow.png"].status == "cancelled"
    assert by_name["slow.png"].error == pool.WORKER_DIED
    assert runner.failure == "a worker process died (killed by SIGKILL; out of memory?)"


def test_a_stop_inside_stops_deferred_is_raised_as_the_block_ends() -> None:
    """What must happen together (a result counted and its line printed) is never split."""
    from sobelcli.cli import main

    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, main._on_terminate)
    signal.signal(signal.SIGINT, main._on_sigint)
    steps: list[str] = []
    try:
        with pytest.raises(main.Terminated) as stopped:
            with main.stops_deferred():
                steps.append("counted")
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)  # the handler runs here, and returns
                steps.append("told")
        assert stopped.value.signum == signal.SIGTERM and steps == ["counted", "told"]
        with pytest.raises(KeyboardInterrupt):
            with main.stops_deferred():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)
                steps.append("seen")
        assert steps[-1] == "seen"
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)


def test_a_ctrl_c_while_the_command_line_imports_is_one_line_and_130() -> None:
    """Before main's handlers exist: a KeyboardInterrupt raised as click is imported."""
    code = (
        "import sys\n"
        "class Stop:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'click':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Stop())\n"
        "from sobelcli.__main__ import run\n"
        "run()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 130
    assert done.stderr == "sobelcli: interrupted\n"
    assert done.stdout == ""
