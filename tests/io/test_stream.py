"""sobelcli.io.stream: sources equal the in-memory reader, sinks its writer, atomically."""

from __future__ import annotations

import io
import os
import re
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

import sobelcli
from sobelcli.engine.stream import EdgeOptions, edge_output_shape, stream_edge_map
from sobelcli.io.read import read_image
from sobelcli.io.stream import (
    ArraySource,
    SinkOptions,
    SourceOptions,
    StreamUnsupportedError,
    open_sink,
    open_source,
    sniff_format,
)
from sobelcli.io.stream_png import PngSink
from sobelcli.io.stream_vips import pyvips_available
from sobelcli.io.write import encode

ROOT = Path(__file__).resolve().parents[2]
needs_vips = pytest.mark.skipif(not pyvips_available(), reason="pyvips is not installed")
#: colour: the in-memory luminance is a BLAS tensordot, within 1 ulp of ours (see grey_rows)
ULP = {np.float64: 4.5e-16, np.float32: 2.4e-7}


def strips_of(path: Path, rows: int = 3, **options) -> np.ndarray:
    """The whole image read in strips of ``rows``, then a read back up, as the engine may."""
    with open_source(path, SourceOptions(**options)) as source:
        h = source.shape[0]
        whole = np.concatenate([source.read_rows(r, min(r + rows, h)) for r in range(0, h, rows)])
        np.testing.assert_array_equal(source.read_rows(0, min(h, 4)), whole[:4])
        return whole


def same_as_memory(path: Path, colour: bool = False, **options) -> None:
    for dtype in (np.float64, np.float32):
        expected = read_image(path, dtype=dtype, **options).pixels
        got = strips_of(path, dtype=dtype, **options)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        if colour and "channel" not in options:
            np.testing.assert_allclose(got, expected, rtol=0, atol=ULP[dtype])
        else:
            np.testing.assert_array_equal(got, expected)


@pytest.fixture
def pictures(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "g8": rng.integers(0, 256, (37, 45), dtype=np.uint8),
        "g16": rng.integers(0, 65536, (37, 45), dtype=np.uint16),
        "rgb": rng.integers(0, 256, (37, 45, 3), dtype=np.uint8),
        "rgba": rng.integers(0, 256, (37, 45, 4), dtype=np.uint8),
        "f32": rng.random((37, 45)).astype(np.float32),
    }


# --------------------------------------------------------------------------------- sources

TIFFS = {
    "tiled zlib": ("g8", {"tile": (16, 32), "compression": "zlib"}),
    "tiled 16-bit bigtiff": ("g16", {"tile": (32, 16), "compression": "zlib", "bigtiff": True}),
    "strips with predictor": ("g8", {"rowsperstrip": 5, "compression": "zlib", "predictor": True}),
    "one uncompressed strip": ("g8", {}),
    "float tiles": ("f32", {"tile": (16, 16)}),
    "rgb tiles": ("rgb", {"tile": (16, 16), "photometric": "rgb"}),
    "rgba strips": ("rgba", {"rowsperstrip": 7, "photometric": "rgb", "extrasamples": [2]}),
}


@pytest.mark.parametrize("case", list(TIFFS))
def test_tiff_sources_read_what_the_memory_reader_reads(tmp_path, pictures, case: str) -> None:
    name, kwargs = TIFFS[case]
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, pictures[name], **kwargs)
    assert sniff_format(path) == "tiff"
    colour = pictures[name].ndim == 3
    same_as_memory(path, colour=colour)
    if colour:
        same_as_memory(path, colour=True, channel=1)


def test_tiff_planar_separate_min_is_white_and_codecs(tmp_path, pictures) -> None:
    tifffile.imwrite(
        tmp_path / "sep.tif",
        np.moveaxis(pictures["rgb"], -1, 0),
        planarconfig="separate",
        photometric="rgb",
        tile=(16, 16),
    )
    same_as_memory(tmp_path / "sep.tif", colour=True)
    tifffile.imwrite(tmp_path / "bits.tif", pictures["g8"] > 99, rowsperstrip=7)  # min-is-white
    same_as_memory(tmp_path / "bits.tif")
    pytest.importorskip("imagecodecs")
    tifffile.imwrite(tmp_path / "lzw.tif", pictures["g16"], tile=(16, 16), compression="lzw")
    same_as_memory(tmp_path / "lzw.tif")
    tifffile.imwrite(
        tmp_path / "jpeg.tif", pictures["rgb"], tile=(16, 16), compression="jpeg", photometric="rgb"
    )
    same_as_memory(tmp_path / "jpeg.tif", colour=True)


def test_tiff_pages_palettes_and_rotations(tmp_path, pictures) -> None:
    tifffile.imwrite(
        tmp_path / "pages.tif", np.stack([pictures["g8"]] * 3), photometric="minisblack"
    )
    with open_source(tmp_path / "pages.tif") as source:
        assert source.shape == (37, 45) and source.notes == ["3 pages; the first is used"]
    palette = np.zeros((3, 256), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "pal.tif", pictures["g8"], photometric="palette", colormap=palette)
    with pytest.raises(StreamUnsupportedError, match="pal.tif: photometric"):
        open_source(tmp_path / "pal.tif")
    tifffile.imwrite(tmp_path / "rot.tif", pictures["g8"], extratags=[(274, "H", 1, 6, True)])
    with pytest.raises(StreamUnsupportedError, match="orientation 6"):
        open_source(tmp_path / "rot.tif")


def test_corrupt_tiles_name_the_file(tmp_path, pictures) -> None:
    path = tmp_path / "bad.tif"
    tifffile.imwrite(path, pictures["g8"], tile=(16, 16), compression="zlib")
    with tifffile.TiffFile(path) as tif:
        offsets = tif.pages.first.dataoffsets
    data = bytearray(path.read_bytes())
    data[offsets[-1] : offsets[-1] + 8] = b"\xff" * 8  # the last tile row
    path.write_bytes(bytes(data))
    with open_source(path) as source, pytest.raises(ValueError, match="bad.tif: cannot decode"):
        source.read_rows(0, 37)
    data[offsets[0] : offsets[0] + 8] = b"\xff" * 8  # the first: found when opened
    path.write_bytes(bytes(data))
    with pytest.raises(StreamUnsupportedError, match="bad.tif: cannot decode"):
        open_source(path)


def test_npy_sources_c_fortran_big_endian_and_truncated(tmp_path, pictures) -> None:
    np.save(tmp_path / "rgb.npy", pictures["rgb"])
    same_as_memory(tmp_path / "rgb.npy", colour=True)
    np.save(tmp_path / "f.npy", np.asfortranarray(pictures["f32"].astype(">f8")))
    same_as_memory(tmp_path / "f.npy")
    np.save(tmp_path / "i.npy", pictures["g16"].astype(np.int32))
    same_as_memory(tmp_path / "i.npy")
    data = (tmp_path / "rgb.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[:-100])
    with pytest.raises(ValueError, match="cut.npy"):
        open_source(tmp_path / "cut.npy")
    np.save(tmp_path / "bad.npy", np.array([[1.0, np.nan], [0, 0]]))
    with open_source(tmp_path / "bad.npy") as source, pytest.raises(ValueError, match="NaN"):
        source.read_rows(0, 2)


def test_zarr_arrays_groups_and_unaligned_strips(tmp_path, pictures) -> None:
    zarr = pytest.importorskip("zarr")
    z = zarr.create_array(tmp_path / "rgb.zarr", shape=(37, 45, 3), chunks=(8, 16, 3), dtype="u1")
    z[:] = pictures["rgb"]
    expected = read_image_array(pictures["rgb"])
    np.testing.assert_allclose(strips_of(tmp_path / "rgb.zarr", 5), expected, rtol=0, atol=4.5e-16)
    group = zarr.open_group(tmp_path / "ome.zarr", mode="w", zarr_format=2)
    level = group.create_array("0", shape=(1, 1, 37, 45), chunks=(1, 1, 10, 10), dtype="u2")
    level[0, 0] = pictures["g16"]
    group.create_array("1", shape=(1, 1, 18, 22), dtype="u2")
    got = strips_of(tmp_path / "ome.zarr", 4)
    np.testing.assert_array_equal(got, pictures["g16"] * (1 / 65535))
    assert sniff_format(tmp_path / "ome.zarr") == "zarr"
    with open_source(tmp_path / "ome.zarr", SourceOptions(zarr_array="1")) as source:
        assert source.shape == (18, 22)
    with pytest.raises(ValueError, match="no array 'nope'"):
        open_source(tmp_path / "ome.zarr", SourceOptions(zarr_array="nope"))


def read_image_array(pixels: np.ndarray) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"sobelcli-stream-{os.getpid()}.png"
    path.write_bytes(buf.getvalue())
    try:
        return read_image(path).pixels
    finally:
        path.unlink()


@needs_vips
def test_png_and_jpeg_through_libvips(tmp_path, pictures) -> None:
    g8, rgb = pictures["g8"], pictures["rgb"]
    saves = {
        "g8.png": (Image.fromarray(g8), False),
        "g16.png": (Image.fromarray(pictures["g16"]), False),
        "rgba.png": (Image.fromarray(pictures["rgba"]), True),
        "palette.png": (Image.fromarray(rgb).quantize(16), True),
        "bits.png": (Image.fromarray(g8 > 99), False),
        "la.png": (Image.fromarray(np.stack([g8, g8[::-1]], -1), "LA"), False),
        "rgb.jpg": (Image.fromarray(rgb), True),
        "g8.jpg": (Image.fromarray(g8), False),
    }
    for name, (picture, colour) in saves.items():
        picture.save(tmp_path / name)
        same_as_memory(tmp_path / name, colour=colour)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rgb).save(tmp_path / "turned.jpg", exif=exif)
    with pytest.raises(StreamUnsupportedError, match="orientation 6"):
        open_source(tmp_path / "turned.jpg")


@needs_vips
def test_png_transparency_frames_and_16_bit_grey_alpha_as_the_memory_reader(
    tmp_path, pictures
) -> None:
    """tRNS (which Pillow leaves out), APNG (first frame, a note), 16-bit LA (left to memory)."""
    g8, rgb = pictures["g8"], pictures["rgb"]
    saves = {
        "g.png": (Image.fromarray(g8), {"transparency": 17}, False),
        "rgb.png": (Image.fromarray(rgb), {"transparency": (1, 2, 3)}, True),
        "pal.png": (Image.fromarray(rgb).quantize(16), {"transparency": 3}, True),
        "g16.png": (Image.fromarray(pictures["g16"]), {"transparency": 4369}, False),
    }
    for name, (picture, extra, colour) in saves.items():
        picture.save(tmp_path / name, **extra)
        same_as_memory(tmp_path / name, colour=colour)
    frames = [Image.fromarray(g8), Image.fromarray(255 - g8)]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    same_as_memory(tmp_path / "anim.png")
    with open_source(tmp_path / "anim.png") as source:
        assert (
            source.notes
            == read_image(tmp_path / "anim.png").notes
            == ["2 frames; the first is used"]
        )
    from sobelcli.io.png import encode_png

    la16 = np.stack([pictures["g16"], pictures["g16"][::-1]], axis=-1)
    (tmp_path / "la16.png").write_bytes(encode_png(la16))  # colour type 4, 16 bits
    with pytest.raises(StreamUnsupportedError, match="16-bit grey \\+ alpha"):
        open_source(tmp_path / "la16.png")


@needs_vips
@pytest.mark.parametrize("rows", [1, 5, 16, 200])
def test_libvips_decodes_ahead_in_any_order_of_reads(tmp_path, rng, rows: int) -> None:
    """The next strip is decoded on a thread while this one is used: any order reads right."""
    pixels = rng.integers(0, 256, (97, 61), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    want = np.multiply(pixels, np.float32(1 / 255), dtype=np.float32)  # as every reader scales
    with open_source(tmp_path / "a.png", SourceOptions(dtype=np.float32)) as source:
        starts = [*range(0, 97, rows), 40, 3, 90, 0, 96]  # down, then behind and ahead
        for r0 in starts:
            r1 = min(97, r0 + rows)
            np.testing.assert_array_equal(source.read_rows(r0, r1), want[r0:r1])


@needs_vips
def test_a_truncated_png_fails_on_the_reading_thread_with_its_name(tmp_path, rng) -> None:
    import threading

    before = threading.active_count()
    Image.fromarray(rng.integers(0, 256, (300, 200), dtype=np.uint8)).save(tmp_path / "t.png")
    whole = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"t\.png: cannot decode image"):
        with open_source(tmp_path / "t.png") as source:
            for r0 in range(0, 300, 10):
                source.read_rows(r0, r0 + 10)
    assert threading.active_count() == before  # the decoding thread is gone


@needs_vips
@pytest.mark.parametrize("disk", ["room", "full", "too little room"])
def test_a_second_pass_reads_the_nameless_spill_file_not_the_decoder(
    tmp_path, rng, monkeypatch, disk: str
) -> None:
    """With a spill folder the file is decoded once; on a full or nearly full disk, again."""
    import errno

    from sobelcli.io import spill as spill_module
    from sobelcli.io import stream_vips

    pixels = rng.integers(0, 256, (83, 70, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    want = read_image(tmp_path / "a.png", dtype=np.float32).pixels
    opened = []
    real_open = stream_vips.VipsSource._open
    monkeypatch.setattr(
        stream_vips.VipsSource,
        "_open",
        lambda self, name: opened.append(name) or real_open(self, name),
    )
    if disk == "full":

        def refuse(*args):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(spill_module.os, "pwrite", refuse)
    if disk == "too little room":  # the output must keep its room: no copy at all
        monkeypatch.setattr(spill_module, "SPILL_ROOM", 10**15)
    spill = tmp_path / "spill"
    spill.mkdir()
    options = SourceOptions(dtype=np.float32, spill=str(spill))
    with open_source(tmp_path / "a.png", options) as source:
        for _ in range(2):  # two passes, as a normalised map takes
            got = np.concatenate([source.read_rows(r, min(r + 10, 83)) for r in range(0, 83, 10)])
            np.testing.assert_allclose(got, want, rtol=0, atol=ULP[np.float32])
            assert list(spill.iterdir()) == []  # the copy has no name
    assert len(opened) == (1 if disk == "room" else 2)


def test_unknown_missing_and_empty_inputs(tmp_path, pictures) -> None:
    Image.fromarray(pictures["g8"]).save(tmp_path / "a.bmp")
    with pytest.raises(StreamUnsupportedError, match="a.bmp: not a format that can be streamed"):
        open_source(tmp_path / "a.bmp")
    with pytest.raises(OSError, match="nope.tif: no such file"):
        open_source(tmp_path / "nope.tif")
    (tmp_path / "empty.tif").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.tif: file is empty"):
        open_source(tmp_path / "empty.tif")
    (tmp_path / "junk.tif").write_bytes(b"II*\x00garbage")
    with pytest.raises(ValueError, match="junk.tif: not a readable TIFF"):
        open_source(tmp_path / "junk.tif")
    with pytest.raises(ValueError, match="channel must be 0 to 2"):
        ArraySource(pictures["rgb"], "x.npy", SourceOptions(channel=3))
    with pytest.raises(ValueError, match="outside"):
        ArraySource(pictures["g8"]).read_rows(30, 40)


# ----------------------------------------------------------------------------------- sinks


def idat(data: bytes) -> bytes:
    """The inflated image data of a PNG file."""
    pos, parts = 8, []
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            parts.append(data[pos + 8 : pos + 8 + n])
        pos += 12 + n
    return zlib.decompress(b"".join(parts))


@pytest.mark.parametrize("bits", [8, 16])
def test_png_sink_writes_the_in_memory_encoders_rows(tmp_path, rng, bits: int) -> None:
    values = rng.normal(0.5, 0.4, (29, 31))  # some outside [0, 1]: clipped
    with PngSink(tmp_path / "a.png", values.shape, bits=bits) as sink:
        for r in range(0, 29, 4):
            sink.write_rows(values[r : r + 4])
    expected = encode(values, "png", bits=bits)
    written = (tmp_path / "a.png").read_bytes()
    assert idat(written) == idat(expected)
    np.testing.assert_array_equal(
        np.asarray(Image.open(tmp_path / "a.png")), np.asarray(Image.open(io.BytesIO(expected)))
    )


def write_in_strips(path: Path, values: np.ndarray, options: SinkOptions) -> None:
    with open_sink(path, values.shape, options=options) as sink:
        for r in range(0, values.shape[0], 7):
            sink.write_rows(values[r : r + 7])


def test_tiff_and_npy_sinks(tmp_path, rng) -> None:
    values = rng.random((45, 70))
    options = SinkOptions(tile=(16, 32), tiff_compression="zlib")
    write_in_strips(tmp_path / "a.tif", values, options)
    write_in_strips(tmp_path / "a.npy", values, options)
    with tifffile.TiffFile(tmp_path / "a.tif") as tif:
        page = tif.pages.first
        assert tif.is_bigtiff and page.is_tiled and page.tile == (16, 32)
        np.testing.assert_array_equal(page.asarray(), values.astype(np.float32))
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), values)
    assert sorted(os.listdir(tmp_path)) == ["a.npy", "a.tif"]


def test_zarr_sink_writes_chunk_rows_and_replaces_a_folder(tmp_path, rng) -> None:
    zarr = pytest.importorskip("zarr")
    values = rng.random((45, 70))
    write_in_strips(tmp_path / "a.zarr", values, SinkOptions(tile=(16, 32)))
    stored = zarr.open_array(tmp_path / "a.zarr", mode="r")
    assert stored.chunks == (16, 32)
    np.testing.assert_array_equal(stored[:], values)
    with open_sink(tmp_path / "a.zarr", (2, 3), options=SinkOptions(zarr_format=2)) as sink:
        sink.write_rows(np.ones((2, 3)))
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "a.zarr", mode="r")[:], 1)
    assert os.listdir(tmp_path) == ["a.zarr"]


@pytest.mark.parametrize("name", ["a.png", "a.tif", "a.npy", "a.zarr"])
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_a_failed_write_leaves_nothing_and_the_old_file_as_it_was(
    tmp_path, name: str, error: type[BaseException]
) -> None:
    if name.endswith("zarr"):
        pytest.importorskip("zarr")
    target = tmp_path / name
    target.mkdir() if name.endswith("zarr") else target.write_bytes(b"old")
    with pytest.raises(error), open_sink(target, (10, 20)) as sink:
        sink.write_rows(np.zeros((4, 20)))
        raise error()
    assert sorted(os.listdir(tmp_path)) == [name]
    if not name.endswith("zarr"):
        assert target.read_bytes() == b"old"


@pytest.mark.parametrize("name", ["a.png", "a.npy"])
def test_a_disk_full_at_the_header_names_the_output_and_leaves_nothing(
    tmp_path, monkeypatch, name: str
) -> None:
    import errno

    from sobelcli.io import stream_npy, stream_png

    class Full(io.BytesIO):
        def write(self, data) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    for module in (stream_png, stream_npy):
        monkeypatch.setattr(module, "open", lambda *a, **k: Full(), raising=False)
    target = tmp_path / name
    with pytest.raises(OSError, match=rf"^{re.escape(str(target))}: cannot write: No space left"):
        open_sink(target, (10, 20))
    assert os.listdir(tmp_path) == []


def test_sink_misuse_raises_value_error_and_leaves_nothing(tmp_path) -> None:
    with (
        pytest.raises(ValueError, match="only 3 of 10 rows"),
        open_sink(tmp_path / "a.png", (10, 5)) as sink,
    ):
        sink.write_rows(np.zeros((3, 5)))
    sink = open_sink(tmp_path / "b.npy", (4, 5))
    with pytest.raises(ValueError, match="width 5"):
        sink.write_rows(np.zeros((2, 6)))
    sink = open_sink(tmp_path / "c.npy", (4, 5))
    with pytest.raises(ValueError, match="more than the image's 4"):
        sink.write_rows(np.zeros((5, 5)))
    sink.abort()
    with pytest.raises(ValueError, match="already aborted"):
        sink.write_rows(np.zeros((1, 5)))
    with pytest.raises(ValueError, match="cannot stream to .bmp"):
        open_sink(tmp_path / "d.bmp", (4, 5))
    with pytest.raises(OSError, match="nowhere/e.png: cannot write: folder"):
        open_sink(tmp_path / "nowhere" / "e.png", (4, 5))
    with pytest.raises(ValueError, match="multiples of 16"):
        open_sink(tmp_path / "f.tif", (4, 5), options=SinkOptions(tile=(10, 16)))
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------ end to end


def test_tiled_tiff_to_png_equals_the_in_memory_path(tmp_path, rng) -> None:
    pixels = rng.integers(0, 256, (70, 53), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "in.tif", pixels, tile=(16, 16), compression="zlib")
    for pad in (None, "wrap"):
        with open_source(tmp_path / "in.tif") as source:
            shape = edge_output_shape(source.shape, pad)
            with open_sink(tmp_path / "out.png", shape) as sink:
                stream_edge_map(
                    source, sink, EdgeOptions(pad=pad), edge_map=sobelcli.edge_map, strip_rows=5
                )
        expected = sobelcli.edge_map(read_image(tmp_path / "in.tif").pixels, pad=pad)
        png = (tmp_path / "out.png").read_bytes()
        assert idat(png) == idat(encode(expected, "png"))


MEMORY_SCRIPT = """
import re, sys
import numpy as np
import sobelcli
from sobelcli.engine.stream import EdgeOptions, edge_output_shape, stream_edge_map
from sobelcli.io.stream import open_sink, open_source


def status(key):
    return int(re.search(key + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1)) * 1024


with open_source(sys.argv[1]) as src:
    src.read_rows(0, 1)
    sobelcli.edge_map(np.zeros((8, 8)))
    base = status("VmRSS")
    with open_sink(sys.argv[2], edge_output_shape(src.shape, None)) as out:
        stream_edge_map(src, out, EdgeOptions(), edge_map=sobelcli.edge_map, strip_rows=32)
print(base, status("VmHWM"))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_peak_memory_is_set_by_the_strip_not_the_image(tmp_path) -> None:
    """A 4000 x 4000 tiled TIFF (128 MB as float64), written from a generator, streamed to PNG."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from group_stream import write_tiled_tiff
    finally:
        sys.path.remove(str(ROOT / "bench"))
    write_tiled_tiff(tmp_path / "big.tif", 4000, 4000, tile=256)
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(MEMORY_SCRIPT),
            str(tmp_path / "big.tif"),
            str(tmp_path / "big.png"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    base, peak = (int(n) for n in run.stdout.split())
    float_size = 4000 * 4000 * 8
    assert peak - base < float_size / 4, (base, peak)  # < 32 MB above the imports
    with Image.open(tmp_path / "big.png") as png:
        assert png.size == (3998, 3998)
