"""core.kernels: the named kernels are the lab's, and user kernels parse or fail clearly."""

from __future__ import annotations

import numpy as np
import pytest

from sobelcli.core import kernels


def test_sobel_x_is_the_labs_gx_and_y_its_transpose() -> None:
    np.testing.assert_array_equal(kernels.SOBEL_X, [[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
    np.testing.assert_array_equal(kernels.SOBEL_Y, np.transpose(kernels.SOBEL_X))
    np.testing.assert_array_equal(kernels.SOBEL_Y, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def test_scharr_and_prewitt_literals() -> None:
    np.testing.assert_array_equal(kernels.SCHARR_X, [[-3, -10, -3], [0, 0, 0], [3, 10, 3]])
    np.testing.assert_array_equal(kernels.PREWITT_X, [[-1, -1, -1], [0, 0, 0], [1, 1, 1]])
    np.testing.assert_array_equal(kernels.PREWITT_Y, np.transpose(kernels.PREWITT_X))


def test_named_kernels_cannot_be_modified_in_place() -> None:
    with pytest.raises(ValueError):
        kernels.SOBEL_X[0, 0] = 5


def test_parse_kernel_rows_and_names() -> None:
    np.testing.assert_array_equal(
        kernels.parse_kernel("1,0,-1;2,0,-2;1,0,-1"), kernels.SOBEL_Y * -1
    )
    np.testing.assert_array_equal(kernels.parse_kernel(" 1 2 ; 3 4 "), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(kernels.parse_kernel("Sobel-X"), kernels.SOBEL_X)
    assert kernels.parse_kernel("0.5").shape == (1, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("1,2;3", "different lengths"),
        ("1,a;3,4", "not a number"),
        ("1,nan", "NaN"),
        ("1,inf", "NaN or infinite"),
        ("1,2;;3,4", "row 2 is empty"),
    ],
)
def test_parse_kernel_rejects_bad_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kernels.parse_kernel(text)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="sobel-x"):
        kernels.get_kernel("gauss9")


def test_cli_name_lists_match_the_core() -> None:
    """The core's tables hold exactly the names that the command line offers."""
    from sobelcli import names
    from sobelcli.core import edges, losses

    assert tuple(kernels.KERNELS) == names.KERNEL_NAMES
    assert tuple(kernels.SMOOTH) == names.OPERATORS
    assert tuple(edges.NUMPY_PAD) == names.PAD_MODES
    assert tuple(losses.LOSSES) == names.LOSS_NAMES


def test_misspelt_name_gets_a_suggestion() -> None:
    with pytest.raises(ValueError, match=r"unknown kernel 'sobelx' \(did you mean sobel-x\?\)"):
        kernels.parse_kernel("sobelx")


def test_an_operator_name_suggests_its_x_kernel() -> None:
    with pytest.raises(ValueError, match=r"unknown kernel 'sobel' \(did you mean sobel-x\?\)"):
        kernels.parse_kernel("sobel")
    with pytest.raises(ValueError, match=r"did you mean scharr-x\?"):
        kernels.parse_kernel("Scharr")
