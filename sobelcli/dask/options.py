"""The options and summaries of :mod:`sobelcli.dask.to_zarr`: what to compute, what was written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sobelcli.engine.stream import EdgeOptions as StreamEdgeOptions

__all__ = ["EdgeOptions", "GradOptions", "GradSummary", "ImageSummary"]


@dataclass(frozen=True)
class EdgeOptions(StreamEdgeOptions):
    """What :func:`edges_to_zarr` computes; the meanings of ``sobelcli edges``' options.

    The map's own options (``kind``, ``operator``, ``normalize``, ``pad``) and their checks are
    the streaming engine's (:class:`sobelcli.engine.stream.EdgeOptions`); these add how the
    image is read, thresholded and cut into chunks.

    Attributes
    ----------
    kind, operator, normalize, pad
        As :class:`sobelcli.engine.stream.EdgeOptions`.
    threshold : float or None
        Write 1 where the normalised value is >= threshold, else 0 (needs ``normalize``).
    dtype : {"float32", "float64"}
        The working and output dtype.
    channel : int or None
        A colour image's channel instead of its luminance.
    alpha : {"white", "black", "ignore"}
        How an alpha channel is composited, as ``--alpha`` says.
    chunk : int
        Chunks of about ``chunk`` x ``chunk`` pixels (whole stored tiles). Each chunk is a
        few dask tasks, costing the client and scheduler about 1 ms each: 2048 (16 MB of
        float32 a chunk) keeps that cost well under the workers'; smaller chunks spread a
        small image over more workers.
    """

    threshold: float | None = None
    dtype: str = "float32"
    channel: int | None = None
    alpha: str = "white"
    chunk: int = 2048

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")
        if self.chunk < 3:
            raise ValueError(f"chunk must be at least 3 pixels, got {self.chunk}")
        if self.threshold is not None:
            if not self.normalize:
                raise ValueError("a threshold compares with the normalised map; normalise it")
            if not 0 <= self.threshold <= 1:
                raise ValueError(f"threshold must lie in [0, 1], got {self.threshold}")


@dataclass(frozen=True)
class ImageSummary:
    """What :func:`edges_to_zarr` wrote.

    Attributes
    ----------
    source, target : str
    shape : (int, int)
        (H, W) of the written map.
    chunks : (int, int)
        Its Zarr chunk shape.
    dtype : str
    normalizer : float or None
        The maximum the map was divided by (``max|g|`` for x and y); None when not normalised
        or for angle.
    minimum, maximum : float
        Of the written values.
    seconds : float
        Wall time.
    """

    source: str
    target: str
    shape: tuple[int, int]
    chunks: tuple[int, int]
    dtype: str
    normalizer: float | None
    minimum: float
    maximum: float
    seconds: float


@dataclass(frozen=True)
class GradOptions:
    """What :func:`grad_input_to_zarr` computes; the meanings of ``sobelcli grad-input``' options.

    Attributes
    ----------
    kernel : array_like, shape (kh, kw)
        K of ``Y = K * X``, the lab's valid cross-correlation.
    loss : {"sumsq", "logcosh", "softplus", "sum"}
        L of Y; dL/dY is its gradient.
    channel : int or None
        A colour image's channel instead of its luminance.
    alpha : {"white", "black", "ignore"}
        How an alpha channel is composited, as ``--alpha`` says.
    chunk : int
        Chunks of about ``chunk`` x ``chunk`` pixels (whole stored tiles).
    dtype : {"float32", "float64"}
        The stored dtype; the computation is in float64 (float32 as ``sobelcli grad-input``
        writes a ``.zarr``).
    """

    kernel: Any = field(default=None)
    loss: str = "sumsq"
    channel: int | None = None
    alpha: str = "white"
    chunk: int = 2048
    dtype: str = "float32"

    def __post_init__(self) -> None:
        from sobelcli.core.losses import get_loss

        k = np.asarray(self.kernel, dtype=np.float64)
        if k.ndim != 2 or k.size == 0 or not np.isfinite(k).all():
            raise ValueError(f"the kernel must be a finite, non-empty 2-D array, got {k.shape}")
        object.__setattr__(self, "kernel", k)
        get_loss(self.loss)  # raises on an unknown name
        if self.chunk < 1:
            raise ValueError(f"chunk must be at least 1 pixel, got {self.chunk}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")


@dataclass(frozen=True)
class GradSummary:
    """What :func:`grad_input_to_zarr` wrote: dL/dX, and the figures of ``grad-input``.

    ``loss_value`` is L, summed per chunk of Y and then over the chunks (the in-memory sum
    may differ in the last bits); ``method`` names the methods of the forward correlation and
    of dL/dX, chosen once for the whole image as the in-memory functions would.
    """

    source: str
    target: str
    shape: tuple[int, int]
    chunks: tuple[int, int]
    loss_value: float
    minimum: float
    maximum: float
    method: str
    seconds: float
