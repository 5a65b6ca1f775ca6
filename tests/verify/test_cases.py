"""The battery: what it covers, that it is reproducible, and that its references are right."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from sobelcli.verify import ROLES, battery, reference
from sobelcli.verify.cases import error_scale

CONV_ROLES = ("forward", "grad-input", "grad-kernel")


@pytest.mark.parametrize("role", ROLES)
def test_count_order_and_seed(role: str) -> None:
    cases = battery(role, 25, seed=3)
    assert [c.index for c in cases] == list(range(1, 26))
    again = battery(role, 25, seed=3)
    other = battery(role, 25, seed=4)
    for a, b in zip(cases, again, strict=True):
        assert a.label == b.label and np.array_equal(a.x, b.x) and np.array_equal(a.dy, b.dy)
    assert any(not np.array_equal(a.x, c.x) for a, c in zip(cases, other, strict=True))
    assert [c.label for c in battery(role, 3)] == [c.label for c in cases[:3]]


def test_the_hand_made_cases_cover_the_usual_traps() -> None:
    cases = battery("forward", 15)
    shapes = {(c.x.shape, c.k.shape) for c in cases}
    assert any(k == (1, 1) for _, k in shapes)
    assert any(k[0] == 1 and k[1] > 1 for _, k in shapes)  # 1 x n kernel
    assert any(x == k for x, k in shapes)  # kernel as large as the image
    assert any(x[0] == 1 for x, _ in shapes)  # one-row image
    assert any(x[0] != x[1] for x, _ in shapes) and any(k[0] % 2 == 0 for _, k in shapes)
    dtypes = {c.x.dtype.name for c in cases}
    assert {"float64", "float32", "uint8", "int64"} <= dtypes
    # the first case tells flipped, transposed and 'same' apart: non-square, asymmetric K
    first = cases[0]
    assert first.k.shape[0] != first.k.shape[1]
    assert not np.allclose(first.k, first.k[::-1, ::-1])


@pytest.mark.parametrize("role", CONV_ROLES)
def test_references_match_scipy(role: str) -> None:
    for case in battery(role, 30, seed=1):
        x, k, dy = (np.asarray(a, dtype=np.float64) for a in (case.x, case.k, case.dy))
        if role == "forward":
            expected = signal.correlate2d(x, k, "valid")
        elif role == "grad-input":
            expected = signal.convolve2d(dy, k, "full")
        else:
            expected = signal.correlate2d(x, dy, "valid")
        got = reference(role, case)
        assert got.shape == case.output_shape(role) == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-9 * np.abs(expected).max())
        assert dy.shape == signal.correlate2d(x, k, "valid").shape


def test_edge_cases_have_edges() -> None:
    for case in battery("edges", 30, seed=2):
        assert min(case.x.shape) >= 3
        e = reference("edges", case)
        assert e.shape == case.output_shape("edges") == (case.x.shape[0] - 2, case.x.shape[1] - 2)
        assert e.max() == pytest.approx(1.0)  # never a constant image: the lab divides by max


@pytest.mark.parametrize("role", ROLES)
def test_error_scale_bounds_the_answer(role: str) -> None:
    """S = the same sum of |terms| is at least |answer|, so the tolerance scales with it."""
    for case in battery(role, 20, seed=5):
        scale = error_scale(role, case)
        assert scale.shape == case.output_shape(role)
        assert np.all(scale >= np.abs(reference(role, case)) * (1 - 1e-12))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least one case"):
        battery("forward", 0)
    with pytest.raises(ValueError, match="unknown role"):
        battery("backward", 3)  # type: ignore[arg-type]
