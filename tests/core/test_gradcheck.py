"""core.gradcheck: passes on true gradients, fails on wrong ones, agrees with brute force."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from sobelcli.core import kernels
from sobelcli.core.gradcheck import (
    gradcheck,
    numeric_input_grad,
    numeric_kernel_grad,
    random_pixels,
)


def brute_force_input_grad(x: np.ndarray, k: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """The lab's check, literally: perturb each pixel and recompute the whole loss with scipy."""
    out = np.zeros_like(x)
    for i, j in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i, j] += eps
        xm[i, j] -= eps
        out[i, j] = np.sum(
            signal.correlate2d(xp, k, "valid") ** 2 - signal.correlate2d(xm, k, "valid") ** 2
        )
    return out / (2 * eps)


@pytest.mark.parametrize("kshape", [(3, 3), (2, 4), (1, 1), (5, 2)])
def test_lattice_numeric_gradient_equals_brute_force(rng, kshape) -> None:
    x = rng.random((9, 11))
    k = rng.standard_normal(kshape)
    np.testing.assert_allclose(
        numeric_input_grad(x, k), brute_force_input_grad(x, k), atol=1e-7, rtol=1e-7
    )
    picked = [(0, 0), (8, 10), (4, 5)]
    np.testing.assert_allclose(
        numeric_input_grad(x, k, pixels=picked),
        brute_force_input_grad(x, k)[tuple(np.array(picked).T)],
        atol=1e-7,
    )


def test_numeric_gradients_match_scipy_analytic(rng) -> None:
    x = rng.random((12, 10))
    k = rng.standard_normal((3, 4))
    dy = 2 * signal.correlate2d(x, k, "valid")
    np.testing.assert_allclose(
        numeric_input_grad(x, k), signal.convolve2d(dy, k, "full"), atol=1e-6
    )
    np.testing.assert_allclose(
        numeric_kernel_grad(x, k), signal.correlate2d(x, dy, "valid"), atol=1e-6
    )


@pytest.mark.parametrize("loss", ["sumsq", "logcosh", "softplus", "sum"])
def test_true_gradients_pass_on_every_pixel(rng, loss: str) -> None:
    result = gradcheck(rng.random((16, 13)), rng.standard_normal((3, 3)), loss)
    assert result.passed, result.max_rel_err
    assert result.count == 16 * 13 + 9
    assert result.max_rel_err < 1e-5


def test_kernel_flipped_input_gradient_fails(rng) -> None:
    """Injecting the classic bug (correlation instead of convolution for dL/dX) must be caught."""
    x = rng.random((10, 10))
    wrong = gradcheck(
        x, kernels.SOBEL_X, input_grad=lambda dy, k: signal.correlate2d(dy, k, "full")
    )
    assert not wrong.passed
    assert wrong.failed > 0
    assert [g.wrt for g in wrong.groups if not g.ok.all()] == ["input"]


def test_wrong_kernel_gradient_fails(rng) -> None:
    wrong = gradcheck(
        rng.random((8, 8)),
        rng.random((3, 3)),
        kernel_grad=lambda x, dy: signal.correlate2d(x, dy, "valid")[::-1, ::-1],
    )
    assert not wrong.passed
    assert not wrong.groups[1].ok.all()


def test_result_json_shape(rng) -> None:
    doc = gradcheck(rng.random((6, 6)), kernels.SOBEL_Y, pixels=[(0, 0), (5, 5)]).to_dict()
    assert {"passed", "max_rel_err", "max_abs_err", "eps", "checks"} <= set(doc)
    assert len(doc["checks"]) == 2 + 9
    first = doc["checks"][0]
    assert first["wrt"] == "input" and first["index"] == [0, 0]
    assert set(first) == {"wrt", "index", "analytic", "numeric", "abs_err", "rel_err", "ok"}


def test_random_pixels_distinct_and_reproducible() -> None:
    a = random_pixels((5, 7), 20, seed=3)
    assert a == random_pixels((5, 7), 20, seed=3)
    assert len(set(a)) == 20 and all(0 <= i < 5 and 0 <= j < 7 for i, j in a)
    assert len(random_pixels((2, 2), 10, seed=0)) == 4
