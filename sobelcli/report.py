"""What sobelcli tells people: rich tables, progress and messages on stderr; JSON on stdout.

Nothing here computes. rich turns colour off by itself when stderr is not a terminal or
``NO_COLOR`` is set, and progress bars are drawn only on a terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console
    from rich.progress import Progress


@cache
def console() -> Console:
    """The stderr console shared by every command."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _plain() -> bool:
    """True when stderr is not a terminal: lines go out as they are, without importing rich."""
    stream = sys.stderr
    return stream is None or not stream.isatty()


def info(message: str, quiet: bool = False) -> None:
    """One line of news on stderr (``quiet`` drops it)."""
    if quiet:
        return
    if _plain():
        sys.stderr.write(message + "\n")
    else:
        console().print(message, markup=False)


def warn(message: str) -> None:
    """One warning line on stderr, kept even with --quiet."""
    if _plain():
        sys.stderr.write(f"warning: {message}\n")
    else:
        console().print(f"warning: {message}", markup=False, style="yellow")


def emit_json(document: Any) -> None:
    """One JSON document on stdout, on one line."""
    sys.stdout.write(json.dumps(document, allow_nan=False) + "\n")
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

    t = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
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
