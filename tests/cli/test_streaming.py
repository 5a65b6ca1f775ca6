"""Streaming through the command line: the same maps as in memory, nothing partial on failure.

Streaming is forced on small images by lowering ``STREAM_MIN_PIXELS`` and the strip height
(3 rows), so every strip border and every image border is crossed; the in-memory run of the
same command is the reference.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner
from PIL import Image

import sobelcli.names
from sobelcli.cli import streaming
from sobelcli.cli.main import cli
from sobelcli.io.stream_vips import pyvips_available

PADS = [None, "reflect", "mirror", "nearest", "constant", "wrap"]
INPUTS = ["tif", "npy", "png", "zarr"]
needs_vips = pytest.mark.skipif(not pyvips_available(), reason="pyvips is not installed")


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


class Mode:
    """Switches a test between the streamed and the in-memory path, and records which ran."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.streamed: list[bool] = []
        for name in ("stream_edges", "stream_grad"):
            original = getattr(streaming, name)

            def spy(job, task, original=original):
                done = original(job, task)
                self.streamed.append(done is not None)
                return done

            monkeypatch.setattr(streaming, name, spy)
        monkeypatch.setattr(streaming, "STRIP_ROWS", 3)

    def stream(self, on: bool) -> None:
        for name in ("STREAM_MIN_PIXELS", "SHARED_STREAM_MIN_PIXELS"):
            self.monkeypatch.setattr(sobelcli.names, name, 1 if on else 1 << 60)


@pytest.fixture
def mode(monkeypatch: pytest.MonkeyPatch) -> Mode:
    return Mode(monkeypatch)


def values(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path)
    if path.suffix == ".tif":
        return tifffile.imread(path)
    if path.suffix == ".zarr":
        import zarr

        return zarr.open_array(path, mode="r")[:]
    return np.asarray(Image.open(path))


def make_input(folder: Path, kind: str, pixels: np.ndarray) -> Path:
    path = folder / f"in.{kind}"
    if kind == "tif":
        tifffile.imwrite(path, pixels, tile=(16, 16), compression="zlib")
    elif kind == "npy":
        np.save(path, pixels)
    elif kind == "png":
        if not pyvips_available():
            pytest.skip("pyvips is not installed")
        Image.fromarray(pixels).save(path)
    else:
        zarr = pytest.importorskip("zarr")
        z = zarr.create_array(path, shape=pixels.shape, chunks=(7, 10), dtype=pixels.dtype)
        z[:] = pixels
    return path


def reference_input(folder: Path, kind: str, pixels: np.ndarray) -> Path:
    """The input for the in-memory run: Zarr is streamed always, so its twin is a .npy."""
    if kind != "zarr":
        return folder / f"in.{kind}"
    path = folder / "twin.npy"
    np.save(path, pixels)
    return path


def both(mode: Mode, tmp_path: Path, command: str, image: Path, ref: Path, out: str, *extra):
    """Run a command streamed and in memory; the two outputs' values and JSON lines."""
    got, want = tmp_path / f"s{out}", tmp_path / f"m{out}"
    mode.stream(True)
    first = run(command, image, "-o", got, "--json", *extra)
    assert mode.streamed[-1], "the streamed run took the in-memory path"
    mode.stream(False)
    second = run(command, ref, "-o", want, "--json", *extra)
    assert not mode.streamed[-1]
    records = [json.loads(r.stdout.splitlines()[0]) for r in (first, second)]
    return values(got), values(want), records


@pytest.fixture
def grey8(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, (29, 23), dtype=np.uint8)


@pytest.mark.parametrize("pad", PADS)
@pytest.mark.parametrize("kind", INPUTS)
def test_edges_streamed_equal_in_memory_for_each_input_and_pad(
    mode: Mode, tmp_path: Path, grey8: np.ndarray, kind: str, pad: str | None
) -> None:
    image = make_input(tmp_path, kind, grey8)
    ref = reference_input(tmp_path, kind, grey8)
    extra = ["--pad", pad] if pad else []
    for out in (".npy", ".tif", ".png", ".zarr"):
        if out == ".zarr":
            pytest.importorskip("zarr")
        got, want, (a, b) = both(mode, tmp_path, "edges", image, ref, out, *extra)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want, err_msg=f"{kind} {pad} {out}")
        assert a["shape"] == b["shape"] == list(want.shape)


@pytest.mark.parametrize(
    "extra",
    [
        ["--output-kind", "x", "--operator", "scharr"],
        ["--output-kind", "y", "--pad", "reflect"],
        ["--output-kind", "angle", "--operator", "prewitt"],
        ["--no-normalize", "--pad", "wrap"],
        ["--threshold", "0.3", "--pad", "mirror"],
        ["--channel", "1"],
    ],
)
def test_kinds_operators_threshold_and_channels_stream_alike(
    mode: Mode, tmp_path: Path, rng: np.random.Generator, extra: list[str]
) -> None:
    rgb = rng.integers(0, 256, (26, 31, 3), dtype=np.uint8)
    pixels = rgb if "--channel" in extra else rgb[:, :, 0]
    image = make_input(tmp_path, "tif", pixels)
    for out in (".npy", ".tif", ".png"):
        got, want, _ = both(mode, tmp_path, "edges", image, image, out, *extra)
        np.testing.assert_array_equal(got, want, err_msg=f"{extra} {out}")


def test_colour_luminance_is_within_an_ulp(
    mode: Mode, tmp_path: Path, rng: np.random.Generator
) -> None:
    rgb = rng.integers(0, 256, (26, 31, 3), dtype=np.uint8)
    image = make_input(tmp_path, "tif", rgb)
    got, want, _ = both(mode, tmp_path, "edges", image, image, ".npy", "--pad", "nearest")
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize(
    ("kernel", "loss"),
    [("sobel-x", "sumsq"), ("laplace", "logcosh"), ("box3", "softplus"), ("prewitt-y", "sum")],
)
def test_grad_input_streamed_equals_in_memory(
    mode: Mode, tmp_path: Path, grey8: np.ndarray, kind: str, kernel: str, loss: str
) -> None:
    image = make_input(tmp_path, kind, grey8)
    ref = reference_input(tmp_path, kind, grey8)
    for out in (".npy", ".png", ".tif"):
        got, want, (a, b) = both(
            mode, tmp_path, "grad-input", image, ref, out, "-k", kernel, "--loss", loss
        )
        np.testing.assert_array_equal(got, want, err_msg=f"{kind} {kernel} {out}")
        assert (a["min"], a["max"], a["shape"]) == (b["min"], b["max"], b["shape"])
        assert a["L"] == pytest.approx(b["L"], rel=1e-12)  # summed per strip


def test_grad_input_with_a_kernel_taller_than_a_strip(
    mode: Mode, tmp_path: Path, grey8: np.ndarray
) -> None:
    kernel = np.random.default_rng(5).normal(size=(7, 5))
    np.save(tmp_path / "k.npy", kernel)
    image = make_input(tmp_path, "npy", grey8.astype(np.float64) / 7)
    for out in (".npy", ".png"):
        got, want, _ = both(
            mode, tmp_path, "grad-input", image, image, out, "-k", tmp_path / "k.npy"
        )
        np.testing.assert_array_equal(got, want)


def test_every_size_streams_and_max_pixels_limits_a_big_image_only_when_given(
    mode: Mode, tmp_path: Path, grey8: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = make_input(tmp_path, "tif", grey8)
    assert grey8.size > 400
    run("edges", image, "-o", tmp_path / "a.png")
    assert mode.streamed == [True]  # the default: any size streams
    result = run("edges", image, "-o", tmp_path / "b.png", "--max-pixels", "400", code=1)
    assert "max-pixels" in result.stderr and mode.streamed[-1] is False
    assert not (tmp_path / "b.png").exists()
    # A big image (over the default limit too): by default the disk's limit only ...
    monkeypatch.setattr(sobelcli.names, "BIG_IMAGE_PIXELS", 400)
    monkeypatch.setattr(sobelcli.names, "DEFAULT_MAX_PIXELS", 400)
    run("edges", image, "-o", tmp_path / "b.png")
    assert mode.streamed[-1] and (tmp_path / "b.png").exists()
    # ... and --max-pixels, when given, whatever the path
    result = run("edges", image, "-o", tmp_path / "c.png", "--max-pixels", "400", code=1)
    assert "max-pixels" in result.stderr and not (tmp_path / "c.png").exists()


@needs_vips
def test_a_png_that_libvips_refuses_but_pillow_reads_is_read_in_memory(
    mode: Mode, tmp_path: Path, grey8: np.ndarray
) -> None:
    """libpng checks the CRC of the image data, Pillow does not: as before, the file is read."""
    data = bytearray(make_input(tmp_path, "png", grey8).read_bytes())
    end = data.index(b"IEND") - 4  # the IDAT's CRC ends where IEND's length starts
    data[end - 4 : end] = bytes(4)
    (tmp_path / "crc.png").write_bytes(bytes(data))
    result = run("edges", tmp_path / "crc.png", "-o", tmp_path / "a.png")
    assert mode.streamed == [False] and "wrote" in result.stderr
    np.testing.assert_array_equal(values(tmp_path / "a.png"), values(run_stdout(tmp_path)))


def run_stdout(tmp_path: Path) -> Path:
    """The in-memory map of crc.png (stdout never streams), saved to compare."""
    done = CliRunner().invoke(cli, ["edges", str(tmp_path / "crc.png"), "-o", "-"])
    assert done.exit_code == 0, done.stderr
    (tmp_path / "b.png").write_bytes(done.stdout_bytes)
    return tmp_path / "b.png"


def test_a_pipe_as_input_is_read_once_whole(tmp_path: Path, grey8: np.ndarray) -> None:
    import os
    import threading

    source = make_input(tmp_path, "npy", grey8)
    fifo = tmp_path / "pipe.npy"
    os.mkfifo(fifo)
    feeder = threading.Thread(target=lambda: fifo.write_bytes(source.read_bytes()), daemon=True)
    feeder.start()
    done = subprocess.run(
        [sys.executable, "-m", "sobelcli", "edges", str(fifo), "-o", str(tmp_path / "p.png")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    feeder.join(timeout=5)
    assert done.returncode == 0, done.stderr
    run("edges", source, "-o", tmp_path / "f.png")
    np.testing.assert_array_equal(values(tmp_path / "p.png"), values(tmp_path / "f.png"))


def test_a_commit_that_fails_names_the_output_once(
    tmp_path: Path, grey8: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from sobelcli.io import stream_sink

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    image = make_input(tmp_path, "npy", grey8)
    monkeypatch.setattr(stream_sink.os, "replace", full)
    result = run("edges", image, "-o", tmp_path / "o.png", code=1)
    line = result.stderr.strip().splitlines()[-1]
    assert line == f"Error: {tmp_path / 'o.png'}: cannot write: No space left on device", line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy"]  # no partial file


def test_stdin_stdout_and_unstreamable_inputs_take_the_in_memory_path(
    mode: Mode, tmp_path: Path, grey8: np.ndarray
) -> None:
    mode.stream(True)
    image = make_input(tmp_path, "tif", grey8)
    result = CliRunner().invoke(
        cli, ["edges", "-", "-o", str(tmp_path / "e.png")], input=image.read_bytes()
    )
    assert result.exit_code == 0 and mode.streamed[-1] is False
    palette = tmp_path / "pal.tif"  # StreamUnsupportedError: read by Pillow in memory
    tifffile.imwrite(palette, grey8, photometric="palette", colormap=np.zeros((3, 256), "u2"))
    run("edges", palette, "-o", tmp_path / "p.npy")
    assert mode.streamed[-1] is False
    Image.fromarray(grey8).save(tmp_path / "g.bmp")
    run("edges", tmp_path / "g.bmp", "-o", tmp_path / "b.npy")
    assert mode.streamed[-1] is False


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.mark.parametrize("out", ["e.png", "e.tif", "e.npy", "e.zarr"])
def test_a_failed_streamed_run_leaves_no_partial_output(
    mode: Mode, tmp_path: Path, grey8: np.ndarray, monkeypatch: pytest.MonkeyPatch, out: str
) -> None:
    if out.endswith(".zarr"):
        pytest.importorskip("zarr")
    mode.stream(True)
    image = make_input(tmp_path, "tif", grey8)
    target = tmp_path / out
    from sobelcli.io.stream_sink import AtomicSink

    calls = []
    original = AtomicSink.write_rows

    def full_disk(self, rows):
        calls.append(1)
        if len(calls) == 4:  # in the second pass, after some rows were written

            def refuse(rows):
                raise OSError(28, "No space left on device")

            self._write = refuse
        return original(self, rows)

    monkeypatch.setattr(AtomicSink, "write_rows", full_disk)
    result = run("edges", image, "-o", target, code=1)
    assert result.stderr.strip().splitlines()[-1].startswith(f"Error: {target}: cannot write")
    assert not target.exists() and parts(tmp_path) == []


def test_an_interrupted_streamed_run_keeps_the_old_output(
    mode: Mode, tmp_path: Path, grey8: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sobelcli.cli.main import main

    mode.stream(True)
    image = make_input(tmp_path, "tif", grey8)
    target = tmp_path / "e.npy"
    target.write_bytes(b"old")
    strips = []

    def interrupt(*args):
        strips.append(1)
        if len(strips) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(streaming, "_Checked", _interrupting(interrupt))
    with pytest.raises(SystemExit) as stop:
        main(["edges", str(image), "-o", str(target), "--quiet"])
    assert stop.value.code == 130
    assert target.read_bytes() == b"old" and parts(tmp_path) == []


def _interrupting(hook):
    class Interrupting(streaming._Checked):
        def write_rows(self, rows):
            hook()
            super().write_rows(rows)

    return Interrupting


def test_overflowing_values_are_one_error_and_no_file(mode: Mode, tmp_path: Path) -> None:
    mode.stream(True)
    big = np.full((20, 20), 1e308)
    big[10:, :] = -1e308
    np.save(tmp_path / "big.npy", big)
    result = run("edges", tmp_path / "big.npy", "-o", tmp_path / "e.npy", code=1)
    assert "values too large" in result.stderr
    result = run("grad-input", tmp_path / "big.npy", "-o", tmp_path / "g.png", code=1)
    assert "values too large" in result.stderr
    assert not (tmp_path / "e.npy").exists() and not (tmp_path / "g.png").exists()
    assert parts(tmp_path) == []


def test_sigterm_mid_stream_exits_143_and_leaves_nothing(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    tifffile.imwrite(tmp_path / "in.tif", rng.integers(0, 256, (3000, 400), dtype=np.uint8))
    target = tmp_path / "e.png"
    code = (
        "import sys, time, sobelcli.names as n, sobelcli.cli.streaming as s\n"
        "n.STREAM_MIN_PIXELS = n.SHARED_STREAM_MIN_PIXELS = 1; s.STRIP_ROWS = 2\n"
        "slow = s._Checked.write_rows\n"
        "def write_rows(self, rows):\n"
        "    time.sleep(0.002); slow(self, rows)\n"
        "s._Checked.write_rows = write_rows\n"
        "from sobelcli.cli.main import main\n"
        "main(sys.argv[1:])\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "edges", str(tmp_path / "in.tif"), "-o", str(target)],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not parts(tmp_path) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)  # into the strips
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert not target.exists() and parts(tmp_path) == []


def test_zarr_output_replaces_a_zarr_and_batches_treat_it_as_a_file(
    mode: Mode, tmp_path: Path, grey8: np.ndarray
) -> None:
    pytest.importorskip("zarr")
    image = make_input(tmp_path, "tif", grey8)
    out = tmp_path / "e.zarr"
    for stream in (True, False, True):  # a .zarr from memory too; each replaces the last
        mode.stream(stream)
        run("edges", image, "-o", out, "--pad", "reflect")
        assert values(out).shape == grey8.shape
    batch = tmp_path / "batch"
    (batch / "in").mkdir(parents=True)
    tifffile.imwrite(batch / "in" / "a.tif", grey8)
    run("edges", batch / "in", "-o", batch / "out", "--format", "zarr")
    made = batch / "out" / "a_edges.zarr"
    assert values(made).shape == (27, 21)
    result = run("edges", batch / "in", "-o", batch / "out", "--format", "zarr", code=1)
    assert "exists (--overwrite replaces it" in result.stderr
    run("edges", batch / "in", "-o", batch / "out", "--format", "zarr", "--skip-existing")
    run("edges", batch / "in", "-o", batch / "out", "--format", "zarr", "--overwrite")
    (batch / "out" / "b_edges.zarr").mkdir()  # a plain folder of that name: not replaced
    tifffile.imwrite(batch / "in" / "b.tif", grey8)
    result = run(
        "edges", batch / "in", "-o", batch / "out", "--format", "zarr", "--overwrite", code=1
    )
    assert "b_edges.zarr is a folder" in result.stderr


def test_a_zarr_input_is_one_image_and_names_what_it_needs(
    mode: Mode, tmp_path: Path, grey8: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = make_input(tmp_path, "zarr", grey8)
    run("edges", image, "-o", tmp_path / "e.png")  # not a batch of the folder's files
    assert mode.streamed == [True]
    assert (tmp_path / "e.png").exists()
    run("edges", image)  # beside it, named after it
    assert (tmp_path / "in_edges.png").exists()
    result = CliRunner().invoke(cli, ["edges", str(image), "-o", "-"])
    assert result.exit_code == 1 and "a Zarr array is streamed to a file" in result.stderr
    import importlib.util

    find = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "zarr" else find(name, *a)
    )
    result = run("edges", image, "-o", tmp_path / "f.png", code=1)
    assert "pip install 'sobelcli[dask]'" in result.stderr
    result = run("edges", tmp_path / "in.zarr", "-o", tmp_path / "f.zarr", code=1)
    assert result.stderr.count("\n") == 1 and "pip install 'sobelcli[dask]'" in result.stderr


@needs_vips
def test_16_bit_colour_png_streams_with_the_in_memory_values(
    mode: Mode, tmp_path: Path, rng: np.random.Generator
) -> None:
    import pyvips

    pixels = rng.integers(0, 65536, (21, 19, 3), dtype=np.uint16)
    image = tmp_path / "rgb16.png"
    vips = pyvips.Image.new_from_memory(pixels.tobytes(), 19, 21, 3, "ushort")
    vips.copy(interpretation="rgb16").write_to_file(str(image))
    got, want, _ = both(mode, tmp_path, "edges", image, image, ".npy", "--channel", "2")
    np.testing.assert_array_equal(got, want)


def test_help_says_when_max_pixels_limits_a_streamed_image() -> None:
    for command in ("edges", "grad-input"):
        text = " ".join(run(command, "--help").output.split())
        assert "has no pixel limit" in text and "limits every image" in text and "zarr" in text


@needs_vips
def test_truncated_png_and_bombs_are_refused_not_streamed(
    mode: Mode, tmp_path: Path, rng: np.random.Generator
) -> None:
    import struct
    import zlib

    mode.stream(True)
    Image.fromarray(rng.integers(0, 256, (300, 200), dtype=np.uint8)).save(tmp_path / "a.png")
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    result = run("edges", tmp_path / "cut.png", "-o", tmp_path / "e.png", code=1)
    assert "cut.png: cannot decode image" in result.stderr and not (tmp_path / "e.png").exists()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 99))
    (tmp_path / "bomb.png").write_bytes(bomb + chunk(b"IEND", b""))
    result = run("edges", tmp_path / "bomb.png", "-o", tmp_path / "e.png", code=1)
    assert "over the limit" in result.stderr and "--max-pixels" in result.stderr
    assert parts(tmp_path) == []


def test_a_zarr_input_over_a_given_limit_is_refused_in_its_own_words(
    tmp_path: Path, grey8: np.ndarray
) -> None:
    image = make_input(tmp_path, "zarr", grey8)
    pixels = grey8.shape[0] * grey8.shape[1]
    result = run("edges", image, "-o", tmp_path / "a.png", "--max-pixels", str(pixels - 1), code=1)
    assert f"over the limit of {pixels - 1:,} (raise it with --max-pixels)" in result.stderr
    result = run("edges", image, "-o", tmp_path / "a.png", "--max-memory", "1K", code=1)
    assert "(raise it with --max-memory)" in result.stderr and "folder" not in result.stderr
    assert not (tmp_path / "a.png").exists()
    run("edges", image, "-o", tmp_path / "a.png", "--max-pixels", str(pixels))
