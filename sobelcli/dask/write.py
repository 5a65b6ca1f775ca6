"""Writing a dask array into a new Zarr array on the cluster, atomically.

The workers write the chunks into a temporary folder beside the target; once every chunk is
written the folder is renamed into place. On any failure (an error, a dead worker, Ctrl-C) the
temporary folder is removed and the target is left as it was.
"""

# dask and distributed ship no type hints for most of their functions.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
from distributed import Client
from numpy.typing import NDArray

from sobelcli.dask.tasks import Progress, results

__all__ = ["compute_blocks", "regular", "write_zarr", "write_zarr_with"]


def _create_zarr(
    store: str,
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    dtype: str,
    attrs: dict[str, Any],
    zarr_format: int,
) -> None:
    """Create the empty output array (on a worker: the client need not import zarr)."""
    import zarr

    zarr.create_array(
        store=store,
        shape=shape,
        chunks=chunks,
        dtype=dtype,
        fill_value=0,
        attributes=attrs,
        zarr_format=zarr_format,  # type: ignore[arg-type]
        overwrite=True,
    )


def _write_block(
    block: NDArray[Any], store: str, block_info: dict[Any, Any] | None = None
) -> NDArray[np.float64]:
    """Write one block into the Zarr array at ``store``; return its [[[min, max]]]."""
    import zarr

    if not np.isfinite(block).all():
        raise ValueError("values too large: the result overflows")
    assert block_info is not None
    (r0, r1), (c0, c1) = block_info[0]["array-location"]
    zarr.open_array(store, mode="r+")[r0:r1, c0:c1] = block
    return np.array([[[block.min(), block.max()]]], dtype=np.float64)


def _chunk_name(key: Any, what: str) -> str:
    index = key[1:3] if isinstance(key, tuple) and len(key) >= 3 else ()
    where = f"chunk ({index[0]}, {index[1]}) of " if len(index) == 2 else ""
    return f"{where}{what}"


def compute_blocks(
    client: Client,
    blocks: da.Array,
    what: str,
    progress: Progress | None,
    done: int,
    total: int,
    *,
    also: da.Array | None = None,
) -> list[NDArray[Any]]:
    """Compute every block of ``blocks`` (one small array each) on the cluster, with progress.

    ``also``: another array of small blocks computed in the same graph (sharing its tasks),
    whose blocks follow those of ``blocks`` in the list returned (in no particular order).
    """
    parts = list(blocks.to_delayed().ravel())
    extra = list(also.to_delayed().ravel()) if also is not None else []
    futures = client.compute(parts + extra)
    named = {f: _chunk_name(f.key, what) for f in futures[: len(parts)]}
    named.update({f: _chunk_name(f.key, what) for f in futures[len(parts) :]})
    kinds = {f: i < len(parts) for i, f in enumerate(futures)}
    got = list(results(client, named, progress, done, total))
    return [r for f, r in got if kinds[f]] + [r for f, r in got if not kinds[f]]


def _move_into_place(tmp: Path, target: Path, overwrite: bool) -> None:
    if not target.exists() and not target.is_symlink():
        os.replace(tmp, target)
        return
    if not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, old / "x")
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old / "x", target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _grid(chunks: Sequence[int]) -> int:
    """The Zarr chunk size of an axis chunked as ``chunks``: its most common chunk size."""
    counts = Counter(chunks[:-1] or chunks)
    return max(counts, key=lambda size: (counts[size], size))


def regular(array: da.Array) -> da.Array:
    """The array on a regular grid (all chunks of one size but the last), as Zarr stores it."""
    grid = (_grid(array.chunks[0]), _grid(array.chunks[1]))
    out: da.Array = array if _is_regular(array.chunks, grid) else array.rechunk(grid)
    return out


def _is_regular(chunks: tuple[tuple[int, ...], ...], grid: tuple[int, int]) -> bool:
    return all(
        all(c == g for c in axis[:-1]) and axis[-1] <= g
        for axis, g in zip(chunks, grid, strict=True)
    )


def write_zarr(
    client: Client,
    array: da.Array,
    target: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    attrs: dict[str, Any] | None = None,
    progress: Progress | None = None,
    progress_base: tuple[int, int] | None = None,
    zarr_format: int = 3,
) -> tuple[float, float]:
    """Compute a 2-D dask array on the cluster into a new Zarr array, atomically.

    The workers write the chunks into a temporary folder beside ``target``; once every chunk
    is written, the folder is renamed to ``target``. On any failure (an error, a dead worker,
    Ctrl-C) the temporary folder is removed and ``target`` is left as it was.

    Parameters
    ----------
    client : distributed.Client
    array : dask.array.Array, shape (H, W)
        Rechunked to a regular grid (its most common chunk shape) if it is not; that grid is the
        Zarr chunking.
    target : path
        The Zarr store to create (a folder). Workers must see it at the same path.
    overwrite : bool
        Replace an existing ``target``; otherwise FileExistsError.
    attrs : dict, optional
        JSON attributes of the Zarr array.
    progress : callable, optional
        ``progress(done, total)`` after each written chunk.
    progress_base : (int, int), optional
        ``(done, total)`` of a larger job this write is the end of (the chunks already done,
        and the total including this write's chunks).
    zarr_format : {2, 3}
        Zarr's storage format: 3 (zarr-python 3's default) or 2 for older readers.

    Returns
    -------
    (float, float)
        The minimum and maximum of the written values.

    Raises
    ------
    ClusterError
        A worker died or the scheduler was lost.
    ValueError
        A value is NaN or infinite (nothing is written), or what the computation raised.
    """
    lo, hi, _ = write_zarr_with(
        client,
        array,
        target,
        None,
        overwrite=overwrite,
        attrs=attrs,
        progress=progress,
        progress_base=progress_base,
        zarr_format=zarr_format,
    )
    return lo, hi


def write_zarr_with(
    client: Client,
    array: da.Array,
    target: str | os.PathLike[str],
    also: da.Array | None,
    *,
    overwrite: bool = False,
    attrs: dict[str, Any] | None = None,
    progress: Progress | None = None,
    progress_base: tuple[int, int] | None = None,
    zarr_format: int = 3,
    check: Callable[[list[NDArray[Any]]], None] | None = None,
    dtype: str | None = None,
) -> tuple[float, float, list[NDArray[Any]]]:
    """:func:`write_zarr`, computing also the small blocks of ``also`` in the same graph.

    For a figure of the whole computation besides its written map (the loss of ``grad-input``):
    ``also``'s blocks share the tasks that the write computes anyway. Progress counts them,
    after the written chunks. ``check(blocks of also)`` may raise to refuse the result before
    it is moved into place. ``dtype``: the stored dtype, if not the array's (the values are
    cast as they are written; the minimum and maximum are of the values before). Returns the
    minimum, the maximum and ``also``'s blocks.
    """
    target_path = Path(os.fspath(target))
    if array.ndim != 2:
        raise ValueError(f"a Zarr image must be 2-D, got shape {array.shape}")
    if zarr_format not in (2, 3):
        raise ValueError(f"zarr_format must be 2 or 3, got {zarr_format}")
    if (target_path.exists() or target_path.is_symlink()) and not overwrite:
        raise FileExistsError(f"{target_path} exists; pass overwrite=True to replace it")
    array = regular(array)
    grid = (array.chunks[0][0], array.chunks[1][0])
    n = array.numblocks[0] * array.numblocks[1]
    n += also.numblocks[0] * also.numblocks[1] if also is not None else 0
    done, total = progress_base if progress_base is not None else (0, n)
    parent = target_path.parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{target_path.name}.", suffix=".tmp", dir=parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's 0o700 would outlive the rename
    try:
        created = client.submit(
            _create_zarr,
            str(tmp),
            array.shape,
            grid,
            dtype or str(array.dtype),
            attrs or {},
            zarr_format,
            pure=False,
        )
        list(results(client, {created: f"the Zarr array {target_path}"}))
        written = da.map_blocks(
            _write_block,
            array,
            str(tmp),
            chunks=(*(((1,) * len(c)) for c in array.chunks), (2,)),
            new_axis=2,
            dtype=np.float64,
            meta=np.empty((0, 0, 0), dtype=np.float64),
        )
        parts = compute_blocks(client, written, str(target_path), progress, done, total, also=also)
        count = written.numblocks[0] * written.numblocks[1]
        lo = min(float(p[..., 0].min()) for p in parts[:count])
        hi = max(float(p[..., 1].max()) for p in parts[:count])
        if check is not None:
            check(parts[count:])
        _move_into_place(tmp, target_path, overwrite)
    except BaseException:
        _discard(tmp)
        raise
    return lo, hi, parts[count:]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _discard(tmp: Path) -> None:
    """Remove a failed write's folder, and again once the cancelled writes still running end.

    dask does not interrupt a running task: a chunk write that was under way may recreate
    its chunk's folder just after the first removal.
    """
    shutil.rmtree(tmp, ignore_errors=True)
    time.sleep(0.5)
    shutil.rmtree(tmp, ignore_errors=True)
