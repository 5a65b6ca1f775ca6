"""The ``sobelcli`` command group and its one error boundary.

Commands live one per module in :mod:`sobelcli.cli.commands` and are imported only when run (or
listed by ``--help``); they import numpy and friends inside their bodies, so ``sobelcli
--help`` starts without them.
"""

from __future__ import annotations

import enum
import signal
import sys
import warnings
from importlib import import_module
from typing import Any

import click

from sobelcli._version import __version__

#: command name -> "module:attribute" of its click command
COMMANDS: dict[str, str] = {
    "edges": "sobelcli.cli.commands.edges:command",
    "grad-input": "sobelcli.cli.commands.grad_input:command",
    "gradcheck": "sobelcli.cli.commands.gradcheck:command",
    "maximize": "sobelcli.cli.commands.maximize:command",
    "train": "sobelcli.cli.commands.train:command",
    "predict": "sobelcli.cli.commands.predict:command",
}


class Exit(enum.IntEnum):
    """Exit codes, as documented in the README."""

    OK = 0
    ERROR = 1  # bad input file, failed check, failed write
    USAGE = 2  # bad option or argument (Click's own)
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM, so that clean-up code runs."""


def quiet_unraisable(unraisable: Any) -> None:
    """After an interrupt, objects cut off half-built complain from ``__del__``: not news."""


_received: list[int] = []


def _on_sigterm(signum: int, frame: Any) -> None:
    _received.append(signum)
    sys.unraisablehook = quiet_unraisable
    raise Terminated


def _on_sigint(signum: int, frame: Any) -> None:
    _received.append(signum)
    sys.unraisablehook = quiet_unraisable
    raise KeyboardInterrupt


class LazyGroup(click.Group):
    """A group that imports a command's module only when the command is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, lazy ones included."""
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import a lazy command's module and return its command."""
        if cmd_name in COMMANDS:
            module, attr = COMMANDS[cmd_name].split(":")
            return getattr(import_module(module), attr)  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn domain errors into one line and interrupts into 130/143."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("sobelcli: interrupted", err=True)
            ctx.exit(Exit.INTERRUPTED)
        except Terminated:
            click.echo("sobelcli: terminated", err=True)
            ctx.exit(Exit.TERMINATED)
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


def one_line(exc: BaseException) -> str:
    """The error as one line, with the option that changes it where there is one.

    The library's errors name files and settings, not flags; this is where the flags come in.
    """
    text = " ".join((str(exc).strip() or type(exc).__name__).split())
    return text + _hint(exc)


#: Reader settings (``ImageError.setting``) and what to tell about each.
SETTING_HINTS = {
    "max_pixels": " (raise it with --max-pixels)",
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
    signal.signal(signal.SIGTERM, _on_sigterm)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not if started ignoring it
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        cli.main(args=argv, prog_name="sobelcli")
    except Terminated:  # outside a command: while parsing, or as it finished
        click.echo("sobelcli: terminated", err=True)
        sys.exit(Exit.TERMINATED)
    except SystemExit as exc:  # Click's "Aborted!" (exit 1) for a Ctrl-C outside a command
        if exc.code == Exit.ERROR and signal.SIGINT in _received:
            sys.exit(Exit.INTERRUPTED)
        raise
    finally:  # a signal while Python shuts down ends it without a traceback
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if signal.getsignal(signal.SIGINT) is _on_sigint:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
