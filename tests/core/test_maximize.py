"""sobelcli.core.maximize: the lab's ascent, its constraints, and the SVD oracle."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from sobelcli.core import kernels
from sobelcli.core.maximize import ascend, convolution_matrix, random_start, top_singular_value


def test_lab_ascent_matches_a_plain_scipy_loop() -> None:
    x0 = random_start((9, 9), seed=7)
    steps = list(ascend(x0, kernels.SOBEL_X))
    x = x0.copy()
    for step in steps:
        y = signal.correlate2d(x, kernels.SOBEL_X, "valid")
        assert step.loss == pytest.approx(float(np.sum(y**2)), rel=1e-12)
        x = x + 0.01 * signal.convolve2d(2 * y, kernels.SOBEL_X, "full")
    assert len(steps) == 250
    np.testing.assert_allclose(steps[-1].image, x, rtol=1e-9)


def test_deterministic_for_a_seed_and_nondecreasing_for_small_lr() -> None:
    a = [s.loss for s in ascend(random_start((9, 9), 1), kernels.SOBEL_X, steps=50, lr=1e-3)]
    b = [s.loss for s in ascend(random_start((9, 9), 1), kernels.SOBEL_X, steps=50, lr=1e-3)]
    assert a == b
    assert all(later >= earlier for earlier, later in zip(a, a[1:], strict=False))


def test_convolution_matrix_is_the_forward(rng) -> None:
    x = rng.random((6, 7))
    k = rng.standard_normal((3, 2))
    np.testing.assert_allclose(
        convolution_matrix(x.shape, k) @ x.ravel(), signal.correlate2d(x, k, "valid").ravel()
    )


def test_unit_norm_converges_to_sigma_max_squared() -> None:
    steps = list(
        ascend(random_start((9, 9), 0), kernels.SOBEL_X, steps=3000, constraint="unit-norm")
    )
    sigma = top_singular_value((9, 9), kernels.SOBEL_X)
    assert steps[-1].loss == pytest.approx(sigma**2, rel=1e-6)
    assert np.linalg.norm(steps[-1].image) == pytest.approx(1.0)


def test_box_keeps_the_image_in_range() -> None:
    last = list(ascend(random_start((9, 9), 0), kernels.SOBEL_X, steps=100, constraint="box"))[-1]
    assert last.image.min() >= 0 and last.image.max() <= 1


def test_overflow_stops_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="overflows"):
        list(ascend(random_start((9, 9), 0), kernels.SOBEL_X, steps=100_000))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"steps": -1}, "steps"), ({"lr": 0.0}, "lr"), ({"constraint": "l1"}, "constraint")],
)
def test_bad_arguments(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        list(ascend(np.ones((4, 4)), kernels.SOBEL_X, **kwargs))
