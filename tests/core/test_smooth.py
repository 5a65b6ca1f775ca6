"""sobelcli.core.smooth against scipy.ndimage.gaussian_filter, and sigma in the edge maps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from sobelcli.core import kernels
from sobelcli.core.edges import edge_gradients, edge_magnitude, edge_map
from sobelcli.core.smooth import gaussian, gaussian_kernel1d, gaussian_radius

MODES = ["reflect", "mirror", "nearest", "constant", "wrap"]
images = st.tuples(st.integers(1, 24), st.integers(1, 24)).flatmap(
    lambda s: arrays(np.float64, s, elements=st.floats(-1, 1, width=64))
)
sigmas = st.floats(0, 6, allow_nan=False)


@given(sigma=st.floats(0.01, 6))
def test_kernel_is_scipys_impulse_response(sigma: float) -> None:
    g = gaussian_kernel1d(sigma)
    r = gaussian_radius(sigma)
    assert g.shape == (2 * r + 1,)
    impulse = np.zeros(2 * r + 1)
    impulse[r] = 1.0
    expected = ndimage.gaussian_filter1d(impulse, sigma, truncate=4.0, mode="constant")
    np.testing.assert_allclose(g, expected, atol=1e-15)
    np.testing.assert_array_equal(g, g[::-1])
    np.testing.assert_array_equal(gaussian_kernel1d(0.0), [1.0])


@pytest.mark.parametrize("mode", MODES)
@given(img=images, sigma=sigmas)
def test_gaussian_equals_scipy_gaussian_filter(mode: str, img: np.ndarray, sigma: float) -> None:
    """Any size, any sigma: kernels wider than the image wrap around the border as in scipy."""
    expected = ndimage.gaussian_filter(img, sigma, truncate=4.0, mode=mode)
    got = gaussian(img, sigma, mode)
    assert got.shape == img.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, atol=1e-14, rtol=0)


@pytest.mark.parametrize("mode", MODES)
def test_float64_rounding_is_scipys_bit_for_bit(mode: str, rng) -> None:
    """Pairs summed first, outermost first: the property Canny's ties with skimage rest on."""
    img = rng.random((61, 47))
    for sigma in (0.6, 1.0, 2.3):
        expected = ndimage.gaussian_filter(img, sigma, truncate=4.0, mode=mode)
        np.testing.assert_array_equal(gaussian(img, sigma, mode), expected)


def test_no_pad_smooths_with_reflect_and_keeps_the_size(rng) -> None:
    img = rng.random((20, 30))
    np.testing.assert_array_equal(gaussian(img, 1.5), gaussian(img, 1.5, "reflect"))


def test_sigma_zero_is_the_identity_and_float32_stays_float32(rng) -> None:
    img = rng.random((9, 8))
    out = gaussian(img, 0.0)
    np.testing.assert_array_equal(out, img)
    assert out is not img
    f32 = gaussian(img.astype(np.float32), 1.0)
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, ndimage.gaussian_filter(img, 1.0), atol=1e-6)
    assert gaussian(np.arange(12).reshape(3, 4), 1.0).dtype == np.float64


def test_smoothing_keeps_a_constant_and_the_mean_under_wrap(rng) -> None:
    np.testing.assert_allclose(gaussian(np.full((7, 9), 0.4), 2.0, "nearest"), 0.4, atol=1e-15)
    img = rng.random((16, 16))
    assert gaussian(img, 3.0, "wrap").mean() == pytest.approx(img.mean(), abs=1e-14)


@pytest.mark.parametrize(
    ("sigma", "pad", "message"),
    [
        (-1.0, None, "sigma must be finite and at least 0"),
        (float("nan"), None, "sigma must be finite"),
        (float("inf"), None, "sigma must be finite"),
        ("wide", None, "sigma must be a number"),
        (1.0, "zero", "unknown pad mode"),
    ],
)
def test_bad_sigma_or_pad_raise_value_error(sigma, pad, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gaussian(np.ones((5, 5)), sigma, pad)


# --- sigma in the edge maps: gaussian_filter(I, S, mode=M) followed by the operator -------


@pytest.mark.parametrize("operator", ["sobel", "scharr", "prewitt"])
@pytest.mark.parametrize("pad", MODES)
def test_sigma_then_operator_equals_scipy(operator: str, pad: str, rng) -> None:
    img = rng.random((23, 31))
    smooth = ndimage.gaussian_filter(img, 1.3, truncate=4.0, mode=pad)
    kx = {"sobel": kernels.SOBEL_X, "scharr": kernels.SCHARR_X, "prewitt": kernels.PREWITT_X}
    gx = ndimage.correlate(smooth, kx[operator], mode=pad)
    gy = ndimage.correlate(smooth, kx[operator].T, mode=pad)
    got_x, got_y = edge_gradients(img, operator, pad, sigma=1.3)
    np.testing.assert_allclose(got_x, gx, atol=1e-13)
    np.testing.assert_allclose(got_y, gy, atol=1e-13)
    mag = np.hypot(gx, gy)
    np.testing.assert_allclose(
        edge_magnitude(img, operator, pad=pad, sigma=1.3), mag / mag.max(), atol=1e-13
    )


def test_sigma_without_pad_smooths_by_reflect_then_takes_the_valid_map(rng) -> None:
    img = rng.random((18, 25))
    smooth = ndimage.gaussian_filter(img, 2.0, mode="reflect")
    gx = ndimage.correlate(smooth, kernels.SOBEL_X)[1:-1, 1:-1]
    gy = ndimage.correlate(smooth, kernels.SOBEL_Y)[1:-1, 1:-1]
    got = edge_magnitude(img, normalize=False, sigma=2.0)
    assert got.shape == (16, 23)
    np.testing.assert_allclose(got, np.hypot(gx, gy), atol=1e-13)
    angle = edge_map(img, "angle", normalize=False, sigma=2.0)
    np.testing.assert_allclose(angle, np.arctan2(gy, gx), atol=1e-12)


def test_sigma_none_and_zero_leave_the_map_unchanged(rng) -> None:
    img = rng.random((12, 14))
    plain = edge_magnitude(img)
    np.testing.assert_array_equal(edge_magnitude(img, sigma=None), plain)
    np.testing.assert_array_equal(edge_magnitude(img, sigma=0.0), plain)
