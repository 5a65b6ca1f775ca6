"""Standard streams that fail: stdout full, size-limited or closed, stderr closed.

Real processes of the installed script (the failures are the operating system's), each with a
timeout: one clear line and exit 1 where stdout was needed, never a traceback, never exit 0
with a truncated image, never "Exception ignored" at exit.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sobelcli.io import ImageError, encode, save_image
from tests.conftest import SAMPLES

SCRIPT = shutil.which("sobelcli", path=str(Path(sys.executable).parent)) or shutil.which("sobelcli")
pytestmark = pytest.mark.skipif(
    SCRIPT is None or sys.platform == "win32", reason="needs the sobelcli script and a POSIX shell"
)
needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")

CAMERA = SAMPLES / "camera.png"
NOISE = ("Traceback", "Exception ignored", "internal error", "AttributeError")


def sh(command: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    # No bytecode written: under `ulimit -f` Python would write truncated .pyc files.
    env = {
        "PATH": f"{Path(SCRIPT).parent}:/usr/bin:/bin",
        "NO_COLOR": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        **extra,
    }
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, capture_output=True, text=True, env=env, timeout=60
    )


def one_line(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The run exited ``code`` with exactly one line on stderr, and no noise."""
    assert result.returncode == code, (result.returncode, result.stderr)
    for noise in NOISE:
        assert noise not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- item 3: -o - checks every write -------------------------------------------------------------

IMAGE_TO_STDOUT = {
    "edges": f"sobelcli edges {CAMERA} -o -",
    "grad-input": f"sobelcli grad-input {CAMERA} -o -",
    "maximize": "sobelcli maximize -o - --size 64 --steps 3 --seed 0 --quiet",
}


@pytest.mark.parametrize("unbuffered", ["1", ""])
@pytest.mark.parametrize("command", ["edges", "grad-input"])
def test_image_on_stdout_past_a_file_size_limit_fails(
    tmp_path: Path, command: str, unbuffered: str
) -> None:
    # 10 KiB allowed, a 140 KB image: the kernel takes a short write, then EFBIG (Python
    # ignores SIGXFSZ). Unbuffered (python -u, as containers often run), a single short write
    # went unnoticed before: exit 0 with the first 10240 bytes.
    result = sh(
        f"ulimit -f 10; {IMAGE_TO_STDOUT[command]} > out.png", tmp_path, PYTHONUNBUFFERED=unbuffered
    )
    line = one_line(result)
    assert "stdout" in line and "File too large" in line
    assert (tmp_path / "out.png").stat().st_size == 10 * 1024


@needs_dev_full
@pytest.mark.parametrize("command", sorted(IMAGE_TO_STDOUT))
def test_image_on_a_full_stdout_fails(tmp_path: Path, command: str) -> None:
    line = one_line(sh(f"{IMAGE_TO_STDOUT[command]} > /dev/full", tmp_path))
    assert "stdout" in line and "No space left on device" in line


def test_save_image_to_stdout_loops_over_short_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = np.random.default_rng(0).random((120, 90))
    target = tmp_path / "stdout.png"
    real_write = os.write
    calls = []

    def short_write(fd: int, data: bytes) -> int:  # a pipe or a slow disk: 1000 bytes a time
        calls.append(fd)
        return real_write(fd, bytes(memoryview(data)[:1000]))

    with open(target, "w") as stream:
        monkeypatch.setattr(sys, "stdout", stream)
        monkeypatch.setattr(os, "write", short_write)
        save_image("-", values)
        monkeypatch.undo()
    assert target.read_bytes() == encode(values, "png")
    assert len(calls) > 5


def test_save_image_to_stdout_refuses_a_write_of_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with open(tmp_path / "stdout.png", "w") as stream:
        monkeypatch.setattr(sys, "stdout", stream)
        monkeypatch.setattr(os, "write", lambda fd, data: 0)
        with pytest.raises(ImageError, match="^stdout: cannot write"):
            save_image("-", np.zeros((8, 8)))


def test_save_image_to_a_closed_or_in_memory_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", None)
    with pytest.raises(ImageError, match="stdout: cannot write: it is closed"):
        save_image("-", np.zeros((8, 8)))
    memory = io.TextIOWrapper(io.BytesIO())  # no file descriptor: written through .buffer
    monkeypatch.setattr(sys, "stdout", memory)
    save_image("-", np.zeros((8, 8)))
    assert memory.buffer.getvalue() == encode(np.zeros((8, 8)), "png")


# --- item 8: help and version into a full or closed stdout; a closed stderr -----------------------


@needs_dev_full
@pytest.mark.parametrize("args", ["--help", "--version", "edges --help"])
def test_help_and_version_into_a_full_stdout(tmp_path: Path, args: str) -> None:
    line = one_line(sh(f"sobelcli {args} > /dev/full", tmp_path))
    assert line.endswith("cannot write to stdout: No space left on device"), line


@pytest.mark.parametrize("args", ["--help", "--version", f"edges {CAMERA} -o -"])
def test_closed_stdout_when_stdout_is_needed(tmp_path: Path, args: str) -> None:
    line = one_line(sh(f"sobelcli {args} >&-", tmp_path))
    assert "stdout" in line and "closed" in line


def test_closed_stdout_with_json(tmp_path: Path) -> None:
    result = sh(f"sobelcli edges {CAMERA} -o out.png --json >&-", tmp_path)
    assert "cannot write to stdout: it is closed" in one_line(result)


def test_closed_stdout_does_not_matter_when_nothing_goes_there(tmp_path: Path) -> None:
    result = sh(f"sobelcli edges {CAMERA} -o out.png >&-", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("wrote out.png")
    assert (tmp_path / "out.png").stat().st_size > 0
    # a file opened later must not take descriptor 1 and receive what is meant for stdout
    batch = sh(f"sobelcli edges {CAMERA} {SAMPLES / 'square.png'} -o outs >&-", tmp_path)
    assert batch.returncode == 0, batch.stderr
    assert sorted(p.name for p in (tmp_path / "outs").iterdir()) == [
        "camera_edges.png",
        "square_edges.png",
    ]


@pytest.mark.parametrize("stderr", ["2>&-", "2>/dev/full"])
@pytest.mark.parametrize(
    ("args", "code"),
    [(f"edges {CAMERA} -o out.png", 0), ("edges bad.png -o out.png", 1), ("edges --nope", 2)],
)
def test_closed_or_full_stderr_keeps_the_exit_status(
    tmp_path: Path, args: str, code: int, stderr: str
) -> None:
    if not os.path.exists("/dev/full") and "full" in stderr:
        pytest.skip("no /dev/full")
    (tmp_path / "bad.png").write_text("not an image")
    result = sh(f"sobelcli {args} {stderr}", tmp_path)
    assert result.returncode == code
    assert result.stdout == ""  # the lost messages do not turn up on stdout instead
    assert (tmp_path / "out.png").exists() == (code == 0)


@needs_dev_full
def test_batch_json_into_a_full_stdout(tmp_path: Path) -> None:
    result = sh(
        f"sobelcli edges {CAMERA} {SAMPLES / 'square.png'} -o out --json > /dev/full", tmp_path
    )
    assert result.returncode == 1
    for noise in NOISE:
        assert noise not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert errors == ["Error: cannot write to stdout: No space left on device"], result.stderr
    assert "stopped as stdout failed" in result.stderr  # the summary, on stderr, says so
