"""Edge maps of colour images: of the luminance, the strongest channel, or each channel.

With ``G_c = (Gx * I_c, Gy * I_c)`` the derivative pair of channel c (:func:`edge_gradients`,
any operator, ksize, sigma and pad) and ``E_c = |G_c|`` its magnitude:

- ``luminance``: the edges of ``Y = 0.2125 R + 0.7154 G + 0.0721 B`` (scikit-image's
  ``rgb2gray``, the grey that :mod:`sobelcli.io` reads a colour file as): today's grey path,
  the same floats;
- ``max``: ``E = max_c E_c`` at each pixel; the x, y and angle maps are those of the channel
  that wins there (the channel of largest gradient, as OpenCV's Canny does on colour);
- ``per-channel``: the three maps side by side, shape (..., 3), normalised jointly: the
  magnitudes by the largest of the three (``max_c max E_c``, or the percentile of all 3 H W
  values), the signed maps by the largest ``|G|`` of the three, so the channels stay
  comparable and the result shows as an RGB picture.

A grey (H, W) image is taken as R = G = B: luminance and max give its grey map, per-channel
the grey map three times. Every mode works pixel by pixel across channels, so each streams
strip by strip as the grey map does (two passes for a normalisation by the maximum); a
percentile needs the whole map.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sobelcli.core.correlate import result_dtype
from sobelcli.core.edges import (
    _checked_percentile,
    edge_gradients,
    edge_magnitude,
    edge_map,
    percentile_normalise,
)
from sobelcli.names import COLOR_MODES, LUMINANCE, OUTPUT_KINDS

__all__ = ["COLOR_MODES", "LUMINANCE", "colour_edges", "luminance"]


Mode = Literal["luminance", "max", "per-channel"]
Kind = Literal["magnitude", "x", "y", "angle"]
Array = NDArray[np.floating]


def _colour(rgb: ArrayLike) -> Array:
    arr = np.asarray(rgb)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"image must hold real numbers, got dtype {arr.dtype}")
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)):
        raise ValueError(
            f"a colour image must have shape (H, W, 3) or (H, W), got {arr.shape}"
            + ("; drop the alpha channel first" if arr.ndim == 3 and arr.shape[2] == 4 else "")
        )
    if arr.size == 0:
        raise ValueError(f"image is empty (shape {arr.shape})")
    out: Array = arr.astype(result_dtype(arr), copy=False)
    if arr.dtype.kind == "f" and not np.isfinite(out).all():
        raise ValueError("image holds NaN or infinite values")
    return out


def luminance(rgb: ArrayLike) -> Array:
    """``Y = 0.2125 R + 0.7154 G + 0.0721 B`` as :mod:`sobelcli.io` computes it.

    Parameters
    ----------
    rgb : array_like, shape (H, W, 3)
        float32 stays float32; anything else becomes float64 (integers are not rescaled).

    Returns
    -------
    ndarray, shape (H, W)
    """
    arr = _colour(rgb)
    if arr.ndim == 2:
        return arr
    r, g, b = (arr.dtype.type(w) for w in LUMINANCE)
    return np.ascontiguousarray((arr[:, :, 0] * r + arr[:, :, 1] * g) + arr[:, :, 2] * b)


def colour_edges(
    rgb: ArrayLike,
    mode: Mode = "luminance",
    operator: str = "sobel",
    normalize: bool = True,
    pad: str | None = None,
    *,
    kind: Kind = "magnitude",
    ksize: int = 3,
    sigma: float | None = None,
    percentile: float | None = None,
) -> Array:
    """Edge map of a colour image (module docstring), one of :data:`COLOR_MODES`.

    Parameters
    ----------
    rgb : array_like, shape (H, W, 3) or (H, W)
        Colour (or grey) image; float32 is computed in float32, anything else in float64.
    mode : {"luminance", "max", "per-channel"}
    operator, normalize, pad, ksize, sigma, percentile
        As in :func:`sobelcli.core.edges.edge_map`; ``percentile`` is taken over all three
        channels' values for "per-channel".
    kind : {"magnitude", "x", "y", "angle"}
        As in :func:`sobelcli.core.edges.edge_map`.

    Returns
    -------
    ndarray, shape (h, w), or (h, w, 3) for "per-channel"
        (h, w) is the grey map's shape: (H - ksize + 1, W - ksize + 1), or (H, W) with pad.
    """
    if mode not in COLOR_MODES:
        raise ValueError(f"unknown colour mode {mode!r}; choose one of {', '.join(COLOR_MODES)}")
    if kind not in OUTPUT_KINDS:
        raise ValueError(f"unknown output kind {kind!r}; choose one of {', '.join(OUTPUT_KINDS)}")
    arr = _colour(rgb)
    if arr.ndim == 2 or mode == "luminance":
        grey = edge_map(
            luminance(arr),
            kind,
            operator,
            normalize,
            pad,
            ksize=ksize,
            sigma=sigma,
            percentile=percentile,
        )
        if mode == "per-channel":  # of a grey image: R = G = B
            return np.repeat(grey[..., None], 3, axis=2)
        return grey
    robust = _checked_percentile(percentile, normalize)
    if robust is not None and kind == "angle":
        raise ValueError("an angle map has no scale to normalise by a percentile")
    channels = [np.ascontiguousarray(arr[..., c]) for c in range(3)]
    if kind == "magnitude":
        mags = np.stack(
            [edge_magnitude(c, operator, False, pad, ksize=ksize, sigma=sigma) for c in channels],
            axis=-1,
        )
        out = mags.max(axis=-1) if mode == "max" else mags
        return _normalised(out, normalize, robust, signed=False)
    pairs = [edge_gradients(c, operator, pad, ksize=ksize, sigma=sigma) for c in channels]
    gx = np.stack([p[0] for p in pairs], axis=-1)
    gy = np.stack([p[1] for p in pairs], axis=-1)
    if mode == "max":
        strongest = np.argmax(np.hypot(gx, gy), axis=-1)[..., None]
        gx = np.take_along_axis(gx, strongest, axis=-1)[..., 0]
        gy = np.take_along_axis(gy, strongest, axis=-1)[..., 0]
    if kind == "angle":
        angle: Array = np.arctan2(gy, gx)
        if normalize:
            angle += np.pi
            angle /= 2 * np.pi
        return angle
    return _normalised(gx if kind == "x" else gy, normalize, robust, signed=True)


def _normalised(values: Array, normalize: bool, robust: float | None, signed: bool) -> Array:
    """As edge_map: by the percentile, else by the maximum (``|v|`` when signed, to 0.5 +- 0.5)."""
    if robust is not None:
        return percentile_normalise(values, robust, signed=signed)
    if not normalize:
        return values
    top = np.abs(values).max() if signed else values.max()
    if signed:
        if top > 0:
            values /= 2 * top
        values += 0.5
    elif top > 0:
        values /= top
    return values
