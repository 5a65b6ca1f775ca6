"""Training loop like Keras' ``fit``: mini-batches, RMSprop, a validation split, history.

* Inputs are uint8 images (N, 28, 28); each batch is converted to float32 ``x / 255`` of
  shape (B, 28, 28, 1) only when used, so the data set stays at one byte a pixel.
* ``validation_split`` takes the LAST fraction of the training set, before any shuffling
  (Keras' rule); the remaining part is shuffled every epoch with the given generator.
* The loss is the mean sparse categorical cross-entropy of a batch; an epoch's reported loss
  and accuracy are their means over the epoch's samples (Keras' running metrics).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .activations import softmax_cross_entropy
from .model import Sequential
from .optim import RMSprop

__all__ = ["BatchCallback", "evaluate", "fit", "split_validation", "to_input"]

U8 = NDArray[np.uint8]
#: called after each batch with (batch index, batches per epoch, running loss, running accuracy)
BatchCallback = Callable[[int, int, float, float], None]


def to_input(images: NDArray[Any]) -> NDArray[np.float32]:
    """uint8 (N, H, W) or (N, H, W, 1) -> float32 (N, H, W, 1) in [0, 1] (``x / 255``)."""
    x = np.asarray(images, dtype=np.float32) / np.float32(255)
    return x if x.ndim == 4 else x[..., None]


def split_validation(
    images: U8, labels: U8, fraction: float = 0.2
) -> tuple[U8, U8, U8, U8]:
    """Keras' ``validation_split``: the last ``fraction`` of the samples, taken unshuffled.

    Returns (train images, train labels, validation images, validation labels); the split
    index is ``int(N * (1 - fraction))``, e.g. 48,000 of 60,000.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"validation fraction must be in [0, 1), got {fraction}")
    at = int(len(images) * (1 - fraction))
    return images[:at], labels[:at], images[at:], labels[at:]


def evaluate(
    model: Sequential, images: NDArray[Any], labels: NDArray[Any], batch_size: int = 500
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole set, in batches (no training caches)."""
    total_loss, correct, n = 0.0, 0, len(images)
    for i in range(0, n, batch_size):
        y = labels[i : i + batch_size]
        logits = model.forward(to_input(images[i : i + batch_size]))
        loss, _, pred = softmax_cross_entropy(logits, y)
        total_loss += loss * len(y)
        correct += int(np.count_nonzero(pred == y))
    return total_loss / max(n, 1), correct / max(n, 1)


def fit(
    model: Sequential,
    images: U8,
    labels: U8,
    *,
    epochs: int = 5,
    batch_size: int = 64,
    optimizer: RMSprop | None = None,
    validation: tuple[U8, U8] | None = None,
    rng: np.random.Generator | None = None,
    on_batch: BatchCallback | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` in place with mini-batch RMSprop; return the per-epoch history.

    Parameters
    ----------
    model : Sequential
    images : ndarray of uint8, shape (N, 28, 28)
    labels : ndarray of int, shape (N,)
    epochs, batch_size : int
    optimizer : RMSprop, optional
        Default ``RMSprop()`` (Keras' defaults).
    validation : (images, labels), optional
        Evaluated after every epoch.
    rng : numpy.random.Generator, optional
        Shuffles the samples each epoch.
    on_batch, on_epoch : callable, optional
        Progress hooks (see :data:`BatchCallback`); on_epoch gets the epoch's history row.

    Returns
    -------
    list of dict
        One row per epoch: epoch, loss, accuracy, val_loss, val_accuracy (if validation),
        seconds (training time of the epoch, validation excluded).
    """
    opt = optimizer or RMSprop()
    gen = rng or np.random.default_rng()
    n = len(images)
    if n == 0:
        raise ValueError("no training samples")
    steps = -(-n // batch_size)
    params = model.named_params()
    history: list[dict[str, float]] = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = gen.permutation(n)
        seen, loss_sum, correct = 0, 0.0, 0
        for step in range(steps):
            idx = np.sort(order[step * batch_size : (step + 1) * batch_size])
            y = labels[idx]
            logits = model.forward(to_input(images[idx]), training=True)
            loss, dlogits, pred = softmax_cross_entropy(logits, y)
            model.backward(dlogits)
            opt.step(params, model.named_grads())
            seen += len(idx)
            loss_sum += loss * len(idx)
            correct += int(np.count_nonzero(pred == y))
            if on_batch is not None:
                on_batch(step + 1, steps, loss_sum / seen, correct / seen)
        row: dict[str, float] = {"epoch": epoch, "loss": loss_sum / seen, "accuracy": correct / seen}
        row["seconds"] = time.perf_counter() - start
        if validation is not None and len(validation[0]):
            row["val_loss"], row["val_accuracy"] = evaluate(model, *validation)
        history.append(row)
        if on_epoch is not None:
            on_epoch(row)
    return history
