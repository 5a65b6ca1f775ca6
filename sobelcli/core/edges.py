"""Edge maps: the derivative pair of a 3 x 3 operator, its magnitude (the lab's eq. 2) and angle.

With ``Gx = outer((-1, 0, 1), s)`` and ``Gy = Gx^T`` for the operator's smoothing factor s,

    E = sqrt((Gx * I)^2 + (Gy * I)^2) / max(...)

where ``*`` is the lab's valid correlation. Without ``pad`` the maps are (H - 2) x (W - 2) as
in the lab; with a pad mode the image is first extended by one pixel on each side, so the maps
keep the input's size and equal ``scipy.ndimage.correlate(I, G, mode=pad)``.

Three options extend this (each off by default, leaving every result above as it was):

- ``sigma``: the image is first smoothed by :func:`sobelcli.core.smooth.gaussian`, equal to
  ``scipy.ndimage.gaussian_filter(I, sigma, truncate=4.0, mode=pad)``; without a pad mode the
  smoothing extends the image by "reflect" (it keeps the size) and the derivative stays valid.
- ``ksize``: 5 or 7 replaces the 3 x 3 Sobel pair by :func:`sobelcli.core.kernels.sobel_pair`
  of that size (OpenCV's ``Sobel(ksize=...)``); the valid maps are then (H - k + 1) x (W - k + 1),
  and a pad mode extends the image by k // 2 pixels.
- ``percentile``: normalise by the P-th percentile p of the magnitude (of ``|G|`` for the
  signed maps) instead of the maximum, and clip: ``E = min(1, |G| / p)``. P = 100 is the
  maximum, bit for bit the default normalisation.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sobelcli import engine as _engine
from sobelcli.core.correlate import _as_2d, result_dtype
from sobelcli.core.kernels import SMOOTH, sobel_factors
from sobelcli.core.smooth import gaussian
from sobelcli.engine.strips import NUMPY_PAD
from sobelcli.names import OUTPUT_KINDS, PAD_MODES

__all__ = [
    "NUMPY_PAD",
    "OUTPUT_KINDS",
    "PAD_MODES",
    "check_percentile",
    "edge_gradients",
    "edge_magnitude",
    "edge_map",
    "pad_image",
    "percentile_normalise",
]

Kind = Literal["magnitude", "x", "y", "angle"]

assert tuple(NUMPY_PAD) == PAD_MODES


def _image(image: ArrayLike) -> NDArray[np.floating]:
    arr = _as_2d(image, "image")  # 2-D, real, non-empty, finite
    out: NDArray[np.floating] = arr.astype(result_dtype(arr), copy=False)
    return out


def pad_image(image: ArrayLike, pad: str | None, width: int = 1) -> NDArray[np.floating]:
    """Extend an image by ``width`` pixels on every side with a scipy.ndimage border mode.

    Parameters
    ----------
    image : array_like, shape (H, W)
    pad : {"reflect", "mirror", "nearest", "constant", "wrap"} or None
        None returns the image unchanged (the lab's "valid" output).
    width : int

    Returns
    -------
    ndarray, shape (H + 2 width, W + 2 width)
    """
    arr = _image(image)
    if pad is None:
        return arr
    if pad not in PAD_MODES:
        raise ValueError(f"unknown pad mode {pad!r}; choose one of {', '.join(PAD_MODES)}")
    return np.pad(arr, width, mode=NUMPY_PAD[pad])  # type: ignore[call-overload,no-any-return]


def _prepared(
    image: ArrayLike, operator: str, pad: str | None, ksize: int = 3, sigma: float | None = None
) -> NDArray[np.floating]:
    if operator not in SMOOTH:
        raise ValueError(f"unknown operator {operator!r}; choose one of {', '.join(SMOOTH)}")
    if ksize != 3:
        sobel_factors(ksize)  # raises for a size that is not 3, 5 or 7
        if operator != "sobel":
            raise ValueError(
                f"kernel size {ksize} exists for the Sobel operator only; {operator} is 3 x 3"
            )
    if sigma is not None:
        image = gaussian(image, sigma, pad)
    arr = pad_image(image, pad, ksize // 2)
    if arr.shape[0] < ksize or arr.shape[1] < ksize:
        raise ValueError(
            f"image of shape {arr.shape} is smaller than the {ksize} x {ksize} kernel; "
            f"use a pad mode to filter images thinner than {ksize} pixels"
        )
    return arr


def _larger_pair(
    arr: NDArray[np.floating], ksize: int
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """Valid gx, gy of the Sobel pair of size ksize > 3: two separable correlations."""
    d, s = (f.astype(arr.dtype) for f in sobel_factors(ksize))
    return _engine.separable(arr, d, s), _engine.separable(arr, s, d)


def _hypot(gx: NDArray[np.floating], gy: NDArray[np.floating]) -> NDArray[np.floating]:
    """``sqrt(gx^2 + gy^2)``, a new array; ``np.hypot`` where the squares overflow or vanish."""
    info = np.finfo(gx.dtype)
    with np.errstate(over="ignore", under="ignore"):
        sq: NDArray[np.floating] = np.multiply(gx, gx)
        sq += gy * gy
    top2 = sq.max()
    if np.isfinite(top2) and top2 >= float(info.tiny) / float(info.eps):
        np.sqrt(sq, out=sq)
    else:
        np.hypot(gx, gy, out=sq)
    return sq


def check_percentile(percentile: float) -> float:
    """Return ``percentile`` as a float if ``0 < P <= 100``, else raise ValueError."""
    try:
        value = float(percentile)
    except (TypeError, ValueError):
        raise ValueError(f"the percentile must be a number, got {percentile!r}") from None
    if not 0 < value <= 100:  # also refuses NaN
        raise ValueError(f"the percentile must lie in (0, 100], got {percentile!r}")
    return value


def percentile_normalise(
    values: NDArray[np.floating], percentile: float, signed: bool = False
) -> NDArray[np.floating]:
    """Divide by the P-th percentile of ``|values|`` and clip, in place.

    With p = ``numpy.percentile(|values|, P)`` (linear interpolation): magnitudes become
    ``min(1, v / p)``; signed maps (``signed=True``) become ``0.5 + clip(v / (2 p), -0.5,
    0.5)``, 0.5 for zero. When p = 0 (more than P % of the values are 0) the limit p -> 0+ is
    taken: every nonzero magnitude becomes 1 (a signed value 0 or 1 by its sign); an all-zero
    map stays zeros (0.5 when signed). P = 100 gives the maximum, so the result equals the
    default normalisation bit for bit.

    Parameters
    ----------
    values : ndarray, shape (...)
        Non-negative magnitudes, or signed responses with ``signed``; any shape (the
        percentile is over every value, e.g. jointly over three colour channels).
    percentile : float
        P, with 0 < P <= 100.
    signed : bool

    Returns
    -------
    ndarray
        ``values``, changed in place.
    """
    value = check_percentile(percentile)
    top = np.percentile(np.abs(values) if signed else values, value)
    if not signed:
        if top > 0:
            np.divide(values, top, out=values)
            np.minimum(values, 1, out=values)
        else:
            np.greater(values, 0, out=values, casting="unsafe")
        return values
    if top > 0:
        np.divide(values, 2 * top, out=values)
        np.clip(values, -0.5, 0.5, out=values)
    else:
        np.sign(values, out=values)
        values *= 0.5
    values += 0.5
    return values


def _checked_percentile(percentile: float | None, normalize: bool) -> float | None:
    if percentile is None:
        return None
    if not normalize:
        raise ValueError("a percentile sets the normalisation; it needs normalize=True")
    return check_percentile(percentile)


def edge_gradients(
    image: ArrayLike,
    operator: str = "sobel",
    pad: str | None = None,
    *,
    ksize: int = 3,
    sigma: float | None = None,
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """The two derivative maps ``(Gx * I, Gy * I)`` of an operator.

    Parameters
    ----------
    image : array_like, shape (H, W)
    operator : {"sobel", "scharr", "prewitt"}
    pad : str or None
        A border mode of :func:`pad_image`, or None for the valid (H - 2) x (W - 2) maps.
    ksize : {3, 5, 7}
        Size of the Sobel pair (:func:`sobelcli.core.kernels.sobel_pair`); 5 and 7 are Sobel's
        only. The valid maps are (H - ksize + 1) x (W - ksize + 1).
    sigma : float or None
        Smooth first with :func:`sobelcli.core.smooth.gaussian` (border: ``pad``, or
        "reflect" without one, so the image keeps its size before the derivative).

    Returns
    -------
    gx, gy : ndarray, shape (H - 2, W - 2), or (H, W) with pad
        Raw (unnormalised) responses; gx is the derivative along axis 0 (rows).
    """
    arr = _prepared(image, operator, pad, ksize, sigma)
    if ksize != 3:
        return _larger_pair(arr, ksize)
    shape = (arr.shape[0] - 2, arr.shape[1] - 2)
    gx = np.empty(shape, dtype=arr.dtype)
    gy = np.empty(shape, dtype=arr.dtype)

    def keep(sx: NDArray[np.floating], sy: NDArray[np.floating], r0: int, r1: int) -> None:
        gx[r0:r1] = sx
        gy[r0:r1] = sy

    _engine.gradient_pair(arr, SMOOTH[operator], keep)
    return gx, gy


def edge_magnitude(
    image: ArrayLike,
    operator: str = "sobel",
    normalize: bool = True,
    pad: str | None = None,
    *,
    ksize: int = 3,
    sigma: float | None = None,
    percentile: float | None = None,
) -> NDArray[np.floating]:
    """Edge magnitude ``E = sqrt((Gx * I)^2 + (Gy * I)^2) / max``: the lab's eq. (2).

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey image; float32 in gives float32 out, anything else float64.
    operator : {"sobel", "scharr", "prewitt"}
        Sobel is the lab's: Gx = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]], Gy = Gx^T.
    normalize : bool
        Divide by the maximum so that E lies in [0, 1]. A constant image gives zeros, not NaN.
    pad : {"reflect", "mirror", "nearest", "constant", "wrap"} or None
        None (default) gives the lab's valid (H - 2) x (W - 2) map; a mode keeps (H, W).
    ksize, sigma
        As in :func:`edge_gradients`.
    percentile : float or None
        Normalise by the P-th percentile (0 < P <= 100) and clip to 1 instead of dividing by
        the maximum (:func:`percentile_normalise`); needs ``normalize``.

    Returns
    -------
    ndarray, shape (H - 2, W - 2), or (H, W) with pad

    Examples
    --------
    >>> import numpy as np
    >>> from sobelcli import edge_magnitude
    >>> step = np.repeat([[0.0, 0.0, 1.0, 1.0]], 4, axis=0)
    >>> edge_magnitude(step)
    array([[1., 1.],
           [1., 1.]])
    """
    robust = _checked_percentile(percentile, normalize)
    arr = _prepared(image, operator, pad, ksize, sigma)
    if ksize == 3:
        out = _engine.gradient_magnitude(arr, SMOOTH[operator], normalize and robust is None)
    else:
        out = _hypot(*_larger_pair(arr, ksize))
        if normalize and robust is None:
            top = out.max()
            if top > 0:
                _engine.scale_rows(out, top)
    if robust is not None:
        percentile_normalise(out, robust)
    return out


def edge_map(
    image: ArrayLike,
    kind: Kind = "magnitude",
    operator: str = "sobel",
    normalize: bool = True,
    pad: str | None = None,
    *,
    ksize: int = 3,
    sigma: float | None = None,
    percentile: float | None = None,
) -> NDArray[np.floating]:
    """One edge map, ready to show as an image.

    Parameters
    ----------
    image : array_like, shape (H, W)
    kind : {"magnitude", "x", "y", "angle"}
        ``magnitude``: :func:`edge_magnitude`. ``x`` / ``y``: the signed responses; normalised,
        they are divided by their largest absolute value and mapped to [0, 1] with 0.5 for zero.
        ``angle``: ``atan2(Gy * I, Gx * I)`` in radians in [-pi, pi]; normalised, mapped
        linearly to [0, 1].
    operator, normalize, pad, ksize, sigma
        As in :func:`edge_magnitude`.
    percentile : float or None
        For ``magnitude``, ``x`` and ``y``: the P-th percentile of the magnitude (of ``|G|``)
        replaces the maximum, and the map is clipped (:func:`percentile_normalise`). An angle
        has no scale: asking for one with a percentile raises ValueError.

    Returns
    -------
    ndarray, shape (H - 2, W - 2), or (H, W) with pad
    """
    if kind == "magnitude":
        return edge_magnitude(
            image, operator, normalize, pad, ksize=ksize, sigma=sigma, percentile=percentile
        )
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"unknown output kind {kind!r}; choose one of {', '.join(OUTPUT_KINDS)}")
    robust = _checked_percentile(percentile, normalize)
    if robust is not None and kind == "angle":
        raise ValueError("an angle map has no scale to normalise by a percentile")
    gx, gy = edge_gradients(image, operator, pad, ksize=ksize, sigma=sigma)
    if kind == "angle":
        angle: NDArray[np.floating] = np.arctan2(gy, gx)
        if normalize:
            angle += np.pi
            angle /= 2 * np.pi
        return angle
    signed = gx if kind == "x" else gy
    if robust is not None:
        return percentile_normalise(signed, robust, signed=True)
    if normalize:
        top = np.abs(signed).max()
        if top > 0:
            signed /= 2 * top
        signed += 0.5
    return signed
