"""Time a batch of photo-sized images through ``sobelcli edges`` with --jobs 2 against --jobs 1.

Usage:
    python bench/bench_batch.py [--quick] [--images 200] [--jobs 2]

Writes N random-texture 1024 x 768 8-bit grey PNGs (--quick: 40) into a temporary folder
(nothing is downloaded), then runs ``sobelcli edges DIR -o OUT --quiet --overwrite`` as a
subprocess with --jobs 1 and with --jobs J, best of a few runs each, and prints both times
and the speed-up. ``main()`` returns the rows for bench/run.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WIDTH, HEIGHT = 1024, 768


def make_images(folder: Path, count: int) -> None:
    """Write ``count`` photo-like PNGs: smooth random fields with some noise, as edges see them."""
    import numpy as np

    from sobelcli.io.png import encode_png

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH] / 64.0
    for i in range(count):
        fx, fy, phase = rng.uniform(0.5, 3.0, 3)
        field = np.sin(fx * xx + phase) * np.cos(fy * yy) + 0.2 * rng.standard_normal(
            (HEIGHT, WIDTH)
        )
        pixels = np.clip((field + 1.5) * 85, 0, 255).astype(np.uint8)
        (folder / f"photo{i:04d}.png").write_bytes(encode_png(pixels, 6))


def run_batch(folder: Path, out: Path, jobs: int) -> float:
    """Seconds of one ``sobelcli edges FOLDER -o OUT --jobs N`` run (outputs replaced)."""
    cmd = [
        sys.executable,
        "-m",
        "sobelcli",
        "edges",
        str(folder),
        "-o",
        str(out),
        "--jobs",
        str(jobs),
        "--quiet",
        "--overwrite",
    ]
    env = {**os.environ, "NO_COLOR": "1"}
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(quick: bool = False, images: int | None = None, jobs: int = 2) -> list[dict]:
    """Time the batch with --jobs 1 and --jobs ``jobs``; print and return the rows."""
    count = images or (40 if quick else 200)
    repeats = 1 if quick else 3
    tmp = Path(tempfile.mkdtemp(prefix="sobelcli-bench-batch-"))
    try:
        folder, out = tmp / "in", tmp / "out"
        folder.mkdir()
        make_images(folder, count)
        run_batch(folder, out, jobs)  # warm the page cache and the imports
        times = {}
        for n in (1, jobs):
            times[n] = min(run_batch(folder, out, n) for _ in range(repeats))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    case = f"edges, {count} PNGs {WIDTH}x{HEIGHT} 8-bit"
    speedup = times[1] / times[jobs]
    rows = [
        {
            "bench": "batch",
            "case": case,
            "jobs": n,
            "seconds": round(t, 3),
            "images_per_s": round(count / t, 1),
            "speedup": round(times[1] / t, 2),
        }
        for n, t in times.items()
    ]
    for row in rows:
        print(
            f"batch {case}: --jobs {row['jobs']}: {row['seconds']:.2f} s "
            f"({row['images_per_s']} images/s)"
        )
    print(f"batch speed-up --jobs {jobs} vs --jobs 1: {speedup:.2f}x on {os.cpu_count()} cores")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 images, one run each")
    parser.add_argument("--images", type=int, default=None, help="number of images")
    parser.add_argument("--jobs", type=int, default=2, help="jobs to compare with 1")
    args = parser.parse_args()
    main(args.quick, args.images, args.jobs)
