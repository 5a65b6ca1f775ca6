"""The records a batch passes between its stages: options, a source, a task, a result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: What to do with an output that exists already.
EXISTING = ("error", "skip", "overwrite")


@dataclass(frozen=True)
class BatchOptions:
    """The batch options of a command (``--recursive``, ``--jobs`` ...), parsed once.

    ``existing`` is one of :data:`EXISTING`; ``fmt`` is the ``--format`` of the outputs that
    sobelcli names (None: png); ``jobs`` None means one process per core; ``name`` is the
    ``--name`` template of those outputs (None: ``{stem}_edges.png`` and the like).
    """

    recursive: bool = False
    jobs: int | None = None
    fail_fast: bool = False
    existing: str = "error"
    fmt: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Source:
    """One input: its path, the path its output keeps under ``-o``, and how it was found."""

    path: str
    rel: str
    found: bool = False  # in a folder or by a pattern, rather than named


@dataclass(frozen=True)
class Task:
    """One input and its output; ``make_folder`` creates the output's folder first.

    ``fmt`` is the output's format where its name does not tell (stdout, a device).
    """

    source: str
    output: str
    make_folder: bool = False
    fmt: str | None = None


@dataclass
class Done:
    """What a work function reports of one input it wrote.

    ``figures`` are extra keys of the input's JSON line (``L``, ``min`` ...); ``notes`` and
    ``warnings`` are lines for stderr.
    """

    shape: list[int]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


#: The per-input work of a command: a picklable callable (a frozen dataclass of the command's
#: options, defined at module level) that reads ``task.source`` and writes ``task.output``.
Work = Callable[[Task], Done]


@dataclass
class Result:
    """The outcome of one input; ``status`` is ok, error, skipped, or cancelled (not reported)."""

    input: str
    output: str | None
    status: str
    error: str | None = None
    shape: list[int] | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The JSON line of this result."""
        return {
            "input": self.input,
            "output": self.output,
            "status": self.status,
            "error": self.error,
            "shape": self.shape,
            "seconds": round(self.seconds, 4),
            **self.extra,
        }
