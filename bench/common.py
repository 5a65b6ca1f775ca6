"""What every benchmark group shares: settings, the timer, tables, test images, the machine."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the work tree's sobelcli, even without an editable install

import sobelcli  # noqa: E402
from sobelcli import engine as _engine  # noqa: E402

Case = Callable[[], Any]


# --- settings, results and the timer -----------------------------------------------------


@dataclass
class Settings:
    quick: bool
    repeats: int
    #: image sides of the edge benchmark
    edge_sizes: tuple[int, ...]
    #: image side of the correlation and gradient benchmarks
    conv_size: int
    kernel_sizes: tuple[int, ...]
    gradcheck_size: int
    cli_size: int
    cli_repeats: int


def settings(quick: bool, repeats: int | None) -> Settings:
    if quick:
        return Settings(True, repeats or 3, (512, 1024), 512, (3, 7, 15, 31), 256, 512, 3)
    return Settings(False, repeats or 7, (512, 2048, 4096), 2048, (3, 7, 15, 31), 512, 2048, 7)


@dataclass
class Target:
    """One of issue 4's targets and whether this run met it."""

    what: str
    goal: str
    value: str
    met: bool | None  # None: not measured


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)


def measure(cases: dict[str, Case], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median seconds of each case, timed round-robin after ``warmup`` untimed calls each."""
    for case in cases.values():
        for _ in range(warmup):
            case()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, case in cases.items():
            start = time.perf_counter()
            case()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def adaptive_repeats(case: Case, repeats: int, budget: float = 1.5) -> int:
    """Fewer repeats for a slow case: about ``budget`` seconds, at least 3."""
    start = time.perf_counter()
    case()
    once = time.perf_counter() - start
    return max(3, min(repeats, int(budget / max(once, 1e-9))))


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    value = seconds * 1e3
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.2f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def optional(module: str) -> Any:
    """Import a reference library, or None when it is not installed."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        return None


def image(n: int, dtype: type, seed: int = 0) -> np.ndarray:
    """A smooth random field plus noise, in [0, 1]: edges everywhere, no flat regions."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((n // 16 + 2, n // 16 + 2))
    field_ = np.kron(coarse, np.ones((16, 16)))[:n, :n]
    return (0.8 * field_ + 0.2 * rng.random((n, n))).astype(dtype)


# --- edge magnitude ------------------------------------------------------------------------


def _version(module: str) -> str:
    mod = optional(module)
    return getattr(mod, "__version__", "not installed") if mod else "not installed"


def machine() -> list[str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith(("SOBELCLI_", "OPENBLAS_", "OMP_", "MKL_"))
    }
    rows = [
        ["CPU", cpu],
        ["cores (os.cpu_count)", str(os.cpu_count())],
        ["threads used by sobelcli", str(_engine.threads())],
        ["OS", f"{platform.system()} {platform.release()}"],
        ["python", platform.python_version()],
        ["numpy", np.__version__],
        ["scipy", _version("scipy")],
        ["scikit-image", _version("skimage")],
        ["opencv", _version("cv2")],
        ["sobelcli", f"{sobelcli.__version__} ({commit or 'no git'})"],
        ["date (UTC)", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")],
        ["environment", ", ".join(f"{k}={v}" for k, v in sorted(env.items())) or "—"],
    ]
    return table(["", ""], rows)
