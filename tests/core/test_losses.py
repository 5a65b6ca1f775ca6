"""sobelcli.core.losses: each dL/dY against central differences of its own value."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sobelcli.core.losses import LOSSES, get_loss


@pytest.mark.parametrize("name", list(LOSSES))
@given(y=st.floats(-30, 30, allow_nan=False))
def test_gradient_matches_finite_difference(name: str, y: float) -> None:
    loss = LOSSES[name]
    eps = 1e-5
    numeric = (loss.value(np.array([y + eps])) - loss.value(np.array([y - eps]))) / (2 * eps)
    analytic = float(loss.grad(np.array([y]))[0])
    assert abs(numeric - analytic) <= 1e-6 * max(1.0, abs(analytic))


def test_values_of_known_points() -> None:
    y = np.array([0.0, 1.0, -2.0])
    assert LOSSES["sumsq"].value(y) == 5.0
    assert LOSSES["logcosh"].value(np.array([0.0])) == 0.0
    assert LOSSES["softplus"].value(np.array([0.0])) == pytest.approx(np.log(2))
    assert LOSSES["logcosh"].value(np.array([800.0])) == pytest.approx(
        800 - np.log(2)
    )  # no overflow


def test_unknown_loss() -> None:
    with pytest.raises(ValueError, match="sumsq"):
        get_loss("mse")
