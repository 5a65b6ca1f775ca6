"""What sobelcli tells people: rich tables, progress and messages on stderr; JSON on stdout.

Nothing here computes. rich turns colour off by itself when stderr is not a terminal or
``NO_COLOR`` is set, and progress bars are drawn only on a terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

from sobelcli.cli.text import json_safe, printable

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console
    from rich.progress import Progress


def plain_requested() -> bool:
    """True when NO_COLOR is set (to anything but empty), as https://no-color.org asks."""
    return bool(os.environ.get("NO_COLOR"))


#: The width of tables and lines when stderr is not a terminal (a log, a pipe).
LOG_WIDTH = 10_000


@cache
def console(quiet: bool = False) -> Console:
    """The stderr console shared by every command.

    Without a terminal rich writes no escape codes by itself and nothing is wrapped; with
    ``NO_COLOR`` it would still write bold and italics, so there the styles are turned off.
    """
    from rich.console import Console

    plain = plain_requested()
    stream = sys.stderr
    terminal = stream is not None and stream.isatty()
    return Console(
        stderr=True,
        highlight=False,
        soft_wrap=True,
        quiet=quiet,
        no_color=plain,
        color_system=None if plain else "auto",
        # In a log nothing is wrapped: a table is as wide as its longest path, so grep works.
        width=None if terminal else LOG_WIDTH,
    )


def table_box() -> Any:
    """Box-drawing lines on a terminal; plain ASCII in logs and with NO_COLOR."""
    from rich import box

    return box.ASCII if plain_requested() or not console().is_terminal else box.HEAVY_HEAD


def _plain() -> bool:
    """True when stderr is not a terminal or NO_COLOR is set: lines go out as they are."""
    stream = sys.stderr
    return stream is None or not stream.isatty() or plain_requested()


def info(message: str, quiet: bool = False) -> None:
    """One line of news on stderr (``quiet`` drops it)."""
    if quiet:
        return
    message = printable(message)
    if _plain():
        sys.stderr.write(message + "\n")
    else:
        console().print(message, markup=False)


def warn(message: str) -> None:
    """One warning line on stderr, kept even with --quiet."""
    message = printable(message)
    if _plain():
        sys.stderr.write(f"warning: {message}\n")
    else:
        console().print(f"warning: {message}", markup=False, style="yellow")


def emit_json(document: Any) -> None:
    """One JSON document on stdout, on one line."""
    import json  # here: 2 ms of a run without --json

    sys.stdout.write(json.dumps(json_safe(document), allow_nan=False) + "\n")
    sys.stdout.flush()


def table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    justify: Sequence[str] | None = None,
    caption: str | None = None,
) -> None:
    """Print a table on stderr; cells are formatted with ``str``."""
    from rich.table import Table

    t = Table(
        title=title, caption=caption, title_justify="left", caption_justify="left", box=table_box()
    )
    for i, name in enumerate(columns):
        t.add_column(name, justify=(justify[i] if justify else "left"))  # type: ignore[arg-type]
    for row in rows:
        t.add_row(*(str(c) for c in row))
    console().print(t)


def fmt(value: float, digits: int = 6) -> str:
    """A float in a compact scientific or fixed form."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e6:
        return f"{value:.{digits}g}"
    return f"{value:.{max(1, digits - 3)}e}"


@contextmanager
def progress(description: str, total: int | None, quiet: bool = False) -> Iterator[Progress]:
    """A rich progress bar on stderr, drawn only when stderr is a terminal and not ``quiet``."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[extra]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    out = console()
    bar = Progress(*columns, console=out, transient=False, disable=quiet or not out.is_terminal)
    with bar:
        bar.add_task(description, total=total, extra="")
        yield bar
