"""Run the user's implementation in a child process, one case at a time, with a timeout.

Two kinds of implementation (:mod:`sobelcli.verify.impls`):

* :class:`PythonImpl`, a function named ``path/to/file.py:function`` or
  ``package.module:function``. One child process (``_worker.py``) imports it once and calls it
  on every case; arrays travel as ``.npy`` bytes over a pipe. A case that raises comes back as
  a :class:`Reply` of kind ``"raised"``; one that crashes the child (a segfault, ``os._exit``)
  or outlives the timeout has the child killed and a new one started for the next case.
* :class:`CommandImpl`, any program run once per case from a template such as
  ``Rscript conv.R {x} {k} {out}``: sobelcli writes the inputs to files, substitutes their
  paths for the placeholders, runs the program (without a shell) and reads ``{out}``.

Either way nothing the user's code does (raise, hang, crash, print) reaches sobelcli as more
than a :class:`Reply`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from . import _worker
from .cases import ROLE_INFO, Role
from .exchange import read_matrix, write_matrix
from .impls import (
    PLACEHOLDERS,
    CommandImpl,
    Impl,
    ImplementationError,
    ImplementationNotFound,
    PythonImpl,
)

__all__ = ["DEFAULT_TIMEOUT", "Reply", "Runner", "open_runner"]

#: Seconds each case may take.
DEFAULT_TIMEOUT = 10.0
#: Seconds a Python module may take to import (numpy and the like), at least the timeout.
LOAD_TIMEOUT = 60.0
#: Characters of the program's own output kept for a report.
TAIL = 1500

_POSIX = os.name == "posix"


@dataclass(frozen=True, eq=False)
class Reply:
    """What one call of the implementation gave.

    Attributes
    ----------
    kind : {"ok", "raised", "timeout", "crashed", "bad-return", "no-output"}
        ``"ok"`` with an ``output``; otherwise what went wrong.
    output : ndarray or None
        The returned array (any shape and numeric dtype; checked by the caller).
    message : str
        One line: ``"ZeroDivisionError: division by zero"``, ``"exited with status 1"``.
    detail : str
        The user's traceback, or the last lines the program wrote.
    where : str
        ``file.py:line`` of a raise, when known.
    returned : str
        The type name of what a Python function returned.
    """

    kind: Literal["ok", "raised", "timeout", "crashed", "bad-return", "no-output"]
    output: NDArray[Any] | None = None
    message: str = ""
    detail: str = ""
    where: str = ""
    returned: str = ""


class Runner(Protocol):
    """Calls the implementation; never raises for what the implementation does."""

    def call(self, arrays: Sequence[NDArray[Any]]) -> Reply:
        """Run the implementation on ``arrays`` (its arguments in order)."""
        ...  # pragma: no cover

    def close(self, kill: bool = False) -> None:
        """Stop what runs the implementation."""
        ...  # pragma: no cover


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill a child we started, and its process group (what it started in turn)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if _POSIX:
                os.killpg(proc.pid, signal.SIGKILL)
            else:  # pragma: no cover - Windows
                proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _exit_message(code: int) -> str:
    if code < 0:
        try:
            return f"crashed: killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"crashed: killed by signal {-code}"
    return f"exited with status {code}"


def _tail(log: IO[bytes], start: int = 0) -> str:
    log.flush()
    log.seek(start)
    text = log.read().decode("utf-8", "replace").strip()
    return text[-TAIL:]


def _seconds(value: float) -> str:
    return f"{value:g} s"


class _Worker:
    """One child process serving one Python function."""

    def __init__(self, impl: PythonImpl, load_timeout: float) -> None:
        self.log: IO[bytes] = tempfile.TemporaryFile(mode="a+b")  # O_APPEND: reads do not move it
        argv = [
            sys.executable,
            _worker.__file__,
            "file" if impl.is_file else "module",
            impl.target,
            impl.function,
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=env,
            start_new_session=_POSIX,
        )
        self._frames: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        message = self.receive(time.monotonic() + load_timeout)
        if message is None:
            self.close(kill=True)
            raise ImplementationError(
                f"{impl} did not load within {_seconds(load_timeout)} (importing it hangs?)"
            )
        head, _ = message
        if head["type"] == "not-found":
            self.close()
            raise ImplementationNotFound(head["message"])
        if head["type"] == "load-error":
            self.close()
            raise ImplementationError(f"{impl} failed to load: {head['message']}")
        if head["type"] == "eof":
            code = self.proc.wait()
            detail = _tail(self.log)
            self.close()
            raise ImplementationError(
                f"{impl} failed to load: {_exit_message(code)}"
                + (f"; it wrote: {detail.splitlines()[-1]}" if detail else "")
            )

    def _pump(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        try:
            while True:
                frame = _worker.read_frame(stream)  # type: ignore[arg-type]
                self._frames.put(frame)
                if frame is None:
                    return
        except (OSError, ValueError):
            self._frames.put(None)

    def receive(self, deadline: float) -> tuple[dict[str, Any], list[NDArray[Any]]] | None:
        """One message, ``({"type": "eof"}, [])`` when the child died, None past the deadline."""
        arrays: list[NDArray[Any]] = []
        head: dict[str, Any] | None = None
        while head is None or len(arrays) < head["arrays"]:
            try:
                frame = self._frames.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if frame is None:
                return {"type": "eof", "arrays": 0}, []
            if head is None:
                head = json.loads(frame)
            else:
                arrays.append(np.load(io.BytesIO(frame), allow_pickle=False))
        return head, arrays

    def send(self, arrays: Sequence[NDArray[Any]]) -> None:
        """Send one request (raises OSError when the child is gone)."""
        stdin = self.proc.stdin
        assert stdin is not None
        _worker.send(stdin, {"type": "call"}, tuple(np.ascontiguousarray(a) for a in arrays))  # type: ignore[arg-type]

    def close(self, kill: bool = False) -> None:
        """Ask the child to stop (end of input) and make sure it has; ``kill`` does not ask."""
        if kill:
            _kill(self.proc)
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        _kill(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()


class PythonRunner:
    """Calls a Python function in a child process, restarted after a crash or a timeout."""

    def __init__(self, impl: PythonImpl, timeout: float) -> None:
        self.impl = impl
        self.timeout = timeout
        self._worker: _Worker | None = None

    def start(self) -> None:
        """Load the function now (raises ImplementationNotFound or ImplementationError)."""
        if self._worker is None:
            self._worker = _Worker(self.impl, max(LOAD_TIMEOUT, self.timeout))

    def call(self, arrays: Sequence[NDArray[Any]]) -> Reply:
        """Run the function on ``arrays``."""
        try:
            self.start()
        except ValueError as exc:  # it loaded before, so this is the user's code crashing
            return Reply("crashed", message=str(exc))
        worker = self._worker
        assert worker is not None
        start = os.fstat(worker.log.fileno()).st_size
        try:
            worker.send(arrays)
            message = worker.receive(time.monotonic() + self.timeout)
        except OSError:
            message = ({"type": "eof", "arrays": 0}, [])
        if message is None:
            self._drop(kill=True)
            return Reply("timeout", message=f"no answer within {_seconds(self.timeout)}")
        head, out = message
        if head["type"] == "eof":
            code = worker.proc.wait()
            detail = _tail(worker.log, start)
            self._drop(kill=True)
            return Reply("crashed", message=_exit_message(code), detail=detail)
        if head["type"] == "raised":
            text = head["exception"] + (f": {head['message']}" if head["message"] else "")
            return Reply("raised", message=text, detail=head["traceback"], where=head["where"])
        if head["type"] == "bad-return":
            return Reply("bad-return", message=head["message"], returned=head["returned"])
        return Reply("ok", output=out[0], returned=head["returned"])

    def _drop(self, kill: bool = False) -> None:
        if self._worker is not None:
            self._worker.close(kill)
            self._worker = None

    def close(self, kill: bool = False) -> None:
        """Stop the child (``kill``: at once, without letting it finish)."""
        self._drop(kill)


class CommandRunner:
    """Runs a program once per case, exchanging files in a private temporary folder."""

    def __init__(self, impl: CommandImpl, role: Role, timeout: float) -> None:
        self.impl = impl
        self.role = role
        self.timeout = timeout
        self._dir = tempfile.TemporaryDirectory(prefix="sobelcli-verify-")
        self.folder = Path(self._dir.name)
        suffix = "." + impl.exchange
        self.paths = {name: self.folder / f"{name}{suffix}" for name in PLACEHOLDERS}

    def start(self) -> None:
        """Check that the program exists (raises ImplementationNotFound)."""
        program = self.impl.argv[0]
        if os.sep in program or "/" in program:
            found = Path(program).is_file() and os.access(program, os.X_OK)
        else:
            found = shutil.which(program) is not None
        if not found:
            raise ImplementationNotFound(f"cannot run {program!r}: no such program")

    def _argv(self) -> list[str]:
        argv = []
        for word in self.impl.argv:
            for name, path in self.paths.items():
                word = word.replace("{" + name + "}", str(path))
            argv.append(word)
        return argv

    def call(self, arrays: Sequence[NDArray[Any]]) -> Reply:
        """Write the inputs, run the program, read ``{out}``."""
        for name, array in zip(ROLE_INFO[self.role].inputs, arrays, strict=True):
            write_matrix(self.paths[name], array, self.impl.exchange)
        out = self.paths["out"]
        out.unlink(missing_ok=True)
        with tempfile.TemporaryFile() as log:
            try:
                proc = subprocess.Popen(
                    self._argv(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=_POSIX,
                )
            except OSError as exc:
                return Reply("crashed", message=f"cannot run it: {exc}")
            try:
                code = proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                _kill(proc)
                return Reply("timeout", message=f"no answer within {_seconds(self.timeout)}")
            except BaseException:
                _kill(proc)
                raise
            detail = _tail(log)
        if code != 0:
            return Reply("crashed", message=_exit_message(code), detail=detail)
        try:
            output = read_matrix(out, self.impl.exchange, "{out}")
        except ValueError as exc:
            return Reply("no-output", message=str(exc), detail=detail)
        return Reply("ok", output=output)

    def close(self, kill: bool = False) -> None:
        """Remove the exchange folder (its program has ended: each call waits for it)."""
        self._dir.cleanup()


@contextlib.contextmanager
def open_runner(impl: Impl, role: Role, timeout: float = DEFAULT_TIMEOUT) -> Iterator[Runner]:
    """A runner for ``impl`` in ``role``, loaded and ready; stopped on exit.

    Parameters
    ----------
    impl : PythonImpl or CommandImpl
    role : {"forward", "grad-input", "grad-kernel", "edges"}
        Decides which files a command gets.
    timeout : float
        Seconds each call may take.

    Raises
    ------
    ImplementationNotFound
        If the file, module, function or program does not exist.
    ImplementationError
        If a Python module raises while it is imported.
    """
    if timeout <= 0:
        raise ValueError(f"the timeout must be positive, not {timeout}")
    runner: PythonRunner | CommandRunner
    if isinstance(impl, PythonImpl):
        runner = PythonRunner(impl, timeout)
    else:
        runner = CommandRunner(impl, role, timeout)
    try:
        runner.start()
        yield runner
    except BaseException:  # an interrupt: do not wait for the child to finish its case
        runner.close(kill=True)
        raise
    runner.close()
