"""One huge image on the cluster, chunk by chunk, into a Zarr array: edges and dL/dX.

The client only builds the graphs and follows them; the workers read (:mod:`.read`), compute
(:mod:`sobelcli.dask`'s ``map_overlap``) and write (:mod:`.write`). A normalised edge map
takes two passes over the image, as libvips does: the per-chunk maxima first, then the map
divided by their maximum is written, so that no worker holds the whole map.
"""

# dask and distributed ship no type hints for most of their functions.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
from distributed import Client
from numpy.typing import NDArray

from sobelcli import dask as sdask
from sobelcli.dask.options import EdgeOptions, GradOptions, GradSummary, ImageSummary
from sobelcli.dask.read import open_image
from sobelcli.dask.tasks import Progress
from sobelcli.dask.write import compute_blocks, regular, write_zarr, write_zarr_with

__all__ = [
    "EdgeOptions",
    "GradOptions",
    "GradSummary",
    "ImageSummary",
    "edges_to_zarr",
    "grad_input_to_zarr",
]


def _threshold_block(block: NDArray[np.floating], threshold: float) -> NDArray[np.floating]:
    out: NDArray[np.floating] = (block >= threshold).astype(block.dtype)
    return out


def _checked_target(target: str | os.PathLike[str], overwrite: bool) -> Path:
    path = Path(os.fspath(target))
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    return path


def edges_to_zarr(
    client: Client,
    source: str | os.PathLike[str] | da.Array,
    target: str | os.PathLike[str],
    options: EdgeOptions | None = None,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
    zarr_format: int = 3,
) -> ImageSummary:
    """The edge map of a huge TIFF or Zarr image, computed on the cluster into a Zarr array.

    ``E = sqrt((Gx * I)^2 + (Gy * I)^2) / max`` (or the x, y, angle map), equal to
    ``sobelcli.edge_map`` on the whole image read as ``sobelcli edges`` reads it. A normalised
    magnitude, x or y map takes two passes: the per-chunk maxima first, then the map divided
    by their maximum is written; the workers hold a few chunks at a time, never the map.

    Parameters
    ----------
    client : distributed.Client
        From :func:`connect`.
    source : path or dask.array.Array
        A TIFF / Zarr path (see :func:`open_image`), or an already grey 2-D dask array.
    target : path
        The Zarr store to create; written atomically (see :func:`write_zarr`).
    options : EdgeOptions, optional
    overwrite : bool
        Replace an existing target.
    progress : callable, optional
        ``progress(done, total)`` after each chunk of each pass; ``total`` counts both passes.
    zarr_format : {2, 3}
        As in :func:`write_zarr`.

    Returns
    -------
    ImageSummary

    Raises
    ------
    ClusterError
        A worker died (the message names the chunk) or the scheduler was lost.
    ValueError
        A bad input, an image too small for the kernel or pad mode, or values that are NaN,
        infinite, or overflow.
    FileExistsError
        ``target`` exists and ``overwrite`` is false.
    """
    o = options or EdgeOptions()
    start = time.perf_counter()
    target_path = _checked_target(target, overwrite)
    if isinstance(source, da.Array):
        name = "a dask array"
        image = source.astype(o.dtype)
    else:
        name = os.fspath(source)
        image = open_image(source, chunk=o.chunk, dtype=o.dtype, channel=o.channel, alpha=o.alpha)
    kind: Any = o.kind
    raw = sdask.edge_map(image, kind, o.operator, False, o.pad)
    two_pass = o.normalize and o.kind != "angle"
    first = raw.numblocks[0] * raw.numblocks[1] if two_pass else 0
    grid = regular(raw).numblocks
    writes = grid[0] * grid[1]
    total = first + writes
    normalizer: float | None = None
    out = raw
    if o.kind == "angle" and o.normalize:
        out = sdask.edge_map(image, kind, o.operator, True, o.pad)
    elif two_pass:
        maxima = sdask.block_maxima(raw, kind)
        parts = compute_blocks(client, maxima, f"the edge map of {name}", progress, 0, total)
        top = np.max(np.stack([np.asarray(p, dtype=raw.dtype).max() for p in parts]))
        if not np.isfinite(top):
            raise ValueError("values too large: the edge map overflows")
        normalizer = float(top)
        out = sdask.normalize_edges(raw, kind, top)
    if o.threshold is not None:
        out = da.map_blocks(_threshold_block, out, o.threshold, dtype=out.dtype, meta=out._meta)
    attrs = {
        "sobelcli": {
            "source": name,
            "kind": o.kind,
            "operator": o.operator,
            "normalize": o.normalize,
            "pad": o.pad,
            "threshold": o.threshold,
            "normalizer": normalizer,
        }
    }
    lo, hi = write_zarr(
        client,
        out,
        target_path,
        overwrite=overwrite,
        attrs=attrs,
        progress=progress,
        progress_base=(first, total),
        zarr_format=zarr_format,
    )
    stored = regular(out).chunks
    grid = (stored[0][0], stored[1][0])
    return ImageSummary(
        source=name,
        target=str(target_path),
        shape=(int(out.shape[0]), int(out.shape[1])),
        chunks=(int(grid[0]), int(grid[1])),
        dtype=str(out.dtype),
        normalizer=normalizer,
        minimum=lo,
        maximum=hi,
        seconds=time.perf_counter() - start,
    )


# --- one huge image: dL/dX of a loss of the correlation ------------------------------------


def _loss_grad_block(block: NDArray[np.float64], loss: str) -> NDArray[np.float64]:
    from sobelcli.core.losses import get_loss

    out: NDArray[np.float64] = np.asarray(get_loss(loss).grad(block), dtype=block.dtype)
    return out


def _loss_value_block(block: NDArray[np.float64], loss: str) -> NDArray[np.float64]:
    from sobelcli.core.losses import get_loss

    return np.full((1, 1), get_loss(loss).value(block), dtype=np.float64)


def grad_input_to_zarr(
    client: Client,
    source: str | os.PathLike[str] | da.Array,
    target: str | os.PathLike[str],
    options: GradOptions,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
    zarr_format: int = 3,
) -> GradSummary:
    """dL/dX of ``L = loss(K * X)`` for a huge TIFF or Zarr image X, into a Zarr array (float64).

    ``Y = correlate2d(X, K)`` (the lab's eq. 3), ``dL/dY = loss.grad(Y)`` per chunk, and
    ``dL/dX = grad_input(dL/dY, K)`` (eq. 6), each chunk with the halo its kernel needs; the
    methods of the two correlations are chosen once, on the whole shapes, as the in-memory
    ``sobelcli grad-input`` chooses them, so that ``"direct"`` and ``"separable"`` give its
    values bit for bit. L is computed in the same graph as the write.

    Raises
    ------
    ClusterError
        A worker died or the scheduler was lost.
    ValueError
        A bad input, an image smaller than the kernel, or values that overflow.
    FileExistsError
        ``target`` exists and ``overwrite`` is false.
    """
    from sobelcli.core.correlate import choose_method

    start = time.perf_counter()
    target_path = _checked_target(target, overwrite)
    if isinstance(source, da.Array):
        name, image = "a dask array", source.astype(np.float64)
    else:
        name = os.fspath(source)
        image = open_image(
            source,
            chunk=options.chunk,
            dtype="float64",
            channel=options.channel,
            alpha=options.alpha,
        )
    k = options.kernel
    if k.shape[0] > image.shape[0] or k.shape[1] > image.shape[1]:
        raise ValueError(
            f"{name}: image of shape {image.shape} is smaller than the kernel {k.shape}"
        )
    # The methods the in-memory functions pick for the whole image (see module docstring).
    kh, kw = k.shape
    method: Any = choose_method((int(image.shape[0]), int(image.shape[1])), k)
    y = sdask.correlate2d(image, k, method=method)
    padded = (int(y.shape[0]) + 2 * (kh - 1), int(y.shape[1]) + 2 * (kw - 1))
    backward: Any = choose_method(padded, np.ascontiguousarray(k[::-1, ::-1]))
    dy = da.map_blocks(_loss_grad_block, y, options.loss, dtype=y.dtype, meta=y._meta)
    dx = sdask.grad_input(dy, k, method=backward)
    values = da.map_blocks(
        _loss_value_block,
        y,
        options.loss,
        chunks=tuple((1,) * len(c) for c in y.chunks),
        dtype=np.float64,
        meta=np.empty((0, 0), dtype=np.float64),
    )
    attrs = {"sobelcli": {"source": name, "wrt": "input", "loss": options.loss}}

    def finite(parts: list[NDArray[Any]]) -> None:
        if not math.isfinite(math.fsum(float(p.sum()) for p in parts)):
            raise ValueError(f"{name}: values too large: L or its gradient overflows")

    lo, hi, parts = write_zarr_with(
        client,
        dx,
        target_path,
        values,
        overwrite=overwrite,
        attrs=attrs,
        progress=progress,
        zarr_format=zarr_format,
        check=finite,
        dtype=options.dtype,
    )
    loss_value = math.fsum(float(p.sum()) for p in parts)
    stored = regular(dx).chunks
    return GradSummary(
        source=name,
        target=str(target_path),
        shape=(int(dx.shape[0]), int(dx.shape[1])),
        chunks=(int(stored[0][0]), int(stored[1][0])),
        loss_value=loss_value,
        minimum=lo,
        maximum=hi,
        method=f"{method}, {backward}",
        seconds=time.perf_counter() - start,
    )
