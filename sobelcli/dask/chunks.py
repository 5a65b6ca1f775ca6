"""The halo machinery of :mod:`sobelcli.dask`: checks, chunk layout, and the overlap map.

A filter whose output pixel ``(i, j)`` reads input rows ``i .. i + kh - 1`` and columns
``j .. j + kw - 1`` (a valid correlation) runs on each chunk extended by the ``kh - 1`` rows
and ``kw - 1`` columns its neighbours lend it (:func:`halo_map`, with
``dask.array.map_overlap``, ``boundary="none"``). Chunks are merged (never split) until every
chunk can lend its halo and no output chunk is empty, whatever the input's chunks.
"""

# dask ships no type hints for most of its functions.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

try:
    import dask.array as da
except ImportError as exc:  # pragma: no cover - the extra is not installed
    raise ImportError(
        f"sobelcli.dask needs dask ({exc}); install it with: pip install 'sobelcli[dask]'"
    ) from exc
from numpy.typing import NDArray

import sobelcli
from sobelcli.engine.strips import NUMPY_PAD
from sobelcli.names import OUTPUT_KINDS

Method = Literal["auto", "direct", "separable", "fft"]
#: The output kinds of :func:`edge_map`, as :func:`sobelcli.edge_map` names them.
KINDS: tuple[str, ...] = OUTPUT_KINDS
#: scipy.ndimage's border modes (the ``pad`` names) and numpy.pad's name for each.
PAD_MODES: dict[str, str] = NUMPY_PAD
#: The in-memory methods of a correlation, run on each chunk.
METHODS: tuple[str, ...] = ("auto", "direct", "separable", "fft")
#: A 3 x 3 operator reads 2 rows (columns) past each output row (column).
EDGE_HALO = 2

Chunks = tuple[int, ...]


def api(name: str) -> Callable[..., Any]:
    """A function of sobelcli's public, in-memory API (imported lazily by sobelcli itself)."""
    function: Callable[..., Any] = getattr(sobelcli, name)
    return function


# --- checks ---------------------------------------------------------------------------------


def working_dtype(dtype: Any) -> np.dtype[np.floating[Any]]:
    """The dtype the engine computes in for an input dtype: float32 or float64.

    Parameters
    ----------
    dtype : numpy dtype or anything :class:`numpy.dtype` accepts

    Returns
    -------
    numpy.dtype
        float32 for float16 and float32; float64 for float64, integers and booleans.

    Raises
    ------
    ValueError
        For a dtype that is not a real number (complex, object, string...).
    """
    dt = np.dtype(dtype)
    if dt.kind not in "biuf":
        raise ValueError(f"image must hold real numbers, got dtype {dt}")
    if dt in (np.float16, np.float32):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def check_array(array: Any, name: str = "image") -> da.Array:
    """``array`` if it is a 2-D, non-empty dask array of real numbers with known chunks."""
    if not isinstance(array, da.Array):
        raise TypeError(
            f"{name} must be a dask.array.Array, got {type(array).__name__}; "
            "for a numpy array use the functions of sobelcli itself"
        )
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {array.shape}")
    if any(math.isnan(n) for n in array.shape):
        raise ValueError(
            f"{name} has unknown chunk sizes (shape {array.shape}); call compute_chunk_sizes()"
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    working_dtype(array.dtype)  # raises on a dtype that is not real numbers
    return array


def check_operator(operator: str) -> None:
    """Raise ValueError for an unknown operator, with the in-memory function's message."""
    api("edge_gradients")(np.zeros((3, 3)), operator)


def check_pad(pad: str | None, shape: tuple[int, ...]) -> None:
    """Raise ValueError for an unknown pad mode, or an image too thin for the kernel or mode."""
    if pad is None:
        if shape[0] < 3 or shape[1] < 3:
            raise ValueError(
                f"image of shape {shape} is smaller than the 3 x 3 kernel; "
                "use a pad mode to filter images thinner than 3 pixels"
            )
        return
    if pad not in PAD_MODES:
        raise ValueError(f"unknown pad mode {pad!r}; choose one of {', '.join(PAD_MODES)}")
    if pad == "mirror" and min(shape) < 2:
        raise ValueError(f"pad 'mirror' needs at least 2 pixels in each axis, got shape {shape}")


def check_kind(kind: str) -> None:
    """Raise ValueError for an unknown output kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown output kind {kind!r}; choose one of {', '.join(KINDS)}")


# --- chunk layout and the halo map ----------------------------------------------------------


def _merge_small(chunks: Chunks, least: int) -> Chunks:
    """Merge neighbouring chunks until each holds at least ``least`` elements (or there is one)."""
    out: list[int] = []
    run = 0
    for size in chunks:
        run += size
        if run >= least:
            out.append(run)
            run = 0
    if run:
        if out:
            out[-1] += run
        else:
            out.append(run)
    return tuple(out)


def _layout(chunks: Chunks, before: int, after: int, least: int = 1) -> tuple[Chunks, Chunks]:
    """Input and output chunks, along one axis, of a filter with a halo ``before`` + ``after``.

    Output element i reads input elements ``i .. i + before + after``. Input chunk j, extended
    by ``before`` elements of the chunk before it and ``after`` of the chunk after it, yields
    output chunk j: the same size, less ``before`` for the first chunk and ``after`` for the
    last. Neighbouring chunks are merged (never split, so no data moves but at the merges)
    until every chunk can lend its neighbours their halo and every output chunk holds at
    least ``least`` elements. A pad chunk of ``dask.array.pad`` thus joins the image's first
    or last chunk, and the padded map keeps the image's chunks.
    """
    merged = list(_merge_small(chunks, max(before, after, least, 1)))
    while len(merged) > 1 and merged[0] < before + least:
        merged[0:2] = [merged[0] + merged[1]]
    while len(merged) > 1 and merged[-1] < after + least:
        merged[-2:] = [merged[-2] + merged[-1]]
    out = list(merged)
    out[0] -= before
    out[-1] -= after
    return tuple(merged), tuple(out)


def halo_map(
    x: da.Array,
    halo: tuple[int, int],
    func: Callable[..., NDArray[Any]],
    dtype: np.dtype[Any],
    params: dict[str, Any],
    least: tuple[int, int] = (1, 1),
    pair: bool = False,
    centred: bool = False,
) -> da.Array:
    """``func(block, **params)`` of every chunk of ``x`` with its halo: a valid filter, lazily.

    ``halo`` is the kernel's shape less one. Each chunk is extended by ``halo`` rows (columns)
    of the chunks after it, or, ``centred``, by ``halo // 2`` of the chunk before it and the
    rest after it (none past the image's ends); ``func`` returns the valid part of that block,
    ``halo`` smaller; with ``pair`` two such maps stacked, shape (2, h, w). Not centred, the
    output chunks are the input's (cut at the end): right for a valid map. Centred, they are
    the input's less ``halo // 2`` at the start: right for an image padded by ``halo // 2``,
    whose pad chunks join the image's end chunks and whose map keeps the image's chunks.
    """
    (b0, a0), (b1, a1) = ((h // 2 if centred else 0, h - (h // 2 if centred else 0)) for h in halo)
    inp0, out0 = _layout(tuple(x.chunks[0]), b0, a0, least[0])
    inp1, out1 = _layout(tuple(x.chunks[1]), b1, a1, least[1])
    if (inp0, inp1) != x.chunks:
        x = x.rechunk((inp0, inp1))
    chunks: tuple[Chunks, ...] = (out0, out1)
    extra: dict[str, Any] = {}
    if pair:
        chunks = ((2,), out0, out1)
        extra["new_axis"] = 0
    mapped: da.Array = da.map_overlap(
        func,
        x,
        depth={0: (b0, a0), 1: (b1, a1)},
        boundary="none",
        trim=False,
        allow_rechunk=False,
        chunks=chunks,
        dtype=dtype,
        meta=np.empty((0,) * len(chunks), dtype=dtype),
        **extra,
        **params,
    )
    return mapped
