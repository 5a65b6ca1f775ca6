"""Edge maps: the derivative pair of a 3 x 3 operator, its magnitude (the lab's eq. 2) and angle.

With ``Gx = outer((-1, 0, 1), s)`` and ``Gy = Gx^T`` for the operator's smoothing factor s,

    E = sqrt((Gx * I)^2 + (Gy * I)^2) / max(...)

where ``*`` is the lab's valid correlation. Without ``pad`` the maps are (H - 2) x (W - 2) as
in the lab; with a pad mode the image is first extended by one pixel on each side, so the maps
keep the input's size and equal ``scipy.ndimage.correlate(I, G, mode=pad)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sobelcli import engine as _engine
from sobelcli.core.correlate import _as_2d, result_dtype
from sobelcli.core.kernels import SMOOTH
from sobelcli.names import OUTPUT_KINDS, PAD_MODES

__all__ = [
    "NUMPY_PAD",
    "OUTPUT_KINDS",
    "PAD_MODES",
    "edge_gradients",
    "edge_magnitude",
    "edge_map",
    "pad_image",
]

Kind = Literal["magnitude", "x", "y", "angle"]

#: scipy.ndimage's names for the border modes, and numpy.pad's name for each.
NUMPY_PAD: dict[str, str] = {
    "reflect": "symmetric",  # d c b a | a b c d | d c b a
    "mirror": "reflect",  # d c b | a b c d | c b a
    "nearest": "edge",  # a a a | a b c d | d d d
    "constant": "constant",  # 0 0 0 | a b c d | 0 0 0
    "wrap": "wrap",  # b c d | a b c d | a b c
}
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
    if pad == "mirror" and min(arr.shape) < 2:
        raise ValueError(
            f"pad 'mirror' needs at least 2 pixels in each axis, got shape {arr.shape}"
        )
    return np.pad(arr, width, mode=NUMPY_PAD[pad])  # type: ignore[call-overload,no-any-return]


def _prepared(image: ArrayLike, operator: str, pad: str | None) -> NDArray[np.floating]:
    if operator not in SMOOTH:
        raise ValueError(f"unknown operator {operator!r}; choose one of {', '.join(SMOOTH)}")
    arr = pad_image(image, pad)
    if arr.shape[0] < 3 or arr.shape[1] < 3:
        raise ValueError(
            f"image of shape {arr.shape} is smaller than the 3 x 3 kernel; "
            "use a pad mode to filter images thinner than 3 pixels"
        )
    return arr


def edge_gradients(
    image: ArrayLike, operator: str = "sobel", pad: str | None = None
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    """The two derivative maps ``(Gx * I, Gy * I)`` of an operator.

    Parameters
    ----------
    image : array_like, shape (H, W)
    operator : {"sobel", "scharr", "prewitt"}
    pad : str or None
        A border mode of :func:`pad_image`, or None for the valid (H - 2) x (W - 2) maps.

    Returns
    -------
    gx, gy : ndarray, shape (H - 2, W - 2), or (H, W) with pad
        Raw (unnormalised) responses; gx is the derivative along axis 0 (rows).
    """
    arr = _prepared(image, operator, pad)
    shape = (arr.shape[0] - 2, arr.shape[1] - 2)
    gx = np.empty(shape, dtype=arr.dtype)
    gy = np.empty(shape, dtype=arr.dtype)

    def keep(sx: NDArray[np.floating], sy: NDArray[np.floating], r0: int, r1: int) -> None:
        gx[r0:r1] = sx
        gy[r0:r1] = sy

    _engine.gradient_pair(arr, SMOOTH[operator], keep)
    return gx, gy


def edge_magnitude(
    image: ArrayLike, operator: str = "sobel", normalize: bool = True, pad: str | None = None
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
    arr = _prepared(image, operator, pad)
    return _engine.gradient_magnitude(arr, SMOOTH[operator], normalize)


def edge_map(
    image: ArrayLike,
    kind: Kind = "magnitude",
    operator: str = "sobel",
    normalize: bool = True,
    pad: str | None = None,
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
    operator, normalize, pad
        As in :func:`edge_magnitude`.

    Returns
    -------
    ndarray, shape (H - 2, W - 2), or (H, W) with pad
    """
    if kind == "magnitude":
        return edge_magnitude(image, operator, normalize, pad)
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"unknown output kind {kind!r}; choose one of {', '.join(OUTPUT_KINDS)}")
    gx, gy = edge_gradients(image, operator, pad)
    if kind == "angle":
        angle: NDArray[np.floating] = np.arctan2(gy, gx)
        if normalize:
            angle += np.pi
            angle /= 2 * np.pi
        return angle
    signed = gx if kind == "x" else gy
    if normalize:
        top = np.abs(signed).max()
        if top > 0:
            signed /= 2 * top
        signed += 0.5
    return signed
