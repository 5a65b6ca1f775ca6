"""The IDX reader on the shipped slice and on broken files made in tmp_path."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from sobelcli.nn import DataError, load_mnist, read_idx
from sobelcli.nn.mnist import FILES, IMAGES_MAGIC, LABELS_MAGIC

SLICE = Path(__file__).resolve().parent.parent / "data" / "mnist-small"


def idx_bytes(arr: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def make_folder(root: Path, n_train: int = 20, n_test: int = 10, gz: bool = True) -> Path:
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": (rng.integers(0, 256, (n_train, 28, 28)), IMAGES_MAGIC),
        "train_labels": (rng.integers(0, 10, n_train), LABELS_MAGIC),
        "test_images": (rng.integers(0, 256, (n_test, 28, 28)), IMAGES_MAGIC),
        "test_labels": (rng.integers(0, 10, n_test), LABELS_MAGIC),
    }
    root.mkdir(parents=True, exist_ok=True)
    for field, (arr, magic) in arrays.items():
        data = idx_bytes(arr, magic)
        if gz:
            (root / f"{FILES[field]}.gz").write_bytes(gzip.compress(data))
        else:
            (root / FILES[field]).write_bytes(data)
    return root


def test_shipped_slice():
    data = load_mnist(SLICE)
    assert data.train_images.shape == (3000, 28, 28) and data.train_images.dtype == np.uint8
    assert data.test_images.shape == (600, 28, 28)
    assert data.train_labels.shape == (3000,) and data.test_labels.shape == (600,)
    assert set(np.unique(data.train_labels)) == set(range(10))
    assert data.train_labels[:5].tolist() == [5, 0, 4, 1, 9]  # MNIST's famous first digits
    assert data.test_labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert data.limit(100).train_images.shape == (100, 28, 28)
    assert sum(f.stat().st_size for f in SLICE.iterdir()) < 2_000_000


@pytest.mark.parametrize("gz", [True, False])
def test_raw_and_gzip(tmp_path, gz):
    data = load_mnist(make_folder(tmp_path / "m", gz=gz))
    assert data.train_images.shape == (20, 28, 28) and data.test_labels.shape == (10,)


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no such folder") as info:
        load_mnist(tmp_path / "nowhere")
    assert "nowhere" in str(info.value) and "\n" not in str(info.value)


def test_missing_files_are_listed(tmp_path):
    root = make_folder(tmp_path / "m")
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    (root / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError) as info:
        load_mnist(root)
    msg = str(info.value)
    assert "t10k-labels-idx1-ubyte" in msg and "train-images-idx3-ubyte" in msg
    assert "train-labels" not in msg and str(root) in msg and "MNIST" in msg
    assert "\n" not in msg


def test_truncated_raw_file(tmp_path):
    root = make_folder(tmp_path / "m", gz=False)
    f = root / "train-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-100])
    with pytest.raises(DataError, match="train-images-idx3-ubyte: truncated"):
        load_mnist(root)


def test_truncated_gzip_stream(tmp_path):
    root = make_folder(tmp_path / "m")
    f = root / "train-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:-50])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: truncated"):
        load_mnist(root)


def test_gzip_of_truncated_data(tmp_path):
    root = make_folder(tmp_path / "m")
    f = root / "t10k-images-idx3-ubyte.gz"
    f.write_bytes(gzip.compress(gzip.decompress(f.read_bytes())[:1000]))
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: truncated.*\(10, 28, 28\)"):
        load_mnist(root)


def test_wrong_magic(tmp_path):
    root = make_folder(tmp_path / "m")
    # Labels where images belong.
    shutil.copy(root / "train-labels-idx1-ubyte.gz", root / "train-images-idx3-ubyte.gz")
    with pytest.raises(
        DataError,
        match=r"train-images-idx3-ubyte.gz: wrong magic number 0x00000801, expected 0x00000803",
    ):
        load_mnist(root)


def test_not_gzip(tmp_path):
    root = make_folder(tmp_path / "m")
    (root / "train-labels-idx1-ubyte.gz").write_bytes(b"hello, not gzip at all")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: not a valid gzip"):
        load_mnist(root)


def test_trailing_bytes_and_tiny_files(tmp_path):
    f = tmp_path / "x"
    f.write_bytes(idx_bytes(np.zeros(5), LABELS_MAGIC) + b"\0\0")
    with pytest.raises(DataError, match="2 unexpected bytes"):
        read_idx(f, LABELS_MAGIC)
    f.write_bytes(b"\0\0")
    with pytest.raises(DataError, match="too short"):
        read_idx(f, LABELS_MAGIC)
    f.write_bytes(IMAGES_MAGIC.to_bytes(4, "big") + b"\0\0\0\1")
    with pytest.raises(DataError, match="truncated IDX header"):
        read_idx(f, IMAGES_MAGIC)


def test_mismatched_counts_and_bad_labels(tmp_path):
    root = make_folder(tmp_path / "m", gz=False)
    (root / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(9), LABELS_MAGIC))
    with pytest.raises(DataError, match="9 labels for 10 images"):
        load_mnist(root)
    (root / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.full(10, 12), LABELS_MAGIC))
    with pytest.raises(DataError, match="label 12 is not a digit"):
        load_mnist(root)


def test_wrong_image_size(tmp_path):
    root = make_folder(tmp_path / "m", gz=False)
    (root / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((10, 20, 20)), IMAGES_MAGIC))
    with pytest.raises(DataError, match="20 x 20, expected 28 x 28"):
        load_mnist(root)


def test_data_error_is_value_error():
    assert issubclass(DataError, ValueError)
