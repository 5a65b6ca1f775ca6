"""The lab's convolution and its two gradients, on 2-D numpy arrays.

"Convolution" in the lab is cross-correlation (no kernel flip). In 1-based indices:

* forward, eq. (3):      y_ij  = sum_k sum_l x_{i+k-1, j+l-1} k_kl               ("valid")
* kernel gradient, (5):  dL/dk_kl = sum_i sum_j dL/dy_ij x_{i+k-1, j+l-1}
                         = the valid correlation of X with dL/dY
* input gradient, (6):   dL/dx_ij = sum_{k=L_k}^{U_k} sum_{l=L_l}^{U_l} dL/dy_{i-k+1, j-l+1} k_kl
                         = the full convolution of dL/dY with K

Each forward stands next to its adjoints. Every function works on whole arrays: the only
Python loops run over kernel taps or row strips, never over pixels.

dtypes: a float32 (or float16) image gives float32 results; integers, booleans and
float64 give float64. Use float64 to check gradients, float32 where speed matters.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sobelcli import engine as _engine

Method = Literal["auto", "direct", "separable", "fft"]
METHODS: tuple[str, ...] = ("auto", "direct", "separable", "fft")

__all__ = [
    "METHODS",
    "choose_method",
    "convolve2d_full",
    "correlate2d",
    "grad_input",
    "grad_kernel",
    "result_dtype",
]


def result_dtype(*arrays: NDArray[np.generic]) -> np.dtype[np.floating]:
    """Working dtype: float32 when the first array is float16/float32, float64 otherwise.

    The first array is the image (or dL/dY); kernels do not widen the result, so a float32
    image filtered with a float64 kernel constant stays float32.
    """
    first = arrays[0]
    if first.dtype in (np.float16, np.float32):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _as_2d(a: ArrayLike, name: str) -> NDArray[np.generic]:
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def _check_fits(x: NDArray[np.generic], k: NDArray[np.generic], xname: str, kname: str) -> None:
    if k.shape[0] > x.shape[0] or k.shape[1] > x.shape[1]:
        raise ValueError(
            f"{kname} of shape {k.shape} is larger than {xname} of shape {x.shape}; "
            f"a valid correlation needs {xname} at least as large in both axes"
        )


def choose_method(image_shape: tuple[int, int], kernel: NDArray[np.generic]) -> str:
    """Pick the cheapest exact method for a valid correlation, like scipy's choose_conv_method.

    Parameters
    ----------
    image_shape : tuple of int
        (H, W) of the image.
    kernel : ndarray, shape (kh, kw)

    Returns
    -------
    str
        ``"separable"`` for a rank-1 kernel (two 1-D passes, cost ~ (kh + kw) H W),
        ``"fft"`` when an FFT (~ 3 H W log2(H W) plus overhead) is estimated cheaper than the
        direct sum (~ kh kw H W), ``"direct"`` otherwise.
    """
    # Costs are nanoseconds from a model calibrated by measurement (see _engine.PASS_NS).
    k = np.asarray(kernel)
    if k.dtype.kind != "f":
        k = k.astype(np.float64)
    direct = _engine.direct_cost(image_shape, k)
    if k.size == 1 or direct < _engine.QUICK_NS:
        return "direct"
    costs = {"direct": direct, "fft": _engine.fft_cost(image_shape) * _engine.FFT_MARGIN}
    factors = _engine.rank1_factors(k)
    if factors is not None:
        costs["separable"] = _engine.separable_cost(image_shape, *factors, k.dtype)
    return min(costs, key=lambda name: costs[name])


def correlate2d(x: ArrayLike, k: ArrayLike, *, method: Method = "auto") -> NDArray[np.floating]:
    """Valid cross-correlation of an image with a kernel: the lab's eq. (3).

    ``y[i, j] = sum_{k, l} x[i + k, j + l] * k[k, l]`` (0-based), no kernel flip, the same as
    ``scipy.signal.correlate2d(x, k, mode="valid")``.

    Parameters
    ----------
    x : array_like, shape (H, W)
        The image. float32 gives float32 output; integers and float64 give float64.
    k : array_like, shape (kh, kw)
        The kernel, with kh <= H and kw <= W; any size, even or odd.
    method : {"auto", "direct", "separable", "fft"}, optional
        ``"direct"`` sums kh * kw shifted slices; ``"separable"`` does two 1-D passes and needs
        a rank-1 kernel; ``"fft"`` multiplies spectra (numpy.fft), rounding error ~1e-15 of the
        largest value in float64. ``"auto"`` (default) picks with :func:`choose_method`.

    Returns
    -------
    ndarray, shape (H - kh + 1, W - kw + 1)

    Raises
    ------
    ValueError
        If an input is not 2-D, is empty or not finite, or the kernel is larger than the image.

    Examples
    --------
    >>> import numpy as np
    >>> from sobelcli import correlate2d, SOBEL_X
    >>> x = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]])
    >>> correlate2d(x, SOBEL_X)
    array([[4., 4.],
           [4., 4.]])
    """
    xa = _as_2d(x, "image")
    ka = _as_2d(k, "kernel")
    _check_fits(xa, ka, "image", "kernel")
    dtype = result_dtype(xa)
    xf: NDArray[np.floating] = xa.astype(dtype, copy=False)
    kf: NDArray[np.floating] = ka.astype(dtype, copy=False)
    if method == "auto":
        method = choose_method(xf.shape, kf)  # type: ignore[assignment]
    if method == "direct":
        return _engine.direct(xf, kf)
    if method == "separable":
        factors = _engine.rank1_factors(kf)
        if factors is None:
            raise ValueError(f"kernel of shape {kf.shape} is not separable (rank 1)")
        return _engine.separable(xf, factors[0], factors[1])
    if method == "fft":
        return _engine.fft_valid(xf, kf)
    raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def convolve2d_full(
    dy: ArrayLike, k: ArrayLike, *, method: Method = "auto"
) -> NDArray[np.floating]:
    """Full 2-D convolution (with the kernel flip), the same as ``convolve2d(dy, k, "full")``.

    Parameters
    ----------
    dy : array_like, shape (h, w)
    k : array_like, shape (kh, kw)
    method : {"auto", "direct", "separable", "fft"}, optional

    Returns
    -------
    ndarray, shape (h + kh - 1, w + kw - 1)
    """
    da = _as_2d(dy, "dL/dY")
    ka = _as_2d(k, "kernel")
    dtype = result_dtype(da)
    kh, kw = ka.shape
    padded = np.zeros((da.shape[0] + 2 * (kh - 1), da.shape[1] + 2 * (kw - 1)), dtype=dtype)
    padded[kh - 1 : kh - 1 + da.shape[0], kw - 1 : kw - 1 + da.shape[1]] = da
    flipped = np.ascontiguousarray(ka[::-1, ::-1]).astype(dtype, copy=False)
    return correlate2d(padded, flipped, method=method)


def grad_input(dy: ArrayLike, k: ArrayLike, *, method: Method = "auto") -> NDArray[np.floating]:
    """Gradient of a loss with respect to the input X of ``Y = K * X``: the lab's eq. (6).

    ``dL/dx_ij = sum_{k=L_k}^{U_k} sum_{l=L_l}^{U_l} dL/dy_{i-k+1, j-l+1} k_kl`` (1-based) with
    ``L_k = max(1, i - r(X) + r(K))``, ``U_k = min(r(K), i)`` and likewise for l: the border
    limits drop the terms whose ``y`` index falls outside Y. That is exactly the full
    convolution of dL/dY with K, ``scipy.signal.convolve2d(dy, k, "full")``.

    Parameters
    ----------
    dy : array_like, shape (r(Y), c(Y))
        dL/dY, the gradient of the loss with respect to the output.
    k : array_like, shape (r(K), c(K))
        The kernel of the forward correlation.
    method : {"auto", "direct", "separable", "fft"}, optional

    Returns
    -------
    ndarray, shape (r(Y) + r(K) - 1, c(Y) + c(K) - 1)
        dL/dX, the shape of the forward's input.

    Examples
    --------
    The lab's loss L = sum(y^2) has dL/dY = 2Y:

    >>> import numpy as np
    >>> from sobelcli import correlate2d, grad_input, SOBEL_X
    >>> x = np.arange(16.0).reshape(4, 4) ** 2
    >>> grad_input(2 * correlate2d(x, SOBEL_X), SOBEL_X).shape
    (4, 4)
    """
    return convolve2d_full(dy, k, method=method)


def grad_kernel(x: ArrayLike, dy: ArrayLike, *, method: Method = "auto") -> NDArray[np.floating]:
    """Gradient of a loss with respect to the kernel K of ``Y = K * X``: the lab's eq. (5).

    ``dL/dk_kl = sum_i sum_j dL/dy_ij x_{i+k-1, j+l-1}``: the valid correlation of X with
    dL/dY, ``scipy.signal.correlate2d(x, dy, "valid")``.

    Parameters
    ----------
    x : array_like, shape (r(X), c(X))
        The forward's input.
    dy : array_like, shape (r(Y), c(Y))
        dL/dY; at most the size of X.
    method : {"auto", "direct", "separable", "fft"}, optional

    Returns
    -------
    ndarray, shape (r(X) - r(Y) + 1, c(X) - c(Y) + 1)
        dL/dK, the shape of the kernel.
    """
    xa = _as_2d(x, "image")
    da = _as_2d(dy, "dL/dY")
    _check_fits(xa, da, "image", "dL/dY")
    dtype = np.promote_types(result_dtype(xa), result_dtype(da))
    return correlate2d(xa.astype(dtype, copy=False), da.astype(dtype, copy=False), method=method)
