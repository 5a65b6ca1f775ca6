"""A small numpy neural-network core: the lab's Keras CNN on sobelcli's own convolution.

Layout is channels-last, like Keras: images are ``(N, H, W, C)``, convolution kernels
``(kh, kw, C, F)`` and Flatten reads ``(H, W, C)`` in that order, so a flattened feature
vector lines up with Keras' and saved weights have Keras' shapes. Every layer keeps its
forward next to its backward; the heavy work is one im2col copy and a few large float32
matmuls (BLAS) per layer, with no Python loop over samples or pixels.

>>> from sobelcli.nn import lab_cnn
>>> lab_cnn(seed=0).count_params()
93322
"""

from __future__ import annotations

from sobelcli.nn.activations import log_softmax, relu, relu_backward, softmax, softmax_cross_entropy
from sobelcli.nn.im2col import col2im, conv2d_backward, conv2d_forward, im2col
from sobelcli.nn.layers import Conv2D, Dense, Flatten, Layer, MaxPool2D
from sobelcli.nn.mnist import DataError, MnistData, load_mnist, read_idx
from sobelcli.nn.model import ModelFileError, Sequential, lab_cnn, load_model, save_model
from sobelcli.nn.optim import RMSprop
from sobelcli.nn.pool import maxpool2d_backward, maxpool2d_forward
from sobelcli.nn.train import evaluate, fit, split_validation

__all__ = [
    "Conv2D",
    "DataError",
    "Dense",
    "Flatten",
    "Layer",
    "MaxPool2D",
    "MnistData",
    "ModelFileError",
    "RMSprop",
    "Sequential",
    "col2im",
    "conv2d_backward",
    "conv2d_forward",
    "evaluate",
    "fit",
    "im2col",
    "lab_cnn",
    "load_mnist",
    "load_model",
    "log_softmax",
    "maxpool2d_backward",
    "maxpool2d_forward",
    "read_idx",
    "relu",
    "relu_backward",
    "save_model",
    "softmax",
    "softmax_cross_entropy",
    "split_validation",
]
