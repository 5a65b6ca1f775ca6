"""Named kernels, built from 1-D factors, and the parser for a user's kernel.

Every 3 x 3 derivative operator here is ``outer(d, s)`` for the x kernel (derivative along
axis 0, the lab's Gx) and ``outer(s, d)`` for the y kernel, with d = (-1, 0, 1) and a
smoothing factor s: Sobel (1, 2, 1), Scharr (3, 10, 3), Prewitt (1, 1, 1).

>>> SOBEL_X
array([[-1., -2., -1.],
       [ 0.,  0.,  0.],
       [ 1.,  2.,  1.]])
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from sobelcli.names import KERNEL_NAMES, OPERATORS, SOBEL_KSIZES

__all__ = [
    "DIFF",
    "KERNELS",
    "OPERATORS",
    "PREWITT_X",
    "PREWITT_Y",
    "SCHARR_X",
    "SCHARR_Y",
    "SMOOTH",
    "SOBEL_X",
    "SOBEL_Y",
    "get_kernel",
    "parse_kernel",
    "sobel_factors",
    "sobel_pair",
]

#: The central difference shared by every operator.
DIFF: tuple[float, float, float] = (-1.0, 0.0, 1.0)
#: Smoothing factor of each named 3 x 3 operator.
SMOOTH: dict[str, tuple[float, float, float]] = {
    "sobel": (1.0, 2.0, 1.0),
    "scharr": (3.0, 10.0, 3.0),
    "prewitt": (1.0, 1.0, 1.0),
}
assert tuple(SMOOTH) == OPERATORS


def _pair(name: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.outer(DIFF, SMOOTH[name])
    x.flags.writeable = False
    y = x.T.copy()
    y.flags.writeable = False
    return x, y


SOBEL_X, SOBEL_Y = _pair("sobel")
SCHARR_X, SCHARR_Y = _pair("scharr")
PREWITT_X, PREWITT_Y = _pair("prewitt")

#: Every named kernel, by the name the command line uses.
KERNELS: dict[str, NDArray[np.float64]] = {
    "sobel-x": SOBEL_X,
    "sobel-y": SOBEL_Y,
    "scharr-x": SCHARR_X,
    "scharr-y": SCHARR_Y,
    "prewitt-x": PREWITT_X,
    "prewitt-y": PREWITT_Y,
    "laplace": np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
    "box3": np.full((3, 3), 1.0 / 9.0),
    "identity": np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
}
assert tuple(KERNELS) == KERNEL_NAMES
for _k in KERNELS.values():
    _k.flags.writeable = False


def sobel_factors(ksize: int = 3) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The 1-D difference and smoothing factors ``(d, s)`` of the Sobel pair of size ``ksize``.

    ``s`` is the binomial row of length ksize, ``(1, 1)`` convolved with itself ksize - 1
    times; ``d`` is the central difference ``(-1, 0, 1)`` convolved with ``(1, 1)`` ksize - 3
    times (so d is the derivative of a binomial of length ksize - 1, as OpenCV builds it):

    ========  ===========================  ============================
    ksize     d                            s
    ========  ===========================  ============================
    3         (-1, 0, 1)                   (1, 2, 1)
    5         (-1, -2, 0, 2, 1)            (1, 4, 6, 4, 1)
    7         (-1, -4, -5, 0, 5, 4, 1)     (1, 6, 15, 20, 15, 6, 1)
    ========  ===========================  ============================

    These are OpenCV's ``getDerivKernels(dx=1, dy=0, ksize)`` (d is its ``kx``, s its ``ky``).

    Parameters
    ----------
    ksize : {3, 5, 7}

    Returns
    -------
    d, s : ndarray, shape (ksize,)

    Raises
    ------
    ValueError
        For any other size.
    """
    if isinstance(ksize, bool) or ksize not in SOBEL_KSIZES:
        sizes = ", ".join(str(k) for k in SOBEL_KSIZES)
        raise ValueError(f"the Sobel kernel size must be one of {sizes}, got {ksize!r}")
    s = np.ones(1)
    for _ in range(ksize - 1):
        s = np.convolve(s, (1.0, 1.0))
    d = np.asarray(DIFF, dtype=np.float64)
    for _ in range(ksize - 3):
        d = np.convolve(d, (1.0, 1.0))
    return d, s


def sobel_pair(ksize: int = 3) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The Sobel pair of size ksize: ``x = outer(d, s)``, ``y = outer(s, d) = x^T``.

    x differentiates along axis 0 (rows; the lab's Gx, OpenCV's ``Sobel(dx=0, dy=1)``), y
    along axis 1 (OpenCV's ``dx=1, dy=0``); both are correlation kernels, as OpenCV's.
    ``sobel_pair(3)`` is ``(SOBEL_X, SOBEL_Y)``.

    Parameters
    ----------
    ksize : {3, 5, 7}

    Returns
    -------
    x, y : ndarray, shape (ksize, ksize)

    Examples
    --------
    >>> sobel_pair(5)[0][:, 2]
    array([ -6., -12.,   0.,  12.,   6.])
    """
    d, s = sobel_factors(ksize)
    return np.outer(d, s), np.outer(s, d)


def get_kernel(name: str) -> NDArray[np.float64]:
    """Return a copy of a named kernel.

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the known names.
    """
    try:
        return np.array(KERNELS[name.lower()], dtype=np.float64)
    except KeyError:
        raise ValueError(f"unknown kernel {name!r}; known: {', '.join(KERNELS)}") from None


def parse_kernel(text: str) -> NDArray[np.float64]:
    """Parse a kernel written as rows split by ``;`` and values by ``,`` or spaces.

    ``"1,0,-1;2,0,-2;1,0,-1"`` is a 3 x 3 kernel; a name from :data:`KERNELS` works too.

    Raises
    ------
    ValueError
        For an empty kernel, ragged rows, a value that is not a number, or NaN/infinity.
    """
    spec = text.strip()
    if spec.lower() in KERNELS:
        return get_kernel(spec)
    if spec.replace("-", "").replace("_", "").isalnum() and spec.lower() not in ("nan", "inf"):
        if not spec[0].isdigit():
            import difflib

            family = [n for n in KERNELS if n.startswith(spec.lower() + "-")]
            close = family or difflib.get_close_matches(spec.lower(), list(KERNELS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"unknown kernel {spec!r}{hint}")
    if not spec:
        raise ValueError("empty kernel")
    rows = []
    for i, row in enumerate(spec.split(";"), start=1):
        cells = [c.strip() for c in row.split(",")] if "," in row else row.split()
        if not any(cells):
            raise ValueError(f"kernel row {i} is empty in {text!r}")
        if not all(cells):
            raise ValueError(f"kernel row {i} has an empty value: {row.strip()!r}")
        try:
            rows.append([float(c) for c in cells])
        except ValueError:
            raise ValueError(
                f"kernel row {i} has a value that is not a number: {row.strip()!r}"
            ) from None
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError(f"kernel rows have different lengths {[len(r) for r in rows]} in {text!r}")
    k = np.array(rows, dtype=np.float64)
    check_kernel(k, text)
    return k


def check_kernel(k: NDArray[np.generic], where: str = "kernel") -> NDArray[np.float64]:
    """Validate a kernel array: 2-D, non-empty, real, finite. Returns it as float64."""
    if k.dtype.kind not in "biuf":
        raise ValueError(f"{where}: kernel must hold real numbers, got dtype {k.dtype}")
    if k.ndim != 2:
        raise ValueError(f"{where}: kernel must be 2-D, got shape {k.shape}")
    if k.size == 0:
        raise ValueError(f"{where}: kernel is empty")
    kf = k.astype(np.float64)
    if not np.isfinite(kf).all():
        raise ValueError(f"{where}: kernel holds NaN or infinite values")
    return kf
