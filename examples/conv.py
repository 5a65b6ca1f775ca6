"""The lab's convolution, its two gradients and the Sobel edge map, in plain numpy.

A correct implementation to compare yours with, and to try ``sobelcli verify`` on::

    sobelcli verify examples/conv.py:correlate --role forward
    sobelcli verify examples/conv.py:grad_input --role grad-input \
        --forward examples/conv.py:correlate
    sobelcli verify examples/conv.py:grad_kernel --role grad-kernel
    sobelcli verify examples/conv.py:edges --role edges

It also runs as a program with the same arguments as ``examples/conv.R``, reading and writing
CSV files (plain numbers, comma-separated, one matrix row per line)::

    sobelcli verify --role forward --cmd 'python examples/conv.py forward {x} {k} {out}'

The lab writes its formulas with 1-based indices; numpy arrays are 0-based, so the lab's
x_{i+k-1, j+l-1} is ``x[i + k, j + l]`` here. Each function loops over the kernel's elements
and adds a shifted slice of the image, the lab's double sum with the loops over i and j done
by numpy.
"""

from __future__ import annotations

import sys

import numpy as np

GX = np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])
GY = GX.T


def correlate(x, k):
    """Eq. (3): y_ij = sum_k sum_l x_{i+k-1, j+l-1} k_kl, shape (r(X)-r(K)+1, c(X)-c(K)+1)."""
    x = np.asarray(x, dtype=float)
    k = np.asarray(k, dtype=float)
    rows, cols = x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1
    y = np.zeros((rows, cols))
    for a in range(k.shape[0]):
        for b in range(k.shape[1]):
            y += x[a : a + rows, b : b + cols] * k[a, b]
    return y


def grad_kernel(x, dy):
    """Eq. (5): dL/dk_kl = sum_i sum_j dL/dy_ij x_{i+k-1, j+l-1}, the shape of K."""
    return correlate(x, dy)


def grad_input(dy, k):
    """Eq. (6): dL/dx_ij = sum_kl dL/dy_{i-k+1, j-l+1} k_kl, the shape of X.

    Every y_ab took k_kl times x_{a+k-1, b+l-1}, so it sends dL/dy_ab * k_kl back there.
    """
    dy = np.asarray(dy, dtype=float)
    k = np.asarray(k, dtype=float)
    rows, cols = dy.shape[0] + k.shape[0] - 1, dy.shape[1] + k.shape[1] - 1
    dx = np.zeros((rows, cols))
    for a in range(k.shape[0]):
        for b in range(k.shape[1]):
            dx[a : a + dy.shape[0], b : b + dy.shape[1]] += dy * k[a, b]
    return dx


def edges(image):
    """Eq. (2): E = sqrt((Gx * I)^2 + (Gy * I)^2) / max, shape (H-2, W-2)."""
    e = np.sqrt(correlate(image, GX) ** 2 + correlate(image, GY) ** 2)
    top = e.max()
    return e / top if top > 0 else e


def _read(path):
    with open(path) as f:
        return np.array([[float(v) for v in line.split(",")] for line in f if line.strip()])


def _write(path, matrix):
    with open(path, "w") as f:
        for row in np.atleast_2d(matrix):
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def main(argv):
    """``conv.py ROLE INPUT... OUTPUT``, as examples/conv.R."""
    roles = {
        "forward": correlate,
        "grad-input": grad_input,
        "grad-kernel": grad_kernel,
        "edges": edges,
    }
    if len(argv) < 3 or argv[0] not in roles:
        sys.exit("usage: conv.py forward|grad-input|grad-kernel|edges INPUT... OUTPUT")
    function = roles[argv[0]]
    _write(argv[-1], function(*[_read(path) for path in argv[1:-1]]))


if __name__ == "__main__":
    main(sys.argv[1:])
