"""Training loop like Keras' ``fit``: mini-batches, RMSprop, a validation split, history.

* Inputs are uint8 images (N, 28, 28); each batch is converted to float32 ``x / 255`` of
  shape (B, 28, 28, 1) only when used, so the data set stays at one byte a pixel.
* ``validation_split`` takes the LAST fraction of the training set, before any shuffling
  (Keras' rule); the remaining part is shuffled every epoch with the given generator.
* The loss is the mean sparse categorical cross-entropy of a batch; an epoch's reported loss
  and accuracy are their means over the epoch's samples (Keras' running metrics).
* Each batch is split across ``workers`` threads (default: one per core, at most 2), each
  with a model replica sharing the weights and a single-threaded BLAS; their mean
  gradients are combined, weighted by their sizes, into exactly the batch's mean gradient.
  numpy releases the GIL in its array loops and matmuls, so both cores stay busy.
* glibc is asked to keep freed blocks for reuse (see :mod:`sobelcli.nn._runtime`): the
  same arrays are allocated every batch, and fresh pages cost a fifth of the time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.nn._runtime import keep_freed_memory, set_local_threads
from sobelcli.nn.activations import softmax_cross_entropy
from sobelcli.nn.model import Sequential
from sobelcli.nn.optim import RMSprop

__all__ = ["BatchCallback", "default_workers", "evaluate", "fit", "split_validation", "to_input"]

U8 = NDArray[np.uint8]
#: called after each batch with (batch index, batches per epoch, running loss, running accuracy)
BatchCallback = Callable[[int, int, float, float], None]


def default_workers() -> int:
    """Threads to use: the cores this process may run on, at most 2 (more cost memory)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


def to_input(images: NDArray[Any]) -> NDArray[np.float32]:
    """uint8 (N, H, W) or (N, H, W, 1) -> float32 (N, H, W, 1) in [0, 1] (``x / 255``)."""
    x = np.asarray(images, dtype=np.float32) / np.float32(255)
    return x if x.ndim == 4 else x[..., None]  # type: ignore[no-any-return]


def split_validation(images: U8, labels: U8, fraction: float = 0.2) -> tuple[U8, U8, U8, U8]:
    """Keras' ``validation_split``: the last ``fraction`` of the samples, taken unshuffled.

    Returns (train images, train labels, validation images, validation labels); the split
    index is ``int(N * (1 - fraction))``, e.g. 48,000 of 60,000.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"validation fraction must be in [0, 1), got {fraction}")
    at = int(len(images) * (1 - fraction))
    return images[:at], labels[:at], images[at:], labels[at:]


def _pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(workers, initializer=set_local_threads, initargs=(1,))


def evaluate(
    model: Sequential,
    images: NDArray[Any],
    labels: NDArray[Any],
    batch_size: int = 500,
    workers: int | None = None,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole set, in batches (no training caches)."""
    n = len(images)
    if n == 0:
        return float("nan"), float("nan")

    def one(i: int) -> tuple[float, int]:
        y = labels[i : i + batch_size]
        loss, _, pred = softmax_cross_entropy(
            model.forward(to_input(images[i : i + batch_size])), y
        )
        return loss * len(y), int(np.count_nonzero(pred == y))

    starts = range(0, n, batch_size)
    nw = workers or default_workers()
    if nw > 1 and len(starts) > 1:
        with _pool(nw) as pool:
            parts = list(pool.map(one, starts))
    else:
        parts = [one(i) for i in starts]
    return sum(p[0] for p in parts) / n, sum(p[1] for p in parts) / n


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
    workers: int | None = None,
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
    workers : int, optional
        Threads sharing each batch (default :func:`default_workers`). The result does not
        depend on it beyond float32 rounding.
    on_batch, on_epoch : callable, optional
        Progress hooks (see :data:`BatchCallback`); on_epoch gets the epoch's history row.

    Returns
    -------
    list of dict
        One row per epoch: epoch, loss, accuracy, val_loss, val_accuracy (if validation),
        seconds (training time of the epoch, validation excluded).
    """
    keep_freed_memory()
    opt = optimizer or RMSprop()
    gen = rng or np.random.default_rng()
    n = len(images)
    if n == 0:
        raise ValueError("no training samples")
    nw = max(1, min(workers or default_workers(), batch_size))
    replicas = [model] + [model.replica() for _ in range(nw - 1)]
    params = model.named_params()
    steps = -(-n // batch_size)

    def work(job: tuple[Sequential, NDArray[np.intp]]) -> tuple[float, int, dict[str, Any]]:
        net, idx = job
        y = labels[idx]
        loss, dlogits, pred = softmax_cross_entropy(net.forward(to_input(images[idx]), True), y)
        net.backward(dlogits)
        return loss, int(np.count_nonzero(pred == y)), net.named_grads()

    history: list[dict[str, float]] = []
    pool = _pool(nw) if nw > 1 else None
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            order = gen.permutation(n)
            seen, loss_sum, correct = 0, 0.0, 0
            for step in range(steps):
                idx = np.sort(order[step * batch_size : (step + 1) * batch_size])
                parts = [p for p in np.array_split(idx, nw) if len(p)]
                jobs = list(zip(replicas, parts, strict=False))
                results = list(pool.map(work, jobs)) if pool and len(jobs) > 1 else [work(jobs[0])]
                sizes = [len(p) for p in parts]
                grads = results[0][2]
                if len(results) > 1:
                    # Mean over the batch = size-weighted mean of the parts' means.
                    grads = {
                        k: sum(
                            r[2][k] * (s / len(idx)) for r, s in zip(results, sizes, strict=True)
                        )
                        for k in grads
                    }
                opt.step(params, grads)
                seen += len(idx)
                loss_sum += sum(r[0] * s for r, s in zip(results, sizes, strict=True))
                correct += sum(r[1] for r in results)
                if on_batch is not None:
                    on_batch(step + 1, steps, loss_sum / seen, correct / seen)
            row: dict[str, float] = {
                "epoch": epoch,
                "loss": loss_sum / seen,
                "accuracy": correct / seen,
                "seconds": time.perf_counter() - start,
            }
            if validation is not None and len(validation[0]):
                row["val_loss"], row["val_accuracy"] = evaluate(model, *validation, workers=nw)
            history.append(row)
            if on_epoch is not None:
                on_epoch(row)
    finally:
        if pool is not None:
            pool.shutdown()
    return history
