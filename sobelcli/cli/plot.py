"""A loss curve drawn as a picture, with Pillow (which imageio brings): no matplotlib needed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

WIDTH, HEIGHT, MARGIN = 640, 400, 60


def wants_log_scale(values: Sequence[float] | NDArray[np.float64]) -> bool:
    """True for positive values spanning more than two decades, as geometric growth does."""
    arr = np.asarray(values, dtype=np.float64)
    return bool(arr.size > 1 and (arr > 0).all() and arr.max() / arr.min() > 100)


def loss_curve(values: Sequence[float], title: str) -> NDArray[np.uint8]:
    """Render ``values`` (one per step) as an RGB line chart of shape (400, 640, 3).

    The y axis is logarithmic when :func:`wants_log_scale` says so, and says it.
    """
    from PIL import Image, ImageDraw

    arr = np.asarray(values, dtype=np.float64)
    log = wants_log_scale(arr)
    ys = np.log10(arr) if log else arr
    lo, hi = float(ys.min()), float(ys.max())
    if hi == lo:
        lo, hi = lo - 1.0, hi + 1.0
    img = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = MARGIN + 20, 30, WIDTH - 20, HEIGHT - MARGIN
    draw.rectangle([left, top, right, bottom], outline="black")
    n = max(len(arr) - 1, 1)
    px = left + (right - left) * np.arange(len(arr)) / n
    py = bottom - (bottom - top) * (ys - lo) / (hi - lo)
    draw.line(list(zip(px.tolist(), py.tolist(), strict=True)), fill=(31, 119, 180), width=2)

    def label(v: float) -> str:
        return f"{10**v:.3g}" if log else f"{v:.4g}"

    draw.text((4, top - 6), label(hi), fill="black")
    draw.text((4, bottom - 6), label(lo), fill="black")
    draw.text((left, bottom + 8), "1", fill="black")
    draw.text((right - 30, bottom + 8), str(len(arr)), fill="black")
    draw.text(((left + right) // 2 - 15, bottom + 24), "step", fill="black")
    draw.text((left, 8), title + ("   (log scale)" if log else ""), fill="black")
    return np.asarray(img)
