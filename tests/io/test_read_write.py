"""sobelcli.io.images: formats, colour to grey, bit depth, atomic writes and clear errors."""

from __future__ import annotations

import io
import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from sobelcli import io as sio
from sobelcli.io import ImageError, load_image, read_image, save_image


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif", ".gif"])
def test_lossless_formats_round_trip_grey(tmp_path: Path, rng, ext: str) -> None:
    pixels = rng.integers(0, 256, (12, 17), dtype=np.uint8)
    path = tmp_path / f"img{ext}"
    Image.fromarray(pixels).save(path)
    np.testing.assert_allclose(load_image(path), pixels / 255.0, atol=1e-12)


def test_jpeg_is_close(tmp_path: Path) -> None:
    pixels = np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (16, 1))
    Image.fromarray(pixels).save(tmp_path / "a.jpg", quality=95)
    assert np.abs(load_image(tmp_path / "a.jpg") - pixels / 255.0).max() < 0.05


def test_rgba_is_composited_then_made_grey(tmp_path: Path, rng) -> None:
    rgba = rng.integers(0, 256, (8, 9, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "c.png")
    c, a = rgba[..., :3] / 255.0, rgba[..., 3:] / 255.0
    weights = np.array([0.2125, 0.7154, 0.0721])
    for alpha, background in (("white", 1.0), ("black", 0.0)):
        expected = (c * a + background * (1 - a)) @ weights
        got = load_image(tmp_path / "c.png", alpha=alpha)
        np.testing.assert_allclose(got, expected, atol=1e-12)
    np.testing.assert_allclose(load_image(tmp_path / "c.png", alpha="ignore"), c @ weights)
    assert np.array_equal(
        load_image(tmp_path / "c.png"), load_image(tmp_path / "c.png", alpha="white")
    )
    np.testing.assert_allclose(load_image(tmp_path / "c.png", channel=1), rgba[..., 1] / 255.0)
    with pytest.raises(ImageError, match="channel must be 0 to 3"):
        load_image(tmp_path / "c.png", channel=4)


def test_transparent_pixels_make_no_edges(tmp_path: Path) -> None:
    from sobelcli.core.edges import edge_magnitude

    rgba = np.zeros((12, 12, 4), dtype=np.uint8)
    rgba[:, :6, :3] = 255  # a hidden step: white then black, all transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "hidden.png")
    shown = load_image(tmp_path / "hidden.png")
    assert np.all(shown == 1.0)  # over white: nothing to see
    assert edge_magnitude(shown, normalize=False).max() == 0
    assert edge_magnitude(load_image(tmp_path / "hidden.png", alpha="ignore")).max() > 0


def test_colour_keeps_three_channels(tmp_path: Path, rng) -> None:
    rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    np.testing.assert_allclose(load_image(tmp_path / "c.png", colour=True), rgb / 255.0)
    grey = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    assert load_image(tmp_path / "g.png", colour=True).shape == (5, 7, 3)


def test_luminance_matches_skimage_rgb2gray(tmp_path: Path, rng) -> None:
    from skimage.color import rgb2gray

    rgb = rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    np.testing.assert_allclose(load_image(tmp_path / "c.png"), rgb2gray(rgb), atol=1e-12)


def test_sixteen_bit_is_scaled_to_unit_range(tmp_path: Path) -> None:
    pixels = np.array([[0, 1000, 65535]], dtype=np.uint16)
    iio.imwrite(tmp_path / "d.png", pixels)
    np.testing.assert_allclose(load_image(tmp_path / "d.png"), pixels / 65535.0)


def test_npy_float_is_kept_and_float32_requested(tmp_path: Path) -> None:
    arr = np.array([[0.5, -2.0], [3.0, 4.0]])
    np.save(tmp_path / "a.npy", arr)
    np.testing.assert_array_equal(load_image(tmp_path / "a.npy"), arr)
    assert load_image(tmp_path / "a.npy", dtype=np.float32).dtype == np.float32


def test_stdin_is_read_by_content(monkeypatch, grey_png: Path) -> None:
    data = grey_png.read_bytes()

    class FakeStdin:
        buffer = io.BytesIO(data)

        def isatty(self) -> bool:
            return False

    monkeypatch.setattr("sys.stdin", FakeStdin())
    np.testing.assert_array_equal(load_image("-"), load_image(grey_png))


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.png", "file is empty"),
        (b"hello, I am text\n", "text.png", "not a readable image"),
        (None, "missing.png", "no such file"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, content, name: str, message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as info:
        read_image(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_truncated_files_fail_cleanly(tmp_path: Path, rng, fmt: str) -> None:
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8)).save(buf, format=fmt)
    path = tmp_path / f"cut.{fmt}"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError, match="cannot decode"):
        read_image(path)


def test_npy_that_is_not_an_image(tmp_path: Path) -> None:
    np.save(tmp_path / "cube.npy", np.zeros((4, 5, 7)))
    with pytest.raises(ImageError, match=r"shape \(4, 5, 7\) is not an image"):
        read_image(tmp_path / "cube.npy")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ImageError, match="Python objects"):
        read_image(tmp_path / "obj.npy")


def test_size_limit_is_checked_from_the_header(tmp_path: Path, rng) -> None:
    Image.fromarray(rng.integers(0, 256, (30, 40), dtype=np.uint8)).save(tmp_path / "a.png")
    with pytest.raises(ImageError, match="over the limit"):
        read_image(tmp_path / "a.png", max_pixels=1000)
    assert read_image(tmp_path / "a.png", max_pixels=1200).pixels.shape == (30, 40)


def test_png_output_quantises_with_rounding(tmp_path: Path) -> None:
    values = np.array([[0.0, 0.5, 1.0, 1.7, -1.0]])
    save_image(tmp_path / "o.png", values)
    np.testing.assert_array_equal(iio.imread(tmp_path / "o.png"), [[0, 128, 255, 255, 0]])
    save_image(tmp_path / "o16.png", values, bits=16)
    out16 = iio.imread(tmp_path / "o16.png")
    assert out16.dtype == np.uint16
    np.testing.assert_array_equal(out16, [[0, 32768, 65535, 65535, 0]])


def test_npy_and_tiff_keep_values(tmp_path: Path) -> None:
    values = np.array([[0.25, -3.5], [7.0, 1e-3]])
    save_image(tmp_path / "o.npy", values)
    np.testing.assert_array_equal(np.load(tmp_path / "o.npy"), values)
    save_image(tmp_path / "o.tif", values)
    np.testing.assert_allclose(iio.imread(tmp_path / "o.tif"), values.astype(np.float32))


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ImageError, match="No space left"):
        sio.atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_atomic_write_refuses_missing_folder_and_sets_normal_permissions(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="does not exist"):
        sio.atomic_write(tmp_path / "nope" / "a.png", b"x")
    sio.atomic_write(tmp_path / "a.bin", b"x")
    assert (tmp_path / "a.bin").stat().st_mode & 0o044  # readable by others, unlike mkstemp's 0600


def test_unknown_output_extension() -> None:
    with pytest.raises(ValueError, match=r"\.gif"):
        sio.output_format("edges.gif")
