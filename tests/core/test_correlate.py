"""core.correlate against scipy.signal: the forward and both adjoints, every method and dtype."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import signal

from sobelcli.core import correlate as conv
from sobelcli.core.correlate import convolve2d_full, correlate2d, grad_input, grad_kernel

FINITE = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=64)


@st.composite
def image_and_kernel(draw: st.DrawFn, dtype: type = np.float64):
    """An image of 1..24 rows/cols and a kernel no larger than it (thin and even sizes too)."""
    h = draw(st.integers(1, 24))
    w = draw(st.integers(1, 24))
    kh = draw(st.integers(1, h))
    kw = draw(st.integers(1, w))
    x = draw(arrays(dtype, (h, w), elements=FINITE.map(dtype)))
    k = draw(arrays(dtype, (kh, kw), elements=FINITE.map(dtype)))
    return x, k


def _close(actual: np.ndarray, expected: np.ndarray, dtype: type) -> None:
    scale = max(1.0, float(np.abs(expected).max(initial=0)))
    tol = (2e-4 if dtype == np.float32 else 1e-11) * scale
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol)


@pytest.mark.parametrize("method", ["auto", "direct", "fft"])
@given(data=image_and_kernel())
def test_correlate2d_matches_scipy_valid_float64(method: str, data) -> None:
    x, k = data
    y = correlate2d(x, k, method=method)
    assert y.shape == (x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1)
    assert y.dtype == np.float64
    _close(y, signal.correlate2d(x, k, mode="valid"), np.float64)


@pytest.mark.parametrize("method", ["auto", "direct", "fft"])
@given(data=image_and_kernel(np.float32))
def test_correlate2d_matches_scipy_valid_float32(method: str, data) -> None:
    x, k = data
    y = correlate2d(x, k, method=method)
    assert y.dtype == np.float32
    expected = signal.correlate2d(x.astype(np.float64), k.astype(np.float64), mode="valid")
    # float32 accumulates kh*kw products: allow rounding proportional to the kernel's size.
    scale = max(1.0, float(np.abs(x).max() * np.abs(k).sum()))
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-5 * scale)


@given(data=image_and_kernel(), u=st.lists(FINITE, min_size=1, max_size=5))
def test_separable_method_matches_scipy_for_rank1_kernels(data, u) -> None:
    x, _ = data
    v = np.linspace(-1, 2, min(len(u), x.shape[1]))
    uu = np.array(u[: x.shape[0]])
    k = np.outer(uu, v)
    if not np.any(k):
        k[0, 0] = 1.0
    _close(correlate2d(x, k, method="separable"), signal.correlate2d(x, k, "valid"), np.float64)


@given(data=image_and_kernel())
def test_grad_input_is_full_convolution(data) -> None:
    x, k = data
    dy = np.cos(signal.correlate2d(x, k, mode="valid"))
    g = grad_input(dy, k)
    assert g.shape == x.shape
    _close(g, signal.convolve2d(dy, k, mode="full"), np.float64)


@given(data=image_and_kernel())
def test_grad_kernel_is_valid_correlation_of_x_with_dy(data) -> None:
    x, k = data
    dy = np.sin(signal.correlate2d(x, k, mode="valid"))
    g = grad_kernel(x, dy)
    assert g.shape == k.shape
    _close(g, signal.correlate2d(x, dy, mode="valid"), np.float64)


@given(data=image_and_kernel(), seed=st.integers(0, 2**32 - 1))
def test_dot_product_identity(data, seed: int) -> None:
    """<K * X, G> = <X, dL/dX(G)> and = <K, dL/dK(X, G)>: the adjoints are exact transposes."""
    x, k = data
    g = np.random.default_rng(seed).standard_normal(
        (x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1)
    )
    lhs = float(np.sum(correlate2d(x, k) * g))
    scale = 1e-9 * max(1.0, float(np.abs(x).sum() * np.abs(k).sum() * np.abs(g).max()))
    assert abs(lhs - float(np.sum(x * grad_input(g, k)))) <= scale
    assert abs(lhs - float(np.sum(k * grad_kernel(x, g)))) <= scale


def test_lab_eq6_border_limits_by_explicit_sum(rng) -> None:
    """grad_input equals the lab's eq. (6) summed literally with its L_k/U_k limits (1-based)."""
    x = rng.random((6, 7))
    k = rng.random((3, 2))
    dy = rng.standard_normal((4, 6))
    rx, cx = x.shape
    rk, ck = k.shape
    expected = np.zeros_like(x)
    for i in range(1, rx + 1):
        for j in range(1, cx + 1):
            for kk in range(max(1, i - rx + rk), min(rk, i) + 1):
                for ll in range(max(1, j - cx + ck), min(ck, j) + 1):
                    expected[i - 1, j - 1] += dy[i - kk, j - ll] * k[kk - 1, ll - 1]
    np.testing.assert_allclose(grad_input(dy, k), expected, atol=1e-12)


def test_integer_input_gives_float64() -> None:
    y = correlate2d(np.arange(16).reshape(4, 4), np.ones((2, 2), dtype=np.int32))
    assert y.dtype == np.float64
    np.testing.assert_array_equal(
        y, signal.correlate2d(np.arange(16).reshape(4, 4), np.ones((2, 2)), "valid")
    )


def test_kernel_as_large_as_image_gives_one_value() -> None:
    x = np.arange(9.0).reshape(3, 3)
    assert correlate2d(x, x).shape == (1, 1)
    assert correlate2d(x, x)[0, 0] == pytest.approx(float(np.sum(x * x)))


def test_convolve2d_full_flips_the_kernel() -> None:
    dy = np.zeros((3, 3))
    dy[1, 1] = 1.0
    k = np.arange(4.0).reshape(2, 2)
    np.testing.assert_array_equal(convolve2d_full(dy, k)[1:3, 1:3], k)


@pytest.mark.parametrize(
    ("x", "k", "message"),
    [
        (np.zeros(5), np.ones((1, 1)), "must be 2-D"),
        (np.zeros((0, 3)), np.ones((1, 1)), "empty"),
        (np.zeros((3, 3)), np.ones((4, 1)), "larger than image"),
        (np.array([[np.nan, 1.0]]), np.ones((1, 1)), "NaN"),
        (np.zeros((3, 3)), np.array([[np.inf]]), "NaN or infinite"),
        (np.zeros((3, 3), dtype=complex), np.ones((1, 1)), "real numbers"),
        (np.zeros((3, 3)), np.ones((1, 1, 1)), "kernel must be 2-D"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(x, k, message) -> None:
    with pytest.raises(ValueError, match=message):
        correlate2d(x, k)


def test_unknown_method_and_non_separable_kernel_are_refused(rng) -> None:
    x = rng.random((5, 5))
    with pytest.raises(ValueError, match="unknown method"):
        correlate2d(x, np.ones((2, 2)), method="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not separable"):
        correlate2d(x, np.eye(3), method="separable")


def test_choose_method_prefers_separable_and_fft_where_they_pay() -> None:
    gauss = np.exp(-(np.arange(-7, 8) ** 2) / 8.0)
    assert conv.choose_method((512, 512), np.outer(gauss, gauss)) == "separable"
    assert conv.choose_method((512, 512), np.random.default_rng(0).random((31, 31))) == "fft"
    assert conv.choose_method((16, 16), np.random.default_rng(0).random((3, 3))) == "direct"
