"""A batch's inputs: the files that IMAGE arguments (files, folders, glob patterns) name."""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from sobelcli.cli.batch.types import Result, Source
from sobelcli.names import IMAGE_SUFFIXES

GLOB_CHARS = frozenset("*?[")


def is_pattern(arg: str) -> bool:
    """A glob pattern the shell left alone: glob characters, and no file of that name."""
    return bool(GLOB_CHARS & set(arg)) and not os.path.lexists(arg)


def is_batch(args: Sequence[str], output: str | None = None) -> bool:
    """Several arguments, a folder, a pattern, or ``-o`` an existing folder (or ending in /).

    One file (or ``-``) with ``-o FILE`` is not a batch; a Zarr array is one image, as input
    or output, though it is a folder.
    """
    from sobelcli.cli.stream_probe import is_zarr_store

    if len(args) != 1:
        return True
    if args[0] == "-":
        return False
    if (os.path.isdir(args[0]) and not is_zarr_store(args[0])) or is_pattern(args[0]):
        return True
    if output is None:
        return False
    return (os.path.isdir(output) and not is_zarr_store(output)) or output.endswith(("/", os.sep))


def expand(args: Iterable[str], recursive: bool = False) -> tuple[list[Source], list[Result]]:
    """The sources named by the arguments, and an error for each argument that names none.

    A folder gives its image files (by extension; hidden files skipped), and with
    ``recursive`` those of its subfolders, each keeping its path relative to the folder. A
    pattern gives the files it matches (``**`` descends with ``recursive``), relative to its
    leading folder. Any other argument is a file, kept by its name, read whatever it is.
    """
    sources: list[Source] = []
    problems: list[Result] = []
    from sobelcli.cli.stream_probe import is_zarr_store

    for arg in args:
        if os.path.isdir(arg) and not is_zarr_store(arg):
            files = _walk(arg, recursive)
            base = arg
            why = "no image files in this folder" + ("" if recursive else " (add --recursive?)")
        elif is_pattern(arg):
            files = sorted(m for m in matches(arg, recursive) if os.path.isfile(m))
            base, why = _pattern_base(arg), "no file matches this pattern"
        else:
            sources.append(Source(arg, os.path.basename(arg.rstrip("/")) or arg))
            continue
        if not files:
            problems.append(Result(arg, None, "error", f"{arg}: {why}"))
        sources += [Source(f, os.path.relpath(f, base), found=True) for f in files]
    return sources, problems


def matches(pattern: str, recursive: bool = False) -> list[str]:
    """The paths a glob pattern matches; with ``recursive``, ``**`` spans any folder depth.

    Unlike :func:`glob.glob`, each folder is entered once (by device and inode) under ``**``,
    so links that loop back end the walk instead of running it forever. As with glob,
    names starting with a dot match only a pattern part that starts with a dot.
    """
    if not (recursive and "**" in pattern):
        return glob.glob(pattern)
    parts = Path(pattern).parts
    start = 0
    while start < len(parts) - 1 and not GLOB_CHARS & set(parts[start]):
        start += 1
    root = os.path.join(*parts[:start]) if start else ""
    found: list[str] = []
    _expand(root, parts[start:], set(), found)
    return found


def _expand(
    folder: str, parts: Sequence[str], seen: set[tuple[int, int]], found: list[str]
) -> None:
    if not parts:
        found.append(folder)
        return
    part, rest = parts[0], parts[1:]
    here = folder or "."
    if part == "**":
        try:
            info = os.stat(here)
        except OSError:
            return
        if (info.st_dev, info.st_ino) in seen:
            return
        seen.add((info.st_dev, info.st_ino))
        _expand(folder, rest, seen, found)
        for name in _names(here):
            path = os.path.join(folder, name)
            if not name.startswith(".") and os.path.isdir(path):
                _expand(path, parts, seen, found)
    elif GLOB_CHARS & set(part):
        for name in _names(here):
            if fnmatch.fnmatchcase(name, part) and (part[0] == "." or name[0] != "."):
                _expand(os.path.join(folder, name), rest, seen, found)
    elif os.path.lexists(os.path.join(folder, part)) or part in (".", ".."):
        _expand(os.path.join(folder, part), rest, seen, found)


def _names(folder: str) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []


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
