"""The ``sobelcli`` command group and its one error boundary.

Commands live one per module in :mod:`sobelcli.cli.commands` and are imported only when run (or
listed by ``--help``); they import numpy and friends inside their bodies, so ``sobelcli
--help`` starts without them.
"""

from __future__ import annotations

import enum
import os
import signal
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from typing import Any

import click

from sobelcli._version import __version__
from sobelcli.cli.commands import COMMANDS, NO_MATRIX_PRODUCTS, SUMMARIES
from sobelcli.cli.stdio import StdoutError, guard_streams, silence_stdout


#: command name -> "module:attribute" of its click command
class Exit(enum.IntEnum):
    """Exit codes, as documented in the README: 128 + n after signal n (Linux numbers)."""

    OK = 0
    ERROR = 1  # bad input file, failed check, failed write
    USAGE = 2  # bad option or argument (Click's own)
    HANGUP = 129  # SIGHUP: the terminal or the session went away
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    USER1 = 138  # SIGUSR1
    USER2 = 140  # SIGUSR2
    ALARM = 142  # SIGALRM
    TERMINATED = 143  # SIGTERM


#: The catchable signals whose default is to end the process, SIGINT apart (Ctrl-C is
#: KeyboardInterrupt): each ends sobelcli after the clean-up, with exit status 128 + n.
TERMINATING_SIGNALS = ("SIGHUP", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM")


def terminating_signals() -> list[int]:
    """The numbers of :data:`TERMINATING_SIGNALS` that this platform has."""
    return [int(getattr(signal, name)) for name in TERMINATING_SIGNALS if hasattr(signal, name)]


def signal_name(signum: int) -> str:
    """``SIGHUP`` for 1; ``signal 64`` for a number without a name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class Terminated(BaseException):
    """Raised in the main thread on a terminating signal, so that clean-up code runs."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def code(self) -> int:
        """The exit status: 128 + the signal's number."""
        return 128 + self.signum

    def describe(self) -> str:
        """``interrupted`` (SIGINT), ``terminated`` (SIGTERM) or ``terminated by SIGHUP``."""
        if self.signum in (signal.SIGINT, signal.SIGTERM):
            return "interrupted" if self.signum == signal.SIGINT else "terminated"
        return f"terminated by {signal_name(self.signum)}"


def _stop(exc: BaseException) -> Terminated:
    """Ctrl-C (KeyboardInterrupt) as a Terminated by SIGINT; a Terminated as it is."""
    return exc if isinstance(exc, Terminated) else Terminated(signal.SIGINT)


def quiet_unraisable(unraisable: Any) -> None:
    """After an interrupt, objects cut off half-built complain from ``__del__``: not news."""


_received: list[int] = []
_deferred: list[int] = []  # signals that arrived in a ``stops_deferred`` block; [-1]: none yet


def _on_terminate(signum: int, frame: Any) -> None:
    _received.append(signum)
    sys.unraisablehook = quiet_unraisable
    if _deferred and _deferred[-1] == -1:
        _deferred[-1] = signum
        return
    raise Terminated(signum)


def _on_sigint(signum: int, frame: Any) -> None:
    _received.append(signum)
    sys.unraisablehook = quiet_unraisable
    if _deferred and _deferred[-1] == -1:
        _deferred[-1] = signum
        return
    raise KeyboardInterrupt


@contextmanager
def stops_deferred() -> Iterator[None]:
    """A stopping signal that arrives in the block is raised as it ends, not in the middle.

    For a few statements that must happen together (count a result and print its line). The
    handlers run in the main thread, as Python runs them: the kernel's mask is not touched.
    """
    _deferred.append(-1)
    try:
        yield
    finally:
        signum = _deferred.pop()
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    if signum != -1:
        raise Terminated(signum)


def _install_handlers() -> list[int]:
    """Catch Ctrl-C and the terminating signals; not those the process started ignoring (nohup)."""
    installed = []
    for signum in terminating_signals():
        if signal.getsignal(signum) == signal.SIG_DFL:
            signal.signal(signum, _on_terminate)
            installed.append(signum)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)
        installed.append(signal.SIGINT)
    return installed


def _say(message: str) -> None:
    """One line on stderr, if stderr can still take it."""
    try:
        click.echo(message, err=True)
    except (OSError, ValueError):
        pass


class LazyGroup(click.Group):
    """A group that imports a command's module only when the command is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, lazy ones included."""
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their first lines, from :data:`SUMMARIES`: no module imported."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names), default=0)
        rows = []
        for name in names:
            command = None if name in SUMMARIES else self.get_command(ctx, name)
            summary = SUMMARIES[name] if command is None else command.help or ""
            rows.append((name, click.Command(name, help=summary).get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import a lazy command's module and return its command."""
        if cmd_name in NO_MATRIX_PRODUCTS and "numpy" not in sys.modules:
            # OpenBLAS's threads spin ~70 ms of CPU as numpy is imported: 30 ms of wall time
            os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # (on 2 cores); a user's stands
            _one_malloc_arena()
        if cmd_name in COMMANDS:
            module, attr = COMMANDS[cmd_name].split(":")
            return getattr(import_module(module), attr)  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn domain errors into one line and signal n into 128 + n."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (KeyboardInterrupt, Terminated) as exc:
            click.echo(f"sobelcli: {_stop(exc).describe()}", err=True)
            ctx.exit(_stop(exc).code)
        except BrokenPipeError:
            # The reader of stdout went away (``| head``): nothing more to say.
            sys.stderr.close()
            ctx.exit(Exit.ERROR)
        except (ValueError, OSError) as exc:
            if ctx.obj and ctx.obj.get("traceback"):
                raise
            raise click.ClickException(one_line(exc)) from None
        except Exception as exc:
            if ctx.obj and ctx.obj.get("traceback"):
                raise
            raise click.ClickException(
                f"internal error: {type(exc).__name__}: {one_line(exc)} "
                "(rerun with --traceback to see where)"
            ) from None


def _one_malloc_arena() -> None:
    """glibc: one malloc arena for every thread (``M_ARENA_MAX`` = 1), unless the user set one.

    The stream's decoder, writer and engine threads would each fragment an arena of their own:
    measured on a 6144² PNG, one arena makes the run 18% faster and 4 MB smaller.
    """
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-8, 1)  # M_ARENA_MAX; a libc without it: AttributeError
    except (AttributeError, OSError):
        pass


def one_line(exc: BaseException) -> str:
    """The error as one line, with the option that changes it where there is one.

    The library's errors name files and settings, not flags; this is where the flags come in.
    """
    text = " ".join((str(exc).strip() or type(exc).__name__).split())
    return text + _hint(exc)


#: Reader settings (``ImageError.setting``) and what to tell about each.
SETTING_HINTS = {
    "max_pixels": " (raise it with --max-pixels)",
    "max_memory": " (raise it with --max-memory)",
    "channel": " (see --channel)",
}


def _hint(exc: BaseException) -> str:
    setting = getattr(exc, "setting", None)
    if setting in SETTING_HINTS:
        return SETTING_HINTS[setting]
    if type(exc).__name__ == "Overflow":
        if getattr(exc, "what", "") == "loss":
            return "; use fewer --steps, a smaller --lr, or --constraint unit-norm|box"
        return "; use a smaller --lr or fewer --steps"
    return ""


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  sobelcli edges photo.png -o edges.png
  cat photo.png | sobelcli edges - -o - > edges.png
  sobelcli gradcheck photo.png --all
  sobelcli maximize -o pattern.png --constraint unit-norm
Run 'sobelcli COMMAND --help' for the options of a command.""",
)
@click.version_option(__version__, "-V", "--version", prog_name="sobelcli")
@click.option(
    "--traceback", is_flag=True, hidden=True, help="Show the full Python traceback of an error."
)
@click.pass_context
def cli(ctx: click.Context, traceback: bool) -> None:
    """Sobel edge maps and convolution gradients, from the command line.

    Convolution here is the lab's valid cross-correlation, y_ij = sum_kl x_{i+k-1,j+l-1} k_kl,
    with the Sobel kernels Gx = [[-1,-2,-1],[0,0,0],[1,2,1]] and Gy = Gx^T. Images are read
    as grey values in [0, 1]; '-' reads stdin or writes stdout.

    Exit status: 0 success, 1 a file or a check failed, 2 bad usage, 130 interrupted.
    """
    ctx.obj = {"traceback": traceback}
    if not traceback:
        # numpy's overflow warnings name source lines; the commands check results for
        # non-finite values themselves and say what happened in one line.
        warnings.simplefilter("ignore", RuntimeWarning)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``sobelcli`` script."""
    restore = guard_streams()
    handled = _install_handlers()
    try:
        try:
            code = _run(argv)
        except (KeyboardInterrupt, Terminated) as exc:  # a second signal, as the first is told
            code = _stop(exc).code
    finally:
        # A write cut short removes its temporary file; this catches one whose clean-up a
        # second signal interrupted. Signals wait meanwhile; after it, their default action
        # ends the process without a traceback.
        with _signals_held(handled):
            files = sys.modules.get("sobelcli.io.files")
            if files is not None:
                files.remove_unfinished()
            for signum in handled:
                signal.signal(signum, signal.SIG_DFL)
        restore()
    sys.exit(code)


def script() -> None:
    """The ``sobelcli`` command (and ``python -m sobelcli``): :func:`main`, then out at once.

    When nothing is left to finish (outputs renamed, no worker process or cluster to stop),
    the process ends without the interpreter's teardown: 20 ms of every run.
    """
    try:
        main()
    except SystemExit as exc:
        if {"dask", "distributed", "zarr", "multiprocessing"} & sys.modules.keys():
            raise
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (AttributeError, OSError, ValueError):
                pass
        os._exit(exc.code if isinstance(exc.code, int) else int(exc.code is not None))


@contextmanager
def _signals_held(signums: list[int]) -> Iterator[None]:
    """Hold ``signums`` back (delivered on leaving), where the OS can."""
    if not signums or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, signums)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _run(argv: list[str] | None) -> int:
    """Run the group; the exit status, after stdout is flushed here rather than at exit."""
    code = 0
    try:
        try:
            cli.main(args=argv, prog_name="sobelcli")
        except SystemExit as exc:  # Click's way out, always; its codes are numbers
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            # Click's "Aborted!" (exit 1) for a Ctrl-C outside a command
            if code == Exit.ERROR and signal.SIGINT in _received:
                code = Exit.INTERRUPTED
        if sys.stdout is not None:
            sys.stdout.flush()  # here, where a failure is one line, not noise at exit
    except (KeyboardInterrupt, Terminated) as exc:  # outside a command: parsing, or at the end
        silence_stdout()
        _say(f"sobelcli: {_stop(exc).describe()}")
        return _stop(exc).code
    except (BrokenPipeError, StdoutError) as exc:  # --help into a full disk, or `| head`
        silence_stdout()
        if isinstance(exc, StdoutError):  # a reader that went away needs no word
            _say(f"sobelcli: {exc}")
        return code or Exit.ERROR
    except OSError as exc:  # a message that stderr could not take
        _say(f"sobelcli: {one_line(exc)}")
        return code or Exit.ERROR
    return code
