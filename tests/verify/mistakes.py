"""Implementations for ``sobelcli verify`` to judge: right ones, and the usual mistakes.

Loaded by the verifier's child process as ``tests/verify/mistakes.py:NAME``; run as a program,
``python mistakes.py NAME INPUT... OUTPUT``, it reads and writes CSV files the way a ``--cmd``
program does (an R script's stand-in where R is not installed).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

GX = np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])


def _valid(x, k):
    x, k = np.asarray(x, dtype=float), np.asarray(k, dtype=float)
    rows, cols = x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1
    y = np.zeros((rows, cols))
    for a in range(k.shape[0]):
        for b in range(k.shape[1]):
            y += x[a : a + rows, b : b + cols] * k[a, b]
    return y


def _full_conv(dy, k):
    dy, k = np.asarray(dy, dtype=float), np.asarray(k, dtype=float)
    out = np.zeros((dy.shape[0] + k.shape[0] - 1, dy.shape[1] + k.shape[1] - 1))
    for a in range(k.shape[0]):
        for b in range(k.shape[1]):
            out[a : a + dy.shape[0], b : b + dy.shape[1]] += dy * k[a, b]
    return out


def _edges(image):
    e = np.sqrt(_valid(image, GX) ** 2 + _valid(image, GX.T) ** 2)
    return e / e.max()


# --- right ----------------------------------------------------------------------------------


def forward(x, k):
    return _valid(x, k)


def grad_input(dy, k):
    return _full_conv(dy, k)


def grad_kernel(x, dy):
    return _valid(x, dy)


def edges(image):
    return _edges(image)


def forward_as_list(x, k):
    """A list of lists is an array of numbers too."""
    return _valid(x, k).tolist()


def forward_printing(x, k):
    """Prints on stdout, which must not disturb the exchange with sobelcli."""
    print("debug: computing", x.shape, k.shape)
    sys.stdout.write("\x00\x00\x00\x05garbage")
    return _valid(x, k)


# --- the forward's mistakes -----------------------------------------------------------------


def flipped(x, k):
    return _valid(x, np.asarray(k)[::-1, ::-1])


def transposed_kernel(x, k):
    return _valid(x, np.asarray(k).T)


def transposed_image(x, k):
    return _valid(np.asarray(x).T, k)


def transposed_output(x, k):
    return _valid(x, k).T


def same_size(x, k):
    kh, kw = np.asarray(k).shape
    top, left = (kh - 1) // 2, (kw - 1) // 2
    padded = np.pad(np.asarray(x, dtype=float), ((top, kh - 1 - top), (left, kw - 1 - left)))
    return _valid(padded, k)


def full_size(x, k):
    kh, kw = np.asarray(k).shape
    return _valid(np.pad(np.asarray(x, dtype=float), ((kh - 1, kh - 1), (kw - 1, kw - 1))), k)


def off_by_one(x, k):
    """Loops to r(X) - r(K) instead of r(X) - r(K) + 1: one row short."""
    y = _valid(x, k)
    return y[:-1] if y.shape[0] > 1 else y[:, :-1]


def sign(x, k):
    return -_valid(x, k)


def twice(x, k):
    return 2 * _valid(x, k)


def integer_output(x, k):
    y = np.zeros_like(np.asarray(x))[: x.shape[0] - k.shape[0] + 1, : x.shape[1] - k.shape[1] + 1]
    y[...] = _valid(x, k)
    return y


def squeezed(x, k):
    return np.squeeze(_valid(x, k))


def with_nan(x, k):
    y = _valid(x, k)
    y[-1, -1] = np.nan
    return y


def raising(x, k):
    raise RuntimeError("not written yet")


def exiting(x, k):
    sys.exit(3)


def crashing(x, k):
    os._exit(7)


def sleeping(x, k):
    time.sleep(60)
    return _valid(x, k)


def returns_none(x, k):
    _valid(x, k)


def returns_text(x, k):
    return "y"


# --- the gradients' mistakes ----------------------------------------------------------------


def grad_input_not_flipped(dy, k):
    return _full_conv(dy, np.asarray(k)[::-1, ::-1])


def grad_input_without_dy(dy, k):
    return _full_conv(np.ones_like(dy), k)


def grad_input_dy_shape(dy, k):
    kh, kw = np.asarray(k).shape
    return _full_conv(dy, k)[kh - 1 :, kw - 1 :][: dy.shape[0], : dy.shape[1]]


def grad_input_twice(dy, k):
    return 2 * _full_conv(dy, k)


def grad_input_interior(dy, k):
    """The lab's eq. (6) without its border limits: only full windows are summed."""
    out = _full_conv(dy, k)
    kh, kw = np.asarray(k).shape
    inner = np.zeros_like(out)
    h, w = out.shape
    inner[kh - 1 : h - kh + 1, kw - 1 : w - kw + 1] = out[kh - 1 : h - kh + 1, kw - 1 : w - kw + 1]
    return inner


def grad_kernel_flipped(x, dy):
    return _valid(x, np.asarray(dy)[::-1, ::-1])


def grad_kernel_without_dy(x, dy):
    return _valid(x, np.ones_like(dy))


def grad_kernel_sign(x, dy):
    return -_valid(x, dy)


def grad_kernel_reversed(x, dy):
    return _valid(x, dy)[::-1, ::-1]


# --- the edge map's mistakes ----------------------------------------------------------------


def edges_not_normalized(image):
    return np.sqrt(_valid(image, GX) ** 2 + _valid(image, GX.T) ** 2)


def edges_no_sqrt(image):
    e = _valid(image, GX) ** 2 + _valid(image, GX.T) ** 2
    return e / e.max()


def edges_same_size(image):
    return _edges(np.pad(np.asarray(image, dtype=float), 1))


def edges_only_gx(image):
    e = np.abs(_valid(image, GX))
    return e / e.max()


# --- as a --cmd program ---------------------------------------------------------------------


def _read(path):
    with open(path) as f:
        return np.array([[float(v) for v in line.split(",")] for line in f if line.strip()])


def _write(path, matrix):
    with open(path, "w") as f:
        for row in np.atleast_2d(np.asarray(matrix, dtype=float)):
            f.write(",".join(repr(float(v)) for v in row) + "\n")


if __name__ == "__main__":
    name, *inputs, output = sys.argv[1:]
    _write(output, globals()[name](*[_read(path) for path in inputs]))
