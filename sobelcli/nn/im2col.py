"""Batched, multi-channel valid cross-correlation and its gradients, as BLAS matmuls.

Channels-last shapes: input X ``(N, H, W, C)``, kernels K ``(kh, kw, C, F)``, bias b ``(F,)``,
output Y ``(N, OH, OW, F)`` with ``OH = H - kh + 1`` and ``OW = W - kw + 1``. Per sample and
output channel this is the lab's eq. (3) summed over input channels (0-based):

    y[n, i, j, f] = b[f] + sum_{c, k, l} x[n, i + k, j + l, c] * K[k, l, c, f]

and its gradients are eqs. (5) and (6) of :mod:`sobelcli.core.correlate`, summed the same way:

    dL/dK[k, l, c, f] = sum_{n, i, j} dL/dy[n, i, j, f] * x[n, i + k, j + l, c]
    dL/db[f]          = sum_{n, i, j} dL/dy[n, i, j, f]
    dL/dX[n, :, :, c] = sum_f full_convolution(dL/dY[n, :, :, f], K[:, :, c, f])

With the im2col matrix P, ``P[(n, i, j), (k, l, c)] = x[n, i + k, j + l, c]``, these are
``Y = P K2 + b``, ``dL/dK2 = P^T dY2`` and ``dL/dX = col2im(dY2 K2^T)`` (K2 the kernel
reshaped to ``(kh kw C, F)``, dY2 to ``(N OH OW, F)``; col2im adds each row back onto the
patch it came from). The backward computes dL/dX tap by tap, ``dX[:, k:k+OH, l:l+OW, :]
+= dY2 K[k, l]^T``: the same sums. Python loops run over the kh * kw taps, never over
samples or pixels.

dtypes: float32 in, float32 out (for training); anything else is computed in float64
(for gradient checks). The kernel takes the input's dtype.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

__all__ = ["ConvCache", "col2im", "conv2d_backward", "conv2d_forward", "im2col", "work_dtype"]

Array = NDArray[np.floating]
#: What the forward keeps for the backward: (im2col matrix, input shape, kernel).
ConvCache = tuple[Array, tuple[int, int, int, int], Array]


def work_dtype(x: NDArray[np.generic]) -> np.dtype[np.floating]:
    """float32 for float16/float32 inputs, float64 for everything else."""
    return np.dtype(np.float32) if x.dtype in (np.float16, np.float32) else np.dtype(np.float64)


def im2col(x: Array, kh: int, kw: int) -> Array:
    """Copy every kh x kw patch of a batch into one row: the im2col matrix.

    Parameters
    ----------
    x : ndarray, shape (N, H, W, C)
    kh, kw : int
        Patch size, at most H and W.

    Returns
    -------
    ndarray, shape (N * OH * OW, kh * kw * C), C-contiguous
        Row ``(n, i, j)`` holds ``x[n, i:i + kh, j:j + kw, :]`` flattened in (k, l, c) order.
    """
    n, h, w, c = x.shape
    oh, ow = h - kh + 1, w - kw + 1
    # The window view is (N, OH, OW, C, kh, kw); move C last so the copy matches K2's rows.
    view = sliding_window_view(x, (kh, kw), axis=(1, 2)).transpose(0, 1, 2, 4, 5, 3)
    return np.ascontiguousarray(view).reshape(n * oh * ow, kh * kw * c)


def col2im(dcols: Array, x_shape: tuple[int, int, int, int], kh: int, kw: int) -> Array:
    """Adjoint of :func:`im2col`: add every row's patch back where it came from.

    Parameters
    ----------
    dcols : ndarray, shape (N * OH * OW, kh * kw * C)
    x_shape : tuple of int
        (N, H, W, C) of the forward's input.
    kh, kw : int

    Returns
    -------
    ndarray, shape x_shape
        ``dx[n, i + k, j + l, c] += dcols[(n, i, j), (k, l, c)]`` over all rows.
    """
    n, h, w, c = x_shape
    oh, ow = h - kh + 1, w - kw + 1
    patches = dcols.reshape(n, oh, ow, kh, kw, c)
    dx = np.zeros(x_shape, dtype=dcols.dtype)
    for k in range(kh):
        for m in range(kw):
            dx[:, k : k + oh, m : m + ow, :] += patches[:, :, :, k, m, :]
    return dx


def _check(x: NDArray[np.generic], w: NDArray[np.generic]) -> None:
    if x.ndim != 4:
        raise ValueError(f"input must be 4-D (N, H, W, C), got shape {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"kernel must be 4-D (kh, kw, C, F), got shape {w.shape}")
    if w.shape[2] != x.shape[3]:
        raise ValueError(f"kernel has {w.shape[2]} input channels, input has {x.shape[3]}")
    if w.shape[0] > x.shape[1] or w.shape[1] > x.shape[2]:
        raise ValueError(f"kernel {w.shape[:2]} is larger than the image {x.shape[1:3]}")


def conv2d_forward(
    x: ArrayLike, w: ArrayLike, b: ArrayLike | None = None
) -> tuple[Array, ConvCache]:
    """Valid cross-correlation of a batch with a bank of kernels, plus bias.

    Parameters
    ----------
    x : array_like, shape (N, H, W, C)
    w : array_like, shape (kh, kw, C, F)
    b : array_like, shape (F,), optional

    Returns
    -------
    y : ndarray, shape (N, H - kh + 1, W - kw + 1, F)
        ``y[n, i, j, f] = b[f] + sum_{k, l, c} x[n, i + k, j + l, c] w[k, l, c, f]``.
    cache : tuple
        What :func:`conv2d_backward` needs; holds the im2col matrix (no extra copy of x).

    Examples
    --------
    >>> import numpy as np
    >>> y, _ = conv2d_forward(np.ones((2, 5, 5, 3)), np.ones((3, 3, 3, 4)))
    >>> y.shape, float(y[0, 0, 0, 0])
    ((2, 3, 3, 4), 27.0)
    """
    xa = np.asarray(x)
    wa = np.asarray(w)
    _check(xa, wa)
    dtype = work_dtype(xa)
    xa = xa.astype(dtype, copy=False)
    kh, kw, _, f = wa.shape
    k2 = np.ascontiguousarray(wa, dtype=dtype).reshape(-1, f)
    n, h, wd, _ = xa.shape
    cols = im2col(xa, kh, kw)
    y = cols @ k2
    if b is not None:
        y += np.asarray(b, dtype=dtype)
    return y.reshape(n, h - kh + 1, wd - kw + 1, f), (cols, xa.shape, k2.reshape(wa.shape))


def conv2d_backward(
    dy: ArrayLike, cache: ConvCache, *, input_grad: bool = True
) -> tuple[Array | None, Array, Array]:
    """Gradients of a loss through :func:`conv2d_forward`, given dL/dY.

    Parameters
    ----------
    dy : array_like, shape (N, OH, OW, F)
        dL/dY.
    cache : tuple
        The forward's cache.
    input_grad : bool, optional
        Compute dL/dX (default). A first layer does not need it, which saves a matmul and
        the col2im sum.

    Returns
    -------
    dx : ndarray, shape (N, H, W, C), or None
        dL/dX: per channel, the full convolution of dL/dY with the kernel (eq. 6), summed over
        output channels.
    dw : ndarray, shape (kh, kw, C, F)
        dL/dK: the valid correlation of X with dL/dY (eq. 5), summed over the batch.
    db : ndarray, shape (F,)
        dL/db: dL/dY summed over the batch and both image axes.
    """
    cols, x_shape, w = cache
    kh, kw, _, f = w.shape
    dy2 = np.ascontiguousarray(dy, dtype=cols.dtype).reshape(-1, f)
    n = x_shape[0]
    if cols.shape[1] < 32:
        # Few taps (a first layer): one (K x M) @ (M x F) product with a huge M runs badly
        # in BLAS; per-sample products summed over the batch run several times faster.
        per_sample = cols.reshape(n, -1, cols.shape[1]).transpose(0, 2, 1)
        dw = np.matmul(per_sample, dy2.reshape(n, -1, f)).sum(axis=0).reshape(w.shape)
    else:
        dw = (cols.T @ dy2).reshape(w.shape)
    # Column sums as a matrix-vector product: much faster than sum(axis=0) on tall arrays.
    db = np.ones(dy2.shape[0], dtype=dy2.dtype) @ dy2
    dx = None
    if input_grad:
        # Eq. (6) tap by tap: dX[:, k:k+OH, l:l+OW, :] += dY @ K[k, l]^T. The same sums as
        # col2im(dY2 @ K2^T), without the (N OH OW, kh kw C) intermediate: ~20% faster.
        n, h, wd, c = x_shape
        oh, ow = h - kh + 1, wd - kw + 1
        taps = np.ascontiguousarray(w.transpose(0, 1, 3, 2))  # (kh, kw, F, C)
        dx = np.zeros(x_shape, dtype=dy2.dtype)
        for k in range(kh):
            for m in range(kw):
                dx[:, k : k + oh, m : m + ow, :] += (dy2 @ taps[k, m]).reshape(n, oh, ow, c)
    return dx, dw, db
