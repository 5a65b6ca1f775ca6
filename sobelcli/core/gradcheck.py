"""Analytic gradients of ``L = loss(K * X)`` against central finite differences.

The numeric derivative of a pixel is the lab's ``(L(x + eps) - L(x - eps)) / (2 eps)``, with
the forward recomputed on the perturbed image. Only the outputs in a pixel's kernel-sized
neighbourhood change, so the difference is summed there and not over the whole image: for
one pixel the forward runs on a small patch; for every pixel (``pixels="all"``) the pixels
on a lattice of step (kh, kw) are perturbed together, since their neighbourhoods do not
overlap, so kh * kw pairs of forwards check the whole image. Unchanged outputs cancel
exactly, which makes the check exact to rounding for the lab's quadratic loss.

A check passes when ``|a - n| <= atol + rtol * max(|a|, |n|)``; its relative error is
``|a - n| / max(|a|, |n|, atol / rtol)``. Below ``atol / rtol`` a derivative is judged by
atol, not rtol, so its error is measured against that floor: a derivative that is zero on one
side and rounding noise on the other does not show a relative error of 1, and a check passes
about when its relative error is below rtol.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sobelcli.core.correlate import correlate2d, grad_input, grad_kernel
from sobelcli.core.losses import Loss, get_loss

__all__ = ["Checks", "GradcheckResult", "gradcheck", "numeric_input_grad", "numeric_kernel_grad"]

Array = NDArray[np.float64]
GradFn = Callable[[Array, Array], NDArray[Any]]

DEFAULT_EPS = 1e-6
DEFAULT_RTOL = 1e-5
DEFAULT_ATOL = 1e-7


def _forward(x: Array, k: Array) -> NDArray[np.floating]:
    # Direct summation keeps untouched outputs bit-identical between the two perturbed runs.
    return correlate2d(x, k, method="direct")


def _local_difference(x: Array, k: Array, loss: Loss, i: int, j: int, eps: float) -> float:
    kh, kw = k.shape
    r0, r1 = max(0, i - kh + 1), min(x.shape[0], i + kh)
    c0, c1 = max(0, j - kw + 1), min(x.shape[1], j + kw)
    patch = x[r0:r1, c0:c1].copy()
    centre = patch[i - r0, j - c0]
    patch[i - r0, j - c0] = centre + eps
    plus = loss.elementwise(_forward(patch, k))
    patch[i - r0, j - c0] = centre - eps
    minus = loss.elementwise(_forward(patch, k))
    return float(np.sum(plus - minus)) / (2 * eps)


def _block_sums(d: Array, p0: int, q0: int, kh: int, kw: int, shape: tuple[int, int]) -> Array:
    """Sum d over the window of outputs [i-kh+1, i] x [j-kw+1, j] of each lattice pixel."""
    h, w = shape
    na, nb = -(-(h - p0) // kh), -(-(w - q0) // kw)
    top, left = kh - 1 - p0, kw - 1 - q0
    padded = np.zeros((na * kh, nb * kw))
    padded[top : top + d.shape[0], left : left + d.shape[1]] = d
    return padded.reshape(na, kh, nb, kw).sum(axis=(1, 3))  # type: ignore[no-any-return]


def numeric_input_grad(
    x: ArrayLike,
    k: ArrayLike,
    loss: Loss | str = "sumsq",
    eps: float = DEFAULT_EPS,
    pixels: Sequence[tuple[int, int]] | None = None,
) -> Array:
    """Central differences of L with respect to the input.

    Parameters
    ----------
    x : array_like, shape (H, W)
    k : array_like, shape (kh, kw)
    loss : Loss or str
    eps : float
    pixels : sequence of (i, j), optional
        0-based pixels to check; None checks every pixel.

    Returns
    -------
    ndarray, shape (len(pixels),), or (H, W) when pixels is None
    """
    xa = np.asarray(x, dtype=np.float64)
    ka = np.asarray(k, dtype=np.float64)
    lo = get_loss(loss) if isinstance(loss, str) else loss
    if pixels is not None:
        return np.array([_local_difference(xa, ka, lo, i, j, eps) for i, j in pixels])
    kh, kw = ka.shape
    out = np.empty(xa.shape)
    for p0 in range(min(kh, xa.shape[0])):
        for q0 in range(min(kw, xa.shape[1])):
            moved = xa.copy()
            moved[p0::kh, q0::kw] += eps
            plus = lo.elementwise(_forward(moved, ka))
            moved[p0::kh, q0::kw] = xa[p0::kh, q0::kw] - eps
            change = plus - lo.elementwise(_forward(moved, ka))
            out[p0::kh, q0::kw] = _block_sums(change, p0, q0, kh, kw, xa.shape) / (2 * eps)
    return out


def numeric_kernel_grad(
    x: ArrayLike, k: ArrayLike, loss: Loss | str = "sumsq", eps: float = DEFAULT_EPS
) -> Array:
    """Central differences of L with respect to every kernel element; shape of k."""
    xa = np.asarray(x, dtype=np.float64)
    ka = np.array(k, dtype=np.float64)
    lo = get_loss(loss) if isinstance(loss, str) else loss
    out = np.empty(ka.shape)
    for p, q in np.ndindex(*ka.shape):
        centre = ka[p, q]
        ka[p, q] = centre + eps
        plus = lo.elementwise(_forward(xa, ka))
        ka[p, q] = centre - eps
        out[p, q] = float(np.sum(plus - lo.elementwise(_forward(xa, ka)))) / (2 * eps)
        ka[p, q] = centre
    return out


@dataclass
class Checks:
    """One set of checks: 0-based indices (n, 2) and the analytic and numeric values (n,)."""

    wrt: str
    index: NDArray[np.intp]
    analytic: Array
    numeric: Array
    rtol: float
    atol: float
    abs_err: Array = field(init=False)
    rel_err: Array = field(init=False)
    ok: NDArray[np.bool_] = field(init=False)
    tolerance: Array = field(init=False)

    def __post_init__(self) -> None:
        self.abs_err = np.abs(self.analytic - self.numeric)
        scale = np.maximum(np.abs(self.analytic), np.abs(self.numeric))
        floor = np.maximum(scale, self.atol / self.rtol if self.rtol > 0 else self.atol)
        self.rel_err = np.divide(
            self.abs_err, floor, out=np.zeros_like(self.abs_err), where=floor > 0
        )
        self.tolerance = self.atol + self.rtol * scale
        self.ok = self.abs_err <= self.tolerance

    def __len__(self) -> int:
        return len(self.analytic)


@dataclass
class GradcheckResult:
    """Every check of one run, with the verdict. Prints nothing."""

    eps: float
    rtol: float
    atol: float
    loss: str
    groups: list[Checks]

    @property
    def passed(self) -> bool:
        """True when every check is within tolerance."""
        return all(bool(g.ok.all()) for g in self.groups)

    @property
    def count(self) -> int:
        """Number of checks."""
        return sum(len(g) for g in self.groups)

    @property
    def failed(self) -> int:
        """Number of checks out of tolerance."""
        return sum(int((~g.ok).sum()) for g in self.groups)

    @property
    def max_abs_err(self) -> float:
        """Largest absolute error over every check."""
        return max((float(g.abs_err.max()) for g in self.groups if len(g)), default=0.0)

    @property
    def max_rel_err(self) -> float:
        """Largest relative error over every check."""
        return max((float(g.rel_err.max()) for g in self.groups if len(g)), default=0.0)

    def rows(self) -> list[dict[str, Any]]:
        """Every check as a JSON-ready dict."""
        out: list[dict[str, Any]] = []
        for g in self.groups:
            for idx, a, n, ae, re, ok in zip(
                g.index.tolist(),
                g.analytic.tolist(),
                g.numeric.tolist(),
                g.abs_err.tolist(),
                g.rel_err.tolist(),
                g.ok.tolist(),
                strict=True,
            ):
                out.append(
                    {
                        "wrt": g.wrt,
                        "index": idx,
                        "analytic": a,
                        "numeric": n,
                        "abs_err": ae,
                        "rel_err": re,
                        "ok": ok,
                    }
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``sobelcli gradcheck --json``."""
        return {
            "passed": self.passed,
            "max_rel_err": self.max_rel_err,
            "max_abs_err": self.max_abs_err,
            "eps": self.eps,
            "rtol": self.rtol,
            "atol": self.atol,
            "loss": self.loss,
            "count": self.count,
            "failed": self.failed,
            "checks": self.rows(),
        }


def gradcheck(
    x: ArrayLike,
    k: ArrayLike,
    loss: Loss | str = "sumsq",
    *,
    pixels: Sequence[tuple[int, int]] | None = None,
    eps: float = DEFAULT_EPS,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
    input_grad: GradFn = grad_input,
    kernel_grad: GradFn = grad_kernel,
) -> GradcheckResult:
    """Check dL/dX (at ``pixels``, or every pixel) and dL/dK (every element) of ``loss(K * X)``.

    Parameters
    ----------
    x : array_like, shape (H, W)
        Image, checked in float64.
    k : array_like, shape (kh, kw)
    loss : Loss or str
        A loss of :mod:`sobelcli.core.losses`; default the lab's ``sumsq``.
    pixels : sequence of (i, j), optional
        0-based pixels; None checks every pixel.
    eps, rtol, atol : float
        Step of the central difference and the tolerances.
    input_grad, kernel_grad : callable
        The analytic gradients under test, ``input_grad(dy, k)`` and ``kernel_grad(x, dy)``;
        the defaults are :func:`sobelcli.grad_input` and :func:`sobelcli.grad_kernel`.

    Returns
    -------
    GradcheckResult
    """
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    xa = np.asarray(x, dtype=np.float64)
    ka = np.asarray(k, dtype=np.float64)
    lo = get_loss(loss) if isinstance(loss, str) else loss
    dy = np.asarray(lo.grad(correlate2d(xa, ka)), dtype=np.float64)
    gx = np.asarray(input_grad(dy, ka), dtype=np.float64)
    gk = np.asarray(kernel_grad(xa, dy), dtype=np.float64)
    if gx.shape != xa.shape or gk.shape != ka.shape:
        raise ValueError(
            f"analytic gradients have shapes {gx.shape}, {gk.shape}; "
            f"expected {xa.shape}, {ka.shape}"
        )
    if pixels is None:
        idx = np.argwhere(np.ones(xa.shape, dtype=bool))
        numeric = numeric_input_grad(xa, ka, lo, eps).ravel()
    else:
        idx = np.array(list(pixels), dtype=np.intp).reshape(-1, 2)
        numeric = numeric_input_grad(
            xa, ka, lo, eps, [(int(p[0]), int(p[1])) for p in idx.tolist()]
        )
    inputs = Checks("input", idx, gx[idx[:, 0], idx[:, 1]], numeric, rtol, atol)
    kidx = np.argwhere(np.ones(ka.shape, dtype=bool))
    kernel = Checks(
        "kernel", kidx, gk.ravel(), numeric_kernel_grad(xa, ka, lo, eps).ravel(), rtol, atol
    )
    return GradcheckResult(eps, rtol, atol, lo.name, [inputs, kernel])


def random_pixels(shape: tuple[int, int], n: int, seed: int | None = None) -> list[tuple[int, int]]:
    """``n`` distinct 0-based pixels of an image of ``shape``, drawn uniformly."""
    rng = np.random.default_rng(seed)
    flat = rng.choice(shape[0] * shape[1], size=min(n, shape[0] * shape[1]), replace=False)
    return [(int(i), int(j)) for i, j in zip(*np.unravel_index(np.sort(flat), shape), strict=True)]
