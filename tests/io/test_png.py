"""sobelcli.io.png: what it writes, Pillow (an independent decoder) reads back exactly."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from sobelcli.io import png
from sobelcli.io.png import encode_png


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return np.asarray(im)


shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))


@pytest.mark.parametrize("level", [0, 1, 6, 9])
@given(pixels=shapes.flatmap(lambda s: arrays(np.uint8, s)))
def test_grey8_round_trip(level: int, pixels: np.ndarray) -> None:
    np.testing.assert_array_equal(decode(encode_png(pixels, level)), pixels)


@given(pixels=shapes.flatmap(lambda s: arrays(np.uint16, s)))
def test_grey16_round_trip(pixels: np.ndarray) -> None:
    np.testing.assert_array_equal(decode(encode_png(pixels)).astype(np.uint16), pixels)


@pytest.mark.parametrize("channels", [2, 3, 4])
@given(data=st.data())
def test_colour_round_trip(channels: int, data) -> None:
    h, w = data.draw(shapes)
    pixels = data.draw(arrays(np.uint8, (h, w, channels)))
    np.testing.assert_array_equal(decode(encode_png(pixels)), pixels)


@pytest.mark.parametrize(
    ("pixels", "message"),
    [
        (np.zeros((2, 2), np.float32), "uint8 or uint16"),
        (np.zeros((2, 2, 5), np.uint8), "shape"),
        (np.zeros((0, 3), np.uint8), "shape"),
    ],
)
def test_refuses_what_png_cannot_hold(pixels: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_png(pixels)


def test_level_out_of_range() -> None:
    with pytest.raises(ValueError, match="0 to 9"):
        encode_png(np.zeros((2, 2), np.uint8), 10)


@pytest.mark.parametrize("name", ["astronaut", "camera", "square"])
def test_higher_levels_are_never_larger_than_level_1(name: str) -> None:
    from sobelcli.core.edges import edge_magnitude
    from sobelcli.io import load_image, quantize
    from tests.conftest import SAMPLES

    photo = load_image(SAMPLES / f"{name}.png")
    for pixels in (quantize(photo), quantize(edge_magnitude(photo))):
        sizes = {level: len(encode_png(pixels, level)) for level in range(10)}
        assert all(sizes[level] <= sizes[1] for level in range(2, 10)), sizes
        assert sizes[9] < sizes[0]
        for level in (0, 1, 6, 9):
            decoded = np.asarray(Image.open(io.BytesIO(encode_png(pixels, level))))
            np.testing.assert_array_equal(decoded, pixels)


def test_adaptive_filters_round_trip_on_every_filter_type() -> None:
    rng = np.random.default_rng(3)
    for shape, dtype in [((17, 23), np.uint8), ((9, 11, 3), np.uint8), ((8, 5), np.uint16)]:
        ramp = np.add.outer(np.arange(shape[0]), np.arange(shape[1])) * 7
        noise = rng.integers(0, 40, shape)
        pixels = ((ramp if len(shape) == 2 else ramp[..., None]) + noise).astype(dtype)
        rows = np.ascontiguousarray(pixels, dtype=">u2" if dtype == np.uint16 else np.uint8)
        rows = rows.view(np.uint8).reshape(shape[0], -1)
        bpp = rows.shape[1] // shape[1]
        filtered = png._filtered(rows, bpp, adaptive=True)
        assert len(set(filtered[:, 0].tolist())) >= 2  # more than one filter type in use
        stream = png._deflate(filtered, 9, zlib.Z_DEFAULT_STRATEGY)
        depth = 16 if dtype == np.uint16 else 8
        colour = png.COLOUR_TYPES[1 if len(shape) == 2 else shape[2]]
        header = struct.pack(">IIBBBBB", shape[1], shape[0], depth, colour, 0, 0, 0)
        data = png.SIGNATURE + png._chunk(b"IHDR", header) + png._chunk(b"IDAT", stream)
        data += png._chunk(b"IEND", b"")
        decoded = np.asarray(Image.open(io.BytesIO(data)))
        np.testing.assert_array_equal(decoded, pixels)
