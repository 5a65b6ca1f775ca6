"""Read MNIST from the four standard IDX files in a folder; nothing is ever downloaded.

The files (each gzip ``.gz`` or raw) are ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``. An IDX file is a big-endian
header, magic ``0x00000803`` for images (then count, rows, columns) or ``0x00000801`` for
labels (then count), followed by one unsigned byte per pixel or label. Every check failure
raises :class:`DataError` with a one-line message that names the file.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FILES",
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "DataError",
    "MnistData",
    "load_mnist",
    "read_idx",
]

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
#: field of MnistData -> standard file name (without .gz)
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
WHERE = (
    "get the four standard MNIST files (LeCun, Cortes, Burges; "
    "https://yann.lecun.com/exdb/mnist/ or a mirror), gzip or raw"
)


class DataError(ValueError):
    """A data file is missing, truncated or not what it should be; the message names it."""


@dataclass(frozen=True)
class MnistData:
    """The four arrays: images (N, 28, 28) uint8, labels (N,) uint8 in 0..9."""

    train_images: NDArray[np.uint8]
    train_labels: NDArray[np.uint8]
    test_images: NDArray[np.uint8]
    test_labels: NDArray[np.uint8]

    def limit(self, n: int | None) -> MnistData:
        """The first n training images and labels (all if n is None); the test set as is."""
        if n is None:
            return self
        return MnistData(
            self.train_images[:n], self.train_labels[:n], self.test_images, self.test_labels
        )


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except EOFError:
        raise DataError(f"{path}: truncated gzip file (it ends before its end marker)") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: not a valid gzip file ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_idx(path: str | Path, magic: int) -> NDArray[np.uint8]:
    """Read one IDX file of unsigned bytes, checking its header against its size.

    Parameters
    ----------
    path : str or Path
        A raw or ``.gz`` IDX file.
    magic : int
        The expected magic number: :data:`IMAGES_MAGIC` (3 dimensions) or
        :data:`LABELS_MAGIC` (1 dimension); its low byte is the number of dimensions.

    Returns
    -------
    ndarray of uint8
        Shape (count,) for labels, (count, rows, cols) for images.

    Raises
    ------
    DataError
        Wrong magic, a size that does not match the header (truncated or trailing bytes),
        a bad gzip stream or an unreadable file; the message names the file.
    """
    p = Path(path)
    raw = _read_bytes(p)
    ndim = magic & 0xFF
    header = 4 * (1 + ndim)
    if len(raw) < 4:
        raise DataError(f"{p}: file too short for an IDX header ({len(raw)} bytes)")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(
            f"{p}: wrong magic number 0x{found:08X}, expected 0x{magic:08X} "
            f"({'images' if magic == IMAGES_MAGIC else 'labels'} IDX file)"
        )
    if len(raw) < header:
        raise DataError(f"{p}: truncated IDX header ({len(raw)} of {header} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(raw) < expected:
        raise DataError(
            f"{p}: truncated: the header announces {dims} ({expected} bytes), "
            f"the file has {len(raw)} bytes"
        )
    if len(raw) > expected:
        raise DataError(f"{p}: {len(raw) - expected} unexpected bytes after the data for {dims}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def load_mnist(folder: str | Path) -> MnistData:
    """Load the four MNIST files from ``folder`` and check that they fit together.

    Raises
    ------
    DataError
        Missing folder or files (the message lists which, and where to get them), a bad
        file (see :func:`read_idx`), images that are not 28 x 28, a count of labels that
        differs from the count of images, or a label outside 0..9.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder; {WHERE}, and put them in it")
    paths = {field: _find(root, stem) for field, stem in FILES.items()}
    missing = [FILES[f] + "[.gz]" for f, p in paths.items() if p is None]
    if missing:
        raise DataError(f"{root}: missing {', '.join(missing)}; {WHERE}")
    arrays = {}
    for field, p in paths.items():
        assert p is not None
        magic = IMAGES_MAGIC if field.endswith("images") else LABELS_MAGIC
        arr = read_idx(p, magic)
        if magic == IMAGES_MAGIC and arr.shape[1:] != (28, 28):
            raise DataError(f"{p}: images are {arr.shape[1]} x {arr.shape[2]}, expected 28 x 28")
        if magic == LABELS_MAGIC and arr.size and int(arr.max()) > 9:
            raise DataError(f"{p}: label {int(arr.max())} is not a digit 0-9")
        arrays[field] = arr
    for split in ("train", "test"):
        n_img, n_lab = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_img != n_lab:
            raise DataError(
                f"{paths[f'{split}_labels']}: {n_lab} labels for {n_img} images "
                f"in {paths[f'{split}_images']}"
            )
        if n_img == 0:
            raise DataError(f"{paths[f'{split}_images']}: holds no images")
    return MnistData(**arrays)
