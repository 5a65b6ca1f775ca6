"""sobelcli.io.deflate: every level and library writes a zlib stream that zlib inflates back."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from sobelcli.io import deflate, png


def data(seed: int = 0) -> bytes:
    """Bytes like filtered edge-map rows: runs of zeros, a few noisy rows and pixels."""
    rng = np.random.default_rng(seed)
    rows = np.zeros((64, 300), dtype=np.uint8)
    sparse = rng.random(rows.shape) < 0.05
    rows[sparse] = rng.integers(1, 256, int(sparse.sum()), dtype=np.uint8)
    rows[::7] = rng.integers(0, 256, (10, 300), dtype=np.uint8)
    return rows.tobytes()


@pytest.mark.parametrize("level", range(10))
@pytest.mark.parametrize("fast", [True, False], ids=["isal if installed", "zlib only"])
def test_every_level_inflates_to_the_same_bytes(
    level: int, fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not fast:
        monkeypatch.setattr(deflate, "_isal", lambda: None)
    raw = data(level)
    packer = deflate.compressor(level)
    half = len(raw) // 2
    stream = packer.compress(raw[:half]) + packer.compress(raw[half:]) + packer.flush()
    assert zlib.decompress(stream) == raw


def test_level_1_uses_isal_when_it_imports_and_zlib_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    isal_zlib = pytest.importorskip("isal.isal_zlib")
    assert deflate.fast_deflate_available()
    assert type(deflate.compressor(1)) is type(isal_zlib.compressobj(1))
    assert type(deflate.compressor(6)) is type(zlib.compressobj(6))  # levels 2-9: zlib
    monkeypatch.setattr(deflate, "_isal", lambda: None)
    assert not deflate.fast_deflate_available()
    assert type(deflate.compressor(1)) is type(zlib.compressobj(1))


@pytest.mark.parametrize("level", [-1, 10])
def test_a_level_outside_0_to_9_is_refused(level: int) -> None:
    with pytest.raises(ValueError, match="0 to 9"):
        deflate.compressor(level)


@pytest.mark.parametrize("fast", [True, False])
def test_png_pixels_are_the_same_with_either_library(
    fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not fast:
        monkeypatch.setattr(deflate, "_isal", lambda: None)
    pixels = np.frombuffer(data(3), dtype=np.uint8).reshape(64, 300)
    with Image.open(io.BytesIO(png.encode_png(pixels, 1))) as im:  # an independent decoder
        np.testing.assert_array_equal(np.asarray(im), pixels)
