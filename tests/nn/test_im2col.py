"""Batched conv, max-pool, ReLU and softmax cross-entropy against references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import convolve2d, correlate2d

from sobelcli.core import correlate as conv2d_lab
from sobelcli.nn import (
    col2im,
    conv2d_backward,
    conv2d_forward,
    im2col,
    log_softmax,
    maxpool2d_backward,
    maxpool2d_forward,
    relu,
    relu_backward,
    softmax,
    softmax_cross_entropy,
)


def reference_forward(x, w, b):
    n, h, wd, c = x.shape
    kh, kw, _, f = w.shape
    y = np.zeros((n, h - kh + 1, wd - kw + 1, f))
    for i in range(n):
        for o in range(f):
            y[i, :, :, o] = b[o] + sum(
                correlate2d(x[i, :, :, ch], w[:, :, ch, o], "valid") for ch in range(c)
            )
    return y


def reference_backward(x, w, dy):
    n, _, _, c = x.shape
    f = w.shape[3]
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    for i in range(n):
        for ch in range(c):
            for o in range(f):
                dx[i, :, :, ch] += convolve2d(dy[i, :, :, o], w[:, :, ch, o], "full")
                dw[:, :, ch, o] += correlate2d(x[i, :, :, ch], dy[i, :, :, o], "valid")
    return dx, dw, dy.sum(axis=(0, 1, 2))


shapes = st.tuples(
    st.integers(1, 3),  # N
    st.integers(1, 4),  # C
    st.integers(1, 3),  # F
    st.integers(1, 4),  # kh
    st.integers(1, 4),  # kw
    st.integers(0, 4),  # extra H
    st.integers(0, 4),  # extra W
)


@settings(max_examples=40, deadline=None)
@given(shapes, st.integers(0, 2**32 - 1))
def test_forward_and_backward_match_scipy(shape, seed):
    n, c, f, kh, kw, eh, ew = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, kh + eh, kw + ew, c))
    w = rng.standard_normal((kh, kw, c, f))
    b = rng.standard_normal(f)
    y, cache = conv2d_forward(x, w, b)
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, reference_forward(x, w, b), rtol=1e-10, atol=1e-10)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = conv2d_backward(dy, cache)
    rdx, rdw, rdb = reference_backward(x, w, dy)
    np.testing.assert_allclose(dx, rdx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, rdw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, rdb, rtol=1e-10, atol=1e-10)


def test_single_channel_matches_sobelcli_conv():
    rng = np.random.default_rng(1)
    img = rng.standard_normal((9, 11))
    k = rng.standard_normal((3, 3))
    y, cache = conv2d_forward(img[None, :, :, None], k[:, :, None, None])
    np.testing.assert_allclose(y[0, :, :, 0], conv2d_lab.correlate2d(img, k), atol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx, dw, _ = conv2d_backward(dy, cache)
    np.testing.assert_allclose(dx[0, :, :, 0], conv2d_lab.grad_input(dy[0, :, :, 0], k), atol=1e-12)
    np.testing.assert_allclose(
        dw[:, :, 0, 0], conv2d_lab.grad_kernel(img, dy[0, :, :, 0]), atol=1e-12
    )


def test_first_layer_path_many_taps_and_few():
    # cols with < 32 columns take the per-sample dW path; both paths must agree with scipy.
    rng = np.random.default_rng(2)
    for c in (1, 8):
        x = rng.standard_normal((4, 8, 8, c))
        w = rng.standard_normal((3, 3, c, 5))
        y, cache = conv2d_forward(x, w)
        dy = rng.standard_normal(y.shape)
        _, dw, _ = conv2d_backward(dy, cache, input_grad=False)
        np.testing.assert_allclose(dw, reference_backward(x, w, dy)[1], rtol=1e-10, atol=1e-10)


def test_float32_stays_float32_and_close():
    rng = np.random.default_rng(3)
    x = rng.random((2, 10, 10, 3))
    w = rng.standard_normal((3, 3, 3, 4))
    y32, cache = conv2d_forward(x.astype(np.float32), w)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, conv2d_forward(x, w)[0], rtol=1e-4, atol=1e-5)
    dx, dw, db = conv2d_backward(np.ones_like(y32), cache)
    assert dx.dtype == dw.dtype == db.dtype == np.float32


def test_im2col_col2im_are_adjoint():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 6, 7, 3))
    cols = im2col(x, 3, 2)
    assert cols.shape == (2 * 4 * 6, 3 * 2 * 3)
    r = rng.standard_normal(cols.shape)
    assert np.isclose(np.sum(cols * r), np.sum(x * col2im(r, x.shape, 3, 2)))


def test_conv_rejects_bad_shapes():
    with pytest.raises(ValueError, match="4-D"):
        conv2d_forward(np.zeros((5, 5)), np.zeros((3, 3, 1, 1)))
    with pytest.raises(ValueError, match="channels"):
        conv2d_forward(np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 1, 1)))
    with pytest.raises(ValueError, match="larger"):
        conv2d_forward(np.zeros((1, 2, 5, 1)), np.zeros((3, 3, 1, 1)))


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 9), st.integers(2, 9), st.integers(0, 2**32 - 1))
def test_maxpool_forward_and_backward(h, w, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, h, w, 3))
    y, cache = maxpool2d_forward(x)
    assert y.shape == (2, h // 2, w // 2, 3)
    for i in range(h // 2):
        for j in range(w // 2):
            np.testing.assert_array_equal(
                y[:, i, j], x[:, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].max(axis=(1, 2))
            )
    dy = rng.standard_normal(y.shape)
    dx = maxpool2d_backward(dy, cache)
    # Distinct values: each window's gradient lands on its maximum only, nothing elsewhere.
    assert np.isclose(dx.sum(), dy.sum())
    assert np.count_nonzero(dx) == np.count_nonzero(dy)
    if h % 2:
        assert not dx[:, -1].any()
    for i in range(h // 2):
        for j in range(w // 2):
            win = x[:, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
            dwin = dx[:, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
            np.testing.assert_array_equal(
                np.where(
                    win == win.max(axis=(1, 2), keepdims=True), dy[:, i : i + 1, j : j + 1], 0
                ),
                dwin,
            )


def test_maxpool_keras_floor():
    y, _ = maxpool2d_forward(np.zeros((1, 11, 11, 64), np.float32))
    assert y.shape == (1, 5, 5, 64)
    assert y.dtype == np.float32


def test_maxpool_after_relu_matches_argmax_routing():
    # Ties are zeros after ReLU; the composite gradient equals Keras' argmax routing.
    x = np.array([[0.0, 0.0], [0.0, 0.0]])[None, :, :, None]
    a = relu(x.copy())
    y, cache = maxpool2d_forward(a)
    dz = relu_backward(maxpool2d_backward(np.ones_like(y), cache), a)
    assert not dz.any()


def test_relu_pair():
    z = np.array([-1.0, 0.0, 2.0], dtype=np.float32)
    a = relu(z)
    np.testing.assert_array_equal(a, [0, 0, 2])
    g = relu_backward(np.array([5.0, 5.0, 5.0], dtype=np.float32), a)
    np.testing.assert_array_equal(g, [0, 0, 5])
    assert g.dtype == np.float32


def test_softmax_is_stable():
    z = np.array([[1000.0, 0.0, -1000.0], [-1e4, -1e4, -1e4]])
    p = softmax(z)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1)
    assert np.isfinite(log_softmax(z)).all()
    loss, dz, _ = softmax_cross_entropy(z, [2, 0])
    assert np.isfinite(loss) and loss > 900


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_softmax_cross_entropy_gradient(n, k, seed):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, k)) * 3
    t = rng.integers(0, k, n)
    loss, dz, pred = softmax_cross_entropy(z, t)
    np.testing.assert_array_equal(pred, z.argmax(axis=1))
    assert np.isclose(
        loss, -np.mean(np.log(np.exp(z) / np.exp(z).sum(1, keepdims=True))[np.arange(n), t])
    )
    eps = 1e-6
    num = np.zeros_like(z)
    for i in range(n):
        for j in range(k):
            zp, zm = z.copy(), z.copy()
            zp[i, j] += eps
            zm[i, j] -= eps
            num[i, j] = (softmax_cross_entropy(zp, t)[0] - softmax_cross_entropy(zm, t)[0]) / (
                2 * eps
            )
    np.testing.assert_allclose(dz, num, rtol=1e-6, atol=1e-8)
