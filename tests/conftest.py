"""Shared fixtures and hypothesis profiles (HYPOTHESIS_PROFILE=thorough runs more examples)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_images"
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture(autouse=True)
def _no_scheduler_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's SOBELCLI_SCHEDULER must not send every CLI test to a cluster."""
    monkeypatch.delenv("SOBELCLI_SCHEDULER", raising=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def png_bytes(pixels: np.ndarray) -> bytes:
    import imageio.v3 as iio

    return bytes(iio.imwrite("<bytes>", pixels, extension=".png"))


@pytest.fixture
def grey_png(tmp_path: Path, rng: np.random.Generator) -> Path:
    """A 20 x 30 8-bit grey PNG of random values."""
    path = tmp_path / "grey.png"
    path.write_bytes(png_bytes(rng.integers(0, 256, (20, 30), dtype=np.uint8)))
    return path
