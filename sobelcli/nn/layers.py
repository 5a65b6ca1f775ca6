"""Layers with cached values, micrograd style: ``forward`` keeps what ``backward`` needs.

Every layer has ``build(input_shape, rng)`` (creates its weights, returns its output
shape without the batch axis), ``forward(x, training)``, ``backward(dy) -> dx``, and
``params`` / ``grads`` dicts with the same keys. Weights start Glorot-uniform, ``U(-a, a)``
with ``a = sqrt(6 / (fan_in + fan_out))`` (for a kernel ``fan_in = kh kw C`` and
``fan_out = kh kw F``), biases at zero: Keras' defaults.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from sobelcli.nn.activations import relu, relu_backward
from sobelcli.nn.im2col import ConvCache, conv2d_backward, conv2d_forward
from sobelcli.nn.pool import PoolCache, maxpool2d_backward, maxpool2d_forward

__all__ = ["Conv2D", "Dense", "Flatten", "Layer", "MaxPool2D", "glorot_uniform"]

Array = NDArray[np.floating]
Shape = tuple[int, ...]
ACTIVATIONS = (None, "relu", "softmax")


def glorot_uniform(
    rng: np.random.Generator, shape: Shape, fan_in: int, fan_out: int, dtype: type = np.float32
) -> Array:
    """Glorot (Xavier) uniform weights: ``U(-a, a)``, ``a = sqrt(6 / (fan_in + fan_out))``."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


class Layer:
    """Base class: no weights, identity shape."""

    kind = "Layer"

    def __init__(self, name: str | None = None) -> None:
        self.name = name or self.kind.lower()
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        self.input_grad = True

    def build(self, input_shape: Shape, rng: np.random.Generator) -> Shape:
        """Create the weights for inputs of this shape (no batch axis); return the output's."""
        return input_shape

    def forward(self, x: Array, training: bool = False) -> Array:
        """Output for a batch; with ``training`` it caches what backward needs."""
        raise NotImplementedError

    def backward(self, dy: Array) -> Array | None:
        """Given dL/d(output), fill ``grads`` and return dL/d(input) (None if not needed)."""
        raise NotImplementedError

    def count_params(self) -> int:
        """Number of scalar weights."""
        return sum(int(p.size) for p in self.params.values())


def _activation(name: str | None) -> str | None:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose relu, softmax or None")
    return name


class Conv2D(Layer):
    """Valid 2-D convolution (cross-correlation) with F kernels, bias and optional ReLU.

    Input ``(N, H, W, C)``, kernel ``(kh, kw, C, F)``, output ``(N, H-kh+1, W-kw+1, F)``.
    """

    kind = "Conv2D"

    def __init__(
        self,
        filters: int,
        kernel_size: tuple[int, int] = (3, 3),
        activation: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        self.filters = filters
        self.kernel_size = kernel_size
        self.activation = _activation(activation)
        #: set by Sequential when a MaxPool2D follows: the pool applies the ReLU instead
        self.relu_in_pool = False
        self._cache: ConvCache | None = None
        self._out: Array | None = None

    def build(self, input_shape: Shape, rng: np.random.Generator) -> Shape:
        """Glorot-uniform kernel, zero bias."""
        h, w, c = input_shape
        kh, kw = self.kernel_size
        shape = (kh, kw, c, self.filters)
        self.params = {
            "kernel": glorot_uniform(rng, shape, kh * kw * c, kh * kw * self.filters),
            "bias": np.zeros(self.filters, dtype=np.float32),
        }
        return (h - kh + 1, w - kw + 1, self.filters)

    def forward(self, x: Array, training: bool = False) -> Array:
        """Correlate, add bias, apply ReLU in place."""
        y, cache = conv2d_forward(x, self.params["kernel"], self.params["bias"])
        if self.activation == "relu" and not self.relu_in_pool:
            relu(y, out=y)
        if training:
            self._cache, self._out = cache, y
        return y

    def backward(self, dy: Array) -> Array | None:
        """ReLU mask, then :func:`~sobelcli.nn.im2col.conv2d_backward`."""
        if self._cache is None or self._out is None:
            raise RuntimeError(f"{self.name}: backward before a training forward")
        if self.activation == "relu" and not self.relu_in_pool:
            dy = relu_backward(dy, self._out)
        dx, dw, db = conv2d_backward(dy, self._cache, input_grad=self.input_grad)
        self.grads = {"kernel": dw, "bias": db}
        self._cache = self._out = None
        return dx


class MaxPool2D(Layer):
    """2 x 2 max-pooling, stride 2, floor: ``(N, H, W, C) -> (N, H//2, W//2, C)``.

    With ``relu_first`` (set by :class:`~sobelcli.nn.model.Sequential` after a Conv2D with
    ReLU) it computes ``relu(maxpool(z))`` from the convolution's pre-activation z, which
    equals ``maxpool(relu(z))`` since ReLU is increasing, with its gradient
    ``[max > 0] * [at the argmax]``, the same as Keras'. The ReLU and its mask then run on
    the pooled array, a quarter of the size, and pooling sees no ReLU zeros, so no ties.
    """

    kind = "MaxPooling2D"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self.relu_first = False
        self._cache: PoolCache | None = None
        self._out: Array | None = None

    def build(self, input_shape: Shape, rng: np.random.Generator) -> Shape:
        """No weights."""
        h, w, c = input_shape
        return (h // 2, w // 2, c)

    def forward(self, x: Array, training: bool = False) -> Array:
        """Max over each 2 x 2 window."""
        y, cache = maxpool2d_forward(x)
        if self.relu_first:
            y = relu(y)  # a new array: the cache keeps the max of z for the backward
        if training:
            self._cache, self._out = cache, y
        return y

    def backward(self, dy: Array) -> Array | None:
        """Route dy to each window's maximum."""
        if self._cache is None:
            raise RuntimeError(f"{self.name}: backward before a training forward")
        if self.relu_first:
            assert self._out is not None
            dy = relu_backward(dy, self._out)
        dx = maxpool2d_backward(dy, self._cache)
        self._cache = self._out = None
        return dx


class Flatten(Layer):
    """``(N, H, W, C) -> (N, H W C)`` in (H, W, C) order, like Keras' channels-last Flatten."""

    kind = "Flatten"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name)
        self._shape: Shape = ()

    def build(self, input_shape: Shape, rng: np.random.Generator) -> Shape:
        """No weights."""
        return (math.prod(input_shape),)

    def forward(self, x: Array, training: bool = False) -> Array:
        """Reshape (a view)."""
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: Array) -> Array | None:
        """Reshape back."""
        return dy.reshape(self._shape)


class Dense(Layer):
    """Fully connected: ``y = x W + b``, W of shape (D, U).

    With ``activation="relu"`` the output is rectified. With ``"softmax"`` the layer still
    returns logits: the softmax is applied by the loss
    (:func:`~sobelcli.nn.activations.softmax_cross_entropy`, stable) and by
    :meth:`Sequential.predict_proba`.
    """

    kind = "Dense"

    def __init__(self, units: int, activation: str | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.units = units
        self.activation = _activation(activation)
        self._x: Array | None = None
        self._out: Array | None = None

    def build(self, input_shape: Shape, rng: np.random.Generator) -> Shape:
        """Glorot-uniform weights, zero bias."""
        (d,) = input_shape
        self.params = {
            "kernel": glorot_uniform(rng, (d, self.units), d, self.units),
            "bias": np.zeros(self.units, dtype=np.float32),
        }
        return (self.units,)

    def forward(self, x: Array, training: bool = False) -> Array:
        """X W + b, then ReLU if asked."""
        w = self.params["kernel"].astype(x.dtype, copy=False)
        y = x @ w
        y += self.params["bias"].astype(x.dtype, copy=False)
        if self.activation == "relu":
            relu(y, out=y)
        if training:
            self._x, self._out = x, y
        return y

    def backward(self, dy: Array) -> Array | None:
        """DW = x^T dy, db = sum dy, dx = dy W^T."""
        if self._x is None or self._out is None:
            raise RuntimeError(f"{self.name}: backward before a training forward")
        if self.activation == "relu":
            dy = relu_backward(dy, self._out)
        w = self.params["kernel"].astype(dy.dtype, copy=False)
        self.grads = {"kernel": self._x.T @ dy, "bias": dy.sum(axis=0)}
        dx = dy @ w.T if self.input_grad else None
        self._x = self._out = None
        return dx
