"""Gradient ascent on an input image to maximise ``L = loss(K * X)``: the lab's last exercise.

Each step is ``X <- X + lr * dL/dX`` with ``dL/dX = grad_input(loss.grad(K * X), K)``, then
a constraint:

* ``none``: the lab's plain ascent. For the quadratic ``sumsq`` it grows geometrically, by up
  to ``(1 + 2 lr sigma_max^2)`` a step, where sigma_max is the largest singular value of the
  convolution as a matrix; it stops with an error before the loss overflows.
* ``unit-norm``: ``X <- X / ||X||``. With ``sumsq`` this is power iteration on ``A^T A``, and
  L converges to sigma_max^2 (see :func:`top_singular_value`).
* ``box``: clip X to [0, 1], the range of an image.

:func:`ascend` is a generator, so a caller can draw progress between steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sobelcli.core.correlate import correlate2d, grad_input
from sobelcli.core.losses import Loss, get_loss


class Overflow(ValueError):
    """The ascent left float64's range at ``step``; ``what`` is "loss" or "image"."""

    def __init__(self, message: str, step: int, what: str) -> None:
        super().__init__(message)
        self.step = step
        self.what = what


__all__ = [
    "Overflow",
    "CONSTRAINTS",
    "Step",
    "ascend",
    "convolution_matrix",
    "random_start",
    "top_singular_value",
]

Array = NDArray[np.float64]
Constraint = Literal["none", "unit-norm", "box"]
CONSTRAINTS: tuple[str, ...] = ("none", "unit-norm", "box")

#: Stop the unconstrained ascent before the loss passes this (float64 overflows near 1.8e308).
LOSS_LIMIT = 1e300


@dataclass(frozen=True)
class Step:
    """One step: its number (from 1), the loss *before* the update, the image after it."""

    step: int
    loss: float
    image: Array


def random_start(shape: tuple[int, int], seed: int | None = None) -> Array:
    """The lab's start: uniform [0, 1) values of the given shape (``runif``)."""
    return np.random.default_rng(seed).random(shape)


def _project(x: Array, constraint: str) -> Array:
    if constraint == "unit-norm":
        norm = float(np.linalg.norm(x))
        if norm == 0:
            raise ValueError("cannot normalise an all-zero image (constraint unit-norm)")
        return x / norm
    if constraint == "box":
        return np.clip(x, 0.0, 1.0)
    return x


def ascend(
    x0: ArrayLike,
    k: ArrayLike,
    loss: Loss | str = "sumsq",
    *,
    steps: int = 250,
    lr: float = 0.01,
    constraint: Constraint = "none",
) -> Iterator[Step]:
    """Yield each step of gradient ascent on ``L = loss(K * X)``.

    Parameters
    ----------
    x0 : array_like, shape (H, W)
        The start image (float64 is used).
    k : array_like, shape (kh, kw)
        Kernel, at most the size of x0.
    loss : Loss or str
        Default the lab's ``sumsq``, L = sum y^2.
    steps : int
        Number of updates (the lab: 250).
    lr : float
        Step size (the lab: 0.01).
    constraint : {"none", "unit-norm", "box"}

    Yields
    ------
    Step
        The loss at the image before the update, and the image after it.

    Raises
    ------
    ValueError
        For a bad argument, or (constraint ``none``) when the loss would overflow.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive number, got {lr}")
    if constraint not in CONSTRAINTS:
        raise ValueError(
            f"unknown constraint {constraint!r}; choose one of {', '.join(CONSTRAINTS)}"
        )
    lo = get_loss(loss) if isinstance(loss, str) else loss
    ka = np.asarray(k, dtype=np.float64)
    x = _project(np.array(x0, dtype=np.float64), constraint)
    for step in range(1, steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            y = correlate2d(x, ka)
            value = lo.value(y)
        if not np.isfinite(value) or abs(value) > LOSS_LIMIT:
            raise Overflow(f"the loss overflows at step {step} (L = {value:.3g})", step, "loss")
        with np.errstate(over="ignore", invalid="ignore"):
            x = _project(x + lr * grad_input(lo.grad(y), ka), constraint)
        if not np.isfinite(x).all():
            raise Overflow(f"the image overflows at step {step}", step, "image")
        yield Step(step, value, x)


def convolution_matrix(shape: tuple[int, int], k: ArrayLike) -> Array:
    """The matrix A with ``A @ x.ravel() == correlate2d(x, k).ravel()``.

    Parameters
    ----------
    shape : tuple of int
        (H, W) of the input.
    k : array_like, shape (kh, kw)

    Returns
    -------
    ndarray, shape ((H - kh + 1) (W - kw + 1), H W)
        Dense; meant for small images (the cost is the product of the two sizes).
    """
    ka = np.asarray(k, dtype=np.float64)
    h, w = shape
    kh, kw = ka.shape
    oh, ow = h - kh + 1, w - kw + 1
    a = np.zeros((oh * ow, h * w))
    oi, oj = np.divmod(np.arange(oh * ow), ow)
    for p in range(kh):
        for q in range(kw):
            a[np.arange(oh * ow), (oi + p) * w + (oj + q)] = ka[p, q]
    return a


def top_singular_value(shape: tuple[int, int], k: ArrayLike) -> float:
    """Largest singular value of the valid correlation on ``shape``, from a dense SVD.

    With constraint ``unit-norm`` and loss ``sumsq``, L = ||A x||^2 converges to its square.
    """
    return float(np.linalg.svd(convolution_matrix(shape, k), compute_uv=False)[0])
