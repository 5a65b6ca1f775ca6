"""sobelcli.core.edges against scipy: magnitude (the lab's eq. 2), signed maps, angle, pad modes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage, signal

from sobelcli.core import kernels
from sobelcli.core.edges import edge_gradients, edge_magnitude, edge_map

PAIRS = {
    "sobel": (kernels.SOBEL_X, kernels.SOBEL_Y),
    "scharr": (kernels.SCHARR_X, kernels.SCHARR_Y),
    "prewitt": (kernels.PREWITT_X, kernels.PREWITT_Y),
}
images = st.tuples(st.integers(3, 40), st.integers(3, 40)).flatmap(
    lambda s: arrays(np.float64, s, elements=st.floats(0, 1, width=64))
)


def oracle_valid(img: np.ndarray, operator: str) -> np.ndarray:
    gx, gy = PAIRS[operator]
    return np.sqrt(
        signal.correlate2d(img, gx, "valid") ** 2 + signal.correlate2d(img, gy, "valid") ** 2
    )


@pytest.mark.parametrize("operator", list(PAIRS))
@given(img=images)
def test_magnitude_matches_scipy_oracle(operator: str, img: np.ndarray) -> None:
    raw = oracle_valid(img, operator)
    np.testing.assert_allclose(edge_magnitude(img, operator, normalize=False), raw, atol=1e-12)
    got = edge_magnitude(img, operator)
    assert np.isfinite(got).all() and got.min() >= 0 and got.max() <= 1
    if raw.max() > 1e-9:  # below that the maximum is rounding noise in either implementation
        np.testing.assert_allclose(got, raw / raw.max(), atol=1e-9)
    assert got.shape == (img.shape[0] - 2, img.shape[1] - 2)


@pytest.mark.parametrize("pad", ["reflect", "mirror", "nearest", "constant", "wrap"])
@given(img=images)
def test_pad_modes_match_scipy_ndimage(pad: str, img: np.ndarray) -> None:
    gx = ndimage.correlate(img, kernels.SOBEL_X, mode=pad)
    gy = ndimage.correlate(img, kernels.SOBEL_Y, mode=pad)
    got_x, got_y = edge_gradients(img, pad=pad)
    np.testing.assert_allclose(got_x, gx, atol=1e-12)
    np.testing.assert_allclose(got_y, gy, atol=1e-12)
    np.testing.assert_allclose(
        edge_magnitude(img, normalize=False, pad=pad), np.hypot(gx, gy), atol=1e-12
    )


def test_float32_in_float32_out_close_to_float64(rng) -> None:
    img = rng.random((64, 80))
    e32 = edge_magnitude(img.astype(np.float32))
    assert e32.dtype == np.float32
    np.testing.assert_allclose(e32, edge_magnitude(img), atol=1e-5)
    assert edge_magnitude((img * 255).astype(np.uint8)).dtype == np.float64


def test_constant_image_gives_zeros_not_nan() -> None:
    for kind in ("magnitude", "x", "y", "angle"):
        out = edge_map(np.full((6, 7), 0.3), kind)  # type: ignore[arg-type]
        assert np.isfinite(out).all()
    np.testing.assert_array_equal(edge_magnitude(np.full((6, 7), 0.3)), np.zeros((4, 5)))


def test_horizontal_step_is_seen_by_gx_only() -> None:
    """A step from 0 to 1 down the rows: Gx responds 4 on the two rows astride it, Gy is 0."""
    img = np.zeros((6, 5))
    img[3:] = 1.0
    gx, gy = edge_gradients(img)
    np.testing.assert_array_equal(gx, [[0, 0, 0], [4, 4, 4], [4, 4, 4], [0, 0, 0]])
    np.testing.assert_array_equal(gy, np.zeros((4, 3)))


def test_signed_maps_put_zero_at_half_and_angle_in_unit_range(rng) -> None:
    img = rng.random((20, 20))
    gx, gy = edge_gradients(img)
    x_map = edge_map(img, "x")
    np.testing.assert_allclose(x_map, 0.5 + gx / (2 * np.abs(gx).max()), atol=1e-12)
    assert x_map.min() >= 0 and x_map.max() <= 1
    angle = edge_map(img, "angle", normalize=False)
    np.testing.assert_allclose(angle, np.arctan2(gy, gx))
    unit = edge_map(img, "angle")
    np.testing.assert_allclose(unit, (np.arctan2(gy, gx) + np.pi) / (2 * np.pi))


def test_thin_strip_needs_a_pad() -> None:
    with pytest.raises(ValueError, match="smaller than the 3 x 3"):
        edge_magnitude(np.ones((1, 9)))
    strip = np.linspace(0, 1, 9)[None, :]
    out = edge_magnitude(strip, normalize=False, pad="nearest")
    expected = np.hypot(
        ndimage.correlate(strip, kernels.SOBEL_X, mode="nearest"),
        ndimage.correlate(strip, kernels.SOBEL_Y, mode="nearest"),
    )
    np.testing.assert_allclose(out, expected, atol=1e-12)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: edge_magnitude(np.ones((5, 5)), operator="canny"), "unknown operator"),
        (lambda: edge_magnitude(np.ones((5, 5)), pad="zero"), "unknown pad mode"),
        (lambda: edge_magnitude(np.ones((5, 5, 3))), "2-D"),
        (lambda: edge_magnitude(np.full((5, 5), np.nan)), "NaN"),
        (lambda: edge_map(np.ones((5, 5)), "phase"), "unknown output kind"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_raise_value_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("pad", ["reflect", "mirror", "nearest", "constant", "wrap"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (5, 1), (2, 1)])
def test_one_pixel_axes_follow_scipy_ndimage(pad: str, shape: tuple[int, int], rng) -> None:
    img = rng.random(shape)
    got_x, got_y = edge_gradients(img, pad=pad)
    np.testing.assert_allclose(got_x, ndimage.correlate(img, kernels.SOBEL_X, mode=pad), atol=1e-12)
    np.testing.assert_allclose(got_y, ndimage.correlate(img, kernels.SOBEL_Y, mode=pad), atol=1e-12)
