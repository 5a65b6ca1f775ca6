"""Edge maps of dask arrays, lazily: the twins of :func:`sobelcli.edge_map` and its siblings.

A 3 x 3 operator needs a halo of 2 rows and 2 columns: each chunk is extended with the 2 rows
and columns that follow it and handed to the in-memory engine, which computes the chunk's part
of the valid map (:func:`sobelcli.dask.chunks.halo_map`). A ``pad`` mode first extends the
image by one pixel on each side with :func:`dask.array.pad`, using numpy's name of
scipy.ndimage's mode (see :data:`~sobelcli.dask.chunks.PAD_MODES`); the pad joins the image's
end chunks, each chunk takes 1 row and column from each side, and the padded map has exactly
the image's chunks. Normalising divides by the map's global maximum, a dask reduction;
:func:`block_maxima` and :func:`normalize_edges` split the two steps for a caller that prefers
two passes over the data (the maximum first, then the write).
"""

# dask ships no type hints for most of its functions.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

from typing import Any, Literal

import dask.array as da
import numpy as np
from numpy.typing import NDArray

from sobelcli.dask.chunks import (
    EDGE_HALO,
    PAD_MODES,
    api,
    check_array,
    check_kind,
    check_operator,
    check_pad,
    halo_map,
    working_dtype,
)

__all__ = [
    "block_maxima",
    "edge_gradients",
    "edge_magnitude",
    "edge_map",
    "edge_maximum",
    "normalize_edges",
]

Kind = Literal["magnitude", "x", "y", "angle"]


def _edge_input(array: da.Array, operator: str, pad: str | None) -> tuple[da.Array, dict[str, Any]]:
    """The image in its working dtype, padded by one pixel for a pad mode; halo_map's options."""
    x = check_array(array)
    check_operator(operator)
    check_pad(pad, x.shape)
    x = x.astype(working_dtype(x.dtype))
    if pad is None:
        return x, {"centred": False}
    padded: da.Array = da.pad(x, 1, mode=PAD_MODES[pad])
    return padded, {"centred": True}


# --- per-chunk functions (top level, so that they pickle by reference) -----------------------


def _magnitude_block(block: NDArray[np.floating], operator: str) -> NDArray[np.floating]:
    out: NDArray[np.floating] = api("edge_magnitude")(block, operator, normalize=False)
    return out


def _pair_block(block: NDArray[np.floating], operator: str) -> NDArray[np.floating]:
    gx, gy = api("edge_gradients")(block, operator)
    return np.stack([gx, gy])


def _signed_block(block: NDArray[np.floating], operator: str, axis: int) -> NDArray[np.floating]:
    signed: NDArray[np.floating] = api("edge_gradients")(block, operator)[axis]
    return signed


def _angle_block(
    block: NDArray[np.floating], operator: str, normalize: bool
) -> NDArray[np.floating]:
    gx, gy = api("edge_gradients")(block, operator)
    angle: NDArray[np.floating] = np.arctan2(gy, gx)
    if normalize:  # the same two in-place steps as sobelcli.edge_map
        angle += np.pi
        angle /= 2 * np.pi
    return angle


def _block_top(block: NDArray[np.floating], kind: str) -> NDArray[np.floating]:
    """The block's contribution to the normaliser, as a (1, 1) array."""
    if kind == "angle":
        top = 0
    else:
        top = np.abs(block).max() if kind in ("x", "y") else block.max()
    return np.full((1, 1), top, dtype=block.dtype)


def _scale_block(block: NDArray[np.floating], top: Any, kind: str) -> NDArray[np.floating]:
    """Normalise one block by the map's maximum, with sobelcli.edge_map's arithmetic."""
    top = np.asarray(top, dtype=block.dtype)[()]  # a numpy scalar of the map's dtype
    if kind in ("x", "y"):
        out: NDArray[np.floating] = block.copy()
        if top > 0:
            out /= 2 * top
        out += 0.5
        return out
    if kind == "magnitude" and top > 0:
        scaled: NDArray[np.floating] = np.divide(block, top)
        return scaled
    return block


# --- the edge maps --------------------------------------------------------------------------


def edge_gradients(
    array: da.Array, operator: str = "sobel", pad: str | None = None
) -> tuple[da.Array, da.Array]:
    """The two derivative maps ``(Gx * I, Gy * I)`` of an operator, lazily.

    With d = (-1, 0, 1) and the operator's smoothing s (Sobel (1, 2, 1), Scharr (3, 10, 3),
    Prewitt (1, 1, 1)): ``Gx = outer(d, s)`` (the derivative along axis 0, rows) and
    ``Gy = Gx^T``, each applied as the lab's valid cross-correlation.

    Parameters
    ----------
    array : dask.array.Array, shape (H, W)
        Grey image, any real dtype; float16/float32 compute in float32, others in float64.
    operator : {"sobel", "scharr", "prewitt"}
    pad : {"reflect", "mirror", "nearest", "constant", "wrap"} or None
        None gives the valid maps; a scipy.ndimage border mode keeps (H, W).

    Returns
    -------
    gx, gy : dask.array.Array, shape (H - 2, W - 2), or (H, W) with pad
        Raw responses, equal to :func:`sobelcli.edge_gradients` on the computed array. Both
        come from one set of chunk tasks: computing them together (``dask.compute(gx, gy)``)
        runs the operator once per chunk.
    """
    x, how = _edge_input(array, operator, pad)
    halo = (EDGE_HALO, EDGE_HALO)
    both = halo_map(x, halo, _pair_block, x.dtype, {"operator": operator}, pair=True, **how)
    return both[0], both[1]


def edge_maximum(raw: da.Array, kind: Kind = "magnitude") -> da.Array:
    """The normaliser of an unnormalised edge map: a 0-d dask reduction.

    Parameters
    ----------
    raw : dask.array.Array
        A map of :func:`edge_map` with ``normalize=False``.
    kind : {"magnitude", "x", "y", "angle"}

    Returns
    -------
    dask.array.Array, shape ()
        ``max(raw)`` for magnitude, ``max(|raw|)`` for x and y (0 for angle, which needs none).
    """
    top: da.Array = block_maxima(raw, kind).max()
    return top


def block_maxima(raw: da.Array, kind: Kind = "magnitude") -> da.Array:
    """Each chunk's part of :func:`edge_maximum`: one value per chunk of ``raw``.

    For a caller that computes the normaliser as a first pass and follows its progress chunk
    by chunk (``to_delayed()``); the maximum of these values is :func:`edge_maximum`.

    Parameters
    ----------
    raw : dask.array.Array, shape (H, W)
        A map of :func:`edge_map` with ``normalize=False``.
    kind : {"magnitude", "x", "y", "angle"}

    Returns
    -------
    dask.array.Array, shape (number of row chunks, number of column chunks)
        ``max(block)`` for magnitude, ``max(|block|)`` for x and y, 0 for angle; raw's dtype.
    """
    check_kind(kind)
    maxima: da.Array = da.map_blocks(
        _block_top,
        raw,
        kind=kind,
        chunks=tuple((1,) * len(c) for c in raw.chunks),
        dtype=raw.dtype,
        meta=np.empty((0, 0), dtype=raw.dtype),
    )
    return maxima


def normalize_edges(raw: da.Array, kind: Kind, top: Any) -> da.Array:
    """Normalise an edge map by its maximum ``top``, as :func:`sobelcli.edge_map` does.

    ``magnitude``: ``E = raw / top`` (unchanged when top is 0). ``x`` / ``y``:
    ``raw / (2 top) + 0.5`` (``raw + 0.5`` when top is 0). ``angle`` is normalised per pixel
    by :func:`edge_map` itself and passes through.

    Parameters
    ----------
    raw : dask.array.Array
        A map of :func:`edge_map` with ``normalize=False`` (not ``angle``).
    kind : {"magnitude", "x", "y", "angle"}
    top : float, numpy scalar or 0-d dask.array.Array
        :func:`edge_maximum` of ``raw``, lazy or already computed (two passes).

    Returns
    -------
    dask.array.Array
        Same shape, chunks and dtype as ``raw``.
    """
    check_kind(kind)
    if kind == "angle":
        return raw
    if not isinstance(top, da.Array):
        top = np.asarray(top, dtype=raw.dtype)
    scaled: da.Array = da.map_blocks(
        _scale_block, raw, top, kind=kind, dtype=raw.dtype, meta=raw._meta
    )
    return scaled


def edge_map(
    array: da.Array,
    kind: Kind = "magnitude",
    operator: str = "sobel",
    normalize: bool = True,
    pad: str | None = None,
) -> da.Array:
    """One edge map, lazily: the dask twin of :func:`sobelcli.edge_map`.

    Parameters
    ----------
    array : dask.array.Array, shape (H, W)
    kind : {"magnitude", "x", "y", "angle"}
        ``magnitude``: ``sqrt((Gx * I)^2 + (Gy * I)^2)``, divided by its maximum when
        normalised. ``x`` / ``y``: the signed responses; normalised, ``g / (2 max|g|) + 0.5``.
        ``angle``: ``atan2(Gy * I, Gx * I)`` in [-pi, pi]; normalised, ``(a + pi) / (2 pi)``.
    operator : {"sobel", "scharr", "prewitt"}
    normalize : bool
        Divide by the global maximum (a dask reduction: computing the result reads the map
        twice, or holds it, depending on the scheduler).
    pad : {"reflect", "mirror", "nearest", "constant", "wrap"} or None

    Returns
    -------
    dask.array.Array, shape (H - 2, W - 2), or (H, W) with pad
        float32 for float16/float32 input, float64 otherwise. With pad, the input's chunks;
        without, the input's cut at H - 2 and W - 2 (an end chunk of 1 or 2 pixels joins its
        neighbour first).
    """
    check_kind(kind)
    x, how = _edge_input(array, operator, pad)
    halo = (EDGE_HALO, EDGE_HALO)
    if kind == "angle":
        params = {"operator": operator, "normalize": bool(normalize)}
        return halo_map(x, halo, _angle_block, x.dtype, params, **how)
    if kind == "magnitude":
        raw = halo_map(x, halo, _magnitude_block, x.dtype, {"operator": operator}, **how)
    else:
        params = {"operator": operator, "axis": 0 if kind == "x" else 1}
        raw = halo_map(x, halo, _signed_block, x.dtype, params, **how)
    if not normalize:
        return raw
    return normalize_edges(raw, kind, edge_maximum(raw, kind))


def edge_magnitude(
    array: da.Array, operator: str = "sobel", pad: str | None = None, normalize: bool = True
) -> da.Array:
    """Edge magnitude ``E = sqrt((Gx * I)^2 + (Gy * I)^2) / max``, lazily: the lab's eq. (2).

    Parameters
    ----------
    array : dask.array.Array, shape (H, W)
        Grey image; float16/float32 in gives float32 out, anything else float64.
    operator : {"sobel", "scharr", "prewitt"}
        Sobel is the lab's: Gx = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]], Gy = Gx^T.
    pad : {"reflect", "mirror", "nearest", "constant", "wrap"} or None
        None (default) gives the valid (H - 2) x (W - 2) map; a mode keeps (H, W).
    normalize : bool
        Divide by the global maximum (a dask reduction), so that E lies in [0, 1]; a constant
        image gives zeros.

    Returns
    -------
    dask.array.Array, shape (H - 2, W - 2), or (H, W) with pad
        Equal to ``sobelcli.edge_magnitude(array.compute(), operator, pad=pad,
        normalize=normalize)``.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> step = da.from_array(np.repeat([[0.0, 0.0, 1.0, 1.0]], 4, axis=0), chunks=2)
    >>> edge_magnitude(step).compute()
    array([[1., 1.],
           [1., 1.]])
    """
    return edge_map(array, "magnitude", operator, normalize, pad)
