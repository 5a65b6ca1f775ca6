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

import copy
import io
import json
import zipfile
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


def load_model(path: str | Path) -> tuple[Sequential, dict[str, Any]]:
    """Read a file written by :func:`save_model`; returns (model, meta).

    Raises
    ------
    ModelFileError
        If the file is missing, not an npz, not this format, or a weight is missing or has
        the wrong shape; the message names the file.
    """
    p = Path(path)
    model = lab_cnn(seed=0)
    try:
        with open(p, "rb") as fh:
            if fh.read(2) != b"PK":  # every .npz is a zip archive
                raise ModelFileError(f"{p}: not a model file (sobelcli train -o writes a .npz)")
        loaded = np.load(p, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ModelFileError(
                f"{p}: a single array, not a model file (.npz from sobelcli train)"
            )
        with loaded as data:
            if "meta" not in data.files:
                raise ModelFileError(f"{p}: not a sobelcli model file (no 'meta' entry)")
            meta = json.loads(str(data["meta"]))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise ModelFileError(f"{p}: not a sobelcli model file (format is not {FORMAT})")
            for layer in model.layers:
                for key, current in layer.params.items():
                    name = f"{layer.name}/{key}"
                    if name not in data.files:
                        raise ModelFileError(f"{p}: weight {name!r} is missing")
                    value = data[name]
                    if value.shape != current.shape:
                        shapes = f"{value.shape}, expected {current.shape}"
                        raise ModelFileError(f"{p}: weight {name!r} has shape {shapes}")
                    if not np.isfinite(value).all():
                        raise ModelFileError(f"{p}: weight {name!r} holds NaN or infinity")
                    layer.params[key] = value.astype(np.float32)
    except FileNotFoundError:
        raise ModelFileError(f"{p}: no such model file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{p}: is a folder, not a model file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        why = str(exc).split(". ")[0]  # numpy adds advice on pickles that does not apply here
        raise ModelFileError(f"{p}: not a readable .npz model file ({why})") from None
    return model, meta
