"""Colour edges against numpy/scipy, and the percentile normalisation of every edge map."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from sobelcli.core import kernels
from sobelcli.core.colour import LUMINANCE, colour_edges, luminance
from sobelcli.core.edges import edge_gradients, edge_magnitude, edge_map
from tests.conftest import SAMPLES


def channel_gradients(rgb: np.ndarray, pad: str = "reflect") -> tuple[np.ndarray, np.ndarray]:
    """scipy.ndimage's Sobel pair of each channel, stacked on the last axis."""
    gx = np.stack([ndimage.correlate(rgb[..., c], kernels.SOBEL_X, mode=pad) for c in range(3)], -1)
    gy = np.stack([ndimage.correlate(rgb[..., c], kernels.SOBEL_Y, mode=pad) for c in range(3)], -1)
    return gx, gy


def test_luminance_weights_are_ios_and_skimages() -> None:
    from skimage.color import rgb2gray

    from sobelcli.io.read import LUMINANCE as IO_LUMINANCE

    assert LUMINANCE == IO_LUMINANCE
    rgb = np.random.default_rng(1).random((5, 6, 3))
    np.testing.assert_allclose(luminance(rgb), rgb2gray(rgb), atol=1e-15)


def test_luminance_mode_is_todays_grey_path_bit_for_bit() -> None:
    import imageio.v3 as iio

    from sobelcli.io import load_image

    rgb8 = iio.imread(SAMPLES / "astronaut.png")[..., :3]
    rgb = rgb8.astype(np.float64)
    rgb *= 1.0 / 255  # as sobelcli.io scales 8-bit samples
    grey = load_image(SAMPLES / "astronaut.png")
    for kind in ("magnitude", "x", "angle"):
        np.testing.assert_array_equal(
            colour_edges(rgb, "luminance", kind=kind, pad="nearest"),
            edge_map(grey, kind, pad="nearest"),  # type: ignore[arg-type]
        )


colour = st.tuples(st.integers(3, 16), st.integers(3, 16)).flatmap(
    lambda s: arrays(np.float64, (*s, 3), elements=st.floats(0, 1, width=64))
)


@given(rgb=colour)
def test_max_is_the_largest_channel_magnitude(rgb: np.ndarray) -> None:
    gx, gy = channel_gradients(rgb)
    mags = np.hypot(gx, gy)
    raw = mags.max(axis=-1)
    got = colour_edges(rgb, "max", normalize=False, pad="reflect")
    np.testing.assert_allclose(got, raw, atol=1e-12)
    norm = colour_edges(rgb, "max", pad="reflect")
    if raw.max() > 1e-9:
        np.testing.assert_allclose(norm, raw / raw.max(), atol=1e-9)
    assert norm.shape == rgb.shape[:2] and 0 <= norm.min() and norm.max() <= 1


@given(rgb=colour)
def test_per_channel_is_normalised_jointly_by_the_largest(rgb: np.ndarray) -> None:
    gx, gy = channel_gradients(rgb)
    mags = np.hypot(gx, gy)
    got = colour_edges(rgb, "per-channel", pad="reflect")
    assert got.shape == rgb.shape
    if mags.max() > 1e-9:
        np.testing.assert_allclose(got, mags / mags.max(), atol=1e-9)
    np.testing.assert_allclose(
        colour_edges(rgb, "per-channel", normalize=False, pad="reflect"), mags, atol=1e-12
    )


def test_signed_and_angle_maps_in_colour(rng) -> None:
    rgb = rng.random((14, 17, 3))
    gx, gy = channel_gradients(rgb, "nearest")
    # per-channel: each channel's map, signed ones by the largest |G| of all three
    got = colour_edges(rgb, "per-channel", pad="nearest", kind="y")
    np.testing.assert_allclose(got, 0.5 + gy / (2 * np.abs(gy).max()), atol=1e-12)
    angle = colour_edges(rgb, "per-channel", pad="nearest", kind="angle", normalize=False)
    np.testing.assert_allclose(angle, np.arctan2(gy, gx), atol=1e-12)
    # max: the maps of the channel with the largest magnitude at each pixel
    win = np.argmax(np.hypot(gx, gy), axis=-1)
    i, j = np.indices(win.shape)
    wx, wy = gx[i, j, win], gy[i, j, win]
    got = colour_edges(rgb, "max", pad="nearest", kind="x")
    np.testing.assert_allclose(got, 0.5 + wx / (2 * np.abs(wx).max()), atol=1e-12)
    angle = colour_edges(rgb, "max", pad="nearest", kind="angle")
    np.testing.assert_allclose(angle, (np.arctan2(wy, wx) + np.pi) / (2 * np.pi), atol=1e-12)


def test_options_pass_through_to_each_channel(rng) -> None:
    rgb = rng.random((20, 22, 3))
    got = colour_edges(rgb, "per-channel", normalize=False, ksize=5, sigma=1.2)
    for c in range(3):
        np.testing.assert_array_equal(
            got[..., c], edge_magnitude(rgb[..., c], normalize=False, ksize=5, sigma=1.2)
        )
    assert got.shape == (16, 18, 3)


def test_grey_images_are_r_equals_g_equals_b(rng) -> None:
    grey = rng.random((9, 11))
    rgb = np.repeat(grey[..., None], 3, axis=2)
    for mode in ("luminance", "max", "per-channel"):
        np.testing.assert_allclose(colour_edges(grey, mode), colour_edges(rgb, mode), atol=1e-12)
    assert colour_edges(grey, "per-channel").shape == (7, 9, 3)


def test_float32_stays_float32(rng) -> None:
    rgb = rng.random((12, 13, 3)).astype(np.float32)
    for mode in ("luminance", "max", "per-channel"):
        assert colour_edges(rgb, mode).dtype == np.float32


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: colour_edges(np.ones((5, 5, 3)), "hue"), "unknown colour mode"),
        (lambda: colour_edges(np.ones((5, 5, 4)), "max"), "drop the alpha channel"),
        (lambda: colour_edges(np.ones((5, 5, 2)), "max"), r"\(H, W, 3\)"),
        (lambda: colour_edges(np.full((5, 5, 3), np.nan), "max"), "NaN"),
        (lambda: colour_edges(np.ones((5, 5, 3)), "max", kind="phase"), "unknown output kind"),
        (
            lambda: colour_edges(np.ones((5, 5, 3)), "max", kind="angle", percentile=90),
            "angle map has no scale",
        ),
    ],
)
def test_bad_colour_arguments_raise(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# --- robust normalisation: the P-th percentile instead of the maximum -------------------------


grey = st.tuples(st.integers(3, 20), st.integers(3, 20)).flatmap(
    lambda s: arrays(np.float64, s, elements=st.floats(0, 1, width=64))
)


@given(img=grey, p=st.floats(0.5, 100))
def test_percentile_divides_by_numpys_percentile_and_clips(img: np.ndarray, p: float) -> None:
    raw = edge_magnitude(img, normalize=False)
    top = np.percentile(raw, p)
    got = edge_magnitude(img, percentile=p)
    expected = np.minimum(raw / top, 1) if top > 0 else (raw > 0).astype(float)
    np.testing.assert_allclose(got, expected, atol=1e-12)
    assert got.min() >= 0 and got.max() <= 1


@given(img=grey)
def test_percentile_100_is_the_maximum_bit_for_bit(img: np.ndarray) -> None:
    for kind in ("magnitude", "x", "y"):
        np.testing.assert_array_equal(
            edge_map(img, kind, percentile=100),  # type: ignore[arg-type]
            edge_map(img, kind),  # type: ignore[arg-type]
        )
    np.testing.assert_array_equal(
        edge_magnitude(img, ksize=5, pad="reflect", percentile=100.0),
        edge_magnitude(img, ksize=5, pad="reflect"),
    )


def test_one_outlier_no_longer_darkens_the_map(rng) -> None:
    img = rng.random((64, 64)) * 0.1
    img[30, 30] = 50.0  # one hot pixel
    plain = edge_magnitude(img)
    robust = edge_magnitude(img, percentile=99)
    assert np.median(plain) < 0.01
    assert 0.2 < np.median(robust) < 0.8
    assert (robust == 1).mean() == pytest.approx(0.01, abs=0.003)


def test_signed_maps_clip_to_the_unit_range(rng) -> None:
    img = rng.random((30, 30))
    gx, _ = edge_gradients(img)
    top = np.percentile(np.abs(gx), 90)
    got = edge_map(img, "x", percentile=90)
    np.testing.assert_allclose(got, 0.5 + np.clip(gx / (2 * top), -0.5, 0.5), atol=1e-12)


def test_a_zero_percentile_takes_the_limit(rng) -> None:
    img = np.zeros((20, 20))
    img[10:, 10:] = 1.0  # three quarters flat: the median magnitude is 0
    raw = edge_magnitude(img, normalize=False, pad="nearest")
    got = edge_magnitude(img, pad="nearest", percentile=50)
    np.testing.assert_array_equal(got, (raw > 0).astype(float))
    np.testing.assert_array_equal(edge_magnitude(np.ones((5, 5)), percentile=50), 0)


def test_colour_percentile_is_over_all_three_channels(rng) -> None:
    rgb = rng.random((16, 18, 3))
    raw = colour_edges(rgb, "per-channel", normalize=False)
    got = colour_edges(rgb, "per-channel", percentile=80)
    np.testing.assert_allclose(got, np.minimum(raw / np.percentile(raw, 80), 1), atol=1e-12)


@pytest.mark.parametrize("p", [0, -5, 100.5, float("nan"), "high"])
def test_percentiles_outside_0_100_raise(p) -> None:
    with pytest.raises(ValueError, match="percentile must"):
        edge_magnitude(np.ones((5, 5)), percentile=p)


def test_percentile_needs_normalisation_and_a_scale() -> None:
    with pytest.raises(ValueError, match="needs normalize=True"):
        edge_magnitude(np.ones((5, 5)), normalize=False, percentile=90)
    with pytest.raises(ValueError, match="angle map has no scale"):
        edge_map(np.ones((5, 5)), "angle", percentile=90)
