"""Benchmark groups of whole runs: the installed script against an OpenCV script, and batches."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import (
    ROOT,
    Section,
    Settings,
    Target,
    image,
    ms,
    optional,
    ratio,
    table,
)

OPENCV_SCRIPT = """\
import sys, cv2
img = cv2.imread(sys.argv[1], cv2.IMREAD_GRAYSCALE).astype("float32")
gx, gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3), cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
m = cv2.magnitude(gx, gy)
cv2.imwrite(sys.argv[2], (m * (255.0 / m.max())).astype("uint8"))
"""


def _test_png(path: Path, n: int) -> None:
    """An n x n 8-bit PNG: scikit-image's bundled camera picture, upscaled, plus a little noise."""
    import imageio.v3 as iio

    try:
        from skimage import data

        base = data.camera().astype(np.float64)
    except Exception:  # noqa: BLE001 - any failure: fall back to smooth noise
        base = image(512, np.float64) * 255
    reps = -(-n // base.shape[0])
    big = np.kron(base, np.ones((reps, reps)))[:n, :n]
    noise = np.random.default_rng(3).normal(0, 4, big.shape)
    iio.imwrite(path, np.clip(big + noise, 0, 255).astype(np.uint8))


def compress_default(helptext: str) -> str:
    """The default of ``sobelcli edges --compress``, read from its help."""
    import re

    found = re.search(r"--compress.*?\[default: (\d)", helptext, re.S)
    return found.group(1) if found else "?"


def _sobelcli_command() -> list[str]:
    script = Path(sys.executable).with_name("sobelcli")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sobelcli"]


def _time_process(argv: list[str], repeats: int) -> float | None:
    """Median wall time of a command (after one warm-up run), or None when it fails."""
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            print(
                f"  ! {' '.join(argv)} exited {done.returncode}: "
                f"{done.stderr.decode(errors='replace').strip()[:300]}",
                flush=True,
            )
            return None
        if i:
            times.append(elapsed)
    return statistics.median(times)


def bench_cli(s: Settings) -> Section:
    """whole process: sobelcli edges vs an OpenCV script."""
    n = s.cli_size
    sec = Section(f"Whole process: an edge map of a {n}² 8-bit PNG")
    cmd = _sobelcli_command()
    helptext = subprocess.run(
        [*cmd, "edges", "--help"], capture_output=True, text=True, check=False
    )
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.png", Path(tmp) / "out.png"
        _test_png(src, n)
        script = Path(tmp) / "opencv_edges.py"
        script.write_text(OPENCV_SCRIPT)
        runs: list[tuple[str, list[str] | None]] = [
            ("python -c pass (interpreter start)", [sys.executable, "-c", "pass"]),
            ("python -c 'import numpy'", [sys.executable, "-c", "import numpy"]),
        ]
        if helptext.returncode == 0:
            runs.append(
                (
                    "sobelcli edges IN -o OUT",
                    [*cmd, "edges", str(src), "-o", str(out), "--overwrite"],
                )
            )
        else:
            runs.append(("sobelcli edges IN -o OUT", None))
        if optional("cv2") is not None:
            runs.append(
                ("python opencv_edges.py IN OUT", [sys.executable, str(script), str(src), str(out)])
            )
        if "--overwrite" not in helptext.stdout:
            runs = [
                (name, [a for a in argv if a != "--overwrite"] if argv else argv)
                for name, argv in runs
            ]
        res: dict[str, float | None] = {}
        for name, argv in runs:
            res[name] = _time_process(argv, s.cli_repeats) if argv else None
            print(f"  {name}: {ms(res[name])}", flush=True)
    ref = res.get("python opencv_edges.py IN OUT")
    rows = [[name, ms(t), ratio(t, ref)] for name, t in res.items()]
    sec.add(
        f"Median ms of {s.cli_repeats} runs (after a warm-up run) with `subprocess.run`; the",
        "OpenCV script is below. Ratio = time / the OpenCV script's time. Both write the",
        f"PNG at their default zlib level: OpenCV 1, sobelcli {compress_default(helptext.stdout)}.",
        "",
        *table(["command", "ms", "ratio"], rows),
        "",
        "```python",
        *OPENCV_SCRIPT.splitlines(),
        "```",
        "",
    )
    if helptext.returncode != 0:
        sec.add("`sobelcli edges` is not available in this build: its row was skipped.", "")
    ours = res.get("sobelcli edges IN -o OUT")
    met = None if ours is None or ref is None else ours / ref <= 1.3
    sec.targets.append(
        Target(f"sobelcli edges {n}² PNG / OpenCV script", "≤ 1.3", ratio(ours, ref), met)
    )
    return sec


def bench_batch(s: Settings) -> Section:
    """A batch of photo-sized PNGs with --jobs 2 against --jobs 1."""
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_batch as batch

    sec = Section("Batch: `sobelcli edges DIR -o OUT --jobs N`")
    rows = batch.main(quick=s.quick)
    speedup = rows[-1]["speedup"]
    sec.add(
        f"{rows[0]['case']}; best of {1 if s.quick else 3} runs each, whole processes.",
        "",
        *table(
            ["--jobs", "seconds", "images/s", "speed-up"],
            [
                [
                    str(r["jobs"]),
                    f"{r['seconds']:.2f}",
                    f"{r['images_per_s']}",
                    f"{r['speedup']:.2f}",
                ]
                for r in rows
            ],
        ),
        "",
    )
    sec.targets.append(
        Target("batch --jobs 2 / --jobs 1 speed-up", ">= 1.7", f"{speedup:.2f}", speedup >= 1.7)
    )
    return sec
