"""sobelcli.io.png: what it writes, Pillow (an independent decoder) reads back exactly."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

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
