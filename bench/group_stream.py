"""Benchmark group "stream": big images through the real CLI, against libvips and dask-image.

A tiled 8-bit TIFF (zlib, 256² tiles) and an 8-bit PNG of the same scene are built from a
generator, one tile (or one band of rows) in memory at a time. Each tool then runs in its own
process under ``/usr/bin/time -v`` (without it: the children's ``ru_maxrss``), once, and
gives its wall time and peak resident memory (VmHWM). Every tool computes the lab's magnitude
``E = sqrt((Gx*I)^2 + (Gy*I)^2)``, divides by its maximum (two passes) and writes the file:

- ``sobelcli``: the installed ``sobelcli edges IN -o OUT`` (it streams images of
  ``STREAM_MIN_PIXELS`` or more); ``sobelcli in memory``: the same with streaming turned off,
  for reference;
- ``pyvips``: ``conv`` with Gx and Gx^T in float, ``(a*a + b*b) ** 0.5``, ``/ max``, written
  as an 8-bit PNG (``compression=1``) or a tiled float TIFF, the image opened in sequential
  mode for each pass;
- ``dask-image``: ``ndfilters.sobel`` along each axis on a tifffile/zarr array (threaded
  scheduler), the maximum as a reduction, then the output computed a band of chunk rows at a
  time and written by sobelcli's streaming PNG writer (dask writes no PNG).

Sizes: ``--quick`` 4096² (16.8 MP, the streaming threshold); otherwise 10000² (100 MP), and
also 31623² (1 GP, several minutes per tool) when ``SOBELCLI_BENCH_GP=1`` is set.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import ROOT, Section, Settings, Target, optional, table

TIME = "/usr/bin/time"
#: The peak RSS that issue 10 asks of a streamed run, MB.
PEAK_TARGET_MB = 300
#: Wall time against the libvips script on the same image and output, at most.
WALL_TARGET = 1.2

PYVIPS = """
import sys
import pyvips

src, dst = sys.argv[1], sys.argv[2]
gx_kernel = pyvips.Image.new_from_array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]])
gy_kernel = pyvips.Image.new_from_array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])


def magnitude():
    image = pyvips.Image.new_from_file(src, access="sequential").cast("float")
    a = image.conv(gx_kernel, precision="float")
    b = image.conv(gy_kernel, precision="float")
    return (a * a + b * b) ** 0.5


top = magnitude().max()
if dst.endswith(".png"):
    (magnitude() * (255.0 / top)).cast("uchar").write_to_file(dst, compression=1)
else:
    (magnitude() / top).write_to_file(dst, tile=True, bigtiff=True)
"""

DASK_IMAGE = """
import sys
import dask
import dask.array as da
import numpy as np
import tifffile
import zarr
from dask_image import ndfilters
from sobelcli.io.stream_png import PngSink

dask.config.set(scheduler="threads")
src, dst = sys.argv[1], sys.argv[2]
store = tifffile.imread(src, aszarr=True)
image = da.from_zarr(zarr.open(store, mode="r")).rechunk((2048, 2048))
grey = image.astype(np.float64) / 255.0
gx = ndfilters.sobel(grey, axis=0)
gy = ndfilters.sobel(grey, axis=1)
magnitude = da.sqrt(gx * gx + gy * gy)
top = float(magnitude.max().compute())
scaled = magnitude / top
with PngSink(dst, scaled.shape) as sink:
    for r0 in range(0, scaled.shape[0], 2048):
        sink.write_rows(scaled[r0 : r0 + 2048].compute())
"""

IN_MEMORY = """
import sys
import sobelcli.names
sobelcli.names.STREAM_MIN_PIXELS = 1 << 62
from sobelcli.cli.main import main
main(sys.argv[1:])
"""


def scene_tiles(height: int, width: int, tile: int, seed: int = 0) -> Iterator[np.ndarray]:
    """The tiles of a synthetic 8-bit scene, row by row: waves, blocks and noise.

    Each tile is made from its coordinates alone, so the image is never whole in memory.
    """
    for r0 in range(0, height, tile):
        for c0 in range(0, width, tile):
            yield scene(r0, c0, tile, tile, seed)


def scene(r0: int, c0: int, rows: int, cols: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng((seed, r0, c0))
    y, x = np.mgrid[r0 : r0 + rows, c0 : c0 + cols].astype(np.float32)
    wave = 60 * np.sin(x / 37.0) * np.cos(y / 53.0)
    blocks = 40 * (((x // 500) + (y // 700)) % 2)
    noise = rng.normal(0, 8, (rows, cols))
    return np.clip(100 + wave + blocks + noise, 0, 255).astype(np.uint8)


def write_tiled_tiff(path: Path, height: int, width: int | None = None, *, tile: int = 256) -> None:
    """A tiled (BigTIFF if large) zlib 8-bit grey TIFF, written tile by tile."""
    import tifffile

    width = width or height
    with tifffile.TiffWriter(path, bigtiff=height * width > 2**31) as writer:
        writer.write(
            scene_tiles(height, width, tile),
            shape=(height, width),
            dtype=np.uint8,
            tile=(tile, tile),
            compression="zlib",
            photometric="minisblack",
            metadata=None,
        )


def write_png(path: Path, side: int, band: int = 256) -> None:
    """An 8-bit grey PNG of the same scene, written a band of rows at a time."""
    from sobelcli.io.stream_png import PngSink

    with PngSink(path, (side, side)) as sink:
        for r0 in range(0, side, band):
            rows = min(band, side - r0)
            sink.write_rows(scene(r0, 0, rows, side) * (1 / 255))


@dataclass(frozen=True)
class Measure:
    """One run: wall and CPU (user + system) seconds, peak RSS in MB (10^6 bytes)."""

    wall: float
    cpu: float
    peak_mb: float
    code: int
    error: str = ""


def measure(argv: list[str]) -> Measure:
    """Run ``argv`` in a child process: its wall time, CPU time and peak RSS."""
    if Path(TIME).exists():
        start = time.perf_counter()
        run = subprocess.run([TIME, "-v", *argv], capture_output=True, text=True, check=False)
        wall = time.perf_counter() - start
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr)
        clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", run.stderr)
        if clock:
            wall = sum(float(p) * 60**i for i, p in enumerate(reversed(clock.group(1).split(":"))))
        peak = int(found.group(1)) * 1024 / 1e6 if found else float("nan")
        cpu = sum(
            float(m.group(1))
            for m in re.finditer(r"(?:User|System) time \(seconds\): ([\d.]+)", run.stderr)
        )
        error = run.stderr.strip().splitlines()[0] if run.returncode and run.stderr else ""
        return Measure(wall, cpu, peak, run.returncode, error)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    peak = max(after.ru_maxrss, before.ru_maxrss) * 1024 / 1e6  # largest child so far
    error = run.stderr.strip()[-300:] if run.returncode else ""
    return Measure(wall, cpu, peak, run.returncode, error)


def _sobelcli() -> list[str]:
    script = Path(sys.executable).with_name("sobelcli")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sobelcli"]


def _runs(work: Path, tif: Path, png: Path, memory: bool) -> list[tuple[str, str, list[str]]]:
    """(case, tool, argv): each case's tools, sobelcli first."""
    py = sys.executable
    cases = [
        ("tiled TIFF -> PNG", tif, work / "out.png"),
        ("tiled TIFF -> float TIFF", tif, work / "out.tif"),
        ("PNG -> PNG", png, work / "out.png"),
    ]
    runs = []
    for case, src, dst in cases:
        runs.append((case, "sobelcli", [*_sobelcli(), "edges", str(src), "-o", str(dst)]))
        if memory:
            argv = [py, "-c", IN_MEMORY, "edges", str(src), "-o", str(dst)]
            runs.append((case, "sobelcli in memory", argv))
        if optional("pyvips") is not None:
            runs.append((case, "pyvips", [py, "-c", PYVIPS, str(src), str(dst)]))
        if case == "tiled TIFF -> PNG" and optional("dask_image") is not None:
            runs.append((case, "dask-image", [py, "-c", DASK_IMAGE, str(src), str(dst)]))
    return runs


def _one_size(side: int, memory: bool, sec: Section) -> None:
    mp = side * side / 1e6
    work = Path(tempfile.mkdtemp(prefix="sobelcli-bench-stream-", dir=os.environ.get("TMPDIR")))
    try:
        tif, png = work / "scene.tif", work / "scene.png"
        start = time.perf_counter()
        write_tiled_tiff(tif, side)
        write_png(png, side)
        built = time.perf_counter() - start
        print(f"  built {side}² inputs in {built:.0f} s", flush=True)
        rows, results = [], {}
        for case, tool, argv in _runs(work, tif, png, memory):
            m = measure(argv)
            results[(case, tool)] = m
            shown = (
                [f"{m.wall:.1f}", f"{m.cpu:.1f}", f"{m.peak_mb:.0f}"]
                if not m.code
                else [f"failed: {m.error[:80]}", "", ""]
            )
            rows.append([case, tool, *shown])
            print(f"  {side}² {case}, {tool}: {' / '.join(shown)}", flush=True)
            for out in work.glob("out.*"):
                shutil.rmtree(out) if out.is_dir() else out.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sec.add(
        f"### {side} x {side} ({mp:,.0f} MP)",
        "",
        *table(["case", "tool", "wall (s)", "CPU user+sys (s)", "peak RSS (MB)"], rows),
        "",
    )
    for case in ("tiled TIFF -> PNG", "tiled TIFF -> float TIFF", "PNG -> PNG"):
        ours, vips = results.get((case, "sobelcli")), results.get((case, "pyvips"))
        if ours is None or ours.code:
            continue
        sec.targets.append(
            Target(
                f"sobelcli {case}, {mp:,.0f} MP: peak RSS",
                f"≤ {PEAK_TARGET_MB} MB",
                f"{ours.peak_mb:.0f} MB ({ours.wall:.1f} s)",
                ours.peak_mb <= PEAK_TARGET_MB,
            )
        )
        if vips is not None and not vips.code:
            r = ours.wall / vips.wall
            sec.targets.append(
                Target(
                    f"sobelcli {case}, {mp:,.0f} MP: wall / pyvips",
                    f"≤ {WALL_TARGET}",
                    f"{r:.2f} ({ours.wall:.1f} s / {vips.wall:.1f} s)",
                    r <= WALL_TARGET if side >= 10000 else None,  # set for 100 MP and up
                )
            )


def bench_stream(s: Settings) -> Section:
    """Big images streamed by the CLI vs libvips and dask-image: wall time and peak RSS."""
    sec = Section("Big images: `sobelcli edges` streamed, against libvips and dask-image")
    sides = [4096] if s.quick else [10000]
    if not s.quick and os.environ.get("SOBELCLI_BENCH_GP") == "1":
        sides.append(31623)
    loads = os.getloadavg()[0]
    sec.add(
        "Each tool once, in its own process, under `/usr/bin/time -v` (wall clock and",
        "Maximum resident set size, MB = 10^6 bytes); the inputs are an 8-bit tiled TIFF",
        "(zlib, 256² tiles) and an 8-bit PNG of one synthetic scene, written from a generator.",
        "All compute E = sqrt(Gx² + Gy²) / max E in two passes. 1 GP runs only with",
        f"`SOBELCLI_BENCH_GP=1`. Load average at the start: {loads:.1f}. The scripts:",
        f"bench/group_stream.py ({ROOT.name}).",
        "",
    )
    for side in sides:
        _one_size(side, memory=side <= 10000, sec=sec)
    return sec


if __name__ == "__main__":  # one group alone: python bench/group_stream.py [--quick]
    from common import settings

    section = bench_stream(settings("--quick" in sys.argv, None))
    print("\n".join(section.lines))
    for t in section.targets:
        print(f"{t.what}: {t.value} (goal {t.goal}, {'met' if t.met else 'NOT met'})")
