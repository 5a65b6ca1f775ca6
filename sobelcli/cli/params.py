"""Parameter types and helpers of the command line.

Paths that complete, byte sizes, finite floats, which options the user gave, JSON errors.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from sobelcli import names

F = TypeVar("F", bound=Callable[..., Any])

#: A file or folder argument: not checked here (the library says what is wrong), but typed,
#: so that bash, zsh and fish complete file names after it.
PATH = click.Path(allow_dash=True, path_type=str)


def compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """One decorator applying ``decorators`` in order, as if stacked on the function."""

    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


@functools.cache
def default_max_memory() -> int:
    """The default of ``--max-memory``: 2 GiB, or half the physical memory if that is less."""
    try:
        share = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * names.MEMORY_SHARE)
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        share = 0
    return min(names.DEFAULT_MAX_MEMORY, share) if share > 0 else names.DEFAULT_MAX_MEMORY


class ByteSize(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2
    """A size in bytes: ``2G``, ``512M``, ``1.5GiB``, ``300000000`` (K, M, G, T: powers of 1024)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Bytes as an int, from an int or a number with an optional unit."""
        found = re.fullmatch(r"\s*(\d+\.?\d*|\.\d+)\s*([KMGT]?)(I?B)?\s*", str(value), re.I)
        size = float(found[1]) * 1024 ** " KMGT".find(found[2].upper() or " ") if found else 0
        if not 1 <= size < 1 << 62:
            self.fail(f"{value!r} is not a size: bytes, or a number and K, M, G or T", param, ctx)
        return int(size)


class FiniteFloatRange(click.FloatRange):
    """Click's FloatRange, refusing also nan and inf, which its comparisons let through."""

    name = "float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Convert and check the range; then refuse what is not a finite number."""
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number ({self._describe_range()})", param, ctx)
        return number


def given(ctx: click.Context, name: str) -> bool:
    """True when the user set option ``name`` (on the command line or in the environment)."""
    from click.core import ParameterSource

    source = ctx.get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def refuse_unused(ctx: click.Context, why: str, *names: str) -> None:
    """Exit 2 when an option that does nothing here was given: ``why`` says why."""
    used = [n for n in names if given(ctx, n)]
    if used:
        flags = ", ".join("--" + n.replace("_", "-") for n in used)
        raise click.UsageError(f"{flags} does nothing {why}; drop it")


@contextmanager
def json_errors(as_json: bool, **keys: Any) -> Iterator[None]:
    """With --json, a failure still prints one JSON object, ``{"status": "error", ...}``."""
    try:
        yield
    except click.UsageError:
        raise
    except (click.ClickException, ValueError, OSError) as exc:
        if as_json:
            from sobelcli.cli import report
            from sobelcli.cli.main import one_line

            text = exc.format_message() if isinstance(exc, click.ClickException) else one_line(exc)
            report.emit_json({"status": "error", **keys, "error": text})
        raise
