"""Canny's edge detector, vectorised on the engine, as scikit-image's ``feature.canny`` does it.

1. Smooth: ``S = gaussian(I, sigma, pad)`` (:mod:`sobelcli.core.smooth`).
2. Differentiate: ``gx = SOBEL_X * S``, ``gy = SOBEL_Y * S`` (S extended by "reflect", as
   ``scipy.ndimage.sobel`` in scikit-image), ``M = sqrt(gx^2 + gy^2)``, all (H, W).
3. Thin (non-maximum suppression): a pixel is kept when M is at least the magnitude
   interpolated at its two neighbours along the gradient (gx, gy) on either side. With
   a = |gx|, b = |gy|, the gradient points mostly along rows when a >= b: then
   ``w = b / a`` and the neighbour ahead is ``w M[x+1, y+s] + (1 - w) M[x+1, y]``, behind
   ``w M[x-1, y-s] + (1 - w) M[x-1, y]``, where s = +1 when gx and gy have the same sign
   (both > 0 or both <= 0) and -1 otherwise; when a < b the roles of the axes swap
   (``w = a / b``, neighbours ``w M[x+s, y+1] + (1 - w) M[x, y+1]`` and
   ``w M[x-s, y-1] + (1 - w) M[x, y-1]``). These are scikit-image's four cases
   (``_nonmaximum_suppression_bilinear``), the same float operations in the same order
   (where a = b, w = 1 and both branches read the same diagonal neighbours).
4. Threshold with hysteresis: of the thinned pixels with ``M >= low`` ("weak"), keep the
   8-connected components that hold a pixel with ``M >= high`` ("strong")
   (:func:`sobelcli.engine.label.hysteresis`).

The outermost ring of pixels is never an edge (its neighbours lie outside the image), as in
scikit-image. No step loops over pixels: steps 2 and 3 run on the engine's strips and threads.

Which parts stream: steps 1 to 3 need only a halo of ``gaussian_radius(sigma) + 2`` rows, but
the thresholds need the whole magnitude (its maximum, or its quantiles), and hysteresis
follows components across the whole image: a Canny map needs the whole image in memory.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sobelcli import engine as _engine
from sobelcli.core.correlate import _as_2d, result_dtype
from sobelcli.core.edges import pad_image
from sobelcli.core.kernels import SMOOTH
from sobelcli.core.smooth import gaussian
from sobelcli.engine.label import hysteresis

__all__ = ["canny", "canny_thresholds", "gradients", "nonmaximum_suppression"]

Array = NDArray[np.floating]


def gradients(smoothed: ArrayLike) -> tuple[Array, Array, Array]:
    """Sobel gradients and magnitude of an image extended by "reflect", all of its size.

    Parameters
    ----------
    smoothed : array_like, shape (H, W)

    Returns
    -------
    gx, gy, magnitude : ndarray, shape (H, W)
        ``gx = scipy.ndimage.sobel(S, axis=0)``, ``gy = scipy.ndimage.sobel(S, axis=1)`` and
        ``sqrt(gx * gx + gy * gy)``, computed together strip by strip.
    """
    padded = pad_image(smoothed, "reflect")
    shape = (padded.shape[0] - 2, padded.shape[1] - 2)
    gx = np.empty(shape, dtype=padded.dtype)
    gy = np.empty(shape, dtype=padded.dtype)
    mag = np.empty(shape, dtype=padded.dtype)

    def keep(sx: Array, sy: Array, r0: int, r1: int) -> None:
        gx[r0:r1] = sx
        gy[r0:r1] = sy
        np.multiply(sx, sx, out=sx)  # sx and sy are scratch: copied above
        np.multiply(sy, sy, out=sy)
        np.add(sx, sy, out=mag[r0:r1])
        np.sqrt(mag[r0:r1], out=mag[r0:r1])

    _engine.gradient_pair(padded, SMOOTH["sobel"], keep)
    return gx, gy, mag


def nonmaximum_suppression(gx: Array, gy: Array, magnitude: Array, low: float) -> NDArray[np.bool_]:
    """Step 3 of the module docstring, with the weak threshold: where ``M >= low`` and M > 0.

    Parameters
    ----------
    gx, gy, magnitude : ndarray, shape (H, W)
        The derivative along rows, along columns, and the magnitude; one float dtype.
    low : float
        Absolute threshold.

    Returns
    -------
    ndarray of bool, shape (H, W)
        The thinned pixels at or above ``low``; the outermost ring is False.

    Notes
    -----
    Which neighbour each pixel reads is chosen without branches: ``np.where`` and masked
    copies mispredict on a random mask (4 to 7 ns a pixel), so each choice ``c ? p : q``
    is made on the floats' bits, ``q ^ ((p ^ q) & mask)`` with mask all ones or all zeros
    (three integer passes, under 1 ns a pixel).
    """
    h, w = magnitude.shape
    out = np.zeros((h, w), dtype=bool)
    if h < 3 or w < 3:
        return out
    oh, ow = h - 2, w - 2
    m = magnitude
    bits = np.dtype(f"u{m.itemsize}")
    mb = m.view(bits)
    rows = min(_engine.strip_rows(ow, m.itemsize, 12), oh)
    # M >= low and M > 0 in one comparison (skimage: m >= low, low raised to 1e-14 if 0)
    least = np.nextafter(m.dtype.type(0), m.dtype.type(1))
    low_value = max(m.dtype.type(low), least)

    def scratch() -> _engine.Buffers:
        return (
            [np.empty(rows * ow, dtype=m.dtype) for _ in range(5)]
            + [np.empty(rows * ow, dtype=bits) for _ in range(2)]
            + [np.empty(rows * ow, dtype=bool) for _ in range(3)]
        )

    def work(r0: int, r1: int, buffers: _engine.Buffers) -> None:
        n = r1 - r0
        a, b, wt, t1, t2, vert, same, cmp, cmp2, ok = (x[: n * ow].reshape(n, ow) for x in buffers)
        t1b, t2b = t1.view(bits), t2.view(bits)
        rc, rn, rs = slice(r0 + 1, r1 + 1), slice(r0, r1), slice(r0 + 2, r1 + 2)
        centre = m[rc, 1:-1]
        gi, gj = gx[rc, 1:-1], gy[rc, 1:-1]
        np.greater_equal(centre, low_value, out=ok)
        # w = min(a, b) / max(a, b); vert: the gradient points mostly along rows
        np.absolute(gi, out=a)
        np.absolute(gj, out=b)
        np.greater_equal(a, b, out=vert, casting="unsafe")
        np.negative(vert, out=vert)  # 0 or all ones
        np.minimum(a, b, out=wt)
        np.maximum(a, b, out=a)
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(wt, a, out=wt)  # 0 / 0 where M = 0: NaN, but ok is False there
        np.subtract(1.0, wt, out=b)  # b is now 1 - w
        np.less_equal(gi, 0, out=cmp)
        np.less_equal(gj, 0, out=cmp2)
        np.equal(cmp, cmp2, out=same, casting="unsafe")  # gx, gy of one sign: s = +1
        np.negative(same, out=same)
        for axis_v, axis_h, diag_same, diag_v, diag_h in (
            (mb[rs, 1:-1], mb[rc, 2:], mb[rs, 2:], mb[rs, :-2], mb[rn, 2:]),  # ahead
            (mb[rn, 1:-1], mb[rc, :-2], mb[rn, :-2], mb[rn, 2:], mb[rs, :-2]),  # behind
        ):
            _select(t2b, vert, diag_v, diag_h)
            _select(t1b, same, diag_same, t2b)  # t1: the diagonal neighbour
            _select(t2b, vert, axis_v, axis_h)  # t2: the neighbour along the axis
            np.multiply(t1, wt, out=t1)
            np.multiply(t2, b, out=t2)
            np.add(t1, t2, out=t1)
            np.less_equal(t1, centre, out=cmp)
            np.logical_and(ok, cmp, out=ok)
        out[rc, 1:-1] = ok

    _engine.run_strips(oh, rows, work, oh * ow, scratch)
    return out


def _select(out: NDArray[Any], mask: NDArray[Any], p: NDArray[Any], q: NDArray[Any]) -> None:
    """``out = mask ? p : q`` on unsigned bits, mask all ones or zeros: q ^ ((p ^ q) & mask)."""
    np.bitwise_xor(p, q, out=out)
    np.bitwise_and(out, mask, out=out)
    np.bitwise_xor(out, q, out=out)


def canny_thresholds(
    magnitude: Array, low: float, high: float, quantiles: bool = False
) -> tuple[float, float]:
    """Absolute thresholds from fractions of the largest magnitude, or from its quantiles.

    Parameters
    ----------
    magnitude : ndarray, shape (H, W)
    low, high : float
        With 0 <= low <= high <= 1.
    quantiles : bool
        False: ``(low max M, high max M)``. True: ``numpy.percentile(M, (100 low, 100 high))``
        (linear interpolation), as scikit-image's ``use_quantiles``.

    Returns
    -------
    low, high : float
    """
    _check_thresholds(low, high)
    low, high = float(low), float(high)
    if quantiles:
        lo, hi = np.percentile(magnitude, [100.0 * low, 100.0 * high])
        return float(lo), float(hi)
    top = float(magnitude.max())
    return low * top, high * top


def _check_thresholds(low: float, high: float) -> None:
    for name, value in (("low", low), ("high", high)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"the {name} threshold must be a number, got {value!r}") from None
        if not (math.isfinite(number) and 0 <= number <= 1):
            raise ValueError(f"the {name} threshold must lie in [0, 1], got {value!r}")
    if float(low) > float(high):
        raise ValueError(f"the low threshold {low} is above the high threshold {high}")


def canny(
    image: ArrayLike,
    sigma: float = 1.0,
    low: float = 0.1,
    high: float = 0.2,
    quantiles: bool = False,
    pad: str | None = None,
) -> NDArray[np.bool_]:
    """Canny's thin binary edge map (module docstring), as ``skimage.feature.canny``.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey image; float32 is computed in float32, anything else in float64.
    sigma : float
        Standard deviation of the Gaussian smoothing, >= 0 (0: none).
    low, high : float
        Hysteresis thresholds, 0 <= low <= high <= 1: fractions of the largest gradient
        magnitude, or with ``quantiles`` quantiles of the magnitude (skimage's
        ``use_quantiles=True``; without it skimage takes absolute magnitudes, here
        ``low * max M``).
    quantiles : bool
    pad : {"reflect", "mirror", "nearest", "constant", "wrap"} or None
        The border of the smoothing; None is "reflect". (skimage's default ``mode="constant"``
        also divides by the smoothed mask, which no pad mode does: use ``mode="reflect"``
        there for the same map.) The derivative always extends the smoothed image by
        "reflect", as skimage does.

    Returns
    -------
    ndarray of bool, shape (H, W)
        True on edge pixels; the outermost ring is False, and so is every pixel of an image
        thinner than 3 pixels.

    Raises
    ------
    ValueError
        For thresholds outside [0, 1] or low > high, a negative sigma, an unknown pad mode, or
        an image that is not 2-D, real, non-empty and finite.

    Examples
    --------
    >>> import numpy as np
    >>> square = np.zeros((9, 9))
    >>> square[2:7, 2:7] = 1
    >>> canny(square).astype(int)
    array([[0, 0, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 1, 1, 1, 1, 1, 0, 0],
           [0, 0, 1, 0, 0, 0, 1, 0, 0],
           [0, 0, 1, 0, 0, 0, 1, 0, 0],
           [0, 0, 1, 0, 0, 0, 1, 0, 0],
           [0, 0, 1, 1, 1, 1, 1, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 0, 0]])
    """
    _check_thresholds(low, high)
    arr = _as_2d(image, "image")
    arr = arr.astype(result_dtype(arr), copy=False)
    smoothed = gaussian(arr, sigma, pad)
    if min(arr.shape) < 3:
        return np.zeros(arr.shape, dtype=bool)
    gx, gy, mag = gradients(smoothed)
    lo, hi = canny_thresholds(mag, low, high, quantiles)
    weak = nonmaximum_suppression(gx, gy, mag, lo)
    strong = np.greater_equal(mag, mag.dtype.type(hi))
    strong &= weak
    return hysteresis(weak, strong)
