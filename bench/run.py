"""Benchmarks of sobelcli against scipy, scikit-image, OpenCV and plain numpy, in one process.

Usage (``make bench`` runs the first; it installs ``.[bench]`` beforehand, this script
installs nothing)::

    .venv/bin/python bench/run.py                  # every group, writes BENCHMARKS.md
    .venv/bin/python bench/run.py --quick          # small sizes, few repeats (< 30 s)
    .venv/bin/python bench/run.py --only edges     # one group (see --list)

Each case is warmed up, then timed ``repeats`` times; the cases of one row run round-robin
(a, b, c, a, b, c, ...) so that a burst of background load hits them all alike, and each
figure is the median. Ratios are ``time / reference time`` from the same run. The full run
writes BENCHMARKS.md at the repository root; ``--quick`` and ``--only`` print only, unless
``--out`` names a file.

A group is a function ``(Settings) -> Section`` in :data:`GROUPS`, one file per family:
``group_core.py`` (edges, correlate, grads, lab), ``group_cli.py`` (whole runs, batches),
``group_train.py`` (the CNN); ``common.py`` holds the timer, tables and test images.
"""

from __future__ import annotations

import argparse
import compileall
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from common import ROOT, Section, Settings, Target, machine, settings, table
from group_canny import bench_canny
from group_cli import bench_batch, bench_cli
from group_core import bench_correlate, bench_edges, bench_grads, bench_lab
from group_stream import bench_stream
from group_train import bench_train
from group_vips import bench_deflate, bench_photo_batch, bench_startup, bench_vips_whole

#: name -> benchmark group, in run order
GROUPS: dict[str, Callable[[Settings], Section]] = {
    "edges": bench_edges,
    "correlate": bench_correlate,
    "grads": bench_grads,
    "lab": bench_lab,
    "canny": bench_canny,
    "cli": bench_cli,
    "batch": bench_batch,
    "train": bench_train,
    "stream": bench_stream,
    "vips": bench_vips_whole,
    "startup": bench_startup,
    "photos": bench_photo_batch,
    "deflate": bench_deflate,
}


# --- report --------------------------------------------------------------------------------


NOTES = """\
## How the numpy core gets there, and what bounds it

* Edge magnitude: each strip of rows (about 2 MiB of buffers, reused per thread) is smoothed
  and differenced with pairwise sums, ``(a + b) + (b + c)`` for (1, 2, 1), so the pair
  costs 6 ufunc passes; the magnitude is ``sqrt(gx*gx + gy*gy)`` in 4 more, with the
  strip's maximum taken from the sum of squares; one more threaded pass divides by the
  maximum. Every call writes into a preallocated buffer (``out=``), and each thread walks
  one contiguous block of rows. ``np.hypot`` is avoided: it is a scalar libm call per
  element (about 6 ns in float32, against 0.2 ns for a SIMD add).
* What bounds it: numpy has no fused kernel, so each output pixel passes through about 11
  separate ufunc loops (each a read and a write of a cache-resident strip) where OpenCV
  makes one SIMD pass; each ufunc call also costs ~1.5 µs of Python, which is why OpenCV
  stays ahead on small images (512², 1024²).
* FFT path: the periodic grid only needs to cover the image (not image + kernel - 1), at
  5-smooth lengths; row transforms are split by rows and column transforms by columns over
  the threads; the kernel's row transforms cover its own rows only. Transforms run in
  complex128 even for float32: numpy's complex64 transforms measured slower.
* The figures come from a shared 2-core machine: background load hurts the threaded paths
  most, so compare ratios within one run, not across runs.
"""


def report(sections: list[Section], s: Settings, argv: list[str], seconds: float) -> str:
    targets = [t for sec in sections for t in sec.targets]
    lines = [
        "# Benchmarks",
        "",
        f"Made by `python bench/run.py{' ' + ' '.join(argv) if argv else ''}` "
        f"(`make bench`) in {seconds:.0f} s; {s.repeats} repeats per case, medians, "
        "cases of a row timed round-robin. Ratios compare times from this same run.",
        "",
        "## Machine",
        "",
        *machine(),
        "",
    ]
    if targets:

        def verdict(t: Target) -> str:
            return "—" if t.met is None else ("met" if t.met else "**not met**")

        lines += [
            "## Targets (issues 4 and 12)",
            "",
            *table(
                ["target", "goal", "this run", ""],
                [[t.what, t.goal, t.value, verdict(t)] for t in targets],
            ),
            "",
        ]
    for sec in sections:
        lines += [f"## {sec.title}", "", *sec.lines]
    lines += NOTES.splitlines()
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=textwrap.dedent(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument(
        "--only", choices=sorted(GROUPS), action="append", help="run only this group (repeatable)"
    )
    parser.add_argument("--repeats", type=int, help="timed runs per case")
    parser.add_argument(
        "--out", type=Path, help="markdown file to write (default: BENCHMARKS.md for a full run)"
    )
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, fn in GROUPS.items():
            print(f"{name:10} {(fn.__doc__ or '').strip()}")
        return 0
    s = settings(args.quick, args.repeats)
    # Whole runs start as an installed package does, from compiled modules, even where
    # PYTHONDONTWRITEBYTECODE would have every run compile the edited ones again.
    compileall.compile_dir(str(ROOT / "sobelcli"), quiet=1)
    start = time.perf_counter()
    sections = []
    for name, fn in GROUPS.items():
        if args.only and name not in args.only:
            continue
        print(f"[{name}]", flush=True)
        sections.append(fn(s))
    shown = sys.argv[1:] if argv is None else argv
    text = report(sections, s, shown, time.perf_counter() - start)
    print()
    print(text)
    out = args.out
    if out is None and not args.quick and not args.only:
        out = ROOT / "BENCHMARKS.md"
    if out is not None:
        out.write_text(text)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
