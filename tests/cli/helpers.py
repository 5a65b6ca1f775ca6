"""What the command-line tests share: a run through CliRunner, a small PNG, the JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from click.testing import CliRunner

from sobelcli.cli.main import cli


def run(*args: str, input: bytes | None = None):
    """``sobelcli ARGS`` in this process; exceptions are not caught (a traceback fails)."""
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def png(path: Path, seed: int = 0, shape: tuple[int, int] = (12, 14)) -> Path:
    """A random 8-bit grey PNG at ``path`` (folders made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    path.write_bytes(iio.imwrite("<bytes>", pixels, extension=".png"))
    return path


def records(result) -> list[dict]:
    """The JSON lines a ``--json`` run printed on stdout."""
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
