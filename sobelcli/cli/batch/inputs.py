"""A batch's inputs: the files that IMAGE arguments (files, folders, glob patterns) name."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from sobelcli.cli.batch.types import Result, Source

#: Files a folder argument contributes (a file named on the command line is read whatever its name).
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".npy"}
)
GLOB_CHARS = frozenset("*?[")


def is_pattern(arg: str) -> bool:
    """A glob pattern the shell left alone: glob characters, and no file of that name."""
    return bool(GLOB_CHARS & set(arg)) and not os.path.lexists(arg)


def is_batch(args: Sequence[str], output: str | None = None) -> bool:
    """Several arguments, a folder, a pattern, or ``-o`` an existing folder (or ending in /).

    One file (or ``-``) with ``-o FILE`` is not a batch.
    """
    if len(args) != 1:
        return True
    if args[0] == "-":
        return False
    if os.path.isdir(args[0]) or is_pattern(args[0]):
        return True
    return output is not None and (os.path.isdir(output) or output.endswith(("/", os.sep)))


def expand(args: Iterable[str], recursive: bool = False) -> tuple[list[Source], list[Result]]:
    """The sources named by the arguments, and an error for each argument that names none.

    A folder gives its image files (by extension; hidden files skipped), and with
    ``recursive`` those of its subfolders, each keeping its path relative to the folder. A
    pattern gives the files it matches (``**`` descends with ``recursive``), relative to its
    leading folder. Any other argument is a file, kept by its name, read whatever it is.
    """
    sources: list[Source] = []
    problems: list[Result] = []
    for arg in args:
        if os.path.isdir(arg):
            files = _walk(arg, recursive)
            base = arg
            why = "no image files in this folder" + ("" if recursive else " (add --recursive?)")
        elif is_pattern(arg):
            files = sorted(m for m in glob.glob(arg, recursive=recursive) if os.path.isfile(m))
            base, why = _pattern_base(arg), "no file matches this pattern"
        else:
            sources.append(Source(arg, os.path.basename(arg.rstrip("/")) or arg))
            continue
        if not files:
            problems.append(Result(arg, None, "error", f"{arg}: {why}"))
        sources += [Source(f, os.path.relpath(f, base), found=True) for f in files]
    return sources, problems


def _wanted(name: str) -> bool:
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES


def _walk(folder: str, recursive: bool) -> list[str]:
    if not recursive:
        with os.scandir(folder) as entries:
            return sorted(e.path for e in entries if _wanted(e.name) and e.is_file())
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        paths = (os.path.join(root, f) for f in sorted(files) if _wanted(f))
        found += [p for p in paths if os.path.isfile(p)]
    return found


def _pattern_base(pattern: str) -> str:
    head: list[str] = []
    for part in Path(pattern).parts[:-1]:
        if GLOB_CHARS & set(part):
            break
        head.append(part)
    return os.path.join(*head) if head else "."
