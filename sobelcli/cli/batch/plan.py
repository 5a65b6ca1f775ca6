"""A batch's plan: each input's output, and what cannot or need not run."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sobelcli.cli.batch.types import Result, Source, Task

EXISTING = ("error", "skip", "overwrite")


def output_for(source: Source, out_dir: str | None, suffix: str, ext: str) -> str:
    """``NAME{suffix}{ext}`` beside the input, or under ``out_dir`` at the input's relative path."""
    rel = Path(source.rel)
    name = f"{rel.stem}{suffix}{ext}"
    if out_dir is None:
        return str(Path(source.path).with_name(name))
    return str(Path(out_dir, rel.parent, name))


def _key(path: str) -> str:
    return os.path.realpath(path)


def plan(
    sources: Sequence[Source],
    out_dir: str | None,
    suffix: str,
    ext: str,
    existing: str = "error",
    options: dict[str, Any] | None = None,
) -> tuple[list[Task], list[Result]]:
    """One task per input, and the results decided before running (errors, skipped).

    Inputs found in a folder or by a pattern are dropped when they are this batch's own
    outputs (from an earlier run) or lie under ``out_dir``. An output that is an input, or
    the output of another input, is an error. An existing output is an error, skipped, or
    replaced, as ``existing`` says ("error", "skip", "overwrite").
    """
    outputs = {s: output_for(s, out_dir, suffix, ext) for s in sources}
    kept = _inputs(sources, {_key(o) for o in outputs.values()}, out_dir)
    inputs = {_key(s.path) for s in kept}
    tasks: list[Task] = []
    decided: list[Result] = []
    claimed: dict[str, str] = {}
    for s in kept:
        out = outputs[s]
        problem = _conflict(s, out, inputs, claimed, existing)
        claimed.setdefault(_key(out), s.path)
        if problem == "skip":
            decided.append(Result(s.path, out, "skipped"))
        elif problem:
            decided.append(Result(s.path, out, "error", problem))
        else:
            tasks.append(Task(s.path, out, dict(options or {})))
    return tasks, decided


def _inputs(sources: Sequence[Source], own_outputs: set[str], out_dir: str | None) -> list[Source]:
    """The sources once each, without found ones that are outputs (of this batch, or under -o).

    Files under -o are passed over only when -o lies inside the folder searched (``photos/ -o
    photos/edges``); when -o is that folder itself or holds it, the inputs are all under it.
    """
    root = _key(out_dir) + os.sep if out_dir else None
    kept: list[Source] = []
    seen: set[str] = set()
    for s in sources:
        key = _key(s.path)
        under_out = bool(root and key.startswith(root) and _searched_above(s, root))
        if key in seen or (s.found and (key in own_outputs or under_out)):
            continue
        seen.add(key)
        kept.append(s)
    return kept


def _searched_above(s: Source, root: str) -> bool:
    """True when the folder ``s`` was found in lies strictly above the output folder ``root``."""
    searched = _key(s.path[: len(s.path) - len(s.rel)] or ".") + os.sep
    return root.startswith(searched) and root != searched


def _conflict(
    s: Source, out: str, inputs: set[str], claimed: dict[str, str], existing: str
) -> str | None:
    key = _key(out)
    if key in inputs:
        return f"{s.path}: its output {out} is an input of this batch; it would be overwritten"
    if key in claimed:
        return f"{s.path}: its output {out} is also the output of {claimed[key]}"
    if os.path.isdir(out):
        return f"{s.path}: its output {out} is a folder"
    if os.path.lexists(out):
        if existing == "skip":
            return "skip"
        if existing != "overwrite":
            return f"{s.path}: {out} exists (--overwrite replaces it, --skip-existing keeps it)"
    return None
