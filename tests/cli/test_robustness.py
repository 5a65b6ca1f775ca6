"""Hardening: decompression bombs, interrupts, atomic writes, odd but valid images, bad options."""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from sobelcli import io as sio
from sobelcli.cli.main import cli
from sobelcli.io import ImageError, read_image


def run(*args: str, input: bytes | None = None):
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def sobelcli() -> list[str]:
    exe = shutil.which("sobelcli")
    return [exe] if exe else [sys.executable, "-m", "sobelcli"]


def one_error_line(result, code: int = 1) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    if code == 1:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        return result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1, result.stderr
    return error[0]


def grey(shape: tuple[int, int] = (40, 60), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# --- decompression bombs: refused from the header ----------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + png_chunk(b"IEND", b"")
    )


def bomb_gif(width: int = 65535, height: int = 65535) -> bytes:
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", width, height, 0, 0, 0)
        + b"\x2c"
        + struct.pack("<HHHHB", 0, 0, width, height, 0)
        + b"\x02\x02\x44\x01\x00\x3b"
    )


def bomb_bmp(width: int = 100_000, height: int = 100_000) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 16, 0, 0, 54) + info + b"\0" * 16


def bomb_tiff(width: int = 100_000, height: int = 100_000) -> bytes:
    tags = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 8 + 2 + 12 * 9 + 4),
        (277, 3, 1, 1),
        (278, 4, 1, height),
        (279, 4, 1, 16),
    ]
    ifd = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *t) for t in tags)
    return b"II*\0" + struct.pack("<I", 8) + ifd + b"\0\0\0\0" + b"\0" * 16


def bomb_jpeg(width: int = 65535, height: int = 65535) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (8, 8)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def bomb_npy(shape: tuple[int, ...] = (100_000, 100_000)) -> bytes:
    header = f"{{'descr': '<f8', 'fortran_order': False, 'shape': {shape!r}, }}".ljust(118)
    header += "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * 64


BOMBS = {
    "png": bomb_png,
    "gif": bomb_gif,
    "bmp": bomb_bmp,
    "tiff": bomb_tiff,
    "jpeg": bomb_jpeg,
    "npy": bomb_npy,
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_bombs_are_refused_from_the_header(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"bomb.{kind}"
    path.write_bytes(BOMBS[kind]())
    with pytest.raises(ImageError, match="over the limit"):
        read_image(path)
    out = tmp_path / "out.png"
    err = one_error_line(run("edges", str(path), "-o", str(out)))
    assert "over the limit" in err and "--max-pixels" in err and not out.exists()


def test_png_bomb_in_a_real_process_with_little_memory(tmp_path: Path) -> None:
    """Under a 1 GiB address-space limit a decoded 10-gigapixel image could not even start."""
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png())

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [*sobelcli(), "edges", str(path), "-o", str(tmp_path / "o.png")],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "over the limit" in proc.stderr


def test_truncated_npy_is_refused_before_allocating(tmp_path: Path) -> None:
    path = tmp_path / "cut.npy"
    path.write_bytes(bomb_npy((4000, 4000)))
    with pytest.raises(ImageError, match="truncated"):
        read_image(path)


def test_max_pixels_option(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(iio.imwrite("<bytes>", grey(), extension=".png"))
    err = one_error_line(
        run("edges", str(path), "-o", str(tmp_path / "o.png"), "--max-pixels", "100")
    )
    assert "2,400 pixels, over the limit of 100" in err
    assert (
        run("edges", str(path), "-o", str(tmp_path / "o.png"), "--max-pixels", "2400").exit_code
        == 0
    )


# --- unusual but valid images ------------------------------------------------------------------


def save(path: Path, image: Image.Image, **options) -> Path:
    image.save(path, **options)
    return path


def exif_rotated(path: Path) -> Path:
    image = Image.fromarray(grey((40, 60)))
    exif = image.getexif()
    exif[0x0112] = 6
    return save(path, image, exif=exif)


def animated(path: Path) -> Path:
    frames = [Image.fromarray(grey(seed=i)) for i in range(3)]
    return save(path, frames[0], save_all=True, append_images=frames[1:])


UNUSUAL = {
    "1bit.png": lambda p: save(p, Image.fromarray(grey() > 128)),
    "palette.png": lambda p: save(p, Image.fromarray(grey()).convert("P")),
    "g16.png": lambda p: save(p, Image.fromarray(grey().astype(np.uint16) * 257)),
    "g16.tif": lambda p: save(p, Image.fromarray(grey().astype(np.uint16) * 257)),
    "float.tif": lambda p: save(p, Image.fromarray(grey().astype(np.float32) / 255)),
    "grey-alpha.png": lambda p: save(p, Image.merge("LA", [Image.fromarray(grey())] * 2)),
    "cmyk.jpg": lambda p: save(p, Image.fromarray(np.dstack([grey()] * 3)).convert("CMYK")),
    "rgba.png": lambda p: save(p, Image.fromarray(np.dstack([grey()] * 4))),
    "rgb.bmp": lambda p: save(p, Image.fromarray(np.dstack([grey()] * 3))),
    "grey.webp": lambda p: save(p, Image.fromarray(grey()), lossless=True),
}


@pytest.mark.parametrize("name", sorted(UNUSUAL))
def test_unusual_images_read_and_run(tmp_path: Path, name: str) -> None:
    path = UNUSUAL[name](tmp_path / name)
    loaded = read_image(path, alpha="ignore")  # these hold opaque or grey-valued alpha
    assert loaded.pixels.shape == (40, 60) and loaded.pixels.dtype == np.float64
    assert 0.0 <= loaded.pixels.min() and loaded.pixels.max() <= 1.0 and loaded.pixels.max() > 0.5
    if name in ("g16.png", "g16.tif", "float.tif", "grey-alpha.png", "rgba.png", "rgb.bmp"):
        np.testing.assert_allclose(loaded.pixels, grey() / 255, atol=1e-6)
    out = tmp_path / "out.png"
    result = run("edges", str(path), "-o", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["shape"] == [38, 58] and iio.imread(out).shape == (38, 58)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = exif_rotated(tmp_path / "rot.jpg")
    assert Image.open(path).size == (60, 40)  # stored landscape
    loaded = read_image(path)
    assert loaded.pixels.shape == (60, 40)  # shown portrait
    assert any("orientation 6" in note for note in loaded.notes)
    result = run("edges", str(path), "-o", str(tmp_path / "o.png"), "--json")
    assert json.loads(result.stdout)["shape"] == [58, 38]


def test_animated_gif_uses_the_first_frame_with_a_note(tmp_path: Path) -> None:
    path = animated(tmp_path / "anim.gif")
    loaded = read_image(path)
    np.testing.assert_allclose(loaded.pixels * 255, grey(), atol=1)
    result = run("edges", str(path), "-o", str(tmp_path / "o.png"))
    assert result.exit_code == 0 and "3 frames; the first is used" in result.stderr


def test_tiny_images(tmp_path: Path) -> None:
    three = tmp_path / "3x3.png"
    three.write_bytes(iio.imwrite("<bytes>", grey((3, 3)), extension=".png"))
    result = run("edges", str(three), "-o", str(tmp_path / "o.png"), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["shape"] == [1, 1]
    strip = tmp_path / "strip.png"
    strip.write_bytes(iio.imwrite("<bytes>", grey((1, 50)), extension=".png"))
    result = run("edges", str(strip), "-o", str(tmp_path / "s.png"), "--pad", "reflect", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["shape"] == [1, 50]
    err = one_error_line(run("edges", str(strip), "-o", str(tmp_path / "t.png")))
    assert "strip.png" in err and "pad" in err and not (tmp_path / "t.png").exists()


# --- options with nonsense values: exit 2 and what is allowed ----------------------------------


@pytest.fixture
def img(tmp_path: Path) -> Path:
    path = tmp_path / "img.png"
    path.write_bytes(iio.imwrite("<bytes>", grey(), extension=".png"))
    return path


def kernel_file(tmp_path: Path, values: np.ndarray) -> str:
    path = tmp_path / "k.npy"
    np.save(path, values, allow_pickle=True)
    return str(path)


@pytest.mark.parametrize(
    ("command", "args", "allowed"),
    [
        ("edges", ["--max-pixels", "-1"], "x>=1"),
        ("edges", ["--max-pixels", "0"], "x>=1"),
        ("edges", ["--threshold", "1.5"], "0.0<=x<=1.0"),
        ("edges", ["--threshold", "-0.1"], "0.0<=x<=1.0"),
        ("edges", ["--threshold", "nan"], "nan"),
        ("edges", ["--operator", "canny"], "'sobel', 'scharr', 'prewitt'"),
        ("edges", ["--channel", "-1"], "x>=0"),
        ("edges", ["--jobs", "0"], "x>=1"),
        ("edges", ["--format", "bmp"], "'png', 'npy', 'tiff'"),
        ("edges", ["-o", "out.gif"], ".png, .npy, .tif"),
        ("edges", ["--overwrite", "--skip-existing"], "exclude each other"),
        ("grad-input", ["-k", "1,nan;0,1"], "NaN"),
        ("grad-input", ["-k", "1,inf"], "NaN or infinite"),
        ("grad-input", ["-k", "1,2;3"], "different lengths"),
        ("grad-input", ["-k", "1,a;2,b"], "not a number"),
        ("grad-input", ["-k", ""], "empty kernel"),
        ("grad-input", ["-k", " ; "], "empty"),
        ("grad-input", ["-k", "missing.npy"], "no such file"),
        ("grad-input", ["--loss", "l1"], "'sumsq', 'logcosh'"),
        ("grad-input", ["--wrt", "kernel", "-o", "k.png"], ".npy or .json"),
    ],
)
def test_nonsense_options_exit_2(img: Path, command: str, args: list[str], allowed: str) -> None:
    line = one_error_line(run(command, str(img), *args), code=2)
    assert allowed in line


@pytest.mark.parametrize(
    ("values", "why"),
    [
        (np.array([["a", "b"], ["c", "d"]]), "real numbers"),
        (np.array([[object(), 1]], dtype=object), "Python objects"),
        (np.zeros((0, 3)), "empty"),
        (np.array([1.0, np.nan]).reshape(1, 2), "NaN"),
        (np.zeros(3), "2-D"),
    ],
)
def test_bad_kernel_files_exit_2(img: Path, tmp_path: Path, values: np.ndarray, why: str) -> None:
    line = one_error_line(run("grad-input", str(img), "-k", kernel_file(tmp_path, values)), code=2)
    assert why in line


# --- never over an input, always atomic --------------------------------------------------------


def test_output_through_a_symlink_to_the_input_is_refused(img: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.png"
    link.symlink_to(img)
    before = img.read_bytes()
    one_error_line(run("edges", str(img), "-o", str(link)), code=2)
    assert img.read_bytes() == before


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
def test_atomic_write_leaves_nothing_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: type[BaseException]
) -> None:
    def broken(src: str, dst: str) -> None:
        raise failure(28, "No space left on device") if failure is OSError else failure()

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(ImageError if failure is OSError else failure):
        sio.atomic_write(tmp_path / "o.png", b"data")
    assert list(tmp_path.iterdir()) == []


# --- interrupts: a real process, Ctrl-C or SIGTERM in the middle of a batch --------------------


def start_batch(tmp_path: Path, jobs: int, count: int = 6, fifo: bool = True):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(count):
        (folder / f"p{i:03d}.png").write_bytes(
            iio.imwrite("<bytes>", grey((120, 160), i), extension=".png")
        )
    args = [str(folder)]
    if fifo:  # an input that never comes: the batch is surely still running when signalled
        os.mkfifo(tmp_path / "stuck.png")
        args.append(str(tmp_path / "stuck.png"))
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [*sobelcli(), "edges", *args, "-o", str(out), "--jobs", str(jobs), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return proc, out


def wait_for_outputs(out: Path, count: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if out.is_dir() and len([p for p in out.iterdir() if not p.name.startswith(".")]) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"no {count} outputs in time; exit {proc.poll()}")


def assert_clean_outputs(out: Path) -> None:
    assert not [p for p in out.iterdir() if p.name.startswith(".") or p.suffix == ".part"]
    for path in out.iterdir():
        assert iio.imread(path).shape == (118, 158)  # complete, decodable files only


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_interrupted_batch_stops_cleanly(
    tmp_path: Path, jobs: int, signum: int, code: int, word: str
) -> None:
    proc, out = start_batch(tmp_path, jobs)
    try:
        wait_for_outputs(out, 6, proc)
        time.sleep(0.2)  # let the last result reach the parent
        if signum == signal.SIGINT:
            os.killpg(proc.pid, signum)  # Ctrl-C reaches the whole process group
        else:
            proc.send_signal(signum)  # as `kill` or `timeout` do: the parent only
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert f"sobelcli: {word}" in stderr and "6 written, 0 failed" in stderr
    assert "1 not done" in stderr
    summary = json.loads(stdout.splitlines()[-1])
    assert summary["interrupted"] is True and summary["ok"] == 6 and summary["cancelled"] == 1
    assert_clean_outputs(out)


@pytest.mark.parametrize("jobs", [1, 2])
def test_interrupt_at_any_moment_leaves_no_partial_file(tmp_path: Path, jobs: int) -> None:
    proc, out = start_batch(tmp_path, jobs, count=60, fifo=False)
    try:
        wait_for_outputs(out, 2, proc)
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode in (0, 130) and "Traceback" not in stderr, (proc.returncode, stderr)
    assert_clean_outputs(out)
    summary = json.loads(stdout.splitlines()[-1])
    assert summary["ok"] <= len(list(out.iterdir()))


# --- plain output for logs ------------------------------------------------------------------


def test_no_colour_codes_in_logs_and_version(img: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.png").write_bytes(b"junk")
    for env in ({"NO_COLOR": "1"}, {"TERM": "xterm-256color"}):
        proc = subprocess.run(
            [
                *sobelcli(),
                "edges",
                str(img),
                str(tmp_path / "bad.png"),
                "-o",
                str(tmp_path / "out"),
                "--overwrite",
                "--no-normalize",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
        )
        assert proc.returncode == 1 and "error: " in proc.stderr
        assert "\x1b[" not in proc.stderr and "\r" not in proc.stderr
    proc = subprocess.run([*sobelcli(), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("sobelcli, version ")


def test_c_libraries_print_nothing_on_corrupt_files(tmp_path: Path) -> None:
    """libtiff writes its errors to file descriptor 2 itself; none may reach the user."""
    rgb = Image.fromarray(np.random.default_rng(7).integers(0, 256, (16, 20, 3), dtype=np.uint8))
    buf = io.BytesIO()
    rgb.save(buf, "TIFF", compression="tiff_lzw")
    data = buf.getvalue()
    for pos in range(8, 200, 3):
        (tmp_path / f"t{pos}.tif").write_bytes(
            data[:pos] + bytes([data[pos] ^ 0x5A]) + data[pos + 1 :]
        )
    script = (
        "import sys, pathlib\nfrom sobelcli.io import read_image, ImageError\n"
        "for p in sorted(pathlib.Path(sys.argv[1]).glob('*.tif')):\n"
        "    try:\n        read_image(p)\n    except ImageError:\n        pass\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stderr == ""
