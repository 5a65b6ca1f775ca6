"""Decoded samples to floats in [0, 1]: one function for the whole-image and strip readers.

8- and 16-bit integers are scaled by their maximum; alpha (the last of 2 or 4 channels) is
composited over a white or black background, ``c a + background (1 - a)``, or dropped;
colour becomes grey by luminance ``(R 0.2125 + G 0.7154) + B 0.0721`` (scikit-image's
``rgb2gray`` weights), computed pixel by pixel so that a strip of rows gets the same bits as
the whole image.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from sobelcli.io.files import ImageError
from sobelcli.names import ALPHA_MODES, LUMINANCE

NOT_IMAGE = "is not an image; expected (H, W) or (H, W, C) with C <= 4"


def check_layout(name: str, shape: tuple[int, ...], channel: int | None) -> None:
    """Refuse what is not (H, W) or (H, W, C <= 4), an empty image, or a missing channel."""
    if len(shape) not in (2, 3) or (len(shape) == 3 and not 1 <= shape[2] <= 4):
        raise ImageError(name, f"array of shape {shape} {NOT_IMAGE}")
    if shape[0] == 0 or shape[1] == 0:
        raise ImageError(name, f"image is empty (shape {shape})")
    if len(shape) == 3 and channel is not None and not 0 <= channel < shape[2]:
        n = shape[2]
        raise ImageError(name, f"has {n} channel(s); the channel must be 0 to {n - 1}", "channel")
    if len(shape) == 2 and channel not in (None, 0):
        raise ImageError(name, f"is a grey image; channel {channel} does not exist", "channel")


def to_float(
    raw: NDArray[Any],
    *,
    name: str,
    dtype: type[np.floating[Any]] = np.float64,
    channel: int | None = None,
    alpha: str = "white",
    colour: bool = False,
) -> NDArray[np.floating]:
    """Samples as floats in [0, 1]: grey (n, W), or colour (n, W, 3) with ``colour``.

    Parameters
    ----------
    raw : ndarray, shape (n, W) or (n, W, C) with C <= 4
        bool, integer or float samples; C = 2 and 4 end in alpha.
    name : str
        The file, for messages.
    dtype : {numpy.float64, numpy.float32}
    channel : int, optional
        Take this channel (alpha included) as it is, instead of the luminance.
    alpha : {"white", "black", "ignore"}
    colour : bool
        Keep R, G, B (a grey image is repeated three times) instead of the luminance.

    Raises
    ------
    ImageError
        For a bad layout or channel, NaN or infinite values, values beyond ``dtype``.
    """
    if alpha not in ALPHA_MODES:
        raise ValueError(f"unknown alpha mode {alpha!r}; choose one of {', '.join(ALPHA_MODES)}")
    check_layout(name, raw.shape, channel)
    arr = raw[:, :, channel] if raw.ndim == 3 and channel is not None else raw
    out = _scaled(name, arr, dtype)
    if out.ndim == 3 and out.shape[2] in (2, 4):
        colours, a = out[:, :, :-1], out[:, :, -1:]
        out = colours if alpha == "ignore" else colours * a + (1.0 - a if alpha == "white" else 0)
    if out.ndim == 3 and out.shape[2] == 1:
        out = out[:, :, 0]
    if out.ndim == 3 and not colour:
        r, g, b = (dtype(w) for w in LUMINANCE)
        out = (out[:, :, 0] * r + out[:, :, 1] * g) + out[:, :, 2] * b
    elif out.ndim == 2 and colour:
        out = np.repeat(out[:, :, None], 3, axis=2)
    return np.ascontiguousarray(out, dtype=dtype)


def _scaled(name: str, arr: NDArray[Any], dtype: type[np.floating[Any]]) -> NDArray[np.floating]:
    if arr.dtype == np.bool_:
        return arr.astype(dtype)
    if arr.dtype in (np.uint8, np.uint16):  # one pass; the same bits as astype, then *=
        scaled: NDArray[np.floating] = np.multiply(
            arr, dtype(1.0 / np.iinfo(arr.dtype).max), dtype=dtype
        )
        return scaled
    if arr.dtype.kind not in "iuf":
        raise ImageError(name, f"holds values of type {arr.dtype}, not numbers")
    with np.errstate(over="ignore", invalid="ignore"):
        out = arr.astype(dtype)
    if not np.isfinite(out).all():
        what = "NaN or infinite values" if arr.dtype.kind == "f" else "integers"
        if np.isfinite(arr).all():
            what = f"values beyond the range of {np.dtype(dtype).name}"
        raise ImageError(name, f"holds {what}")
    return out
