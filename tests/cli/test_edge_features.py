"""`sobelcli edges` with Canny, smoothing, larger kernels, colour, percentiles, frames, alpha:
each against an independent oracle (scipy.ndimage, scikit-image, numpy), and every
combination that means nothing refused with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from scipy import ndimage

from sobelcli.cli.main import cli
from sobelcli.core.kernels import SOBEL_X, SOBEL_Y
from tests.conftest import SAMPLES


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def grey(shape: tuple[int, int] = (30, 40), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def png(path: Path, pixels: np.ndarray) -> Path:
    path.write_bytes(iio.imwrite("<bytes>", pixels, extension=".png"))
    return path


def test_canny_agrees_with_scikit_image(tmp_path: Path) -> None:
    from skimage.feature import canny

    image = iio.imread(SAMPLES / "camera.png").astype(np.float64) / 255
    out = tmp_path / "c.npy"
    args = ["--canny", "--sigma", "2", "--low", "0.8", "--high", "0.9", "--quantiles"]
    result = run("edges", str(SAMPLES / "camera.png"), "-o", str(out), *args)
    assert result.exit_code == 0, result.stderr
    ours = np.load(out).astype(bool)
    theirs = canny(image, 2.0, 0.8, 0.9, use_quantiles=True, mode="reflect")
    both = np.sum(ours & theirs)
    f1 = 2 * both / (ours.sum() + theirs.sum())
    assert f1 >= 0.99, f1
    assert set(np.unique(np.load(out))) <= {0.0, 1.0}


def test_canny_in_a_batch_with_json(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for i in range(3):
        png(tmp_path / "in" / f"{i}.png", grey(seed=i))
    args = [str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--canny", "--json", "-j", "2"]
    result = run("edges", *args)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["status"] for r in lines[:-1]] == ["ok"] * 3 and lines[-1]["ok"] == 3
    assert all(r["shape"] == [30, 40] for r in lines[:-1])  # Canny keeps the input's size


@pytest.mark.parametrize("pad", [None, "reflect", "nearest", "wrap"])
def test_sigma_smooths_as_scipy_gaussian_filter(tmp_path: Path, pad: str | None) -> None:
    pixels = grey()
    image = pixels / 255.0
    out = tmp_path / "s.npy"
    args = ["--sigma", "1.5", "--no-normalize", "-o", str(out)] + (["--pad", pad] if pad else [])
    result = run("edges", str(png(tmp_path / "a.png", pixels)), *args)
    assert result.exit_code == 0, result.stderr
    smooth = ndimage.gaussian_filter(image, 1.5, truncate=4.0, mode=pad or "reflect")
    if pad is None:
        gx = ndimage.correlate(smooth, SOBEL_X)[1:-1, 1:-1]
        gy = ndimage.correlate(smooth, SOBEL_Y)[1:-1, 1:-1]
    else:
        gx = ndimage.correlate(smooth, SOBEL_X, mode=pad)
        gy = ndimage.correlate(smooth, SOBEL_Y, mode=pad)
    np.testing.assert_allclose(np.load(out), np.hypot(gx, gy), atol=1e-12)


@pytest.mark.parametrize("ksize", [5, 7])
def test_larger_kernels_are_the_binomial_sobel_pair(tmp_path: Path, ksize: int) -> None:
    from math import comb

    pixels = grey()
    n = ksize - 1
    smooth = np.array([comb(n, i) for i in range(ksize)], dtype=float)
    diff = np.convolve([comb(n - 2, i) for i in range(ksize - 2)], [-1, 0, 1])  # OpenCV's
    gx_kernel, gy_kernel = np.outer(diff, smooth), np.outer(smooth, diff)
    out = tmp_path / "k.npy"
    args = ["--ksize", str(ksize), "--pad", "reflect", "--no-normalize", "-o", str(out)]
    result = run("edges", str(png(tmp_path / "a.png", pixels)), *args)
    assert result.exit_code == 0, result.stderr
    image = pixels / 255.0
    gx = ndimage.correlate(image, gx_kernel, mode="reflect")
    gy = ndimage.correlate(image, gy_kernel, mode="reflect")
    np.testing.assert_allclose(np.load(out), np.hypot(gx, gy), atol=1e-10)


def test_colour_modes_against_numpy(tmp_path: Path) -> None:
    rgb = np.random.default_rng(4).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    path = tmp_path / "c.png"
    Image.fromarray(rgb).save(path)
    mags = []
    for c in range(3):
        band = rgb[:, :, c] / 255.0
        gx, gy = ndimage.correlate(band, SOBEL_X), ndimage.correlate(band, SOBEL_Y)
        mags.append(np.hypot(gx, gy)[1:-1, 1:-1])
    stack = np.stack(mags, axis=2)
    for mode, expected in (("max", stack.max(axis=2)), ("per-channel", stack)):
        out = tmp_path / f"{mode}.npy"
        result = run("edges", str(path), "--color", mode, "-o", str(out))
        assert result.exit_code == 0, result.stderr
        np.testing.assert_allclose(np.load(out), expected / expected.max(), atol=1e-12)
    rgb_png = tmp_path / "per-channel.png"
    assert run("edges", str(path), "--color", "per-channel", "-o", str(rgb_png)).exit_code == 0
    assert iio.imread(rgb_png).shape == (18, 22, 3)


def test_percentile_normalises_and_clips(tmp_path: Path) -> None:
    pixels = grey()
    pixels[5, 5] = 255  # an outlier
    out = tmp_path / "p.npy"
    result = run(
        "edges", str(png(tmp_path / "a.png", pixels)), "--percentile", "90", "-o", str(out)
    )
    assert result.exit_code == 0, result.stderr
    image = pixels / 255.0
    raw = np.hypot(ndimage.correlate(image, SOBEL_X), ndimage.correlate(image, SOBEL_Y))[1:-1, 1:-1]
    np.testing.assert_allclose(np.load(out), np.minimum(raw / np.percentile(raw, 90), 1.0))


def test_frame_picks_a_page_and_names_how_many(tmp_path: Path) -> None:
    frames = [Image.fromarray(grey(seed=s)) for s in range(3)]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    out = tmp_path / "f.npy"
    result = run("edges", str(gif), "--frame", "2", "-o", str(out), "--no-normalize")
    assert result.exit_code == 0, result.stderr
    page = _frame(gif, 2) / 255.0
    expected = np.hypot(ndimage.correlate(page, SOBEL_X), ndimage.correlate(page, SOBEL_Y))
    np.testing.assert_allclose(np.load(out), expected[1:-1, 1:-1], atol=1e-6)
    past = run("edges", str(gif), "--frame", "3", "-o", str(tmp_path / "g.png"))
    assert past.exit_code == 1 and "has 3 frame(s)" in past.stderr
    assert not (tmp_path / "g.png").exists()


def _frame(path: Path, n: int) -> np.ndarray:
    with Image.open(path) as im:
        im.seek(n)
        return np.asarray(im.convert("RGB")).astype(float) @ [0.2125, 0.7154, 0.0721]


def test_alpha_hides_what_is_transparent(tmp_path: Path) -> None:
    rgba = np.zeros((12, 12, 4), dtype=np.uint8)
    rgba[:, :6, :3] = 255  # a white-to-black step, fully transparent
    path = tmp_path / "hidden.png"
    Image.fromarray(rgba, "RGBA").save(path)
    out = tmp_path / "e.npy"
    assert run("edges", str(path), "-o", str(out), "--no-normalize").exit_code == 0
    assert np.load(out).max() == 0  # over white (the default) there is nothing to see
    args = ["-o", str(out), "--no-normalize", "--alpha", "ignore"]
    assert run("edges", str(path), *args).exit_code == 0
    assert np.load(out).max() > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--canny", "--output-kind", "angle"], "--output-kind angle means nothing"),
        (["--canny", "--threshold", "0.5"], "--threshold means nothing"),
        (["--canny", "--percentile", "90"], "--percentile means nothing"),
        (["--canny", "--operator", "scharr"], "Sobel pair"),
        (["--low", "0.2"], "add --canny"),
        (["--canny", "--low", "0.5", "--high", "0.2"], "above --high"),
        (["--percentile", "0"], "0.0<x<=100.0"),
        (["--percentile", "90", "--no-normalize"], "drop --no-normalize"),
        (["--percentile", "90", "--output-kind", "angle"], "means nothing"),
        (["--ksize", "4"], "'4' is not one of '3', '5', '7'"),
        (["--ksize", "5", "--operator", "prewitt"], "builds the Sobel pair"),
        (["--color", "max", "--channel", "1"], "uses all three"),
    ],
)
def test_nonsense_combinations_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = run(
        "edges", str(png(tmp_path / "a.png", grey())), "-o", str(tmp_path / "o.png"), *args
    )
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "o.png").exists()


def test_a_big_image_says_canny_needs_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sobelcli.cli.commands import edges

    monkeypatch.setattr(edges, "BIG_IMAGE_PIXELS", 100)
    image = png(tmp_path / "a.png", grey())
    result = run("edges", str(image), "--canny", "-o", str(tmp_path / "c.png"))
    assert result.exit_code == 0 and "--canny needs the whole image in memory" in result.stderr
