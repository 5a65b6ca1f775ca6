"""The records a batch passes between its stages: a source, a task, a result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Source:
    """One input: its path, the path its output keeps under ``-o``, and how it was found."""

    path: str
    rel: str
    found: bool = False  # in a folder or by a pattern, rather than named


@dataclass(frozen=True)
class Task:
    """What a work function gets: the input, the output, and the command's options."""

    source: str
    output: str
    options: dict[str, Any] = field(default_factory=dict)


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


Work = Callable[[Task], dict[str, Any]]
