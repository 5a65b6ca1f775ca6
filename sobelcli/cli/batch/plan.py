"""A batch's plan: each input's output, and what cannot or need not run.

Inputs are compared by their real paths (links followed: two names of one file are one
input). Outputs are compared by the real path of their folder and their own name: a link
standing where an output goes is replaced by the output, never followed, so it can neither
hide an input nor send a write elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from sobelcli.cli.batch.types import Result, Source, Task


def output_name(rel: str, suffix: str, ext: str, template: str | None = None) -> str:
    """The file name of an input's output: ``NAME{suffix}{ext}``, or the ``--name`` template.

    The template's fields are ``{stem}`` (``photo`` of ``photo.jpg``), ``{ext}`` (``jpg``)
    and ``{name}`` (``photo.jpg``).
    """
    p = Path(rel)
    if template is None:
        return f"{p.stem}{suffix}{ext}"
    return template.format(stem=p.stem, ext=p.suffix.lstrip("."), name=p.name)


def output_for(
    source: Source, out_dir: str | None, suffix: str, ext: str, template: str | None = None
) -> str:
    """The output beside the input, or under ``out_dir`` at the input's relative path."""
    rel = Path(source.rel)
    name = output_name(source.rel, suffix, ext, template)
    if out_dir is None:
        return str(Path(source.path).with_name(name))
    return str(Path(out_dir, rel.parent, name))


def input_key(path: str) -> str:
    """An input's identity: its real path, links followed."""
    return os.path.realpath(path)


def output_key(path: str) -> str:
    """An output's identity: its folder's real path and its own name.

    A link standing there is not followed, as the write replaces it.
    """
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(os.path.realpath(folder), name)


def outside(path: str, folder: str) -> bool:
    """True when ``path`` would not lie inside ``folder`` (after ``..`` and folder links)."""
    root = os.path.realpath(folder)
    return not output_key(path).startswith(root.rstrip(os.sep) + os.sep)


def make_plan(
    sources: Sequence[Source],
    out_dir: str | None,
    suffix: str,
    ext: str,
    existing: str = "error",
    protected: Iterable[str] = (),
    template: str | None = None,
) -> tuple[list[Task], list[Result]]:
    """One task per input, and the results decided before running (errors, skipped).

    Inputs found in a folder or by a pattern are dropped when they are this batch's own
    outputs (from an earlier run) or lie under ``out_dir``. An output that is an input, one
    of the ``protected`` files the command reads (a kernel, a model), or the output of
    another input, is an error; so is an output that would lie outside ``out_dir``. An
    existing output is an error, skipped, or replaced, as ``existing`` says ("error",
    "skip", "overwrite").
    """
    outputs = {s: output_for(s, out_dir, suffix, ext, template) for s in sources}
    makers: dict[str, set[str]] = {}  # an output's key -> the inputs that would write it
    for s, out in outputs.items():
        makers.setdefault(output_key(out), set()).add(input_key(s.path))
    kept = _inputs(sources, makers, out_dir)
    inputs = {input_key(s.path) for s in kept}
    read = {input_key(p) for p in protected}
    tasks: list[Task] = []
    decided: list[Result] = []
    claimed: dict[str, str] = {}
    for s in kept:
        out = outputs[s]
        problem = _conflict(s, out, out_dir, (inputs, read), claimed, existing)
        claimed.setdefault(output_key(out), s.path)
        if problem == "skip":
            decided.append(Result(s.path, out, "skipped"))
        elif problem:
            decided.append(Result(s.path, out, "error", problem))
        else:
            tasks.append(Task(s.path, out, make_folder=out_dir is not None))
    return tasks, decided


def _inputs(
    sources: Sequence[Source], makers: dict[str, set[str]], out_dir: str | None
) -> list[Source]:
    """The sources once each, without found ones that are outputs (of this batch, or under -o).

    A found file that is another input's output is passed over; one whose own output would be
    itself (``--name '{stem}.png'``) is kept, for the plan to refuse it by name.

    Files under -o are passed over only when -o lies inside the folder searched (``photos/ -o
    photos/edges``); when -o is that folder itself or holds it, the inputs are all under it.
    """
    root = input_key(out_dir) + os.sep if out_dir else None
    kept: list[Source] = []
    seen: set[str] = set()
    for s in sources:
        key = input_key(s.path)
        under_out = bool(root and key.startswith(root) and _searched_above(s, root))
        others = makers.get(output_key(s.path), set()) - {key}
        own = bool(others) and not os.path.islink(s.path)
        if key in seen or (s.found and (own or under_out)):
            continue
        seen.add(key)
        kept.append(s)
    return kept


def _searched_above(s: Source, root: str) -> bool:
    """True when the folder ``s`` was found in lies strictly above the output folder ``root``."""
    searched = input_key(s.path[: len(s.path) - len(s.rel)] or ".") + os.sep
    return root.startswith(searched) and root != searched


def _conflict(
    s: Source,
    out: str,
    out_dir: str | None,
    reads: tuple[set[str], set[str]],
    claimed: dict[str, str],
    existing: str,
) -> str | None:
    key = output_key(out)
    if out_dir is not None and outside(out, out_dir):
        return f"{s.path}: its output {out} would lie outside {out_dir}; not written"
    if key in reads[0]:
        return f"{s.path}: its output {out} is an input of this batch; it would be overwritten"
    if key in reads[1]:
        return f"{s.path}: its output {out} is a file this command reads; it would be overwritten"
    if key in claimed:
        return f"{s.path}: its output {out} is also the output of {claimed[key]}"
    if os.path.isdir(out) and not os.path.islink(out) and not _zarr_output(out):
        return f"{s.path}: its output {out} is a folder"
    if os.path.lexists(out):
        if existing == "skip":
            return "skip"
        if existing != "overwrite":
            return f"{s.path}: {out} exists (--overwrite replaces it, --skip-existing keeps it)"
    return None


def _zarr_output(out: str) -> bool:
    """A ``.zarr`` output that is a Zarr array already: an existing output, like a file."""
    from sobelcli.cli.stream_probe import is_zarr_store

    return out.lower().endswith(".zarr") and is_zarr_store(out)
