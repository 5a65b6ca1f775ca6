"""Run an implementation on the battery and judge every case: :func:`verify`.

A case passes when the output has the right shape, is finite, and every element is within
``rtol * (S_ij + 1e-3 max S)`` of sobelcli's answer, where S is the same sum with every term
made positive (:func:`sobelcli.verify.cases.error_scale`) and rtol is 1e-6 (1e-4 when an input
is float32): rounding of any summation order passes, a wrong index does not.

For the gradient roles a forward implementation may be given too; each case then also
compares the gradient G with central differences of that forward along a random direction V:
``sum(G * V)`` against ``(L(. + eps V) - L(. - eps V)) / (2 eps)`` with
``L = sum(dL/dY * forward(X, K))``. A correct forward is linear in X and in K, so the central
difference is exact up to rounding for any eps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .cases import DEFAULT_CASES, ROLES, Case, Role, battery, error_scale, reference
from .diagnose import diagnose, sentence, summarize
from .impls import Impl, ImplementationError
from .result import CaseOutcome, FiniteDifference, VerifyResult
from .runner import DEFAULT_TIMEOUT, Reply, Runner, open_runner

__all__ = ["GRADIENT_ROLES", "VerifyOptions", "verify"]

GRADIENT_ROLES: tuple[Role, ...] = ("grad-input", "grad-kernel")

Float = NDArray[np.float64]


@dataclass(frozen=True)
class VerifyOptions:
    """How to verify.

    Attributes
    ----------
    role : {"forward", "grad-input", "grad-kernel", "edges"}
        What the implementation computes.
    cases : int
        How many cases to run (the hand-made ones first).
    seed : int
        Seed of the battery's values.
    timeout : float
        Seconds each call of the implementation may take.
    """

    role: Role
    cases: int = DEFAULT_CASES
    seed: int = 0
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; choose one of {', '.join(ROLES)}")
        if self.cases < 1:
            raise ValueError(f"the number of cases must be at least 1, not {self.cases}")
        if self.seed < 0:
            raise ValueError(f"the seed must be 0 or more, not {self.seed}")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValueError(
                f"the timeout must be a positive number of seconds, not {self.timeout}"
            )


def _first(mask: NDArray[np.bool_]) -> tuple[int, int]:
    i, j = np.unravel_index(int(np.argmax(mask)), mask.shape)
    return int(i), int(j)


def _failed_call(role: Role, case: Case, ref: Float, reply: Reply) -> CaseOutcome:
    if reply.kind == "raised":
        problem = "raised " + reply.message + (f" ({reply.where})" if reply.where else "")
        key = "raised"
    elif reply.kind == "timeout":
        problem, key = f"timed out: {reply.message}", "timeout"
    elif reply.kind == "bad-return":
        what = "None" if reply.returned == "NoneType" else f"a {reply.returned}"
        problem, key = f"returned {what}, not a 2-D array of numbers", "not-array"
    elif reply.kind == "no-output":
        problem, key = reply.message, "no-output"
    else:
        problem, key = reply.message, "crashed"
    return CaseOutcome(
        case,
        role,
        False,
        ref,
        problem=problem,
        mistakes=(key,),
        location=reply.where,
        detail=reply.detail,
    )


def _judge(role: Role, case: Case, ref: Float, raw: NDArray[Any]) -> CaseOutcome:
    """Compare a returned array with the reference."""
    shape = tuple(raw.shape)
    if raw.ndim != 2:
        return CaseOutcome(
            case,
            role,
            False,
            ref,
            np.asarray(raw, dtype=np.float64),
            problem=f"{raw.ndim}-D shape {shape}, expected {ref.shape}",
            mistakes=("not-2d",),
        )
    out = np.asarray(raw, dtype=np.float64)
    if not np.isfinite(out).all():
        where = _first(~np.isfinite(out))
        what = "NaN" if np.isnan(out).any() else "infinite values"
        return CaseOutcome(
            case,
            role,
            False,
            ref,
            out,
            problem=f"{what} at {list(where)}",
            mistakes=("nan",),
            where=where,
        )
    if out.shape != ref.shape:
        found = diagnose(role, case, out) or ("wrong-shape",)
        return CaseOutcome(
            case,
            role,
            False,
            ref,
            out,
            problem=f"shape {out.shape}, expected {ref.shape}",
            mistakes=found,
        )
    scale = error_scale(role, case)
    tolerance = case.rtol() * (scale + 1e-3 * float(np.max(scale)) + 1e-300)
    error = np.abs(out - ref)
    where = _first(error == np.max(error))
    max_err = float(np.max(error))
    if bool(np.all(error <= tolerance)):
        return CaseOutcome(case, role, True, ref, out, max_abs_err=max_err, where=where)
    return CaseOutcome(
        case,
        role,
        False,
        ref,
        out,
        problem="wrong values",
        mistakes=diagnose(role, case, out),
        max_abs_err=max_err,
        where=where,
    )


def _finite_difference(
    forward: Runner, role: Role, case: Case, gradient: Float, seed: int
) -> FiniteDifference:
    """``sum(G * V)`` against the central difference of the user's forward along V."""
    x, k, dy = (np.asarray(a, dtype=np.float64) for a in (case.x, case.k, case.dy))
    wrt = x if role == "grad-input" else k
    direction = np.random.default_rng([seed, case.index]).standard_normal(wrt.shape)
    eps = 1e-2 * max(1.0, float(np.max(np.abs(wrt))))
    values = []
    for sign in (1.0, -1.0):
        moved = wrt + sign * eps * direction
        reply = forward.call((moved, k) if role == "grad-input" else (x, moved))
        y = None if reply.output is None else np.asarray(reply.output, dtype=np.float64)
        if y is None or y.shape != dy.shape or not np.isfinite(y).all():
            problem = reply.message or (
                "it returned no usable array"
                if y is None
                else f"it returned shape {y.shape}, expected {dy.shape}"
                if y.shape != dy.shape
                else "it returned NaN or infinite values"
            )
            return FiniteDifference(np.nan, np.nan, 0.0, problem=f"the forward failed: {problem}")
        values.append(y)
    plus, minus = values
    numeric = float(np.sum(dy * plus) - np.sum(dy * minus)) / (2 * eps)
    analytic = float(np.sum(gradient * direction))
    rounding = float(np.sum(np.abs(dy) * (np.abs(plus) + np.abs(minus)))) / (2 * eps)
    tolerance = 1e-5 * (abs(analytic) + abs(numeric)) + 1e-6 * rounding
    return FiniteDifference(analytic, numeric, tolerance)


def _with_fd(outcome: CaseOutcome, fd: FiniteDifference) -> CaseOutcome:
    if fd.passed:
        return dataclasses.replace(outcome, finite_difference=fd)
    text = fd.problem or (
        f"finite differences of the forward disagree: {fd.analytic:.6g} analytic, "
        f"{fd.numeric:.6g} numeric"
    )
    if outcome.passed:
        return dataclasses.replace(
            outcome, passed=False, problem=text, mistakes=("forward-wrong",), finite_difference=fd
        )
    return dataclasses.replace(outcome, problem=f"{outcome.problem}; {text}", finite_difference=fd)


#: Mistakes where nothing usable came back: the first such problem is quoted.
_NO_ANSWER = ("raised", "timeout", "crashed", "no-output", "not-array", "not-2d")


def _capital(text: str) -> str:
    """Upper-case the first letter of a sentence, but not of a name such as dL/dY."""
    if len(text) > 1 and text[0].islower() and not text[1].isupper():
        return text[0].upper() + text[1:]
    return text


def _conclude(role: Role, name: str, outcomes: list[CaseOutcome]) -> VerifyResult:
    failing = [o for o in outcomes if not o.passed]
    if not failing:
        return VerifyResult(role, name, tuple(outcomes))
    mistake, count = summarize([o.mistakes for o in failing])
    if mistake is None:
        diagnosis = (
            "No known mistake matches: compare the smallest failing case with its expected values."
        )
    else:
        diagnosis = _capital(sentence(mistake, role)) + "."
        if count < len(failing):
            diagnosis = f"{count} of {len(failing)} failing cases: {diagnosis}"
        if mistake in _NO_ANSWER:
            first = next(o for o in failing if mistake in o.mistakes)
            diagnosis += f" First in case {first.case.index}: {first.problem}."
    agreeing = [
        o
        for o in failing
        if o.finite_difference is not None and o.finite_difference.passed and o.output is not None
    ]
    if agreeing and len(agreeing) == len([o for o in failing if o.output is not None]):
        diagnosis += (
            " Finite differences of your own forward agree with this gradient, so the forward "
            "has the same mistake: check it on its own (role forward)."
        )
    final = []
    for o in outcomes:
        if not o.passed:
            key = mistake if mistake in o.mistakes else (o.mistakes[0] if o.mistakes else None)
            o = dataclasses.replace(o, diagnosis=sentence(key, role) if key else "")
        final.append(o)
    return VerifyResult(role, name, tuple(final), mistake, diagnosis)


def _run_case(
    runner: Runner, fd_runner: Runner | None, role: Role, case: Case, seed: int
) -> CaseOutcome:
    """Call the implementation on one case and judge the answer."""
    ref = reference(role, case)
    reply = runner.call(case.inputs(role))
    with np.errstate(all="ignore"):  # huge or wild outputs are judged, not warned about
        if reply.output is None:
            outcome = _failed_call(role, case, ref, reply)
        else:
            outcome = _judge(role, case, ref, reply.output)
        usable = outcome.output is not None and outcome.output.shape == ref.shape
        if fd_runner is not None and usable and "nan" not in outcome.mistakes:
            assert outcome.output is not None
            fd = _finite_difference(fd_runner, role, case, outcome.output, seed)
            outcome = _with_fd(outcome, fd)
    return outcome


def verify(
    impl: Impl,
    options: VerifyOptions,
    forward: Impl | None = None,
    progress: Callable[[CaseOutcome], None] | None = None,
) -> VerifyResult:
    """Run ``impl`` on the battery of ``options.role`` and judge each case.

    Parameters
    ----------
    impl : PythonImpl or CommandImpl
        The implementation under test, run in a child process.
    options : VerifyOptions
    forward : PythonImpl or CommandImpl, optional
        The user's own forward, f(x, k) -> y; only for the gradient roles, whose answers are
        then also checked against its finite differences.
    progress : callable, optional
        Called with each case's outcome as soon as it is known.

    Returns
    -------
    VerifyResult
        With ``error`` set, and no cases, when an implementation failed to load.

    Raises
    ------
    ImplementationNotFound
        When the named file, module, function or program does not exist.
    ValueError
        When a forward is given for a role that is not a gradient.
    """
    role = options.role
    if forward is not None and role not in GRADIENT_ROLES:
        raise ValueError(
            f"a forward for finite differences only helps the gradient roles, not {role}"
        )
    cases = battery(role, options.cases, options.seed)
    outcomes: list[CaseOutcome] = []
    try:
        with contextlib.ExitStack() as stack:
            runner = stack.enter_context(open_runner(impl, role, options.timeout))
            fd_runner = None
            if forward is not None:
                fd_runner = stack.enter_context(open_runner(forward, "forward", options.timeout))
            for case in cases:
                outcome = _run_case(runner, fd_runner, role, case, options.seed)
                outcomes.append(outcome)
                if progress is not None:
                    progress(outcome)
    except ImplementationError as exc:
        return VerifyResult(role, str(impl), (), error=str(exc))
    return _conclude(role, str(impl), outcomes)
