"""Read MNIST from the four standard IDX files in a folder; nothing is ever downloaded.

The files (each gzip ``.gz`` or raw) are ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``. An IDX file is a big-endian
header, magic ``0x00000803`` for images (then count, rows, columns) or ``0x00000801`` for
labels (then count), followed by one unsigned byte per pixel or label. Every check failure
raises :class:`DataError` with a one-line message that names the file.
"""

from __future__ import annotations

import gzip
import io
import math
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


#: Bytes read past what an IDX header announces, to report trailing bytes without inflating
#: more: a gzip stream is never decompressed further than its header allows and this.
SLACK = 1 << 16
#: The most that deflate (gzip's compression) can expand: 1032 to 1, plus the gzip framing.
DEFLATE_RATIO = 1032


def _read_upto(fh: io.BufferedIOBase, count: int) -> bytes:
    """Up to ``count`` bytes of ``fh``, fewer at its end, read in chunks.

    A gzip stream inflates only as far as it is read, and no buffer is made larger than what
    arrives (a single ``read(count)`` would allocate ``count`` bytes first).
    """
    chunks, total = [], 0
    while total < count and (chunk := fh.read(min(count - total, 1 << 20))):
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _read_checked(p: Path, magic: int) -> tuple[tuple[int, ...], bytes]:
    """The dimensions and the data of an IDX file, each read bounded by its header."""
    ndim = magic & 0xFF
    header = 4 * (1 + ndim)
    with gzip.open(p, "rb") if p.suffix == ".gz" else open(p, "rb") as fh:
        head = _read_upto(fh, header)
        if len(head) < 4:
            raise DataError(f"{p}: file too short for an IDX header ({len(head)} bytes)")
        found = int.from_bytes(head[:4], "big")
        if found != magic:
            raise DataError(
                f"{p}: wrong magic number 0x{found:08X}, expected 0x{magic:08X} "
                f"({'images' if magic == IMAGES_MAGIC else 'labels'} IDX file)"
            )
        if len(head) < header:
            raise DataError(f"{p}: truncated IDX header ({len(head)} of {header} bytes)")
        dims = tuple(int.from_bytes(head[4 * i + 4 : 4 * i + 8], "big") for i in range(ndim))
        expected = header + math.prod(dims)
        stored = p.stat().st_size
        most = stored * DEFLATE_RATIO + SLACK if p.suffix == ".gz" else stored
        if expected > most:
            raise DataError(
                f"{p}: truncated: the header announces {dims} ({expected} bytes), more than "
                f"a file of {stored:,} bytes can hold"
            )
        body = _read_upto(fh, expected - header + SLACK)
    if header + len(body) < expected:
        raise DataError(
            f"{p}: truncated: the header announces {dims} ({expected} bytes), "
            f"the file has {header + len(body)} bytes"
        )
    gz = p.suffix == ".gz"
    extra = header + len(body) - expected if gz else stored - expected  # exact for a raw file
    if extra:
        count = f"more than {SLACK}" if gz and extra >= SLACK else str(extra)
        raise DataError(f"{p}: {count} unexpected bytes after the data for {dims}")
    return dims, body


def read_idx(path: str | Path, magic: int) -> NDArray[np.uint8]:
    """Read one IDX file of unsigned bytes, checking its header against its size.

    No read goes past what the header announces (and a few bytes, to find trailing data): a
    ``.gz`` is inflated in chunks up to that size, and a header that announces more than the
    file could hold, even at deflate's best ratio, is refused before anything is inflated.

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
    try:
        dims, body = _read_checked(p, magic)
    except EOFError:
        raise DataError(f"{p}: truncated gzip file (it ends before its end marker)") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{p}: not a valid gzip file ({exc})") from None
    except OSError as exc:
        raise DataError(f"{p}: cannot read ({exc.strerror or exc})") from None
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


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
