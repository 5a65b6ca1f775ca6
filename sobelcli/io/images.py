"""Every file sobelcli reads or writes: images in, maps out, atomically.

Reading: PNG, JPEG, TIFF, BMP, GIF (first frame), WebP through imageio's Pillow plugin, and
``.npy`` arrays; ``-`` reads the bytes from stdin. The format is told by the bytes, not by the
name. Colour becomes grey (luminance ``0.2125 R + 0.7154 G + 0.0721 B``, as skimage's
``rgb2gray``; alpha ignored) unless a channel is chosen; 8- and 16-bit integers are scaled to
[0, 1]; EXIF orientation is applied. The size is checked from the header, before decoding.

Writing: ``.png`` (8 or 16 bit), ``.tif`` (float32 values), ``.npy`` (the raw array), ``-``
for PNG on stdout. Files are written to a temporary file in the target folder and renamed
into place, so a reader never sees half a file and a failed run leaves nothing behind.
"""

from __future__ import annotations

import io
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "OUTPUT_FORMATS",
    "ImageError",
    "LoadedImage",
    "atomic_write",
    "encode",
    "encode_png",
    "load_image",
    "load_kernel_file",
    "make_folder",
    "read_image",
    "save_image",
]

#: Refuse images with more pixels than this unless told otherwise (a decompression-bomb guard).
DEFAULT_MAX_PIXELS = 250_000_000
#: Output formats by file extension.
OUTPUT_FORMATS: dict[str, str] = {".png": "png", ".npy": "npy", ".tif": "tiff", ".tiff": "tiff"}
LUMINANCE = (0.2125, 0.7154, 0.0721)
NPY_MAGIC = b"\x93NUMPY"


class ImageError(ValueError):
    """A file that cannot be read or written; ``str()`` is one line naming the file."""

    def __init__(self, source: str | os.PathLike[str], problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from (source, problem), so it crosses a process pool intact.
        return (type(self), (self.source, self.problem))


@dataclass
class LoadedImage:
    """A grey image and what was done to get it."""

    pixels: NDArray[np.floating]
    source: str
    mode: str
    notes: list[str] = field(default_factory=list)


def _byte_limit(max_pixels: int | None) -> int | None:
    """The most bytes an image within ``max_pixels`` can take: 4 float64 channels and 64 MiB."""
    return None if max_pixels is None else max_pixels * 32 + (64 << 20)


def _read_limited(fh: Any, path: str | os.PathLike[str], limit: int | None) -> bytes:
    """All of a file's bytes, refusing more than ``limit`` without reading (or holding) them."""
    if limit is None:
        return fh.read()  # type: ignore[no-any-return]
    try:
        info = os.fstat(fh.fileno())
    except (OSError, AttributeError, io.UnsupportedOperation):
        info = None
    if info is not None and stat.S_ISREG(info.st_mode):
        if info.st_size > limit:
            raise ImageError(
                path, f"file of {info.st_size:,} bytes is larger than any image within --max-pixels"
            )
        return fh.read()  # type: ignore[no-any-return]
    chunks, total = [], 0
    while total <= limit:  # a pipe, stdin or a device: read in chunks and stop early
        chunk = fh.read(1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        raise ImageError(
            path, f"more than {limit:,} bytes: larger than any image within --max-pixels"
        )
    return b"".join(chunks)


def _read_bytes(path: str | os.PathLike[str], limit: int | None = None) -> bytes:
    if str(path) == "-":
        if sys.stdin.isatty():
            raise ImageError(
                "-", "stdin is a terminal; pipe an image in, as in: cat in.png | sobelcli edges -"
            )
        data = _read_limited(sys.stdin.buffer, path, limit)
    else:
        p = Path(path)
        if p.is_dir():
            raise ImageError(path, "is a folder, not an image")
        try:
            with p.open("rb") as fh:
                data = _read_limited(fh, path, limit)
        except FileNotFoundError:
            raise ImageError(path, "no such file") from None
        except PermissionError:
            raise ImageError(path, "permission denied") from None
        except OSError as exc:
            raise ImageError(path, f"cannot read: {exc.strerror or exc}") from None
    if not data:
        raise ImageError(path, "file is empty")
    return data


def _check_size(source: str, shape: tuple[int, ...], max_pixels: int | None) -> None:
    if len(shape) < 2:
        return
    pixels = int(shape[0]) * int(shape[1])
    if max_pixels is not None and pixels > max_pixels:
        raise ImageError(
            source,
            f"image is {shape[1]} x {shape[0]} = {pixels:,} pixels, over the limit of "
            f"{max_pixels:,}",
        )


def _decode_npy(
    source: str, data: bytes, max_pixels: int | None, image: bool = True
) -> NDArray[Any]:
    buf = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buf)
        reader = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }
        shape, _, dtype = reader[version](buf)
    except Exception as exc:  # noqa: BLE001 - any header problem is a bad file
        raise ImageError(source, f"not a valid .npy file ({_first_line(exc)})") from None
    if dtype.hasobject:
        raise ImageError(source, "the .npy holds Python objects, not numbers")
    if image and (len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] > 4)):
        raise ImageError(
            source,
            f"array of shape {shape} is not an image; expected (H, W) or (H, W, C) with C <= 4",
        )
    _check_size(source, shape, max_pixels)
    needed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - buf.tell() < needed:
        raise ImageError(
            source,
            f"the .npy is truncated: its header promises {needed:,} bytes of data, "
            f"the file holds {len(data) - buf.tell():,}",
        )
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)  # type: ignore[no-any-return]
    except Exception as exc:  # noqa: BLE001
        raise ImageError(source, f"cannot read the .npy array ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _decode_picture(
    source: str, data: bytes, max_pixels: int | None
) -> tuple[NDArray[Any], str, list[str]]:
    import warnings

    try:
        with warnings.catch_warnings():
            # Pillow's warnings on odd metadata would break the one-line report.
            warnings.simplefilter("ignore")
            with _c_stderr_silenced():
                arr, mode, notes = _open_picture(source, data, max_pixels)
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(source, "not enough memory to decode this image") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad bytes
        problem = _first_line(exc)
        if "cannot identify image file" in problem or "can not handle the given uri" in problem:
            problem = "not a readable image (unknown or corrupt format)"
        raise ImageError(source, f"cannot decode image: {problem}") from None
    return arr, mode, notes


@contextmanager
def _c_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to the null device: libtiff prints its errors there itself."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


#: Pillow modes that numpy takes as they are; any other (P, PA, CMYK, YCbCr, ...) becomes RGB(A).
DIRECT_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F", "RGB", "RGBA"}


def _open_picture(
    source: str, data: bytes, max_pixels: int | None
) -> tuple[NDArray[Any], str, list[str]]:
    """Decode the first frame with Pillow, once, after checking the size from the header.

    EXIF orientation is applied and palette, CMYK and other modes become RGB(A), as imageio's
    Pillow plugin does. Pillow is called directly: the same decoder, 35 ms sooner per process
    than through imageio's import and wrapping, a tenth of a whole ``sobelcli edges`` run.
    """
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = None  # sobelcli checks the size itself, from the header
    notes: list[str] = []
    with Image.open(io.BytesIO(data)) as im:
        _check_size(source, (im.height, im.width), max_pixels)
        mode = im.mode
        if getattr(im, "is_animated", False):
            notes.append(f"{im.n_frames} frames; the first is used")
            im.seek(0)
        orientation = im.getexif().get(0x0112, 1)
        if orientation not in (1, None):
            notes.append(f"EXIF orientation {orientation} applied")
        frame = ImageOps.exif_transpose(im) if orientation not in (1, None) else im
        if frame.mode not in DIRECT_MODES:
            frame = frame.convert("RGBA" if frame.mode in ("PA", "RGBa") else "RGB")
        return np.asarray(frame), mode, notes


def _to_grey(source: str, arr: NDArray[Any], channel: int | None) -> NDArray[Any]:
    if arr.ndim == 3 and arr.shape[2] in (1, 2, 3, 4):
        n = arr.shape[2]
        if channel is not None:
            if not 0 <= channel < n:
                raise ImageError(source, f"has {n} channel(s); --channel must be 0 to {n - 1}")
            return arr[:, :, channel]
        if n < 3:
            return arr[:, :, 0]
        return arr[:, :, :3]
    if arr.ndim != 2:
        raise ImageError(
            source,
            f"array of shape {arr.shape} is not an image; expected (H, W) or (H, W, C) with C <= 4",
        )
    if channel not in (None, 0):
        raise ImageError(source, f"is a grey image; --channel {channel} does not exist")
    return arr


def _scaled(source: str, arr: NDArray[Any], dtype: type[np.floating[Any]]) -> NDArray[np.floating]:
    if arr.dtype == np.bool_:
        out = arr.astype(dtype)
    elif arr.dtype in (np.uint8, np.uint16):
        out = arr.astype(dtype)
        out *= dtype(1.0 / np.iinfo(arr.dtype).max)
    elif arr.dtype.kind in "iuf":
        with np.errstate(over="ignore", invalid="ignore"):
            out = arr.astype(dtype)
        if not np.isfinite(out).all():
            what = "NaN or infinite values" if arr.dtype.kind == "f" else "integers"
            if np.isfinite(arr).all():
                what = f"values beyond the range of {np.dtype(dtype).name}"
            raise ImageError(source, f"holds {what}")
    else:
        raise ImageError(source, f"holds values of type {arr.dtype}, not numbers")
    if out.ndim == 3:  # colour: luminance of R, G, B
        out = np.tensordot(out, np.asarray(LUMINANCE, dtype=dtype), axes=([2], [0]))
    return np.ascontiguousarray(out)


def read_image(
    path: str | os.PathLike[str],
    *,
    channel: int | None = None,
    dtype: type[np.floating[Any]] = np.float64,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    limit_option: str | None = None,
) -> LoadedImage:
    """Read an image file (or ``-`` for stdin) as a grey float array.

    Parameters
    ----------
    path : str or path-like
        The file, or ``"-"`` for stdin.
    channel : int, optional
        Take this channel of a colour image instead of the luminance.
    dtype : {numpy.float64, numpy.float32}
    max_pixels : int or None
        Refuse, before decoding, an image with more pixels than this.

    Returns
    -------
    LoadedImage
        ``pixels`` of shape (H, W), integers scaled to [0, 1].

    Raises
    ------
    ImageError
        With a one-line message that names the file.
    """
    source = "-" if str(path) == "-" else str(path)
    data = _read_bytes(path, _byte_limit(max_pixels))
    notes: list[str] = []
    try:
        if data.startswith(NPY_MAGIC):
            arr, mode = _decode_npy(source, data, max_pixels), "npy"
        else:
            arr, mode, notes = _decode_picture(source, data, max_pixels)
    except ImageError as exc:  # name the option that raises the limit, where there is one
        if limit_option and "over the limit" in exc.problem:
            raise ImageError(source, f"{exc.problem} (raise it with {limit_option})") from None
        raise
    if arr.size == 0:
        raise ImageError(source, f"image is empty (shape {arr.shape})")
    grey = _scaled(source, _to_grey(source, arr, channel), dtype)
    return LoadedImage(grey, source, mode, notes)


def load_image(path: str | os.PathLike[str], **options: Any) -> NDArray[np.floating]:
    """Shortcut for ``read_image(path, **options).pixels``: a grey (H, W) float array."""
    return read_image(path, **options).pixels


def load_kernel_file(path: str | os.PathLike[str]) -> NDArray[np.float64]:
    """Read a kernel from a ``.npy`` file (a 2-D array of real numbers)."""
    from sobelcli.core.kernels import check_kernel

    arr = (
        _decode_npy(str(path), _read_bytes(path, 1 << 26), None, image=False)
        if str(path) != "-"
        else None
    )
    if arr is None:
        raise ImageError(path, "a kernel cannot be read from stdin")
    try:
        return check_kernel(arr, str(path))
    except ValueError as exc:
        raise ImageError(path, str(exc).removeprefix(f"{path}: ")) from None


def output_format(path: str | os.PathLike[str]) -> str:
    """The format written for an output path (``-`` is PNG); ValueError for an unknown extension."""
    if str(path) == "-":
        return "png"
    ext = Path(path).suffix.lower()
    if ext not in OUTPUT_FORMATS:
        raise ValueError(
            f"cannot write {ext or 'a file without extension'}: use {', '.join(OUTPUT_FORMATS)}"
        )
    return OUTPUT_FORMATS[ext]


def encode(values: NDArray[np.floating], fmt: str, *, bits: int = 8, compress: int = 1) -> bytes:
    """Encode a map as file bytes.

    Parameters
    ----------
    values : ndarray, shape (H, W)
        For ``png``, values in [0, 1] (clipped), quantised to ``bits`` (8 or 16).
    fmt : {"png", "npy", "tiff"}
        ``npy`` keeps the array as it is; ``tiff`` stores float32 values.
    bits : {8, 16}
    compress : int
        zlib level 0-9 for PNG; 1 (the default) is fast, 9 is small.
    """
    if fmt == "npy":
        buf = io.BytesIO()
        np.save(buf, values, allow_pickle=False)
        return buf.getvalue()
    if fmt == "tiff":
        import imageio.v3 as iio

        return bytes(
            iio.imwrite("<bytes>", values.astype(np.float32), extension=".tif", plugin="pillow")
        )
    if bits not in (8, 16):
        raise ValueError(f"bits must be 8 or 16, got {bits}")
    return encode_png(quantize(values, bits), compress)


def quantize(values: NDArray[np.floating], bits: int = 8) -> NDArray[np.integer]:
    """Round values in [0, 1] (clipped) to 8- or 16-bit integers, in strips of rows.

    Strips keep the float temporaries small: a 4096 x 4096 map needs its 16 MiB of output and
    about 1 MiB more, not two more float copies of itself.
    """
    top = 255 if bits == 8 else 65535
    out = np.empty(values.shape, dtype=np.uint8 if bits == 8 else np.uint16)
    step = max(1, (1 << 18) // max(1, values[0].size if values.ndim > 1 else 1))
    for r in range(0, values.shape[0], step):
        block = np.clip(values[r : r + step], 0.0, 1.0)
        block *= top
        out[r : r + step] = np.rint(block, out=block)
    return out


def encode_png(pixels: NDArray[np.integer], compress: int = 1) -> bytes:
    """PNG bytes of an already quantised uint8/uint16 array, (H, W) grey or (H, W, 3) RGB.

    sobelcli's own encoder (:mod:`sobelcli.io.png`): about twice as fast as Pillow's.
    """
    from sobelcli.io.png import encode_png as encode

    return encode(pixels, compress)


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise OSError at once if ``path`` is a folder or its folder is missing or read-only.

    For commands that work long before they write (training), so that a bad ``-o`` fails first.
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise IsADirectoryError(f"{p} is a folder")
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"folder {folder} is not writable")


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file in the same folder and a rename.

    Raises
    ------
    ImageError
        When the folder does not exist or cannot be written; no file is left behind.
    """
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise ImageError(path, f"cannot write: folder {str(folder)!r} does not exist")
    try:
        _write_then_rename(target, data)
    except OSError as exc:
        raise ImageError(path, f"cannot write: {exc.strerror or exc}") from None


def _write_then_rename(target: Path, data: bytes) -> None:
    # The temporary name is known before the file exists, so that an interrupt at any
    # point (Ctrl-C, SIGTERM turned into an exception) finds it and removes it.
    for _ in range(100):
        name = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        ours = True
        try:
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
            except FileExistsError:
                ours = False  # another writer's file
                continue
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(name, target)
            ours = False
            return
        finally:
            if ours:
                name.unlink(missing_ok=True)
    raise FileExistsError(f"no free temporary name beside {target}")


def make_folder(path: str | os.PathLike[str]) -> None:
    """Create a folder and its parents if missing.

    Raises
    ------
    ImageError
        When it cannot be created, or a file is in the way.
    """
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ImageError(path, "cannot create the folder: a file of that name exists") from None
    except OSError as exc:
        raise ImageError(path, f"cannot create the folder: {exc.strerror or exc}") from None


def save_image(
    path: str | os.PathLike[str], values: NDArray[np.floating], *, bits: int = 8, compress: int = 1
) -> None:
    """Encode ``values`` for the format of ``path``; write it atomically (``-``: PNG on stdout)."""
    data = encode(values, output_format(path), bits=bits, compress=compress)
    if str(path) == "-":
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise ImageError("stdout", f"cannot write: {exc.strerror or exc}") from None
    else:
        atomic_write(path, data)
