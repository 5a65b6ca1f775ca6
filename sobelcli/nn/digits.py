"""Turn any picture of one digit into a 28 x 28 MNIST-like input, the way MNIST was made.

MNIST's digits are white ink on black, size-normalised to fit a 20 x 20 box keeping their
aspect ratio, then placed in a 28 x 28 frame so that their centre of mass is at the centre.
:func:`mnist_like` repeats those steps:

1. grey in [0, 1]; if the border is light (its median > 0.5) the picture is inverted, so
   that ink is bright;
2. the background level (the border's median) is subtracted and the ink stretched to 1;
3. crop to the bounding box of the pixels above ``ink_threshold``;
4. scale the longest side to 20 px (anti-aliased), keeping the aspect ratio;
5. paste into a 28 x 28 black frame with the centre of mass at (14, 14) (rounded, and kept
   inside the frame).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["BOX", "FRAME", "mnist_like"]

FRAME = 28
BOX = 20


def _border(g: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.concatenate([g[0], g[-1], g[1:-1, 0], g[1:-1, -1]])


def mnist_like(image: ArrayLike, ink_threshold: float = 0.2) -> NDArray[np.float32]:
    """A 28 x 28 float32 digit in [0, 1], bright ink on black, from a grey picture.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Grey values in [0, 1], any size of at least 1 x 1.
    ink_threshold : float
        After stretching, pixels above this count as ink for the bounding box.

    Returns
    -------
    ndarray, shape (28, 28), float32

    Raises
    ------
    ValueError
        If the picture is not 2-D or holds no ink (a blank or uniform picture).
    """
    from skimage.transform import resize

    g = np.asarray(image, dtype=np.float64)
    if g.ndim != 2 or g.size == 0:
        raise ValueError(f"expected a 2-D grey picture, got shape {g.shape}")
    if not np.isfinite(g).all():
        raise ValueError("the picture holds NaN or infinite values")
    if g.shape[0] >= 3 and g.shape[1] >= 3 and np.median(_border(g)) > 0.5:
        g = 1.0 - g
    background = float(np.median(_border(g))) if min(g.shape) >= 3 else float(g.min())
    g = np.clip(g - background, 0.0, None)
    peak = float(g.max())
    if peak <= 1e-6:
        raise ValueError("no ink found: the picture is blank or uniform")
    g /= peak
    rows = np.flatnonzero((g > ink_threshold).any(axis=1))
    cols = np.flatnonzero((g > ink_threshold).any(axis=0))
    g = g[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = g.shape
    scale = BOX / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    scaled = resize(g, size, order=1, anti_aliasing=scale < 1, mode="edge")  # type: ignore[no-untyped-call]
    digit = np.clip(scaled, 0.0, 1.0)
    mass = digit.sum()
    ys, xs = np.indices(digit.shape)
    cy, cx = (ys * digit).sum() / mass, (xs * digit).sum() / mass
    top = int(np.clip(round(FRAME / 2 - 0.5 - cy), 0, FRAME - size[0]))
    left = int(np.clip(round(FRAME / 2 - 0.5 - cx), 0, FRAME - size[1]))
    frame = np.zeros((FRAME, FRAME), dtype=np.float32)
    frame[top : top + size[0], left : left + size[1]] = digit
    return frame
