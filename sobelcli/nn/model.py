"""A sequential model, the lab's CNN, and saving/loading its weights as ``.npz``.

The lab's Keras model (93,322 parameters)::

    Conv2D(32, 3x3, relu) -> MaxPool 2x2 -> Conv2D(64, 3x3, relu) -> MaxPool 2x2
    -> Conv2D(64, 3x3, relu) -> Flatten (576) -> Dense(64, relu) -> Dense(10, softmax)

A model file is an uncompressed ``.npz`` with one array per weight, named
``"<layer>/<kernel|bias>"``, and a ``"meta"`` entry holding JSON (format, architecture,
training history, seed). It is written atomically: a temporary file in the same folder is
renamed over the target, so a failure never leaves a partial file.
"""

from __future__ import annotations

import collections
import copy
import io
import json
import math
import os
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.nn.activations import softmax
from sobelcli.nn.layers import Conv2D, Dense, Flatten, Layer, MaxPool2D

__all__ = ["FORMAT", "ModelFileError", "Sequential", "lab_cnn", "load_model", "save_model"]

Array = NDArray[np.floating]
FORMAT = "sobelcli-cnn-1"
INPUT_SHAPE = (28, 28, 1)


class ModelFileError(ValueError):
    """A model file that cannot be read or does not hold the lab's CNN; names the file."""


class Sequential:
    """Layers applied in order; ``forward`` returns the last layer's logits.

    Parameters
    ----------
    layers : sequence of Layer
    input_shape : tuple of int
        One sample's shape, channels last, e.g. (28, 28, 1).
    seed : int or None
        Seed of the weight initialisation.
    """

    def __init__(
        self, layers: Sequence[Layer], input_shape: tuple[int, ...], seed: int | None = None
    ) -> None:
        self.layers = list(layers)
        self.input_shape = tuple(input_shape)
        rng = np.random.default_rng(seed)
        self.output_shapes: list[tuple[int, ...]] = []
        counts: dict[str, int] = {}
        shape = self.input_shape
        for layer in self.layers:
            # Keras-like unique names: conv2d, conv2d_1, ...
            base = layer.name
            k = counts.get(base, 0)
            counts[base] = k + 1
            layer.name = base if k == 0 else f"{base}_{k}"
            shape = layer.build(shape, rng)
            self.output_shapes.append(shape)
        if self.layers:
            self.layers[0].input_grad = False
        for layer, after in zip(self.layers, self.layers[1:], strict=False):
            # Fuse Conv2D(relu) -> MaxPool2D into relu(maxpool(z)): same values and
            # gradients, the ReLU on a quarter of the data (see MaxPool2D).
            if (
                isinstance(layer, Conv2D)
                and layer.activation == "relu"
                and isinstance(after, MaxPool2D)
            ):
                layer.relu_in_pool = after.relu_first = True

    def replica(self) -> Sequential:
        """A twin that shares this model's weight arrays but has its own caches and grads.

        Used to run parts of a batch in parallel threads; an optimizer step on either
        updates both.
        """
        twin = copy.copy(self)
        twin.layers = [copy.copy(layer) for layer in self.layers]
        return twin

    def forward(self, x: Array, training: bool = False) -> Array:
        """Run every layer; training=True caches values for :meth:`backward`."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, dlogits: Array) -> None:
        """Back-propagate dL/dlogits; every layer's ``grads`` is filled."""
        dy: Array | None = dlogits
        for layer in reversed(self.layers):
            assert dy is not None
            dy = layer.backward(dy)

    def predict_proba(self, x: Array, batch_size: int = 500) -> Array:
        """Class probabilities (softmax of the logits), in batches; x is (N, H, W, C)."""
        out = [softmax(self.forward(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.output_shapes[-1][0]))

    def named_params(self) -> dict[str, Array]:
        """Every weight as ``"<layer>/<name>"`` (the arrays themselves, not copies)."""
        return {f"{ly.name}/{k}": v for ly in self.layers for k, v in ly.params.items()}

    def named_grads(self) -> dict[str, Array]:
        """The gradients of the last backward, keyed like :meth:`named_params`."""
        return {f"{ly.name}/{k}": v for ly in self.layers for k, v in ly.grads.items()}

    def astype(self, dtype: Any) -> Sequential:
        """Cast every weight in place (float64 for gradient checks); returns self."""
        for layer in self.layers:
            layer.params = {k: v.astype(dtype) for k, v in layer.params.items()}
        return self

    def count_params(self) -> int:
        """Total number of weights."""
        return sum(layer.count_params() for layer in self.layers)

    def summary_rows(self) -> list[tuple[str, str, str]]:
        """(``"name (Kind)"``, ``"(None, ...)"``, parameter count) per layer, like Keras."""
        return [
            (f"{ly.name} ({ly.kind})", str((None, *shape)), f"{ly.count_params():,}")
            for ly, shape in zip(self.layers, self.output_shapes, strict=True)
        ]


def lab_cnn(seed: int | None = None) -> Sequential:
    """The lab's CNN for 28 x 28 x 1 digits, Glorot-uniform weights from ``seed``."""
    layers: list[Layer] = [
        Conv2D(32, (3, 3), activation="relu"),
        MaxPool2D(name="max_pooling2d"),
        Conv2D(64, (3, 3), activation="relu"),
        MaxPool2D(name="max_pooling2d"),
        Conv2D(64, (3, 3), activation="relu"),
        Flatten(),
        Dense(64, activation="relu"),
        Dense(10, activation="softmax"),
    ]
    return Sequential(layers, INPUT_SHAPE, seed=seed)


def save_model(path: str | Path, model: Sequential, meta: dict[str, Any] | None = None) -> None:
    """Write weights and JSON ``meta`` (history, seed...) to ``path`` atomically."""
    info = {"format": FORMAT, "architecture": "lab_cnn", **(meta or {})}
    arrays: dict[str, Any] = {
        k: np.asarray(v, dtype=np.float32) for k, v in model.named_params().items()
    }
    from sobelcli.io import atomic_write

    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(info)), **arrays)
    atomic_write(path, buf.getvalue())


#: Bounds of a model file, checked before anything is read: its meta is JSON of at most
#: MAX_META_CHARS characters nested at most MAX_META_DEPTH deep, each .npy header at most
#: HEADER_ROOM bytes, and no logit may exceed MAX_LOGIT for inputs in [0, 1] (float32 overflow).
MAX_META_CHARS = 1 << 20
MAX_META_DEPTH = 32
HEADER_ROOM = 16 << 10
MAX_LOGIT = 1e30


def load_model(path: str | Path) -> tuple[Sequential, dict[str, Any]]:
    """Read a file written by :func:`save_model`, checked whole before use; returns (model, meta).

    The file must be a zip archive (``.npz``) holding exactly ``meta.npy`` and one ``.npy``
    per weight of the lab's CNN. Every read is bounded before it is made: the file's size, each
    entry's declared size and its ``.npy`` header against what that entry can need, so a zip
    bomb is refused unread. The weights must be real floats (float16, 32 or 64; not strings,
    complex, dates or objects) of the expected shapes, finite in float32, and small enough that
    no input in [0, 1] makes the network's output overflow; the meta must be a JSON object of
    this format, of bounded size and nesting.

    Raises
    ------
    ModelFileError
        One line that names the file and what is wrong with it.
    """
    p = Path(path)
    model = lab_cnn(seed=0)
    shapes = {f"{name}.npy": value.shape for name, value in model.named_params().items()}
    most = 4 * MAX_META_CHARS + sum(8 * math.prod(s) for s in shapes.values())
    try:
        with open(p, "rb") as fh:
            if fh.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):  # every .npz is a zip archive
                raise ModelFileError(
                    f"{p}: not a model file: not a zip archive (sobelcli train -o writes a .npz)"
                )
            size = os.fstat(fh.fileno()).st_size
            if size > most + len(shapes) * HEADER_ROOM + (1 << 20):
                raise ModelFileError(f"{p}: {size:,} bytes, more than a model file can take")
            with zipfile.ZipFile(fh) as archive:
                meta, weights = _read_entries(p, archive, shapes)
    except ModelFileError:
        raise
    except FileNotFoundError:
        raise ModelFileError(f"{p}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{p}: is a folder, not a model file") from None
    except (OSError, ValueError, TypeError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        why = " ".join(str(exc).split(". ")[0].split())  # numpy's advice on pickles does not apply
        raise ModelFileError(f"{p}: not a readable .npz model file ({why})") from None
    except (NotImplementedError, RuntimeError, zlib.error) as exc:  # compression, encryption
        raise ModelFileError(f"{p}: not a readable .npz model file ({exc})") from None
    for layer in model.layers:
        for key in layer.params:
            layer.params[key] = weights[f"{layer.name}/{key}.npy"]
    logit = _logit_bound(model)
    if not logit <= MAX_LOGIT:
        raise ModelFileError(
            f"{p}: weights so large that the network's output can reach {logit:.3g} and "
            "overflow; not a trained model"
        )
    return model, meta


def _read_entries(
    p: Path, archive: zipfile.ZipFile, shapes: dict[str, tuple[int, ...]]
) -> tuple[dict[str, Any], dict[str, Array]]:
    """The meta and the float32 weights of an open model file, every entry checked."""
    names = collections.Counter(info.filename for info in archive.infolist())
    if "meta.npy" not in names:
        raise ModelFileError(f"{p}: not a sobelcli model file (no 'meta' entry)")
    meta = _read_meta(p, archive)
    twice = [name for name, count in names.items() if count > 1]
    other = sorted(set(names) - set(shapes) - {"meta.npy"})
    if twice or other:
        what = f"entry {twice[0]!r} appears twice" if twice else f"unexpected entry {other[0]!r}"
        raise ModelFileError(f"{p}: {what}; a model file holds meta.npy and the weights only")
    weights = {}
    for name, shape in shapes.items():
        if name not in names:
            raise ModelFileError(f"{p}: weight {name[:-4]!r} is missing")
        value = _read_npy(p, archive, name, shape, 8 * math.prod(shape))
        with np.errstate(over="ignore", invalid="ignore"):
            weights[name] = value.astype(np.float32)
        if not np.isfinite(weights[name]).all():
            what = "NaN or infinity" if not np.isfinite(value).all() else "values beyond float32"
            raise ModelFileError(f"{p}: weight {name[:-4]!r} holds {what}")
    return meta, weights


def _read_meta(p: Path, archive: zipfile.ZipFile) -> dict[str, Any]:
    """The meta entry: one string of JSON, bounded in size and nesting, of this format."""
    text = str(_read_npy(p, archive, "meta.npy", (), 4 * MAX_META_CHARS)[()])
    too_deep = f"{p}: its meta is nested more than {MAX_META_DEPTH} deep"
    try:
        meta = json.loads(text)
    except RecursionError:  # deeper than Python recurses
        raise ModelFileError(too_deep) from None
    except ValueError:
        raise ModelFileError(f"{p}: not a sobelcli model file (its meta is not JSON)") from None
    if _depth(meta) > MAX_META_DEPTH:
        raise ModelFileError(too_deep)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{p}: not a sobelcli model file (format is not {FORMAT})")
    return meta


def _read_npy(
    p: Path, archive: zipfile.ZipFile, name: str, shape: tuple[int, ...], most: int
) -> NDArray[Any]:
    """One ``.npy`` entry of at most ``most`` data bytes and this shape; real floats, or text.

    The entry's declared size and its header are checked before its data is read, and the
    data is read up to what the header promises: a zip bomb inflates no further.
    """
    info, what = archive.getinfo(name), f"entry {name[:-4]!r}"
    if info.file_size > most + HEADER_ROOM:
        raise ModelFileError(
            f"{p}: {what} declares {info.file_size:,} bytes, more than it can need "
            f"({most + HEADER_ROOM:,})"
        )
    with archive.open(info) as fh:
        try:
            major, minor = np.lib.format.read_magic(fh)
            read_header = getattr(np.lib.format, f"read_array_header_{major}_{minor}")
            found, fortran, dtype = read_header(fh)
        except Exception as exc:  # noqa: BLE001 - numpy's parser raises many types
            why = " ".join(str(exc).split(". ")[0].split()) or type(exc).__name__
            raise ModelFileError(f"{p}: {what} is not a valid .npy ({why})") from None
        kind = "U" if name == "meta.npy" else "f"
        if dtype.kind != kind or dtype.hasobject or (kind == "f" and dtype.itemsize > 8):
            wanted = "text" if kind == "U" else "float16, float32 or float64"
            raise ModelFileError(f"{p}: {what} holds {dtype}, not {wanted}")
        if found != shape:
            raise ModelFileError(f"{p}: {what} has shape {found}, expected {shape}")
        size = math.prod(found) * dtype.itemsize
        if size > most:
            raise ModelFileError(
                f"{p}: {what} is {size:,} bytes, more than the {most:,} it may take"
            )
        data = fh.read(size + 1)  # one more: the end of the entry, where its CRC is checked
    if len(data) != size:
        raise ModelFileError(f"{p}: {what} holds {len(data):,} bytes of data, not {size:,}")
    array: NDArray[Any] = np.frombuffer(data, dtype).reshape(found, order="F" if fortran else "C")
    return array


def _depth(value: Any) -> int:
    """How deep lists and dicts nest in ``value`` (0 for a number or a string), level by level."""
    depth, level = 0, [value]
    while level := [x for x in level if isinstance(x, (dict, list))]:
        depth += 1
        level = [v for x in level for v in (x.values() if isinstance(x, dict) else x)]
    return depth


def _logit_bound(model: Sequential) -> float:
    """The most any logit can reach for inputs in [0, 1], from the weights' magnitudes.

    Each layer maps values within ``m`` to values within ``sum |kernel| * m + max |bias|``
    (the largest column sum over the outputs); ReLU and max-pooling only shrink the range.
    """
    bound = 1.0
    for layer in model.layers:
        if "kernel" in layer.params:
            kernel = np.abs(layer.params["kernel"].astype(np.float64))
            gain = float(kernel.reshape(-1, kernel.shape[-1]).sum(axis=0).max())
            bound = gain * bound + float(np.abs(layer.params["bias"]).max(initial=0.0))
    return bound
