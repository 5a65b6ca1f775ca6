"""What a verification found: a :class:`CaseOutcome` per case, in a :class:`VerifyResult`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .cases import ROLE_INFO, Case, Role

__all__ = ["CaseOutcome", "FiniteDifference", "VerifyResult"]


@dataclass(frozen=True)
class FiniteDifference:
    """A gradient against central differences of the user's own forward, along a direction.

    With ``L = sum(dL/dY * f(X, K))`` and a random direction V (of X's or K's shape), the
    analytic value is ``sum(G * V)`` for the gradient G under test and the numeric one
    ``(L(. + eps V) - L(. - eps V)) / (2 eps)``.

    Attributes
    ----------
    analytic, numeric : float
    tolerance : float
        ``1e-5 (|analytic| + |numeric|)`` plus a rounding allowance for the sums.
    problem : str
        Why the forward could not be evaluated, or ``""``.
    """

    analytic: float
    numeric: float
    tolerance: float
    problem: str = ""

    @property
    def passed(self) -> bool:
        """True when the two agree within the tolerance."""
        if self.problem:
            return False
        return abs(self.analytic - self.numeric) <= self.tolerance

    @property
    def rel_err(self) -> float:
        """``|analytic - numeric| / max(|analytic|, |numeric|)`` (0 when both are 0)."""
        top = abs(self.analytic - self.numeric)
        bottom = max(abs(self.analytic), abs(self.numeric))
        return top / bottom if bottom else (0.0 if top == 0 else math.inf)


@dataclass(frozen=True, eq=False)
class CaseOutcome:
    """The verdict on one case.

    Attributes
    ----------
    case : Case
    role : {"forward", "grad-input", "grad-kernel", "edges"}
    passed : bool
    expected : ndarray of float64
        sobelcli's answer.
    output : ndarray or None
        What the implementation returned (float64), or None when nothing usable came back.
    problem : str
        What went wrong, in a few words (``""`` when it passed): ``"wrong values"``,
        ``"shape (5, 6), expected (4, 6)"``, ``"raised ZeroDivisionError: ..."``, ...
    mistakes : tuple of str
        Known mistakes the output matches (see :mod:`sobelcli.verify.diagnose`).
    diagnosis : str
        The sentence for this case (set once the whole battery is known).
    max_abs_err : float or None
        Largest ``|output - expected|`` when the shapes agree.
    where : tuple of int or None
        0-based (row, column) of that error, or of the first NaN.
    location : str
        ``file.py:line`` where the implementation raised, when known.
    detail : str
        A traceback or the program's last output lines.
    finite_difference : FiniteDifference or None
        The check against the user's own forward, when one was given.
    """

    case: Case
    role: Role
    passed: bool
    expected: NDArray[np.float64]
    output: NDArray[np.float64] | None = None
    problem: str = ""
    mistakes: tuple[str, ...] = ()
    diagnosis: str = ""
    max_abs_err: float | None = None
    where: tuple[int, int] | None = None
    location: str = ""
    detail: str = ""
    finite_difference: FiniteDifference | None = None

    @property
    def size(self) -> int:
        """Number of input values, to find the smallest failing case."""
        return sum(a.size for a in self.case.inputs(self.role))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: shapes, error, where, problem, diagnosis."""
        err = self.max_abs_err
        out: dict[str, Any] = {
            "case": self.case.index,
            "label": self.case.label,
            "dtype": self.case.dtype,
            "shape_x": list(self.case.x.shape),
            "shape_k": list(self.case.k.shape),
            "shape_expected": list(self.expected.shape),
            "shape_output": None if self.output is None else list(self.output.shape),
            "max_abs_err": err if err is not None and math.isfinite(err) else None,
            "where": None if self.where is None else list(self.where),
            "location": self.location or None,
            "problem": self.problem,
            "mistake": self.mistakes[0] if self.mistakes else None,
            "diagnosis": self.diagnosis,
        }
        if self.role in ("grad-input", "grad-kernel"):
            out["shape_dy"] = list(self.case.dy.shape)
        fd = self.finite_difference
        if fd is not None:
            out["finite_difference"] = {
                "passed": fd.passed,
                "analytic": fd.analytic if math.isfinite(fd.analytic) else None,
                "numeric": fd.numeric if math.isfinite(fd.numeric) else None,
                "problem": fd.problem,
            }
        return out

    def describe(self) -> str:
        """The case in full: its inputs, the expected output and what came back."""
        names = {"x": "X", "k": "K", "dy": "dL/dY"}
        parts = [f"case {self.case.index}: {self.case.label} ({self.case.dtype})"]
        for name, array in zip(
            ROLE_INFO[self.role].inputs, self.case.inputs(self.role), strict=True
        ):
            parts.append(_block(f"{names[name]} ({_shape(array)})", array))
        what = ROLE_INFO[self.role].output
        parts.append(_block(f"expected {what} ({_shape(self.expected)})", self.expected))
        if self.output is not None:
            parts.append(_block(f"got ({_shape(self.output)})", self.output))
        else:
            parts.append(f"got: {self.problem}")
        if self.detail:
            parts.append(self.detail)
        return "\n".join(parts)


def _shape(a: NDArray[Any]) -> str:
    return " x ".join(map(str, a.shape)) if a.ndim else "a scalar"


def _block(title: str, array: NDArray[Any]) -> str:
    text = np.array2string(np.asarray(array), precision=6, suppress_small=False, max_line_width=96)
    return f"{title}:\n" + "\n".join("  " + line for line in text.splitlines())


@dataclass(frozen=True)
class VerifyResult:
    """Every case of a run and the verdict.

    Attributes
    ----------
    role : {"forward", "grad-input", "grad-kernel", "edges"}
    implementation : str
        What was checked, as named.
    outcomes : tuple of CaseOutcome
    mistake : str or None
        The known mistake most failing cases match.
    diagnosis : str
        One sentence about the failures (``""`` when every case passed).
    error : str
        Why nothing could be checked (the implementation did not load), or ``""``.
    """

    role: Role
    implementation: str
    outcomes: tuple[CaseOutcome, ...]
    mistake: str | None = None
    diagnosis: str = ""
    error: str = ""

    @property
    def passed(self) -> bool:
        """True when the implementation loaded and every case passed."""
        return not self.error and all(o.passed for o in self.outcomes)

    @property
    def failures(self) -> tuple[CaseOutcome, ...]:
        """The failing cases, in battery order."""
        return tuple(o for o in self.outcomes if not o.passed)

    def smallest_failure(self) -> CaseOutcome | None:
        """The failing case with the fewest input values (the easiest to read)."""
        failing = self.failures
        return min(failing, key=lambda o: (o.size, o.case.index)) if failing else None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return {
            "status": "error" if self.error else "ok",
            "role": self.role,
            "implementation": self.implementation,
            "passed": self.passed,
            "cases": len(self.outcomes),
            "failed": len(self.failures),
            "failures": [o.to_dict() for o in self.failures],
            "mistake": self.mistake,
            "diagnosis": self.diagnosis,
            "error": self.error or None,
        }
