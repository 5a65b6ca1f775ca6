"""Name the mistake behind a wrong answer, by recomputing the usual mistakes and comparing.

For a failing case, each known mistake is made on purpose with sobelcli's reference functions
(the kernel flipped, X or K transposed, 'same' or 'full' size, dL/dY left out, ...) and the
user's output is compared with the result. A mistake matches when the output equals the
mistaken result to the case's tolerance; shapes alone name the size mistakes ('same', 'full',
one row or column off). :func:`summarize` then picks the mistake that explains the most failing
cases, so that one case where two mistakes look alike (the lab's Gx flipped is minus Gx) does
not decide.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._api import SOBEL_X, SOBEL_Y, correlate2d, edge_magnitude, grad_input, grad_kernel
from .cases import Case, Role, error_scale, reference
from .mistakes import MISTAKES, sentence, title

__all__ = ["MISTAKES", "diagnose", "sentence", "summarize", "title"]  # the names re-exported

Float = NDArray[np.float64]

# --- the mistakes, made on purpose ---------------------------------------------------------


def _f64(a: NDArray[Any]) -> Float:
    return np.asarray(a, dtype=np.float64)


def _fits(x: Float, k: Float) -> bool:
    return bool(k.shape[0] <= x.shape[0] and k.shape[1] <= x.shape[1])


def _zero_pad(x: Float, top: int, bottom: int, left: int, right: int) -> Float:
    return np.pad(x, ((top, bottom), (left, right)))


def _candidates(
    role: Role, case: Case, ref: Float
) -> Iterator[tuple[tuple[str, ...], NDArray[Any]]]:
    """(mistakes, the output they give) for ``case``; shapes may differ from the right one."""
    x, k, dy = _f64(case.x), _f64(case.k), _f64(case.dy)
    kh, kw = k.shape
    if role == "forward":
        yield ("flipped",), correlate2d(x, k[::-1, ::-1])
        yield ("flipped-rows",), correlate2d(x, k[::-1, :])
        yield ("flipped-cols",), correlate2d(x, k[:, ::-1])
        if _fits(x, k.T):
            yield ("transposed-kernel",), correlate2d(x, k.T)
        if _fits(x.T, k):
            yield ("transposed-image",), correlate2d(x.T, k)
        for top in sorted({(kh - 1) // 2, kh // 2}):
            for left in sorted({(kw - 1) // 2, kw // 2}):
                same = _zero_pad(x, top, kh - 1 - top, left, kw - 1 - left)
                yield ("same-size",), correlate2d(same, k)
                yield ("same-size", "flipped"), correlate2d(same, k[::-1, ::-1])
        full = _zero_pad(x, kh - 1, kh - 1, kw - 1, kw - 1)
        yield ("full-size",), correlate2d(full, k)
        yield ("full-size", "flipped"), correlate2d(full, k[::-1, ::-1])
    elif role == "grad-input":
        yield ("flipped",), grad_input(dy, k[::-1, ::-1])
        yield ("flipped-rows",), grad_input(dy, k[::-1, :])
        yield ("flipped-cols",), grad_input(dy, k[:, ::-1])
        yield ("transposed-kernel",), grad_input(dy, k.T)
        yield ("dy-unused",), grad_input(np.ones_like(dy), k)
        yield ("dy-unused", "flipped"), grad_input(np.ones_like(dy), k[::-1, ::-1])
        if kh > 1 or kw > 1:
            inner = np.zeros_like(ref)
            h, w = ref.shape
            inner[kh - 1 : h - kh + 1, kw - 1 : w - kw + 1] = ref[
                kh - 1 : h - kh + 1, kw - 1 : w - kw + 1
            ]
            yield ("borders-missing",), inner
        if _fits(dy, k):
            yield ("valid-size",), correlate2d(dy, k)
            yield ("valid-size", "flipped"), correlate2d(dy, k[::-1, ::-1])
    elif role == "grad-kernel":
        yield ("flipped",), grad_kernel(x, dy[::-1, ::-1])
        yield ("reversed",), ref[::-1, ::-1]
        yield ("dy-unused",), grad_kernel(x, np.ones_like(dy))
        if _fits(x.T, dy):
            yield ("transposed-image",), grad_kernel(x.T, dy)
    else:
        gx, gy = (
            correlate2d(x, SOBEL_X),
            correlate2d(x, SOBEL_Y),
        )
        yield ("no-sqrt",), gx**2 + gy**2
        yield ("abs-sum",), np.abs(gx) + np.abs(gy)
        yield ("only-gx",), np.abs(gx)
        yield ("only-gy",), np.abs(gy)
        yield ("transposed-image",), ref.T


def _close(out: Float, candidate: Float, tol: float) -> bool:
    return out.shape == candidate.shape and bool(np.max(np.abs(out - candidate)) <= tol)


def _proportional(out: Float, candidate: Float, tol: float) -> float | None:
    """The constant c with out = c * candidate, or None."""
    if out.shape != candidate.shape:
        return None
    norm = float(np.sum(candidate * candidate))
    if norm == 0.0:
        return None
    c = float(np.sum(out * candidate)) / norm
    scale = max(1.0, abs(c))
    return c if bool(np.max(np.abs(out - c * candidate)) <= tol * scale) else None


def _scale_key(c: float, role: Role, case: Case) -> str | None:
    def near(v: float) -> bool:
        return abs(c - v) <= 1e-6 * max(1.0, abs(v))

    if near(1.0):
        return None
    if role == "edges":
        peak = float(np.max(edge_magnitude(_f64(case.x), normalize=False)))
        if near(peak):
            return "not-normalized"
    for value, key in ((-1.0, "sign"), (2.0, "factor-2"), (0.5, "half")):
        if near(value):
            return key
    return "scaled"


def _rounded(ref: Float, case: Case) -> Iterator[Float]:
    """The reference rounded, and stored into an array of the input's integer dtype."""
    yield from (np.trunc(ref), np.floor(ref), np.round(ref))
    for dtype in {case.x.dtype, case.dy.dtype}:
        if dtype.kind in "iu":
            with np.errstate(all="ignore"):
                stored = np.clip(np.trunc(ref), -(2.0**63), 2.0**63 - 1).astype(np.int64)
            yield stored.astype(dtype).astype(np.float64)


def _shift_keys(out: Float, ref: Float, tol: float) -> list[str]:
    """'shifted' when the output is the right one moved by one row or column."""
    pairs = []
    if ref.shape[0] > 1:
        pairs += [(out[:-1], ref[1:]), (out[1:], ref[:-1])]
    if ref.shape[1] > 1:
        pairs += [(out[:, :-1], ref[:, 1:]), (out[:, 1:], ref[:, :-1])]
    for got, moved in pairs:
        same_as_moved = _close(got, moved, tol)
        if same_as_moved and not _close(moved, ref[: moved.shape[0], : moved.shape[1]], tol):
            return ["shifted"]
    return []


def _shape_keys(role: Role, case: Case, shape: tuple[int, ...]) -> list[str]:
    expected = case.output_shape(role)
    if len(shape) != 2 or shape == expected:
        return []
    h, w = case.x.shape
    kh, kw = case.k.shape
    dy_h, dy_w = case.dy.shape
    named: dict[tuple[int, int], str] = {}
    if role == "forward":
        named = {(h + kh - 1, w + kw - 1): "full-size", (h, w): "same-size"}
    elif role == "grad-input":
        named = {(dy_h, dy_w): "dy-size", (dy_h - kh + 1, dy_w - kw + 1): "valid-size"}
    elif role == "grad-kernel":
        named = {(dy_h, dy_w): "dy-size", (h, w): "same-size"}
    else:
        named = {(h, w): "same-size", (h + 2, w + 2): "full-size"}
    keys = []
    found = named.get((shape[0], shape[1]))
    if found:
        keys.append(found)
    if shape == expected[::-1]:
        keys.append("transposed-output")
    if not keys and abs(shape[0] - expected[0]) <= 1 and abs(shape[1] - expected[1]) <= 1:
        keys.append("off-by-one")
    return keys


def diagnose(role: Role, case: Case, output: NDArray[Any]) -> tuple[str, ...]:
    """The known mistakes that give ``output`` on ``case``, best first.

    Parameters
    ----------
    role : {"forward", "grad-input", "grad-kernel", "edges"}
    case : Case
    output : ndarray
        What the implementation returned, any shape (finite values).

    Returns
    -------
    tuple of str
        Keys of :data:`MISTAKES`; empty when none matches (or the output is right).
    """
    out = _f64(output)
    if out.ndim != 2:
        return ()
    ref = reference(role, case)
    rtol = 10.0 * case.rtol()
    tol = rtol * max(float(np.max(error_scale(role, case))), float(np.max(np.abs(ref))), 1e-300)
    found: list[str] = []
    for keys, candidate in _candidates(role, case, ref):
        candidate = _f64(candidate)
        if role == "edges" and keys[0] != "transposed-image":
            hit = _proportional(out, candidate, tol) is not None
        else:
            hit = _close(out, candidate, tol)
        if hit and not _close(candidate, ref, tol):
            found += [key for key in keys if key not in found]
    if out.shape == ref.shape and not _close(out, ref, tol):
        c = _proportional(out, ref, tol)
        key = None if c is None else _scale_key(c, role, case)
        if key:
            found.append(key)
        elif out.shape == ref.T.shape and _close(out, ref.T, tol):
            found.append("transposed-output")
        if not found:
            found += _shift_keys(out, ref, tol)
        if not found and any(_close(out, r, tol) for r in _rounded(ref, case)):
            found.append("truncated")
    for key in _shape_keys(role, case, out.shape):
        if key not in found:
            found.append(key)
    return tuple(sorted(found, key=MISTAKES.index))


def summarize(found: Sequence[Iterable[str]]) -> tuple[str | None, int]:
    """The mistake that the most failing cases match, and how many match it.

    Parameters
    ----------
    found : sequence of iterables of str
        The mistakes of each failing case (:func:`diagnose`); cases with none count too.

    Returns
    -------
    (str or None, int)
        Ties go to the mistake earlier in :data:`MISTAKES`.
    """
    counts: Counter[str] = Counter(key for keys in found for key in set(keys))
    if not counts:
        return None, 0
    best = min(counts, key=lambda key: (-counts[key], MISTAKES.index(key)))
    return best, counts[best]
