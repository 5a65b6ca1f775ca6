"""Real runs of the installed ``sobelcli`` script, pipes included."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import pytest

from sobelcli import __version__
from tests.conftest import SAMPLES

SCRIPT = shutil.which("sobelcli", path=str(Path(sys.executable).parent)) or shutil.which("sobelcli")
pytestmark = pytest.mark.skipif(SCRIPT is None, reason="the sobelcli script is not installed")


def sh(command: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": f"{Path(SCRIPT).parent}:/usr/bin:/bin", "NO_COLOR": "1"}
    return subprocess.run(
        ["bash", "-c", "set -o pipefail; " + command],
        cwd=cwd,
        capture_output=True,
        env=env,
        timeout=120,
    )


def test_version_and_module_entry(tmp_path: Path) -> None:
    assert sh("sobelcli --version", tmp_path).stdout.decode().strip().endswith(__version__)
    out = subprocess.run(
        [sys.executable, "-m", "sobelcli", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "edges" in out.stdout


def test_pipe_stdin_to_stdout(tmp_path: Path) -> None:
    result = sh(f"cat {SAMPLES / 'camera.png'} | sobelcli edges - -o - > out.png", tmp_path)
    assert result.returncode == 0, result.stderr
    assert iio.imread(tmp_path / "out.png").shape == (510, 510)
    assert result.stderr == b""  # nothing to say when the image goes to stdout


def test_bad_file_one_line_exit_1(tmp_path: Path) -> None:
    (tmp_path / "bad.png").write_text("text")
    result = sh("sobelcli edges bad.png -o out.png", tmp_path)
    assert result.returncode == 1
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "bad.png" in lines[0]
    assert not (tmp_path / "out.png").exists()


def test_gradcheck_as_a_ci_gate(tmp_path: Path) -> None:
    ok = sh(f"sobelcli gradcheck {SAMPLES / 'square.png'} --all --json > report.json", tmp_path)
    assert ok.returncode == 0 and b"PASS" in ok.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "ok" and report["passed"] is True


def test_output_to_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    result = sh(
        f"sobelcli edges {SAMPLES / 'astronaut.png'} -o - | head -c 10 > /dev/null", tmp_path
    )
    assert b"Traceback" not in result.stderr
