"""A picture of the learned first-layer kernels beside the Sobel X and Y kernels.

Each 3 x 3 kernel is normalised on its own (its minimum black, its maximum white, a constant
kernel mid-grey) and enlarged by nearest neighbour to ``cell`` x ``cell`` pixels; the 32
learned kernels fill a grid of 4 rows of 8, and Sobel X and Y stand to the right of it,
after a wider gap, so one can compare what the network learned with the hand-made edge
detectors. Light grey separates the cells. No plotting library is needed: the picture is
built with numpy and written with imageio, atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["filter_grid", "save_filter_grid"]

GAP = 4
BACKGROUND = 200


def _normalise(k: NDArray[np.floating]) -> NDArray[np.floating]:
    k = np.asarray(k, dtype=np.float64)
    span = k.max() - k.min()
    out: NDArray[np.floating] = np.full(k.shape, 0.5) if span <= 0 else (k - k.min()) / span
    return out


def filter_grid(kernels: NDArray[np.floating], cols: int = 8, cell: int = 48) -> NDArray[np.uint8]:
    """The picture as a uint8 grey array.

    Parameters
    ----------
    kernels : ndarray, shape (kh, kw, 1, F) or (kh, kw, F)
        The first convolution's kernels (channels last).
    cols : int
        Kernels per row of the grid.
    cell : int
        Size in pixels of one enlarged kernel (a multiple of kh is sharpest).

    Returns
    -------
    ndarray of uint8, shape (height, width)
    """
    from sobelcli.core.kernels import SOBEL_X, SOBEL_Y

    k = np.asarray(kernels)
    if k.ndim == 4:
        k = k[:, :, 0, :]
    kh, kw, f = k.shape
    rows = -(-f // cols)
    scale = max(1, cell // max(kh, kw))
    ch, cw = kh * scale, kw * scale

    def tile(kernel: NDArray[np.floating]) -> NDArray[np.float64]:
        return np.kron(_normalise(kernel), np.ones((scale, scale)))

    height = GAP + max(rows * (ch + GAP), 2 * (3 * scale + GAP))
    width = GAP + cols * (cw + GAP) + 3 * GAP + (3 * scale + GAP)
    pic = np.full((height, width), BACKGROUND / 255.0)
    for i in range(f):
        r, c = divmod(i, cols)
        y, x = GAP + r * (ch + GAP), GAP + c * (cw + GAP)
        pic[y : y + ch, x : x + cw] = tile(k[:, :, i])
    x0 = GAP + cols * (cw + GAP) + 3 * GAP
    for j, sobel in enumerate((SOBEL_X, SOBEL_Y)):
        y = GAP + j * (3 * scale + GAP)
        pic[y : y + 3 * scale, x0 : x0 + 3 * scale] = tile(sobel)
    return np.round(pic * 255).astype(np.uint8)


def save_filter_grid(path: str | Path, kernels: NDArray[np.floating]) -> None:
    """Write :func:`filter_grid` of ``kernels`` to ``path`` as a PNG, atomically."""
    from sobelcli.io import atomic_write
    from sobelcli.io.png import encode_png

    atomic_write(path, encode_png(filter_grid(kernels)))
