"""sobelcli.core.canny against scikit-image's feature.canny, a geometric oracle and known maps.

Agreement on the sample images is F1 of edge pixels, 2 |a & b| / (|a| + |b|). With skimage
told to smooth with the same border (``mode="reflect"``) the maps are equal (F1 = 1); with
skimage's default ``mode="constant"``, which divides by the smoothed mask, they differ
within 4 sigma of the border.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage
from skimage import feature

from sobelcli.core.canny import canny, canny_thresholds, gradients, nonmaximum_suppression
from sobelcli.core.smooth import gaussian
from sobelcli.engine.label import hysteresis
from sobelcli.io import load_image
from tests.conftest import SAMPLES


def f1(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2 * int((a & b).sum()) / total


@pytest.fixture(scope="module")
def samples() -> dict[str, np.ndarray]:
    return {name: load_image(SAMPLES / f"{name}.png") for name in ("astronaut", "camera", "square")}


# --- the sample images against scikit-image ---------------------------------------------------


@pytest.mark.parametrize("name", ["astronaut", "camera", "square"])
@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_samples_equal_skimage_with_the_same_border(samples, name: str, sigma: float) -> None:
    img = samples[name]
    ours = canny(img, sigma, 0.1, 0.2, quantiles=True)
    theirs = feature.canny(img, sigma, 0.1, 0.2, use_quantiles=True, mode="reflect")
    assert ours.sum() > 50
    assert f1(ours, theirs) == 1.0  # measured: every pixel equal


# F1 measured against skimage's default border (sigma 1, 2): astronaut 0.9992, 0.9936; camera
# 0.9990, 0.9946; square 0.7917, 1.0. The square is flat on more than 20 % of its pixels, so
# both quantile thresholds are 0 and skimage's mask division leaves rounding noise there.
DEFAULT_MODE_F1 = {"astronaut": 0.99, "camera": 0.99, "square": 0.75}


@pytest.mark.parametrize("name", ["astronaut", "camera", "square"])
@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_samples_agree_with_skimages_default(samples, name: str, sigma: float) -> None:
    img = samples[name]
    ours = canny(img, sigma, 0.1, 0.2, quantiles=True)
    theirs = feature.canny(img, sigma, 0.1, 0.2, use_quantiles=True)
    assert f1(ours, theirs) >= DEFAULT_MODE_F1[name]


def test_fractions_of_the_largest_magnitude_are_skimages_absolute_thresholds(samples) -> None:
    img = samples["camera"]
    top = gradients(gaussian(img, 1.5))[2].max()
    theirs = feature.canny(img, 1.5, 0.15 * top, 0.3 * top, mode="reflect")
    np.testing.assert_array_equal(canny(img, 1.5, 0.15, 0.3), theirs)


@pytest.mark.parametrize("pad", ["nearest", "mirror", "wrap", "constant"])
def test_pad_is_skimages_mode(samples, pad: str) -> None:
    img = samples["astronaut"][:200, 100:300]
    ours = canny(img, 1.0, 0.2, 0.4, quantiles=True, pad=pad)
    if pad == "constant":  # skimage divides by the smoothed mask there: smooth with scipy
        smooth = ndimage.gaussian_filter(img, 1.0, mode="constant")
        theirs = feature.canny(smooth, 0.0, 0.2, 0.4, use_quantiles=True, mode="reflect")
    else:
        theirs = feature.canny(img, 1.0, 0.2, 0.4, use_quantiles=True, mode=pad)
    np.testing.assert_array_equal(ours, theirs)


def test_float32_is_computed_in_float32_and_agrees(samples) -> None:
    img = samples["camera"].astype(np.float32)
    ours = canny(img, 1.0, 0.1, 0.2, quantiles=True)
    theirs = feature.canny(img, 1.0, 0.1, 0.2, use_quantiles=True, mode="reflect")
    assert f1(ours, theirs) >= 0.999


def test_seeded_noise_equals_skimage(rng) -> None:
    for shape, sigma in (((37, 53), 0.8), ((64, 41), 1.7), ((5, 6), 1.0)):
        img = rng.random(shape)
        for quantiles, low, high in ((True, 0.5, 0.8), (False, 0.1, 0.3)):
            ours = canny(img, sigma, low, high, quantiles=quantiles)
            if quantiles:
                theirs = feature.canny(img, sigma, low, high, use_quantiles=True, mode="reflect")
            else:
                top = gradients(gaussian(img, sigma))[2].max()
                theirs = feature.canny(img, sigma, low * top, high * top, mode="reflect")
            np.testing.assert_array_equal(ours, theirs)


# --- non-maximum suppression against a geometric oracle ---------------------------------------


def interpolated_neighbours(gx, gy, mag) -> tuple[np.ndarray, np.ndarray]:
    """M at p +- g / max(|gx|, |gy|), linearly interpolated (scipy's map_coordinates)."""
    h, w = mag.shape
    i, j = np.mgrid[1 : h - 1, 1 : w - 1]
    a, b = gx[1:-1, 1:-1], gy[1:-1, 1:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        step = np.maximum(np.abs(a), np.abs(b))
        di, dj = np.nan_to_num(a / step), np.nan_to_num(b / step)
    ahead = ndimage.map_coordinates(mag, [i + di, j + dj], order=1)
    behind = ndimage.map_coordinates(mag, [i - di, j - dj], order=1)
    return ahead, behind


images = st.tuples(st.integers(3, 24), st.integers(3, 24)).flatmap(
    lambda s: arrays(np.float64, s, elements=st.floats(0, 1, width=64))
)


@given(img=images, sigma=st.sampled_from([0.0, 0.7, 1.5]), low=st.floats(0, 0.5))
def test_thinning_keeps_local_maxima_along_the_gradient(img, sigma, low) -> None:
    """Kept: M >= both interpolated neighbours; pixels within rounding of a tie are not judged."""
    gx, gy, mag = gradients(gaussian(img, sigma))
    threshold = low * mag.max()
    kept = nonmaximum_suppression(gx, gy, mag, threshold)
    assert kept.shape == img.shape
    assert not kept[0].any() and not kept[-1].any()
    assert not kept[:, 0].any() and not kept[:, -1].any()
    ahead, behind = interpolated_neighbours(gx, gy, mag)
    centre = mag[1:-1, 1:-1]
    tol = 1e-9 * max(1.0, float(mag.max()))
    above = (centre >= threshold) & (centre > 0)
    surely = above & (ahead < centre - tol) & (behind < centre - tol)
    surely_not = ~above | (ahead > centre + tol) | (behind > centre + tol)
    inner = kept[1:-1, 1:-1]
    assert inner[surely].all()
    assert not inner[surely_not & ~(np.abs(centre - threshold) <= tol)].any()


# --- hysteresis against a numpy flood fill --------------------------------------------------


def flood(weak: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """Grow strong & weak by 3 x 3 dilations inside weak until nothing changes."""
    cur = strong & weak
    while True:
        padded = np.pad(cur, 1)
        grown = np.zeros_like(cur)
        h, w = cur.shape
        for di in range(3):
            for dj in range(3):
                grown |= padded[di : di + h, dj : dj + w]
        grown &= weak
        if np.array_equal(grown, cur):
            return cur
        cur = grown


masks = st.tuples(st.integers(1, 20), st.integers(1, 20)).flatmap(
    lambda s: st.tuples(arrays(bool, s), arrays(bool, s))
)


@given(pair=masks)
def test_hysteresis_equals_a_flood_fill(pair) -> None:
    weak, strong = pair
    np.testing.assert_array_equal(hysteresis(weak, strong), flood(weak, strong))


def test_hysteresis_links_diagonally_and_only_through_weak() -> None:
    weak = np.array([[1, 0, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0]], dtype=bool)
    strong = np.zeros_like(weak)
    strong[0, 0] = True
    expected = weak.copy()
    expected[3, 0] = False  # not 8-connected to the chain
    np.testing.assert_array_equal(hysteresis(weak, strong), expected)
    assert not hysteresis(weak, np.zeros_like(weak)).any()
    assert not hysteresis(np.zeros_like(weak), np.ones_like(weak)).any()


# --- known maps ------------------------------------------------------------------------------


def test_a_bright_line_gives_its_two_flanks() -> None:
    line = np.zeros((12, 21))
    line[:, 10] = 1.0
    out = canny(line, 1.0)
    expected = np.zeros_like(out)
    expected[1:-1, [9, 11]] = True
    np.testing.assert_array_equal(out, expected)


def test_a_square_gives_its_outline_and_a_flat_image_nothing() -> None:
    square = np.zeros((10, 10))
    square[2:8, 2:8] = 1.0
    out = canny(square, 1.0)
    ring = np.zeros((6, 6), dtype=bool)
    ring[[0, -1]] = True
    ring[:, [0, -1]] = True
    np.testing.assert_array_equal(out[2:8, 2:8], ring)
    assert out.sum() == ring.sum()
    assert not canny(np.full((8, 9), 0.3)).any()
    assert not canny(np.full((8, 9), 0.3), quantiles=True).any()


def test_hysteresis_keeps_weak_edges_linked_to_strong_ones_only() -> None:
    apart = np.zeros((20, 30))
    apart[:, 8:] = 1.0  # a strong vertical step
    apart[:, 20:] = 1.15  # a weak one, 15 % of it, on its own
    assert canny(apart, 1.0, low=0.1, high=0.1)[1:-1, 19:21].any(axis=1).all()
    out = canny(apart, 1.0, low=0.1, high=0.5)
    assert out[1:-1, 7:9].any(axis=1).all() and not out[:, 15:].any()
    linked = np.zeros((24, 16))
    linked[:, 8:] = np.linspace(1.0, 0.1, 24)[:, None]  # one step, fading down the rows
    thresholded = canny(linked, 1.0, low=0.5, high=0.5)[:, 8]
    np.testing.assert_array_equal(np.flatnonzero(thresholded), range(1, 14))
    followed = canny(linked, 1.0, low=0.05, high=0.5)[:, 8]  # the weak rest is linked
    np.testing.assert_array_equal(np.flatnonzero(followed), range(1, 23))


@pytest.mark.parametrize("shape", [(1, 1), (2, 9), (9, 2), (1, 30)])
def test_images_thinner_than_3_pixels_have_no_edges(shape) -> None:
    out = canny(np.random.default_rng(0).random(shape))
    assert out.shape == shape and out.dtype == bool and not out.any()


def test_thresholds_are_fractions_or_quantiles(rng) -> None:
    mag = rng.random((30, 40))
    assert canny_thresholds(mag, np.float32(0.25), np.float32(0.5))[0] == 0.25 * mag.max()
    assert canny_thresholds(mag, 0.1, 0.2) == pytest.approx((0.1 * mag.max(), 0.2 * mag.max()))
    assert canny_thresholds(mag, 0.1, 0.2, quantiles=True) == pytest.approx(
        tuple(np.quantile(mag, [0.1, 0.2]))
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"low": -0.1}, "low threshold must lie in"),
        ({"high": 1.5}, "high threshold must lie in"),
        ({"low": 0.5, "high": 0.2}, "above the high threshold"),
        ({"low": float("nan")}, "low threshold must lie in"),
        ({"high": "max"}, "high threshold must be a number"),
        ({"sigma": -1.0}, "sigma must be finite and at least 0"),
        ({"pad": "zero"}, "unknown pad mode"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        canny(np.ones((8, 8)), **kwargs)
    with pytest.raises(ValueError, match="2-D"):
        canny(np.ones((8, 8, 3)))
