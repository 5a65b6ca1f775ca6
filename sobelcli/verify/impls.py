"""What to verify: a Python function or a command template, named as on the command line.

* ``path/to/file.py:function`` or ``package.module:function``: a :class:`PythonImpl`.
* A template such as ``Rscript conv.R {x} {k} {out}``: a :class:`CommandImpl`, whose
  placeholders are the files of the role's inputs (``{x}``, ``{k}``, ``{dy}``) and of its
  output (``{out}``).
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from .cases import ROLE_INFO, Role
from .exchange import Exchange

__all__ = [
    "PLACEHOLDERS",
    "CommandImpl",
    "Impl",
    "ImplementationError",
    "ImplementationNotFound",
    "PythonImpl",
    "parse_command",
    "parse_impl",
    "parse_python",
]

#: Every placeholder a command template may use.
PLACEHOLDERS: tuple[str, ...] = ("x", "k", "dy", "out")


class ImplementationNotFound(ValueError):
    """The named file, module, function or program does not exist."""


class ImplementationError(ValueError):
    """The implementation exists but could not be loaded (its module raised on import)."""


@dataclass(frozen=True)
class PythonImpl:
    """A Python function: ``path/to/file.py:function`` or ``package.module:function``.

    Attributes
    ----------
    target : str
        The file's path or the module's dotted name.
    function : str
        Name of the function in it.
    is_file : bool
        True for a file, False for a module found on ``sys.path`` (the current folder first).
    """

    target: str
    function: str
    is_file: bool

    def __str__(self) -> str:
        return f"{self.target}:{self.function}"


@dataclass(frozen=True)
class CommandImpl:
    """A program run once per case, from a template with ``{x} {k} {dy} {out}`` placeholders.

    Attributes
    ----------
    argv : tuple of str
        The template split as a POSIX shell would (no shell runs it); placeholders may sit
        inside a word (``--in={x}``).
    exchange : {"csv", "npy"}
        Format of the files.
    template : str
        The template as written, to name it in reports.
    """

    argv: tuple[str, ...]
    exchange: Exchange = "csv"
    template: str = ""

    def __str__(self) -> str:
        return self.template or shlex.join(self.argv)


Impl = PythonImpl | CommandImpl

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def parse_python(spec: str) -> PythonImpl:
    """Read ``path/to/file.py:function`` or ``package.module:function``.

    Raises
    ------
    ValueError
        If the function is not named, or a file named does not exist.
    """
    target, colon, function = spec.rpartition(":")
    if not colon or not target or not function:
        raise ValueError(
            f"{spec!r} names no function: write FILE.py:FUNCTION or PACKAGE.MODULE:FUNCTION, "
            "as in examples/conv.py:correlate"
        )
    if not _IDENTIFIER.match(function):
        raise ValueError(f"{function!r} in {spec!r} is not a Python function name")
    is_file = target.endswith(".py") or "/" in target or os.sep in target
    if is_file:
        if not Path(target).is_file():
            raise ImplementationNotFound(f"no file {target}")
    elif not all(_IDENTIFIER.match(part) for part in target.split(".")):
        raise ValueError(
            f"{target!r} is neither a .py file nor a dotted module name like package.module"
        )
    return PythonImpl(target, function, is_file)


def parse_command(template: str, role: Role, exchange: Exchange = "csv") -> CommandImpl:
    """Check a command template against the placeholders of ``role``.

    Parameters
    ----------
    template : str
        E.g. ``"Rscript conv.R {x} {k} {out}"``; split into words as a POSIX shell would.
    role : {"forward", "grad-input", "grad-kernel", "edges"}
        Its inputs are the placeholders the template must use, with ``{out}``.
    exchange : {"csv", "npy"}

    Raises
    ------
    ValueError
        If the template is empty, misquoted, or lacks or misuses a placeholder.
    """
    try:
        argv = tuple(shlex.split(template))
    except ValueError as exc:
        raise ValueError(f"cannot split the command into words: {exc}") from None
    if not argv:
        raise ValueError("the command is empty")
    used = {name for name in PLACEHOLDERS for word in argv if "{" + name + "}" in word}
    wanted = set(ROLE_INFO[role].inputs) | {"out"}
    listed = " ".join("{" + n + "}" for n in (*ROLE_INFO[role].inputs, "out"))
    missing = [n for n in (*ROLE_INFO[role].inputs, "out") if n not in used]
    if missing:
        names = " ".join("{" + n + "}" for n in missing)
        raise ValueError(
            f"the command lacks {names}: role {role} runs it with the files {listed} "
            "(inputs, then the output it writes)"
        )
    extra = sorted(used - wanted)
    if extra:
        names = " ".join("{" + n + "}" for n in extra)
        raise ValueError(f"{names} is not a file of role {role}; its files are {listed}")
    if any("{" + name + "}" in argv[0] for name in PLACEHOLDERS):
        raise ValueError("the command's first word is the program to run, not a placeholder")
    return CommandImpl(argv, exchange, template.strip())


def parse_impl(text: str, role: Role, exchange: Exchange = "csv") -> Impl:
    """A command template when ``text`` has an ``{out}`` placeholder, else a Python function."""
    if "{out}" in text:
        return parse_command(text, role, exchange)
    return parse_python(text)
