"""Fuzz the readers: random and mutated image bytes give an image or one clean error line.

Real PNG, JPEG, TIFF, GIF, BMP, WebP and .npy files are made here, then bytes are flipped,
cut, inserted, deleted and spliced between files. Every outcome must be a correct grey image
or an ImageError (exit 1 with one line from the CLI); never another exception, a traceback,
an output file, or a temporary file left behind. The same holds for model files given to
``predict`` (mutated bytes, and valid zips of crafted entries), ``.npy`` kernels given to
``-k``, and glob patterns given to ``edges`` (which never write outside ``-o``).
"""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
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


# --- model files given to predict, kernels given to -k, patterns given to edges ---------------
#
# Each command must answer every input with exit 0, 1 or 2 and clean lines: never a traceback,
# an "internal error", a NaN in JSON, or a file written where it was not asked for.


def check_clean(result) -> None:
    output = result.output + (result.stderr or "")
    assert "Traceback" not in output and "internal error" not in output, output
    assert result.exit_code in (0, 1, 2), (result.exit_code, output)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)


def _model_seeds() -> dict[str, bytes]:
    from sobelcli.nn import lab_cnn, save_model

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.npz"
        save_model(path, lab_cnn(seed=1), meta={"history": [{"epoch": 1, "loss": 0.5}]})
        stored = path.read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(stored)) as src, zipfile.ZipFile(buf, "w", 8) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    return {"stored": stored, "deflated": buf.getvalue()}


MODELS = _model_seeds()


def _hot_spots(data: bytes) -> list[int]:
    """Where a model file's structure is: each entry's zip and .npy headers, the directory."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        spots = [info.header_offset for info in archive.infolist()]
    return [*spots, data.rfind(b"PK\x01\x02"), data.rfind(b"PK\x05\x06")]


HOT = {name: _hot_spots(data) for name, data in MODELS.items()}


@st.composite
def fuzzed_model(draw) -> bytes:
    """A model file with its bytes flipped, cut, inserted and deleted near its headers."""
    name = draw(st.sampled_from(sorted(MODELS)))
    at = st.builds(lambda base, d: base + d, st.sampled_from(HOT[name]), st.integers(0, 200))
    step = st.one_of(
        st.tuples(st.just("flip"), at, st.integers(1, 255)),
        st.tuples(st.just("cut"), at),
        st.tuples(st.just("insert"), at, st.binary(min_size=1, max_size=16)),
        st.tuples(st.just("delete"), at, st.integers(1, 16)),
    )
    return mutate(MODELS[name], draw(st.lists(step, min_size=1, max_size=4)))


DTYPES = ["<f4", "<f8", "<f2", ">f4", "<c8", "<i4", "|b1", "<U2", "|S3", "<M8[s]", "|V4", "|O"]
SHAPES = st.lists(st.integers(0, 70), max_size=4).map(tuple) | st.just((1 << 40, 1 << 40))


def npy_bytes(descr: str, shape: tuple, fortran: bool, data: bytes) -> bytes:
    """A .npy of any header, its data as given (too short, too long or just right)."""
    header = repr({"descr": descr, "fortran_order": fortran, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


@st.composite
def crafted_npy(draw, shape=SHAPES) -> bytes:
    """A .npy with a drawn dtype, shape and order, and data of about the right length."""
    descr, dims = draw(st.sampled_from(DTYPES)), draw(shape)
    size = np.dtype(descr).itemsize * int(np.prod(dims)) if np.prod(dims) < 1 << 16 else 64
    data = draw(
        st.one_of(
            st.just(b"\x00" * size),
            st.binary(min_size=size, max_size=size) if size < 4096 else st.just(bytes(size)),
            st.binary(max_size=64),
            st.builds(lambda v: np.full(size // 4, v, "<f4").tobytes(), st.floats(width=32)),
        )
    )
    return npy_bytes(descr, dims, draw(st.booleans()), data)


@st.composite
def crafted_model(draw) -> bytes:
    """A valid zip whose entries are the weights, some replaced, dropped or added."""
    from sobelcli.nn import lab_cnn

    weights = lab_cnn(seed=0).named_params()
    entries = {
        f"{k}.npy": npy_bytes("<f4", v.shape, False, v.tobytes()) for k, v in weights.items()
    }
    meta = draw(
        st.one_of(
            st.just('{"format": "sobelcli-cnn-1"}'),
            st.text(max_size=40),
            st.integers(0, 60).map(
                lambda n: '{"format": "sobelcli-cnn-1", "x": ' + "[" * n + "]" * n + "}"
            ),
        )
    )
    entries["meta.npy"] = npy_bytes(f"<U{max(len(meta), 1)}", (), False, meta.encode("utf-32-le"))
    for name in draw(st.lists(st.sampled_from(sorted(entries)), max_size=3, unique=True)):
        entries[name] = draw(
            st.one_of(
                st.just(None),
                crafted_npy(),
                crafted_npy(
                    st.just(weights[name[:-4]].shape) if name != "meta.npy" else st.just(())
                ),
            )
        )
    if draw(st.booleans()):
        entries[draw(st.sampled_from(["extra.npy", "meta", "conv2d/kernel"]))] = b"\x93NUMPY"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", draw(st.sampled_from([0, 8]))) as archive:
        for name, value in entries.items():
            if value is not None:
                archive.writestr(name, value)
    return buf.getvalue()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(fuzzed_model(), crafted_model()))
def test_predict_on_a_fuzzed_model_file(data: bytes) -> None:
    from sobelcli.cli.commands.predict import command as predict

    with tempfile.TemporaryDirectory() as tmp:
        model, image = Path(tmp) / "model.npz", Path(tmp) / "digit.png"
        model.write_bytes(data)
        image.write_bytes(SEEDS["png"])
        result = CliRunner().invoke(predict, [str(model), str(image), "--json"])
        check_clean(result)
        for line in result.stdout.splitlines():  # never NaN nor Infinity: strict JSON
            json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
        if result.exit_code == 1 and not result.stdout:
            assert result.stderr.strip().splitlines() == [result.stderr.strip()]
            assert result.stderr.startswith(f"Error: {model}: ")


KERNELS = {
    "3x3": np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]),
    "1x5": np.arange(5, dtype=np.float32)[None],
    "int": np.ones((3, 3), np.int16),
    "big": np.ones((40, 40)),
}


def _npy(value: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, value)
    return buf.getvalue()


fuzzed_kernel = st.one_of(
    st.builds(
        mutate,
        st.sampled_from(sorted(KERNELS)).map(lambda k: _npy(KERNELS[k])),
        st.lists(mutation, max_size=4),
    ),
    crafted_npy(st.lists(st.integers(0, 6), max_size=3).map(tuple)),
    crafted_npy(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=fuzzed_kernel)
def test_grad_input_on_a_fuzzed_kernel_file(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kernel, image, out = Path(tmp) / "k.npy", Path(tmp) / "in.png", Path(tmp) / "out.npy"
        kernel.write_bytes(data)
        image.write_bytes(SEEDS["png"])
        result = CliRunner().invoke(
            cli, ["grad-input", str(image), "-k", str(kernel), "-o", str(out), "--quiet"]
        )
        check_clean(result)
        assert kernel.read_bytes() == data  # a file the command reads is never written
        if result.exit_code == 0:
            assert np.isfinite(np.load(out)).all()
        else:
            assert not out.exists()


TOKENS = ["a", "b", "x", "*", "**", "?", "[", "]", "[!a]", "[a-b]", "..", ".", "/", ".png", "^"]
pattern = st.one_of(
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=8).map("".join),
    st.text(alphabet="ab*?[]!^-./\\ ", min_size=1, max_size=16),
)


def climbs_within(text: str, depth: int) -> bool:
    """True when the pattern never climbs more than ``depth`` folders above where it starts."""
    level = 0
    for part in text.split("/"):
        level += -1 if part == ".." else 0 if part in ("", ".") else 1
        if level < -depth:
            return False
    return not text.startswith(("/", "-"))  # no absolute pattern, no option


def tree_files(root: Path, out: Path) -> set[str]:
    """Every path under ``root`` but ``out``, what it holds and the folders that lead to it."""
    skip = {out, *out.parents}
    return {
        str(p.relative_to(root)) for p in root.rglob("*") if p not in skip and out not in p.parents
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=pattern.filter(lambda t: climbs_within(t, 3)), recursive=st.booleans())
def test_edges_on_a_fuzzed_pattern(text: str, recursive: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        here = root / "a" / "b" / "x"  # patterns start here and climb at most to root
        for folder in (here, root / "a" / "x", root / "b"):
            folder.mkdir(parents=True, exist_ok=True)
            for name in ("a.png", "ab.png", "[a].png", ".x.png", "b.npy"):
                (folder / name).write_bytes(SEEDS["png"] if name.endswith("png") else SEEDS["npy"])
        out = root / "o" / "p" / "q" / "out"  # three levels deep: a stray ../ stays inside
        before = tree_files(root, out)
        cwd = os.getcwd()
        os.chdir(here)
        try:
            args = ["edges", text, "-o", str(out), "-j", "1", "--quiet", "--json"]
            result = CliRunner().invoke(cli, args + (["-r"] if recursive else []))
        finally:
            os.chdir(cwd)
        check_clean(result)
        assert tree_files(root, out) == before, "a file was written outside -o"
