"""The child process: replies for every way a function can go wrong, and naming what to run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sobelcli.verify import (
    ImplementationError,
    ImplementationNotFound,
    VerifyOptions,
    parse_command,
    parse_impl,
    parse_python,
    verify,
)
from sobelcli.verify import runner as runner_module
from sobelcli.verify.runner import open_runner

MISTAKES = Path(__file__).resolve().with_name("mistakes.py")
X, K = np.arange(12.0).reshape(3, 4), np.array([[1.0, -1.0]])


@pytest.fixture
def module(tmp_path: Path) -> Path:
    path = tmp_path / "impl.py"
    path.write_text(
        "import os, sys, time\nimport numpy as np\n"
        "def ok(x, k):\n    return np.ones((2, 2))\n"
        "def crash(x, k):\n    os._exit(9)\n"
        "def hang(x, k):\n    time.sleep(60)\n"
        "def empty(x, k):\n    return np.zeros((0, 0))\n"
        "def cube(x, k):\n    return np.zeros((2, 2, 2))\n"
        "def ragged(x, k):\n    return [[1, 2], [3]]\n"
        "def boolean(x, k):\n    return x > 3\n"
        "def dtype(x, k):\n    return str(x.dtype)\n"
    )
    return path


def test_replies_and_recovery(module: Path) -> None:
    def spec(name: str):
        return parse_python(f"{module}:{name}")

    with open_runner(spec("ok"), "forward", timeout=0.5) as runner:
        assert runner.call((X, K)).kind == "ok"
    with open_runner(spec("crash"), "forward", timeout=0.5) as runner:
        reply = runner.call((X, K))
        assert (reply.kind, reply.message) == ("crashed", "exited with status 9")
        assert runner.call((X, K)).kind == "crashed"  # a new child, crashing again
    with open_runner(spec("hang"), "forward", timeout=0.3) as runner:
        reply = runner.call((X, K))
        assert (reply.kind, reply.message) == ("timeout", "no answer within 0.3 s")
    with open_runner(spec("empty"), "forward", timeout=1) as runner:
        assert runner.call((X, K)).output.shape == (0, 0)  # type: ignore[union-attr]
    with open_runner(spec("ragged"), "forward", timeout=1) as runner:
        reply = runner.call((X, K))
        assert (reply.kind, reply.returned) == ("bad-return", "list")
    with open_runner(spec("boolean"), "forward", timeout=1) as runner:
        assert runner.call((X, K)).output.dtype == bool  # type: ignore[union-attr]


def test_inputs_keep_their_dtype(module: Path) -> None:
    from sobelcli.verify.runner import PythonRunner

    runner = PythonRunner(parse_python(f"{module}:dtype"), 1.0)
    try:
        for dtype in (np.uint8, np.int64, np.float32):
            reply = runner.call((X.astype(dtype), K))
            assert (reply.kind, reply.returned) == ("bad-return", "str")
    finally:
        runner.close()


def test_load_errors(module: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImplementationNotFound, match="has no function 'nope'; it has boolean"):
        with open_runner(parse_python(f"{module}:nope"), "forward"):
            pass
    broken = tmp_path / "broken.py"
    broken.write_text("1 +\n")
    with pytest.raises(ImplementationError, match="failed to load: SyntaxError"):
        with open_runner(parse_python(f"{broken}:f"), "forward"):
            pass
    slow = tmp_path / "slow.py"
    slow.write_text("import time\ntime.sleep(60)\ndef f(x, k):\n    return x\n")
    monkeypatch.setattr(runner_module, "LOAD_TIMEOUT", 0.3)
    with pytest.raises(ImplementationError, match="did not load within 0.3 s"):
        with open_runner(parse_python(f"{slow}:f"), "forward", timeout=0.2):
            pass


def test_verify_reports_a_load_error_as_a_result(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise SystemExit('no')\n")
    result = verify(parse_python(f"{broken}:f"), VerifyOptions("forward", cases=2))
    assert not result.passed and result.outcomes == ()
    assert "SystemExit: no" in result.error
    assert result.to_dict()["status"] == "error"


def test_options_and_specs_are_checked() -> None:
    with pytest.raises(ValueError, match="timeout"):
        VerifyOptions("forward", timeout=float("inf"))
    with pytest.raises(ValueError, match="at least 1"):
        VerifyOptions("forward", cases=0)
    with pytest.raises(ValueError, match="unknown role"):
        VerifyOptions("conv")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only helps the gradient roles"):
        verify(
            parse_python(f"{MISTAKES}:forward"),
            VerifyOptions("edges"),
            forward=None or parse_python(f"{MISTAKES}:forward"),
        )
    with pytest.raises(ValueError, match="names no function"):
        parse_python("conv.py")
    with pytest.raises(ValueError, match="not a Python function name"):
        parse_python("conv.py:2x")
    with pytest.raises(ValueError, match="neither a .py file nor a dotted module"):
        parse_python("my-lab:f")
    with pytest.raises(ValueError, match="cannot split"):
        parse_command("prog '{x}", "edges")
    with pytest.raises(ValueError, match="first word"):
        parse_command("{x} {out}", "edges")
    with pytest.raises(ValueError, match=r"lacks \{dy\}"):
        parse_command("prog {x} {out}", "grad-kernel")
    assert parse_python("pkg.mod:f").is_file is False
    assert parse_impl("prog --in={x} {k} {out}", "forward").argv[1] == "--in={x}"  # type: ignore[union-attr]
    assert str(parse_command("  prog {x} {out} ", "edges")) == "prog {x} {out}"


def test_a_command_gets_its_files_and_quoting_is_kept(tmp_path: Path) -> None:
    script = tmp_path / "two words.py"
    script.write_text("import sys\nx = open(sys.argv[1]).read()\nopen(sys.argv[2], 'w').write(x)\n")
    impl = parse_command(f"{sys.executable} '{script}' {{x}} {{out}}", "edges")
    with open_runner(impl, "edges", timeout=5) as runner:
        reply = runner.call((np.array([[1, 2], [3, 4]], dtype=np.uint8),))
    assert reply.kind == "ok"
    np.testing.assert_array_equal(reply.output, [[1.0, 2.0], [3.0, 4.0]])  # type: ignore[arg-type]


def test_the_library_imports_neither_click_nor_rich() -> None:
    code = (
        "import sys\nimport sobelcli.verify\n"
        "print(sorted(m for m in ('click', 'rich') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for(predicate, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(os.name != "posix", reason="signals")
@pytest.mark.parametrize("how", ["interrupt", "kill"])
def test_no_child_outlives_sobelcli(tmp_path: Path, how: str) -> None:
    """Ctrl-C kills the child at once; if sobelcli itself is killed, the child ends itself."""
    pid_file = tmp_path / "pid"
    impl = tmp_path / "hang.py"
    impl.write_text(
        "import os, time\n"
        f"def f(x, k):\n    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "    time.sleep(120)\n"
    )
    code = "from sobelcli.cli.commands.verify import command; command()"
    parent = subprocess.Popen(
        [sys.executable, "-c", code, f"{impl}:f", "--role", "forward", "--timeout", "100"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() != "")
        worker = int(pid_file.read_text())
        assert _alive(worker)
        parent.send_signal(signal.SIGINT if how == "interrupt" else signal.SIGKILL)
        parent.wait(timeout=10)
        assert _wait_for(lambda: not _alive(worker), seconds=0.5 if how == "interrupt" else 3)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
