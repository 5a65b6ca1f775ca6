"""Hysteresis by connected components: the one engine part that calls scipy.

Labelling the 8-connected components of a boolean image is a sequential union-find that numpy
cannot vectorise (a pure numpy flood by repeated 3 x 3 dilations costs one pass per pixel of
the longest path). ``scipy.ndimage.label`` does it in one C pass; scipy is installed with
scikit-image, a runtime dependency, and is imported here only when a Canny map is computed,
so ``import sobelcli`` and ``sobelcli --help`` stay without it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["EIGHT", "hysteresis"]

#: 8-connectivity: a pixel touches the eight around it.
EIGHT = np.ones((3, 3), dtype=bool)
EIGHT.flags.writeable = False


def hysteresis(weak: NDArray[np.bool_], strong: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The pixels of ``weak`` 8-connected, through ``weak``, to a pixel of ``strong``.

    With ``labels = scipy.ndimage.label(weak, EIGHT)``, a component is kept when it holds a
    strong pixel: ``out = keep[labels]`` with ``keep[l] = any(strong & (labels == l))`` and
    ``keep[0] = False`` (the background), so a strong pixel outside ``weak`` keeps nothing.

    Parameters
    ----------
    weak, strong : ndarray of bool, shape (H, W)

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    from scipy import ndimage  # here, not at the top: only Canny needs it

    labels, count = ndimage.label(weak, structure=EIGHT)
    if count == 0:
        return np.zeros(weak.shape, dtype=bool)
    keep = np.zeros(count + 1, dtype=bool)
    keep[labels[strong]] = True
    keep[0] = False
    out: NDArray[np.bool_] = keep[labels]
    return out
