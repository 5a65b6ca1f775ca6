"""sobelcli: Sobel edge maps and convolution gradients, on a small numpy core.

The public API is imported lazily, so that ``sobelcli --help`` starts without numpy:

>>> from sobelcli import correlate2d, edge_magnitude, grad_input, grad_kernel, SOBEL_X, SOBEL_Y
"""

from __future__ import annotations

from sobelcli._lazy import lazy_names
from sobelcli._version import __version__

#: typing.TYPE_CHECKING, without importing typing (3 ms) before the command line is imported
TYPE_CHECKING = False

#: public name -> module that defines it
_API = {
    "correlate2d": "core.correlate",
    "convolve2d_full": "core.correlate",
    "grad_input": "core.correlate",
    "grad_kernel": "core.correlate",
    "SOBEL_X": "core.kernels",
    "SOBEL_Y": "core.kernels",
    "SCHARR_X": "core.kernels",
    "SCHARR_Y": "core.kernels",
    "PREWITT_X": "core.kernels",
    "PREWITT_Y": "core.kernels",
    "KERNELS": "core.kernels",
    "parse_kernel": "core.kernels",
    "edge_magnitude": "core.edges",
    "edge_gradients": "core.edges",
    "edge_map": "core.edges",
    "LOSSES": "core.losses",
    "gradcheck": "core.gradcheck",
    "ascend": "core.maximize",
    "top_singular_value": "core.maximize",
}

__all__ = ["__version__", *_API]


__getattr__, __dir__ = lazy_names(__name__, _API)


if TYPE_CHECKING:  # pragma: no cover
    from sobelcli.core.correlate import convolve2d_full, correlate2d, grad_input, grad_kernel
    from sobelcli.core.edges import edge_gradients, edge_magnitude, edge_map
    from sobelcli.core.gradcheck import gradcheck
    from sobelcli.core.kernels import (
        KERNELS,
        PREWITT_X,
        PREWITT_Y,
        SCHARR_X,
        SCHARR_Y,
        SOBEL_X,
        SOBEL_Y,
        parse_kernel,
    )
    from sobelcli.core.losses import LOSSES
    from sobelcli.core.maximize import ascend, top_singular_value
