"""Gaussian smoothing before a derivative, separable, on the engine's strips and threads.

The 1-D kernel of standard deviation sigma has radius ``r = int(truncate * sigma + 0.5)`` and
weights

    g[k] = exp(-k^2 / (2 sigma^2)) / sum_{|j| <= r} exp(-j^2 / (2 sigma^2)),   |k| <= r,

scipy.ndimage's own (``_gaussian_kernel1d``, the same float64 values). The 2-D filter is
``outer(g, g)``: one pass along axis 0, then one along axis 1, each summed as scipy.ndimage
sums a symmetric kernel,

    out[i] = g[0] x[i] + sum_{k = r, r - 1, ..., 1} g[k] (x[i - k] + x[i + k]),

pairs first, the outermost pair first. In float64 this is scipy's rounding, bit for bit: a
picture symmetric about an edge stays exactly symmetric, so Canny's ties between the two
pixels astride a step fall as in scikit-image (the engine's general ``separable`` sums tap by
tap, which breaks such ties at random). Each pair costs 3 passes where two taps would cost
4. With a pad mode the image is first extended by r pixels on each side, so that

    gaussian(I, sigma, M) == scipy.ndimage.gaussian_filter(I, sigma, truncate=4.0, mode=M)

(float32 images are summed in float32 where scipy sums in float64, ~1e-7 of the largest
value).

Strips: output rows depend on r rows above and below, so smoothing can run strip by strip
with a halo of r rows (as the streaming engine reads them); nothing here needs the whole image.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sobelcli import engine as _engine
from sobelcli.core.correlate import _as_2d, result_dtype
from sobelcli.names import PAD_MODES

__all__ = ["SMOOTH_PAD", "TRUNCATE", "gaussian", "gaussian_kernel1d", "gaussian_radius"]

#: Kernel half-width in standard deviations, as scipy.ndimage's default.
TRUNCATE = 4.0
#: The border mode of the smoothing when no pad mode is given: scipy.ndimage's default. The
#: smoothed image keeps its size, and the derivative that follows stays "valid".
SMOOTH_PAD = "reflect"

#: scipy.ndimage's names for the border modes, and numpy.pad's name for each (as in edges).
_NUMPY_PAD = {
    "reflect": "symmetric",
    "mirror": "reflect",
    "nearest": "edge",
    "constant": "constant",
    "wrap": "wrap",
}
assert tuple(_NUMPY_PAD) == PAD_MODES


def _check_sigma(sigma: float) -> float:
    try:
        value = float(sigma)
    except (TypeError, ValueError):
        raise ValueError(f"sigma must be a number, got {sigma!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"sigma must be finite and at least 0, got {sigma!r}")
    return value


def gaussian_radius(sigma: float, truncate: float = TRUNCATE) -> int:
    """Half-width ``int(truncate * sigma + 0.5)`` of the Gaussian kernel; 0 for sigma 0.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels, >= 0.
    truncate : float

    Returns
    -------
    int
    """
    value = _check_sigma(sigma)
    if value <= 1e-15:  # scipy.ndimage skips such an axis
        return 0
    return int(truncate * value + 0.5)


def gaussian_kernel1d(sigma: float, truncate: float = TRUNCATE) -> NDArray[np.float64]:
    """The normalised 1-D Gaussian ``g`` of the module docstring.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels, >= 0; below 1e-15 the kernel is ``[1.0]``.
    truncate : float
        Radius in standard deviations.

    Returns
    -------
    ndarray, shape (2 r + 1,)
        Sums to 1 (to rounding), symmetric.

    Examples
    --------
    >>> gaussian_kernel1d(1.0).round(3)  # r = 4
    array([0.   , 0.004, 0.054, 0.242, 0.399, 0.242, 0.054, 0.004, 0.   ])
    """
    radius = gaussian_radius(sigma, truncate)
    if radius == 0:
        return np.ones(1)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x**2)
    out: NDArray[np.float64] = phi / phi.sum()
    return out


def gaussian(
    image: ArrayLike, sigma: float, pad: str | None = None, truncate: float = TRUNCATE
) -> NDArray[np.floating]:
    """Smooth an image with a Gaussian of standard deviation ``sigma``, keeping its size.

    Equal to ``scipy.ndimage.gaussian_filter(image, sigma, truncate=truncate, mode=M)``, M
    the border mode: ``out = correlate(extend(I, r), outer(g, g))`` (valid), a pass along
    rows with g then one along columns, each on the engine's strips and threads.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey image; float32 gives float32, anything else float64.
    sigma : float
        Standard deviation in pixels, >= 0. 0 returns the image (as a new float array).
    pad : {"reflect", "mirror", "nearest", "constant", "wrap"} or None
        How the image is extended by r = ``gaussian_radius(sigma)`` pixels. None smooths with
        :data:`SMOOTH_PAD` ("reflect", scipy's default): smoothing never shrinks an image, so
        an edge map asked for without a pad mode is the valid map of the smoothed image.
    truncate : float
        Radius in standard deviations (4.0, scipy's default).

    Returns
    -------
    ndarray, shape (H, W)

    Raises
    ------
    ValueError
        For a negative or non-finite sigma, an unknown pad mode, or an image that is not 2-D,
        real, non-empty and finite.
    """
    arr = _as_2d(image, "image")
    arr = arr.astype(result_dtype(arr), copy=False)
    mode = SMOOTH_PAD if pad is None else pad
    if mode not in _NUMPY_PAD:
        raise ValueError(f"unknown pad mode {pad!r}; choose one of {', '.join(PAD_MODES)}")
    g = gaussian_kernel1d(sigma, truncate)
    radius = len(g) // 2
    if radius == 0:
        return np.array(arr, copy=True)
    padded = np.pad(arr, radius, mode=_NUMPY_PAD[mode])  # type: ignore[call-overload]
    return _symmetric_separable(padded, [float(t) for t in g[radius:]])


def _symmetric_separable(x: NDArray[np.floating], half: list[float]) -> NDArray[np.floating]:
    """Valid correlation of ``x`` with ``outer(g, g)``, g symmetric with ``g[r + k] = half[k]``.

    Axis 0 then axis 1, pairs summed first, outermost first (the module docstring): one
    strip of n output rows reads n + 2r rows of x and keeps an (n, W + 2r) row pass.
    """
    r = len(half) - 1
    oh, ow = x.shape[0] - 2 * r, x.shape[1] - 2 * r
    wide = x.shape[1]
    out = np.empty((oh, ow), dtype=x.dtype)
    rows = min(_engine.strip_rows(wide, x.itemsize, 4), oh)

    def scratch() -> _engine.Buffers:
        return [np.empty(rows * wide, dtype=x.dtype) for _ in range(2)]

    def work(r0: int, r1: int, buffers: _engine.Buffers) -> None:
        n = r1 - r0
        vert = buffers[0][: n * wide].reshape(n, wide)
        pair = buffers[1][: n * wide].reshape(n, wide)
        np.multiply(x[r0 + r : r1 + r], half[0], out=vert)
        for k in range(r, 0, -1):
            np.add(x[r0 + r - k : r1 + r - k], x[r0 + r + k : r1 + r + k], out=pair)
            np.multiply(pair, half[k], out=pair)
            np.add(vert, pair, out=vert)
        dst = out[r0:r1]
        tmp = pair[:, :ow]
        np.multiply(vert[:, r : r + ow], half[0], out=dst)
        for k in range(r, 0, -1):
            np.add(vert[:, r - k : r - k + ow], vert[:, r + k : r + k + ow], out=tmp)
            np.multiply(tmp, half[k], out=tmp)
            np.add(dst, tmp, out=dst)

    _engine.run_strips(oh, rows, work, oh * ow, scratch)
    return out
