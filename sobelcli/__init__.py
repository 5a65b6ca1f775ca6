"""sobelcli: Sobel edge maps and convolution gradients, on a small numpy core.

The public API is imported lazily, so that ``sobelcli --help`` starts without numpy:

>>> from sobelcli import correlate2d, edge_magnitude, grad_input, grad_kernel, SOBEL_X, SOBEL_Y
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

#: public name -> module that defines it
_API = {
    "correlate2d": "conv",
    "convolve2d_full": "conv",
    "grad_input": "conv",
    "grad_kernel": "conv",
    "SOBEL_X": "kernels",
    "SOBEL_Y": "kernels",
    "SCHARR_X": "kernels",
    "SCHARR_Y": "kernels",
    "PREWITT_X": "kernels",
    "PREWITT_Y": "kernels",
    "KERNELS": "kernels",
    "parse_kernel": "kernels",
    "edge_magnitude": "edges",
    "edge_gradients": "edges",
    "edge_map": "edges",
    "LOSSES": "losses",
    "gradcheck": "gradcheck",
    "ascend": "maximize",
    "top_singular_value": "maximize",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'sobelcli' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from .conv import convolve2d_full, correlate2d, grad_input, grad_kernel
    from .edges import edge_gradients, edge_magnitude, edge_map
    from .gradcheck import gradcheck
    from .kernels import (
        KERNELS,
        PREWITT_X,
        PREWITT_Y,
        SCHARR_X,
        SCHARR_Y,
        SOBEL_X,
        SOBEL_Y,
        parse_kernel,
    )
    from .losses import LOSSES
    from .maximize import ascend, top_singular_value
