"""Hostile model and data files (issue 12, items 9, 10 and the zip and gzip bombs of 11).

A model file is checked whole before use: a zip archive of exactly the lab CNN's weights and a
bounded meta, real finite floats of the right shapes; every read is bounded by what the entry
can need. ``predict`` reports one line naming the file, and never prints NaN. A ``.gz`` in
``train --data`` is never inflated past what its IDX header announces.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from sobelcli.cli.commands.predict import command as predict
from sobelcli.nn import DataError, ModelFileError, lab_cnn, load_model, read_idx, save_model
from sobelcli.nn.mnist import IMAGES_MAGIC, LABELS_MAGIC, SLACK
from tests.io.test_limits import deflated_zeros, gzip_zeros_after

WEIGHTS = {name: value for name, value in lab_cnn(seed=0).named_params().items()}
META = {"format": "sobelcli-cnn-1", "architecture": "lab_cnn"}


def npy(value) -> bytes:
    buf = io.BytesIO()
    np.save(buf, value, allow_pickle=True)
    return buf.getvalue()


def write_model(path: Path, change: dict | None = None, compress: bool = False) -> Path:
    """A model file of the lab CNN's weights and meta; ``change`` replaces (None: drops) entries.

    Values are arrays (saved as .npy) or bytes (written as they are).
    """
    entries = {"meta": np.array(json.dumps(META)), **WEIGHTS, **(change or {})}
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, value in entries.items():
            if value is not None:
                archive.writestr(f"{name}.npy", value if isinstance(value, bytes) else npy(value))
    return path


def digit(path: Path) -> Path:
    pixels = np.zeros((28, 28), np.uint8)
    pixels[6:22, 12:16] = 255
    Image.fromarray(pixels).save(path)
    return path


def run_predict(*args) -> object:
    result = CliRunner().invoke(predict, [str(a) for a in args])
    assert "Traceback" not in result.output and "internal error" not in result.output
    return result


def kernel(value) -> dict:
    return {"conv2d/kernel": value}


BAD_MODELS = {
    "strings": (kernel(np.full((3, 3, 1, 32), "w")), "'conv2d/kernel' holds <U1, not float16"),
    "complex": (kernel(np.zeros((3, 3, 1, 32), np.complex64)), "holds complex64, not float"),
    "datetime": (kernel(np.zeros((3, 3, 1, 32), "M8[s]")), "holds datetime64[s], not float"),
    "objects": (kernel(np.full((3, 3, 1, 32), None, object)), "holds object, not float"),
    "integers": (kernel(np.zeros((3, 3, 1, 32), np.int32)), "holds int32, not float"),
    "bytes": (kernel(np.zeros((3, 3, 1, 32), "S4")), "holds |S4, not float"),
    "structured": (kernel(np.zeros((3, 3, 1, 32), "f4,f4")), "not float16, float32"),
    "nan": (kernel(np.full((3, 3, 1, 32), np.nan, np.float32)), "holds NaN or infinity"),
    "inf": ({"dense_1/bias": np.full(10, np.inf, np.float32)}, "'dense_1/bias' holds NaN"),
    "beyond float32": (kernel(np.full((3, 3, 1, 32), 1e300)), "values beyond float32"),
    "overflowing": (kernel(np.full((3, 3, 1, 32), 1e30, np.float32)), "can reach"),
    "shape": (kernel(np.zeros((5, 5, 1, 32), np.float32)), "has shape (5, 5, 1, 32), expected"),
    "scalar": (kernel(np.float32(1)), "has shape (), expected (3, 3, 1, 32)"),
    "missing": (kernel(None), "weight 'conv2d/kernel' is missing"),
    "extra": ({"notes": np.zeros(3)}, "unexpected entry 'notes.npy'"),
    "not npy": (kernel(b"PK\x03\x04 not an array"), "'conv2d/kernel' is not a valid .npy (the"),
    "truncated": (kernel(npy(WEIGHTS["conv2d/kernel"])[:-8]), "holds 1,144 bytes of data"),
    "trailing": (kernel(npy(WEIGHTS["conv2d/kernel"]) + b"\0"), "holds 1,153 bytes of data"),
    "no meta": ({"meta": None}, "no 'meta' entry"),
    "meta not json": ({"meta": np.array("{nope")}, "its meta is not JSON"),
    "meta a list": ({"meta": np.array("[1, 2]")}, "format is not sobelcli-cnn-1"),
    "meta a number": ({"meta": np.float64(1.0)}, "'meta' holds float64, not text"),
    "meta nested": (
        {"meta": np.array('{"format": "sobelcli-cnn-1", "x": ' + "[" * 40 + "]" * 40 + "}")},
        "its meta is nested more than 32 deep",
    ),
    "meta very nested": (
        {"meta": np.array("[" * 200_000 + "]" * 200_000)},
        "its meta is nested more than 32 deep",
    ),
    "meta too long": (
        {"meta": np.array(json.dumps({**META, "pad": "x" * (1 << 20)}))},
        "entry 'meta' is 4,194,568 bytes, more than the 4,194,304 it may take",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_model_files_are_refused_in_one_line(tmp_path: Path, case: str) -> None:
    change, message = BAD_MODELS[case]
    path = write_model(tmp_path / "model.npz", change)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)
    result = run_predict(path, digit(tmp_path / "d.png"), "--json")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"Error: {info.value}"]


def test_a_duplicated_entry_is_refused(tmp_path: Path) -> None:
    path = write_model(tmp_path / "model.npz")
    with (
        pytest.warns(UserWarning, match="Duplicate name"),
        zipfile.ZipFile(path, "a") as archive,
    ):
        archive.writestr("dense/bias.npy", npy(np.zeros(64, np.float32)))
    with pytest.raises(ModelFileError, match="entry 'dense/bias.npy' appears twice"):
        load_model(path)


@pytest.mark.parametrize(
    "content", [b"", b"hello", b"\x93NUMPY\x01\x00", bytes(100), b"PK\x05\x06" + bytes(18)]
)
def test_what_is_not_a_model_zip_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: not a")
    assert run_predict(path, digit(tmp_path / "d.png")).exit_code == 1


def test_good_model_files_load_stored_or_compressed_float16_to_64(tmp_path: Path) -> None:
    model = lab_cnn(seed=3)
    save_model(tmp_path / "saved.npz", model, meta={"history": [{"epoch": 1, "loss": 0.5}]})
    loaded, meta = load_model(tmp_path / "saved.npz")
    assert meta["history"][0]["loss"] == 0.5
    for name, value in model.named_params().items():
        np.testing.assert_array_equal(loaded.named_params()[name], value)
    wide = {name: value.astype(np.float64) for name, value in WEIGHTS.items()}
    wide["dense/kernel"] = np.asfortranarray(WEIGHTS["dense/kernel"]).astype(np.float16)
    loaded, _ = load_model(write_model(tmp_path / "wide.npz", wide, compress=True))
    assert all(v.dtype == np.float32 for v in loaded.named_params().values())
    np.testing.assert_allclose(
        loaded.named_params()["dense/kernel"], WEIGHTS["dense/kernel"], rtol=1e-3, atol=1e-4
    )
    np.testing.assert_array_equal(loaded.named_params()["conv2d/kernel"], WEIGHTS["conv2d/kernel"])


# --- zip bombs ----------------------------------------------------------------------------------


def bomb_entry(shape: tuple[int, ...], size: int) -> tuple[bytes, bytes]:
    """(local .npy header, raw deflate of ``size`` zeros) for an entry claiming ``shape``."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    return header.getvalue(), deflated_zeros(size)


def write_bomb(path: Path, shape: tuple[int, ...], size: int, name="conv2d/kernel.npy") -> Path:
    """A model file whose ``name`` inflates to a header and ``size`` zeros: a zip bomb.

    The entry is written by hand (zipfile would deflate gigabytes to make it): its declared
    sizes are the true ones.
    """
    import zlib

    write_model(path, kernel(None) if name == "conv2d/kernel.npy" else {"meta": None})
    header, zeros = bomb_entry(shape, size)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH) + zeros
    crc = zlib.crc32(header)
    for _ in range(size >> 20):
        crc = zlib.crc32(bytes(1 << 20), crc)
    crc = zlib.crc32(bytes(size & ((1 << 20) - 1)), crc)
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "a") as archive:
        # Write the entry through zipfile's own machinery, with the deflated bytes as they are.
        info.file_size, info.compress_size, info.CRC = len(header) + size, len(data), crc
        archive.fp.seek(archive.start_dir)
        info.header_offset = archive.fp.tell()
        archive.fp.write(info.FileHeader(zip64=info.file_size > 0xFFFFFFFF))
        archive.fp.write(data)
        archive.start_dir = archive.fp.tell()
        archive.filelist.append(info)
        archive.NameToInfo[info.filename] = info
        archive._didModify = True
    return path


def test_a_zip_bomb_is_refused_from_its_declared_size(tmp_path: Path) -> None:
    path = write_bomb(tmp_path / "bomb.npz", (3, 3, 1, 32), 256 << 20)
    assert path.stat().st_size < 1_000_000
    with zipfile.ZipFile(path) as archive:  # a true bomb: zipfile inflates it whole
        assert archive.getinfo("conv2d/kernel.npy").file_size > 256 << 20
    with pytest.raises(ModelFileError, match=r"'conv2d/kernel' declares 268,435,\d+ bytes, more"):
        load_model(path)


def test_an_npy_header_claiming_more_is_refused_before_reading(tmp_path: Path) -> None:
    path = write_bomb(tmp_path / "claim.npz", (100_000, 100_000), 1000)
    with pytest.raises(ModelFileError, match=r"has shape \(100000, 100000\), expected"):
        load_model(path)
    path = write_bomb(tmp_path / "meta.npz", (), 8 << 20, name="meta.npy")
    with pytest.raises(ModelFileError, match="entry 'meta' declares"):
        load_model(path)


def in_child(args: list[str]):
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "sobelcli", *args],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        env=env,
        timeout=120,
    )


def test_zip_bomb_in_a_child_with_little_memory(tmp_path: Path) -> None:
    """The 28 MB .npz bomb took 6.3 GB: here 1 GiB of zeros, in 512 MiB of address space."""
    path = write_bomb(tmp_path / "bomb.npz", (1, 1 << 27), 1 << 30)
    proc = in_child(["predict", str(path), str(digit(tmp_path / "d.png"))])
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"Error: {path}: entry 'conv2d/kernel' declares 1,073,741,952 bytes, more than it "
        "can need (18,688)"
    ]


# --- item 10: a hostile .npy among good inputs ----------------------------------------------------


def test_predict_reports_a_hostile_npy_and_goes_on(tmp_path: Path) -> None:
    """928 bytes whose header claims 100000 x 100000 aborted the whole run with MemoryError."""
    model = tmp_path / "model.npz"
    save_model(model, lab_cnn(seed=0))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (100_000, 100_000)}
    )
    hostile = tmp_path / "hostile.npy"
    hostile.write_bytes(header.getvalue().ljust(928, b"\0"))
    good = digit(tmp_path / "one.png")
    np.save(tmp_path / "two.npy", np.asarray(Image.open(good), np.float64) / 255)
    result = run_predict(model, good, hostile, tmp_path / "two.npy", "--json")
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["input"] for r in records] == [str(good), str(hostile), str(tmp_path / "two.npy")]
    assert [r["status"] for r in records] == ["ok", "error", "ok"]
    assert "header promises 80,000,000,000 bytes" in records[1]["error"]
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout
    assert result.stderr.count("\n") == 1 and "hostile.npy" in result.stderr


# --- gzip bombs in train --data -----------------------------------------------------------------


class CountingGzip(gzip.GzipFile):
    """A GzipFile that counts the bytes it gives out (all that was inflated, and a little)."""

    given = 0

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        CountingGzip.given += len(data)
        return data


def test_a_gzip_bomb_is_inflated_no_further_than_its_header_allows(
    tmp_path: Path, monkeypatch
) -> None:
    """A 21 MB .gz in train --data took 9.8 GB: 60000 images, then gigabytes of zeros."""
    header = IMAGES_MAGIC.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (100, 28, 28))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip_zeros_after(header, 512 << 20))
    assert path.stat().st_size < 600_000
    monkeypatch.setattr(gzip, "open", lambda p, mode: CountingGzip(p, mode))
    with pytest.raises(DataError, match=r"more than 65536 unexpected bytes after the data"):
        read_idx(path, IMAGES_MAGIC)
    assert CountingGzip.given <= len(header) + 100 * 28 * 28 + SLACK


def test_an_idx_header_announcing_more_than_the_file_holds(tmp_path: Path) -> None:
    header = LABELS_MAGIC.to_bytes(4, "big") + (4_000_000_000).to_bytes(4, "big")
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(header + bytes(1000)))
    with pytest.raises(DataError, match=r"truncated: .* more than a file of \d+ bytes can hold"):
        read_idx(path, LABELS_MAGIC)
    raw = tmp_path / "labels"
    raw.write_bytes(header + bytes(1000))
    with pytest.raises(DataError, match="truncated"):
        read_idx(raw, LABELS_MAGIC)
    raw.write_bytes(LABELS_MAGIC.to_bytes(4, "big") + (5).to_bytes(4, "big") + bytes(5 + 70_000))
    with pytest.raises(DataError, match="70000 unexpected bytes"):  # exact for a raw file
        read_idx(raw, LABELS_MAGIC)
