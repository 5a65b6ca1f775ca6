"""Benchmark group of training: sobelcli's CNN against the same model in PyTorch."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

from common import (
    ROOT,
    Section,
    Settings,
    Target,
    table,
)


def bench_train(s: Settings) -> Section:
    """The lab's CNN, 5 epochs on MNIST, in its own process; skipped without data."""
    data = Path(os.environ.get("SOBELCLI_MNIST", ROOT.parent / "shared" / "mnist"))
    sec = Section("Training the lab's CNN: `sobelcli train`")
    if (
        s.quick
        or not (data / "train-images-idx3-ubyte.gz").exists()
        and not (data / "train-images-idx3-ubyte").exists()
    ):
        why = "--quick" if s.quick else f"no MNIST files in {data} (set SOBELCLI_MNIST)"
        sec.add(f"Skipped: {why}.", "")
        return sec
    cmd = [sys.executable, str(ROOT / "bench" / "bench_train.py"), str(data)]
    torch_python = os.environ.get("SOBELCLI_TORCH_PYTHON")
    if torch_python:
        cmd += ["--torch-python", torch_python]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    print(proc.stdout, end="", flush=True)
    if proc.returncode != 0 or not proc.stdout.strip():
        sec.add(f"Training failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}", "")
        return sec
    import json

    results = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = []
    for name, r in results.items():
        epochs = r["epoch_seconds"]
        rows.append(
            [
                name,
                f"{statistics.median(epochs):.1f}",
                f"{r.get('test_loss', 0):.4f}",
                f"{r['test_accuracy']:.4f}",
                f"{r.get('peak_rss_mb', 0):.0f}",
            ]
        )
    sec.add(
        f"`python bench/bench_train.py {data}`: 48,000 training images, batch 64, 5 epochs,",
        "seed 0; the median epoch time. A PyTorch CPU reference of the same model runs when",
        "SOBELCLI_TORCH_PYTHON names an interpreter with torch (a benchmark extra only).",
        "",
        *table(["implementation", "s / epoch", "test loss", "test accuracy", "peak RSS MB"], rows),
        "",
    )
    ours = results["numpy"]
    sec.targets.append(
        Target(
            "train: test accuracy after 5 epochs",
            ">= 0.99",
            f"{ours['test_accuracy']:.4f}",
            ours["test_accuracy"] >= 0.99,
        )
    )
    sec.targets.append(
        Target(
            "train: peak memory",
            "< 1 GB",
            f"{ours['peak_rss_mb']:.0f} MB",
            ours["peak_rss_mb"] < 1024,
        )
    )
    if "torch" in results:
        r = statistics.median(ours["epoch_seconds"]) / statistics.median(
            results["torch"]["epoch_seconds"]
        )
        sec.targets.append(
            Target("train: epoch time / PyTorch CPU", "<= 3 (aim 1.5)", f"{r:.2f}", r <= 3)
        )
    return sec
