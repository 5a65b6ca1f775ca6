"""The part of sobelcli that verify computes with: its public API, and nothing deeper.

The facade builds its ``__all__`` at run time, so mypy cannot see that these names are
exported; the ignore below says so once, here, for the whole package.
"""

from __future__ import annotations

from sobelcli import (  # type: ignore[attr-defined]
    SOBEL_X,
    SOBEL_Y,
    correlate2d,
    edge_magnitude,
    grad_input,
    grad_kernel,
)

__all__ = ["SOBEL_X", "SOBEL_Y", "correlate2d", "edge_magnitude", "grad_input", "grad_kernel"]
