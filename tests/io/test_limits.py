"""Memory limits of the image reader (issue 12, item 11): a budget from the header, bounded reads.

Each hostile file is made here, small and fast: a PNG or JPEG header claiming a huge image over
a few hundred kilobytes of deflated zeros, endless zeros on a pipe, formats that are not read.
Memory is measured by limiting a child's address space (RLIMIT_AS), never by the clock: before
the budget these children ran out of memory while decoding (or read gigabytes of zeros).
Hostile images go in on stdin, which is always read whole into memory (a big image file may be
streamed in strips instead, a path of its own).
"""

from __future__ import annotations

import io
import os
import resource
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageOps, features

from sobelcli.cli import options
from sobelcli.cli.main import cli
from sobelcli.io import ImageError, read_array, read_image

ADDRESS_SPACE = 512 << 20  # the children's limit: a Python with numpy and Pillow needs ~250 MiB
MiB = 1 << 20


# --- hostile files, made in milliseconds ----------------------------------------------------------


def deflated_zeros(size: int) -> bytes:
    """Raw deflate of ``size`` zero bytes: one flushed 1 MiB block, repeated, then the rest."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)  # the same bytes each time
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    return block * (size // MiB) + tail.compress(bytes(size % MiB)) + tail.flush()


def zlib_zeros(size: int) -> bytes:
    """A zlib stream of ``size`` zeros (the adler32 of zeros is ``size mod 65521``, then 1)."""
    return b"\x78\xda" + deflated_zeros(size) + struct.pack(">HH", size % 65521, 1)


def gzip_zeros_after(head: bytes, size: int) -> bytes:
    """A gzip file of ``head`` followed by ``size`` zeros."""
    crc = zlib.crc32(head)
    for _ in range(size // MiB):
        crc = zlib.crc32(bytes(MiB), crc)
    crc = zlib.crc32(bytes(size % MiB), crc)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    trailer = struct.pack("<II", crc, (len(head) + size) & 0xFFFFFFFF)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + first + deflated_zeros(size) + trailer


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def black_png(width: int, height: int, colour: int = 6) -> bytes:
    """A real PNG of black pixels (RGBA by default), its rows deflated at ~1000 to 1."""
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    channels = {0: 1, 2: 3, 6: 4}[colour]
    rows = zlib_zeros(height * (1 + width * channels))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", rows)
        + png_chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int, mode: str = "L") -> bytes:
    """A tiny JPEG whose frame header claims ``width`` x ``height``: libjpeg fills the rest."""
    buf = io.BytesIO()
    Image.new(mode, (8, 8), 50).save(buf, "JPEG", quality=50)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_claiming(width: int, height: int) -> bytes:
    """A lossless WebP header claiming ``width`` x ``height`` (libwebp allocates on opening)."""
    bits = (width - 1) | (height - 1) << 14
    body = b"\x2f" + struct.pack("<I", bits) + bytes(16)
    chunk = b"VP8L" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def in_child(args: list[str], stdin: bytes | None = None, shell: str | None = None):
    """Run sobelcli in a child whose address space is limited to ADDRESS_SPACE."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "sobelcli", *args]
    return subprocess.run(
        shell or command,
        input=stdin,
        capture_output=True,
        preexec_fn=limit,
        env=env,
        timeout=120,
        shell=shell is not None,
    )


def one_line(proc) -> str:
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 1, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


# --- the budget, from the header ----------------------------------------------------------------


def test_hostile_png_is_refused_from_its_header(tmp_path: Path) -> None:
    """1.9 MB-like: a 560 KB RGBA PNG of 12000 x 12000 would take 2.9 GB to make grey."""
    data = black_png(12_000, 12_000)
    assert len(data) < 700_000
    err = one_line(in_child(["edges", "-", "-o", str(tmp_path / "o.png")], stdin=data))
    assert "12000 x 12000 RGBA image takes about" in err and "of memory, over the limit" in err
    assert err.rstrip().endswith("(raise it with --max-memory)")
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_jpeg_claiming_15000_squared_is_refused(tmp_path: Path, mode: str) -> None:
    """The 333-byte JPEG claiming 15000 x 15000 decoded to 1.8 GB before."""
    data = jpeg_claiming(15_000, 15_000, mode)
    assert len(data) < 700
    err = one_line(in_child(["grad-input", "-", "-o", str(tmp_path / "o.npy")], stdin=data))
    assert f"15000 x 15000 {mode} image takes about" in err and "--max-memory" in err


def test_webp_is_refused_before_libwebp_allocates_its_canvas(tmp_path: Path) -> None:
    err = one_line(
        in_child(["edges", "-", "-o", str(tmp_path / "o.png")], stdin=webp_claiming(16000, 15000))
    )
    assert "16000 x 15000 WebP image takes about" in err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_is_refused_from_its_first_bytes(tmp_path: Path) -> None:
    """``edges /dev/zero`` read 8 GB before refusing."""
    err = one_line(in_child(["edges", "/dev/zero", "-o", str(tmp_path / "o.png")]))
    assert "/dev/zero: not a readable image: not a supported format (PNG, JPEG" in err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_stream_stops_at_the_budget(tmp_path: Path) -> None:
    """A PNG signature, then zeros forever: read up to --max-memory, then refused."""
    (tmp_path / "sig").write_bytes(b"\x89PNG\r\n\x1a\n")
    command = f"{sys.executable} -m sobelcli edges - -o {tmp_path / 'o.png'} --max-memory 64M"
    err = one_line(in_child([], shell=f"cat {tmp_path / 'sig'} /dev/zero | {command}"))
    assert "-: more than 67,108,864 bytes: larger than the memory limit of 64 MiB" in err
    assert "(raise it with --max-memory)" in err


def grey_image(tmp_path: Path, fmt: str, mode: str = "L", size=(300, 200)) -> Path:
    rng = np.random.default_rng(0)
    bands = len(mode) if mode != "P" else 1
    pixels = rng.integers(0, 256, (size[1], size[0], bands), dtype=np.uint8)
    image = Image.fromarray(pixels[..., 0] if bands == 1 else pixels, "L" if bands == 1 else mode)
    if mode == "P":
        image = image.convert("P")
    path = tmp_path / f"img.{fmt.lower()}"
    image.save(path, fmt)
    return path


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [
        ("PNG", "L"),
        ("PNG", "RGBA"),
        ("GIF", "P"),
        ("BMP", "RGB"),
        ("TIFF", "RGB"),
        ("WEBP", "RGB"),
        ("JPEG", "L"),
    ],
)
def test_budget_is_checked_before_decoding_in_every_format(
    tmp_path: Path, fmt: str, mode: str
) -> None:
    path = grey_image(tmp_path, fmt, mode)
    with pytest.raises(ImageError, match="300 x 200 .* of memory, over the limit of") as info:
        read_image(path, max_memory=path.stat().st_size + 60_000)
    assert info.value.setting == "max_memory" and str(info.value).startswith(f"{path}: ")
    assert read_image(path, max_memory=64 * MiB).pixels.shape == (200, 300)


def test_working_arrays_and_colour_count(tmp_path: Path) -> None:
    """The caller's working arrays and a colour image's float copy are part of the estimate."""
    np.save(tmp_path / "a.npy", np.zeros((500, 400)))
    read_image(tmp_path / "a.npy", max_memory=6 * MiB, working_bytes=0)
    with pytest.raises(ImageError, match="of memory"):
        read_image(tmp_path / "a.npy", max_memory=6 * MiB, working_bytes=40)
    np.save(tmp_path / "c.npy", np.zeros((500, 400, 3), np.uint8))
    with pytest.raises(ImageError, match="of memory"):  # three float64 channels, then grey
        read_image(tmp_path / "c.npy", max_memory=6 * MiB, working_bytes=0)
    read_image(tmp_path / "c.npy", max_memory=6 * MiB, working_bytes=0, channel=1)


def test_a_file_larger_than_the_budget_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(black_png(100, 100) + bytes(2 * MiB))
    with pytest.raises(
        ImageError, match=r"file of 2,09\d,\d{3} bytes is larger than the memory limit of 1 MiB"
    ):
        read_image(path, max_memory=MiB)


def test_cli_says_how_to_raise_the_budget(tmp_path: Path, grey_png: Path) -> None:
    result = CliRunner().invoke(
        cli, ["edges", str(grey_png), "-o", str(tmp_path / "o.png"), "--max-memory", "2K"]
    )
    assert result.exit_code == 1, result.output
    assert "over the limit of 2 KiB (raise it with --max-memory)" in result.stderr
    result = CliRunner().invoke(
        cli, ["edges", str(grey_png), "-o", str(tmp_path / "o.png"), "--max-memory", "1M"]
    )
    assert result.exit_code == 0, result.output


# --- the option --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512M", 512 * MiB),
        ("2G", 2 << 30),
        ("2g", 2 << 30),
        ("2GB", 2 << 30),
        ("1.5GiB", 3 << 29),
        ("64k", 64 << 10),
        ("1T", 1 << 40),
        ("300000000", 300_000_000),
        (" 100 M ", 100 * MiB),
    ],
)
def test_max_memory_takes_sizes_with_units(text: str, size: int) -> None:
    assert options.ByteSize().convert(text, None, None) == size


@pytest.mark.parametrize("text", ["", "M", "0", "-1G", "1e9", "2X", "1.2.3G", "nanG", "9999999T"])
def test_max_memory_refuses_what_is_not_a_size(tmp_path: Path, grey_png: Path, text: str) -> None:
    result = CliRunner().invoke(
        cli, ["edges", str(grey_png), "-o", str(tmp_path / "o.png"), "--max-memory", text]
    )
    assert result.exit_code == 2 and "--max-memory" in result.stderr, result.output
    assert "Traceback" not in result.output


def test_default_is_2g_or_half_the_physical_memory(monkeypatch) -> None:
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": (1 << 30) // 4096}  # a 1 GiB machine
    try:
        options.default_max_memory.cache_clear()
        monkeypatch.setattr(os, "sysconf", pages.__getitem__)
        assert options.default_max_memory() == 512 * MiB
        options.default_max_memory.cache_clear()
        pages["SC_PHYS_PAGES"] *= 64  # 64 GiB
        assert options.default_max_memory() == 2 << 30
        options.default_max_memory.cache_clear()
        monkeypatch.setattr(os, "sysconf", lambda name: (_ for _ in ()).throw(ValueError(name)))
        assert options.default_max_memory() == 2 << 30
    finally:
        options.default_max_memory.cache_clear()
    assert options.ImageOptions().max_memory == options.default_max_memory() <= 2 << 30


def test_help_shows_the_documented_default() -> None:
    for command in ("edges", "grad-input", "gradcheck"):
        help_text = " ".join(CliRunner().invoke(cli, [command, "--help"]).output.split())
        assert "--max-memory SIZE" in help_text
        assert "2G, or half the physical memory if less" in help_text


# --- only the formats the help lists -----------------------------------------------------------


def other_formats() -> list[str]:
    found = ["ICO", "PCX", "SGI", "TGA", "PPM", "IM", "DDS", "XBM", "QOI"]
    return found + (["JPEG2000"] if features.check("jpg_2000") else [])


@pytest.mark.parametrize("fmt", other_formats())
def test_other_formats_are_not_read(tmp_path: Path, fmt: str) -> None:
    """DDS, ICO, PCX, SGI, TGA, XBM, JPEG 2000 ... were decoded by accident (a 421-byte JPEG
    2000 to 64 M pixels)."""
    image = Image.new("1" if fmt == "XBM" else "RGB" if fmt == "DDS" else "L", (16, 16), 1)
    buf = io.BytesIO()
    try:
        image.save(buf, fmt)
    except (KeyError, OSError, ValueError):
        pytest.skip(f"Pillow cannot write {fmt} here")
    path = tmp_path / f"image.{fmt.lower()}"
    path.write_bytes(buf.getvalue())
    with pytest.raises(
        ImageError, match=r"not a supported format \(PNG, JPEG, TIFF, BMP, GIF, WebP or \.npy\)"
    ):
        read_image(path)


@pytest.mark.parametrize(
    ("dtype", "shape", "what"),
    [
        (np.float64, (8, 9), "a 9 x 8 TIFF of float64 samples, 1 a pixel"),
        (np.float32, (8, 9, 3), "a 9 x 8 TIFF of float32 samples, 3 a pixel"),
        (np.float64, (8, 9, 3), "a 9 x 8 TIFF of float64 samples, 3 a pixel"),
        (np.float16, (8, 9), "a 9 x 8 TIFF of float16 samples, 1 a pixel"),
    ],
)
def test_float_tiffs_say_what_they_are(tmp_path: Path, dtype, shape, what: str) -> None:
    tifffile = pytest.importorskip("tifffile")
    path = tmp_path / "f.tif"
    tifffile.imwrite(path, np.ones(shape, dtype), photometric="rgb" if len(shape) == 3 else None)
    with pytest.raises(ImageError) as info:
        read_image(path)
    assert what in str(info.value) and "which is not read here" in str(info.value)
    tifffile.imwrite(path, np.full((8, 9), 0.25, np.float32))  # float32 grey is read
    assert read_image(path).pixels.tolist() == np.full((8, 9), 0.25).tolist()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_the_same_as_pillows(tmp_path: Path, orientation: int) -> None:
    pixels = np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "turned.png"
    Image.fromarray(pixels).save(path, exif=exif)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im)).astype(float) / 255
    loaded = read_image(path, channel=2)
    np.testing.assert_allclose(loaded.pixels, expected[..., 2], rtol=0, atol=1e-12)
    assert any(f"orientation {orientation}" in n for n in loaded.notes) == (orientation > 1)


def test_read_array_refuses_what_is_not_npy(tmp_path: Path) -> None:
    path = tmp_path / "k.npy"
    path.write_bytes(black_png(3, 3))
    with pytest.raises(ImageError, match="k.npy: not a valid .npy file"):
        read_array(path)
    path.write_bytes(b"\x93NUMPY" + bytes(1000))
    with pytest.raises(ImageError, match="k.npy: not a valid .npy file"):
        read_array(path)
    path.write_bytes(bytes(2000))
    with pytest.raises(ImageError, match="larger than the 1 KiB an array may take here"):
        read_array(path, max_bytes=1024)
