"""Sobel pairs of size 3, 5, 7 against OpenCV's stored figures and scipy.ndimage.

OpenCV is not a test dependency: tests/data/opencv/make_figures.py computed its
``getDerivKernels`` and ``Sobel`` results once; this file reads them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage, signal

from sobelcli.core import kernels
from sobelcli.core.edges import edge_gradients, edge_magnitude, edge_map
from sobelcli.names import SOBEL_KSIZES

OPENCV = Path(__file__).resolve().parent.parent / "data" / "opencv"
MODES = ["reflect", "mirror", "nearest", "constant", "wrap"]


@pytest.fixture(scope="module")
def figures() -> dict[str, np.ndarray]:
    with np.load(OPENCV / "sobel.npz") as data:
        return dict(data)


@pytest.mark.parametrize("ksize", SOBEL_KSIZES)
def test_factors_are_opencvs_deriv_kernels(ksize: int) -> None:
    stored = json.loads((OPENCV / "deriv_kernels.json").read_text())
    d, s = kernels.sobel_factors(ksize)
    along_x = stored[f"k{ksize}_dx1_dy0"]  # derivative along OpenCV's x: axis 1
    np.testing.assert_array_equal(along_x["kx"], d)
    np.testing.assert_array_equal(along_x["ky"], s)
    along_y = stored[f"k{ksize}_dx0_dy1"]
    np.testing.assert_array_equal(along_y["kx"], s)
    np.testing.assert_array_equal(along_y["ky"], d)


def test_size_3_is_the_labs_pair_and_the_factors_are_binomial() -> None:
    x, y = kernels.sobel_pair(3)
    np.testing.assert_array_equal(x, kernels.SOBEL_X)
    np.testing.assert_array_equal(y, kernels.SOBEL_Y)
    for ksize in SOBEL_KSIZES:
        d, s = kernels.sobel_factors(ksize)
        np.testing.assert_array_equal(s, [math.comb(ksize - 1, i) for i in range(ksize)])
        assert d.sum() == 0 and np.array_equal(d, -d[::-1])
        x, y = kernels.sobel_pair(ksize)
        np.testing.assert_array_equal(y, x.T)
        # the pair differentiates a ramp along rows exactly: x * (i) = sum(s) * sum(i d_i)
        ramp = np.repeat(np.arange(ksize, dtype=float)[:, None], ksize, axis=1)
        assert signal.correlate2d(ramp, x, "valid")[0, 0] == s.sum() * np.dot(d, range(ksize))


@pytest.mark.parametrize("ksize", SOBEL_KSIZES)
@pytest.mark.parametrize("pad", ["reflect", "mirror", "nearest", "constant"])
@pytest.mark.parametrize("name", ["rect", "small"])
def test_gradients_equal_opencv_sobel(figures, ksize: int, pad: str, name: str) -> None:
    """sobelcli's x (along rows) is OpenCV's dy; y is its dx."""
    image = figures[f"image_{name}"]
    gx, gy = edge_gradients(image, pad=pad, ksize=ksize)
    key = f"{name}_k{ksize}_{pad}"
    np.testing.assert_allclose(gx, figures[f"{key}_dy"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(gy, figures[f"{key}_dx"], rtol=0, atol=1e-12)


shapes = st.tuples(st.integers(1, 20), st.integers(1, 20))


@pytest.mark.parametrize("ksize", [5, 7])
@given(data=st.data(), shape=shapes)
def test_padded_maps_equal_scipy_ndimage_for_any_shape(ksize: int, data, shape) -> None:
    """With a pad mode any image works, even one smaller than the kernel."""
    img = data.draw(arrays(np.float64, shape, elements=st.floats(0, 1, width=64)))
    mode = data.draw(st.sampled_from(MODES))
    x, y = kernels.sobel_pair(ksize)
    gx, gy = ndimage.correlate(img, x, mode=mode), ndimage.correlate(img, y, mode=mode)
    got_x, got_y = edge_gradients(img, pad=mode, ksize=ksize)
    np.testing.assert_allclose(got_x, gx, atol=1e-11)
    np.testing.assert_allclose(got_y, gy, atol=1e-11)
    raw = np.hypot(gx, gy)
    np.testing.assert_allclose(
        edge_magnitude(img, normalize=False, pad=mode, ksize=ksize), raw, atol=1e-11
    )


@pytest.mark.parametrize("ksize", [5, 7])
@given(data=st.data(), shape=shapes)
def test_valid_maps_need_an_image_at_least_the_kernels_size(ksize: int, data, shape) -> None:
    img = data.draw(arrays(np.float64, shape, elements=st.floats(0, 1, width=64)))
    if min(shape) < ksize:
        with pytest.raises(ValueError, match=f"smaller than the {ksize} x {ksize} kernel"):
            edge_magnitude(img, ksize=ksize)
        return
    x, y = kernels.sobel_pair(ksize)
    raw = np.hypot(signal.correlate2d(img, x, "valid"), signal.correlate2d(img, y, "valid"))
    got = edge_magnitude(img, ksize=ksize)
    assert got.shape == (shape[0] - ksize + 1, shape[1] - ksize + 1)
    if raw.max() > 1e-9:
        np.testing.assert_allclose(got, raw / raw.max(), atol=1e-9)
    else:
        assert np.isfinite(got).all() and got.max() <= 1


def test_signed_maps_and_angle_with_ksize_follow_the_pair(rng) -> None:
    img = rng.random((15, 17))
    x, y = kernels.sobel_pair(7)
    gx, gy = signal.correlate2d(img, x, "valid"), signal.correlate2d(img, y, "valid")
    np.testing.assert_allclose(
        edge_map(img, "y", ksize=7), 0.5 + gy / (2 * np.abs(gy).max()), atol=1e-12
    )
    np.testing.assert_allclose(edge_map(img, "angle", normalize=False, ksize=7), np.arctan2(gy, gx))


def test_float32_with_ksize_stays_float32(rng) -> None:
    img = rng.random((40, 33))
    got = edge_magnitude(img.astype(np.float32), ksize=5, pad="reflect")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, edge_magnitude(img, ksize=5, pad="reflect"), atol=1e-5)


@pytest.mark.parametrize("ksize", [4, 9, 1, 0, -3, True, 3.5, "5"])
def test_other_sizes_raise(ksize) -> None:
    with pytest.raises(ValueError, match="Sobel kernel size must be one of 3, 5, 7"):
        edge_magnitude(np.ones((9, 9)), ksize=ksize)


@pytest.mark.parametrize("operator", ["scharr", "prewitt"])
def test_larger_sizes_are_sobels_only(operator: str) -> None:
    with pytest.raises(ValueError, match=f"Sobel operator only; {operator} is 3 x 3"):
        edge_magnitude(np.ones((9, 9)), operator, ksize=5)
    edge_magnitude(np.ones((9, 9)), operator, ksize=3)  # 3 is every operator's
