"""Fuzz the readers: random and mutated image bytes give an image or one clean error line.

Real PNG, JPEG, TIFF, GIF, BMP, WebP and .npy files are made here, then bytes are flipped,
cut, inserted, deleted and spliced between files. Every outcome must be a correct grey image
or an ImageError (exit 1 with one line from the CLI); never another exception, a traceback,
an output file, or a temporary file left behind.
"""

from __future__ import annotations

import io
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from sobelcli.cli.main import cli
from sobelcli.io import ImageError, read_image

MAX_PIXELS = 1_000_000


def _pil(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def _seeds() -> dict[str, bytes]:
    rng = np.random.default_rng(7)
    grey = Image.fromarray(rng.integers(0, 256, (24, 32), dtype=np.uint8))
    rgb = Image.fromarray(rng.integers(0, 256, (16, 20, 3), dtype=np.uint8))
    npy = io.BytesIO()
    np.save(npy, rng.random((12, 10)))
    frames = [grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return {
        "png": _pil(grey, "PNG"),
        "png-rgb": _pil(rgb, "PNG", optimize=True),
        "png16": _pil(Image.fromarray(np.asarray(grey).astype(np.uint16) * 257), "PNG"),
        "jpeg": _pil(rgb, "JPEG", quality=80),
        "tiff": _pil(grey, "TIFF"),
        "tiff-lzw": _pil(rgb, "TIFF", compression="tiff_lzw"),
        "gif": _pil(frames[0], "GIF", save_all=True, append_images=frames[1:]),
        "bmp": _pil(rgb, "BMP"),
        "webp": _pil(rgb, "WEBP", lossless=True),
        "npy": npy.getvalue(),
    }


SEEDS = _seeds()
NAMES = sorted(SEEDS)

position = st.one_of(st.integers(0, 128), st.integers(0, 1 << 16))
mutation = st.one_of(
    st.tuples(st.just("flip"), position, st.integers(1, 255)),
    st.tuples(st.just("cut"), position),
    st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("delete"), position, st.integers(1, 64)),
    st.tuples(st.just("splice"), position, st.sampled_from(NAMES), position, st.integers(1, 256)),
    st.tuples(st.just("png-size"), st.integers(0, 1 << 32 - 1), st.integers(0, 1 << 32 - 1)),
)


def mutate(data: bytes, steps: list[tuple]) -> bytes:
    buf = bytearray(data)
    for step in steps:
        kind, at = step[0], step[1] % (len(buf) + 1)
        if kind == "flip" and at < len(buf):
            buf[at] ^= step[2]
        elif kind == "cut":
            del buf[at:]
        elif kind == "insert":
            buf[at:at] = step[2]
        elif kind == "delete":
            del buf[at : at + step[2]]
        elif kind == "splice":
            other = SEEDS[step[2]]
            start = step[3] % len(other)
            buf[at:at] = other[start : start + step[4]]
        elif kind == "png-size" and buf.startswith(b"\x89PNG") and len(buf) >= 33:
            buf[16:24] = struct.pack(">II", step[1], step[2])  # IHDR width, height, CRC fixed up
            buf[29:33] = struct.pack(">I", zlib.crc32(bytes(buf[12:29])))
    return bytes(buf)


fuzzed = st.one_of(
    st.builds(
        mutate, st.sampled_from(NAMES).map(SEEDS.__getitem__), st.lists(mutation, max_size=5)
    ),
    st.binary(max_size=512),
    st.sampled_from(NAMES)
    .map(lambda n: SEEDS[n][:8])
    .flatmap(lambda head: st.binary(max_size=256).map(lambda tail: head + tail)),
)


def check_image(pixels: np.ndarray) -> None:
    assert pixels.ndim == 2 and pixels.size > 0 and pixels.size <= MAX_PIXELS
    assert pixels.dtype == np.float64 and np.isfinite(pixels).all()


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(data=fuzzed)
def test_read_image_gives_an_image_or_one_clean_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.img"
        path.write_bytes(data)
        try:
            loaded = read_image(path, max_pixels=MAX_PIXELS)
        except ImageError as exc:
            message = str(exc)
            assert message.startswith(f"{path}: ") and "\n" not in message
            return
        check_image(loaded.pixels)


def check_cli(result, out: Path, folder: Path) -> None:
    assert "Traceback" not in result.stderr
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    if result.exit_code == 0:
        assert out.exists()
        return
    assert result.exit_code == 1, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert not out.exists()


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(data=fuzzed)
def test_cli_on_a_fuzzed_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src, out = folder / "in.png", folder / "out.png"
        src.write_bytes(data)
        result = CliRunner().invoke(
            cli, ["edges", str(src), "-o", str(out), "--max-pixels", str(MAX_PIXELS), "--quiet"]
        )
        check_cli(result, out, folder)


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(data=fuzzed)
def test_cli_on_fuzzed_stdin(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        out = folder / "out.npy"
        result = CliRunner().invoke(
            cli,
            ["grad-input", "-", "-o", str(out), "--max-pixels", str(MAX_PIXELS), "--quiet"],
            input=data,
        )
        check_cli(result, out, folder)
        if result.exit_code == 0:
            assert np.isfinite(np.load(out)).all()


def test_every_seed_reads_cleanly() -> None:
    for name, data in SEEDS.items():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            check_image(read_image(path).pixels)
