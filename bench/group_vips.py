"""Benchmark groups against libvips (issue 12): whole runs, start-up, a photo batch, deflate.

- ``vips``: whole processes, 8-bit grey PNG in, PNG out, at 512², 2048² and 6144²: the
  installed ``sobelcli edges`` against a pyvips script (the reference), the OpenCV and
  scikit-image scripts, and the interpreter floors; wall time and each child's peak RSS
  (GNU time's ``%M``, else ``os.wait4``'s ``ru_maxrss``: see :func:`_run`).
- ``startup``: ``sobelcli --help`` / ``--version`` / ``edges --help`` against
  ``python -c "import click"``, and the largest sobelcli imports of ``--help``.
- ``photos``: a folder of photo-sized PNGs and JPEGs through ``sobelcli edges DIR --jobs 2``
  against one pyvips process looping over the same files.
- ``deflate``: PNG's deflate step on the "Up"-filtered rows of a 2048² edge map: zlib,
  zlib-ng, ISA-L and sobelcli's own choice (``sobelcli.io.deflate.compressor``).
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from common import Section, Settings, Target, ms, optional, ratio, table
from group_cli import OPENCV_SCRIPT, _sobelcli_command, _test_png

#: The lab's magnitude in libvips: two float convolutions, sqrt(a^2 + b^2). Sequential access
#: lets libvips stream; the maximum takes a pass of its own, as sobelcli's does.
PYVIPS_MAG = """\
import sys, pyvips
def mag(path):
    im = pyvips.Image.new_from_file(path, access="sequential")
    if im.bands > 1: im = im.colourspace("b-w")[0]
    gx = pyvips.Image.new_from_array([[-1,-2,-1],[0,0,0],[1,2,1]])
    a = im.conv(gx, precision="float"); b = im.conv(gx.rot90(), precision="float")
    return (a*a + b*b) ** 0.5
"""

PYVIPS_SCRIPT = (
    PYVIPS_MAG
    + """\
m = mag(sys.argv[1]).max()
out = (mag(sys.argv[1]) * (255.0 / m)).cast("uchar")
out.write_to_file(sys.argv[2], compression=1)
"""
)

SKIMAGE_SCRIPT = """\
import sys
import imageio.v3 as iio
import numpy as np
from skimage.filters import sobel
m = sobel(iio.imread(sys.argv[1]).astype(np.float32) / 255)
iio.imwrite(sys.argv[2], (m * (255.0 / m.max())).astype(np.uint8))
"""

PYVIPS_LOOP_SCRIPT = (
    PYVIPS_MAG
    + """\
from pathlib import Path
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
dst.mkdir(exist_ok=True)
for path in sorted(src.iterdir()):
    m = mag(str(path)).max()
    out = (mag(str(path)) * (255.0 / m)).cast("uchar")
    out.write_to_file(str(dst / f"{path.stem}_edges.png"), compression=1)
"""
)

TIME = "/usr/bin/time"
#: (time, memory) of sobelcli / the pyvips script, at most: 512² is start-up bound
WHOLE_TIME_TARGET = {512: 1.5, 2048: 1.0, 6144: 1.0}
WHOLE_MEMORY_TARGET = {2048: 1.5, 6144: 1.5}


# --- running processes -----------------------------------------------------------------------


def _run(argv: list[str]) -> tuple[float, float] | None:
    """Wall seconds and peak RSS (MB) of one child process, or None when it fails.

    A child's own ``ru_maxrss`` (``os.wait4``) starts at this process's peak: Linux carries
    the high-water mark of the forked (or vforked) address space across ``exec``. So where
    GNU time is installed the command runs under ``/usr/bin/time -f %M``, a small process
    whose child's peak is the command's own; without it, the figure is ``os.wait4``'s.
    """
    wrapped = Path(TIME).exists()
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss, tempfile.TemporaryFile() as err:
        full = [TIME, "-f", "%M", "-o", rss.name, *argv] if wrapped else argv
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            text = err.read().decode(errors="replace").strip()[:300]
            print(f"  ! {' '.join(argv)} exited {code}: {text}", flush=True)
            return None
        peak_kib = usage.ru_maxrss  # KiB on Linux
        if wrapped:
            found = re.findall(r"^(\d+)$", Path(rss.name).read_text(), re.M)
            peak_kib = int(found[-1]) if found else peak_kib
    return elapsed, peak_kib * 1024 / 1e6


def _round_robin(
    runs: dict[str, list[str] | None],
    repeats: int,
    once: frozenset[str] = frozenset(),
    warmup: int = 1,
) -> dict[str, tuple[float, float] | None]:
    """Median seconds and largest peak MB of each command, ``warmup`` rounds untimed first.

    The commands in ``once`` run a single time, in the first timed round (slow references).
    """
    failed = {name for name, argv in runs.items() if argv is None}
    times: dict[str, list[float]] = {name: [] for name in runs}
    peaks: dict[str, float] = {name: 0.0 for name in runs}
    for round_ in range(warmup + repeats):
        for name, argv in runs.items():
            if name in failed or argv is None or (name in once and round_ != warmup):
                continue
            done = _run(argv)
            if done is None:
                failed.add(name)
                continue
            peaks[name] = max(peaks[name], done[1])
            if round_ >= warmup:
                times[name].append(done[0])
    return {
        name: None if name in failed else (statistics.median(times[name]), peaks[name])
        for name in runs
    }


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _read(path: Path) -> np.ndarray | None:
    import imageio.v3 as iio

    try:
        return np.asarray(iio.imread(path))
    except Exception:  # noqa: BLE001 - a missing or broken output is reported, not fatal
        return None


# --- vips: whole runs ------------------------------------------------------------------------


def _whole_repeats(s: Settings, n: int) -> tuple[int, int]:
    """(timed runs, warm-up rounds) at n²: fewer for big images, whose runs take seconds.

    At 6144² the input was just written and every script has run at the smaller sizes, so
    the page cache is warm without a warm-up round.
    """
    if n >= 6144:
        return min(3, s.cli_repeats), 0
    if n >= 2048:
        return min(5, s.cli_repeats), 1
    return s.cli_repeats, 1


def bench_vips_whole(s: Settings) -> Section:
    """whole process, PNG in and out: sobelcli vs libvips (and OpenCV, scikit-image)."""
    sizes = (512, 2048) if s.quick else (512, 2048, 6144)
    sec = Section("Whole process against libvips: an edge map of an 8-bit PNG, in and out")
    cmd = _sobelcli_command()
    have_cv2 = optional("cv2") is not None
    have_skimage = optional("skimage") is not None
    ours, ref = "sobelcli edges IN -o OUT", "python vips_edges.py IN OUT"
    sec.add(
        "Each command is a whole process (`subprocess.Popen`, then `os.wait4` for its",
        "`ru_maxrss`, see below): median wall ms, cases round-robin, and the largest peak",
        "resident memory over the runs (MB = 10⁶ bytes). Ratios are to the pyvips script",
        "below. Timed runs: "
        + ", ".join(
            f"{_whole_repeats(s, n)[0]} at {n}²"
            + (" after a warm-up round" if _whole_repeats(s, n)[1] else "")
            for n in sizes
        )
        + (
            "; at 6144² the scikit-image script (about 8 s a run) runs once."
            if 6144 in sizes
            else "."
        ),
        "The peak is GNU time's `%M` where `/usr/bin/time` exists: a child's own `ru_maxrss`",
        "starts at the parent's peak (Linux keeps the high-water mark across `exec`), so the",
        "command runs under the small `time` process and `os.wait4` only reaps it.",
        "The input is the camera picture upscaled with a little noise",
        "(`group_cli._test_png`). Every tool writes an 8-bit PNG: sobelcli at its default",
        "`--compress 1`, libvips at `compression=1`, OpenCV at its default (1), scikit-image",
        "through imageio (Pillow's default, 6).",
        "",
        "```python",
        *PYVIPS_SCRIPT.splitlines(),
        "```",
        "",
    )
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        scripts = {
            "vips_edges.py": PYVIPS_SCRIPT,
            "opencv_edges.py": OPENCV_SCRIPT,
            "skimage_edges.py": SKIMAGE_SCRIPT,
        }
        for name, text in scripts.items():
            (tmp / name).write_text(text)
        compare = []
        for n in sizes:
            src = tmp / f"in{n}.png"
            _test_png(src, n)
            out = {k: tmp / f"{k}{n}.png" for k in ("sobelcli", "vips", "cv2", "skimage")}
            py = sys.executable
            runs: dict[str, list[str] | None] = {
                ours: [*cmd, "edges", str(src), "-o", str(out["sobelcli"]), "--overwrite"],
                ref: [py, str(tmp / "vips_edges.py"), str(src), str(out["vips"])],
            }
            if have_cv2:
                script = str(tmp / "opencv_edges.py")
                runs["python opencv_edges.py IN OUT"] = [py, script, str(src), str(out["cv2"])]
            if have_skimage:
                script = str(tmp / "skimage_edges.py")
                runs["python skimage_edges.py IN OUT"] = [py, script, str(src), str(out["skimage"])]
            runs["python -c 'import numpy'"] = [py, "-c", "import numpy"]
            runs["python -c pass"] = [py, "-c", "pass"]
            once = frozenset({"python skimage_edges.py IN OUT"} if n >= 6144 else ())
            print(f"  {n}²: {len(runs)} commands", flush=True)
            repeats, warmup = _whole_repeats(s, n)
            res = _round_robin(runs, repeats, once, warmup)
            base = res.get(ref)
            rows = []
            for name, got in res.items():
                t, peak = (None, None) if got is None else got
                rows.append(
                    [
                        f"`{name}`" + (" (1 run)" if name in once else ""),
                        ms(t),
                        _mb(peak),
                        ratio(t, base[0] if base else None),
                        ratio(peak, base[1] if base else None),
                    ]
                )
                print(f"    {name}: {ms(t)} ms, {_mb(peak)} MB", flush=True)
            sec.add(
                f"### {n}²",
                "",
                *table(["command", "ms", "peak MB", "time / libvips", "memory / libvips"], rows),
                "",
            )
            mine = res.get(ours)
            t_ratio = None if mine is None or base is None else mine[0] / base[0]
            sec.targets.append(
                Target(
                    f"sobelcli edges {n}² PNG / libvips script, time",
                    f"≤ {WHOLE_TIME_TARGET[n]:g}" + (" (aim 0.8)" if n >= 2048 else ""),
                    "—" if t_ratio is None else f"{t_ratio:.2f}",
                    None if t_ratio is None else t_ratio <= WHOLE_TIME_TARGET[n],
                )
            )
            if n in WHOLE_MEMORY_TARGET:
                m_ratio = None if mine is None or base is None else mine[1] / base[1]
                sec.targets.append(
                    Target(
                        f"sobelcli edges {n}² PNG / libvips script, peak memory",
                        f"≤ {WHOLE_MEMORY_TARGET[n]:g}",
                        "—" if m_ratio is None else f"{m_ratio:.2f}",
                        None if m_ratio is None else m_ratio <= WHOLE_MEMORY_TARGET[n],
                    )
                )
            compare.append((n, _read(out["sobelcli"]), _read(out["vips"])))
    rows = []
    for n, a, b in compare:
        if a is None or b is None:
            shapes = ["—" if x is None else "x".join(map(str, x.shape)) for x in (a, b)]
            rows.append([f"{n}²", *shapes, "—", "—", "—"])
            continue
        inner = b[1:-1, 1:-1]
        same = a.shape == inner.shape
        if same:
            diff = np.abs(a.astype(np.int16) - inner.astype(np.int16))
            over, most = f"{np.mean(diff > 1):.2%}", str(int(diff.max()))
        else:
            over = most = "—"
        rows.append(
            [
                f"{n}²",
                "x".join(map(str, a.shape)),
                "x".join(map(str, b.shape)),
                "yes" if same else "**no**",
                over,
                most,
            ]
        )
        print(f"  {n}²: shapes {a.shape} vs {b.shape}, > 1 grey level: {over}", flush=True)
    sec.add(
        "The outputs, read back with imageio. sobelcli writes the valid (H-2) x (W-2) map and",
        "libvips extends the borders to H x W, so sobelcli's map is compared with libvips'",
        "`[1:-1, 1:-1]`; libvips truncates to 8 bits (`cast`) where sobelcli rounds, so",
        "differences of 1 are expected.",
        "",
        *table(
            ["size", "sobelcli", "libvips", "interior shapes agree", "pixels off by > 1", "max"],
            rows,
        ),
        "",
    )
    return sec


# --- startup ---------------------------------------------------------------------------------


def _import_times(argv: list[str], prefix: str = "sobelcli") -> list[tuple[str, int, int]]:
    """(module, self µs, cumulative µs) of the ``prefix`` imports ``-X importtime`` shows."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, check=False
    )
    found = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s+(.*)$", line)
        if m and m.group(3).strip().startswith(prefix):
            found.append((m.group(3).strip(), int(m.group(1)), int(m.group(2))))
    return found


def bench_startup(s: Settings) -> Section:
    """start-up: sobelcli --help / --version / edges --help against import click."""
    repeats = 15
    cmd = _sobelcli_command()
    py = sys.executable
    runs: dict[str, list[str] | None] = {
        "sobelcli --help": [*cmd, "--help"],
        "sobelcli --version": [*cmd, "--version"],
        "sobelcli edges --help": [*cmd, "edges", "--help"],
        "python -c 'import click'": [py, "-c", "import click"],
        "python -c pass": [py, "-c", "pass"],
    }
    res = _round_robin(runs, repeats)
    click = res.get("python -c 'import click'")
    ref = click[0] if click else None
    rows = []
    for name, got in res.items():
        t, peak = (None, None) if got is None else got
        rows.append([f"`{name}`", ms(t), _mb(peak), ratio(t, ref)])
        print(f"  {name}: {ms(t)} ms", flush=True)
    sec = Section("Start-up: help and version against `import click`")
    sec.add(
        f"Median wall ms of {repeats} runs (after a warm-up run), commands round-robin; ratio",
        "to `python -c 'import click'`, the floor of any click program.",
        "",
        *table(["command", "ms", "peak MB", "/ import click"], rows),
        "",
    )
    for name in ("sobelcli --help", "sobelcli --version"):
        got = res.get(name)
        value = None if got is None or ref is None else got[0] / ref
        sec.targets.append(
            Target(
                f"`{name}` / `import click`",
                "≤ 1.3",
                "—" if value is None else f"{value:.2f}",
                None if value is None else value <= 1.3,
            )
        )
    script = Path(cmd[0])
    argv = [str(script), "--help"] if script.name == "sobelcli" else ["-m", "sobelcli", "--help"]
    found = sorted(_import_times(argv), key=lambda row: -row[2])[:8]
    sec.add(
        "The largest sobelcli imports of `sobelcli --help` (`python -X importtime`, one run,",
        "cumulative: the module and what it imports first):",
        "",
        *table(
            ["module", "self ms", "cumulative ms"],
            [[f"`{mod}`", f"{own / 1e3:.1f}", f"{cum / 1e3:.1f}"] for mod, own, cum in found],
        ),
        "",
    )
    return sec


# --- photos: a batch -------------------------------------------------------------------------


PHOTO_W, PHOTO_H = 1024, 768
#: photos in the full run's batch, as issue 12 asks (--quick: 60)
PHOTOS = 500


def _make_photos(folder: Path, count: int) -> None:
    """``count`` 1024 x 768 colour photos from scikit-image's pictures, half PNG, half JPEG."""
    import imageio.v3 as iio
    from skimage import data
    from skimage.color import gray2rgb
    from skimage.transform import resize

    bases = []
    for name in ("astronaut", "coffee", "chelsea", "rocket", "camera"):
        pic = getattr(data, name)()
        pic = gray2rgb(pic) if pic.ndim == 2 else pic[..., :3]
        h, w = pic.shape[:2]
        # crop to 4:3, then resize to a little more than the photo, to shift within it
        if w * 3 > h * 4:
            cw = h * 4 // 3
            pic = pic[:, (w - cw) // 2 : (w - cw) // 2 + cw]
        else:
            ch = w * 3 // 4
            pic = pic[(h - ch) // 2 : (h - ch) // 2 + ch]
        big = resize(pic, (PHOTO_H + 32, PHOTO_W + 32), anti_aliasing=False) * 255
        bases.append(np.rint(big).astype(np.int16))
    rng = np.random.default_rng(12)
    noise = rng.integers(-6, 7, (PHOTO_H + 32, PHOTO_W + 32, 3), dtype=np.int16)

    def write(i: int) -> None:
        base = bases[i % len(bases)]
        dy, dx, ny, nx = np.random.default_rng(i).integers(0, 33, 4)
        crop = base[dy : dy + PHOTO_H, dx : dx + PHOTO_W]
        pixels = np.clip(crop + noise[ny : ny + PHOTO_H, nx : nx + PHOTO_W], 0, 255)
        pixels = pixels.astype(np.uint8)
        if i % 2:
            iio.imwrite(folder / f"photo{i:04d}.jpg", pixels, quality=90)
        else:
            iio.imwrite(folder / f"photo{i:04d}.png", pixels, compress_level=1)

    with ThreadPoolExecutor(2) as pool:  # Pillow's encoders release the GIL
        list(pool.map(write, range(count)))


def bench_photo_batch(s: Settings) -> Section:
    """a batch of photos: sobelcli edges DIR --jobs 2 vs a pyvips loop in one process."""
    count = 60 if s.quick else PHOTOS
    repeats = 1
    sec = Section(f"Photo batch against libvips: {count} photos of {PHOTO_W} x {PHOTO_H}")
    cmd = _sobelcli_command()
    helptext = subprocess.run(
        [*cmd, "edges", "--help"], capture_output=True, text=True, check=False
    ).stdout
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        folder = tmp / "photos"
        folder.mkdir()
        start = time.perf_counter()
        _make_photos(folder, count)
        print(f"  made {count} photos in {time.perf_counter() - start:.1f} s", flush=True)
        (tmp / "vips_loop.py").write_text(PYVIPS_LOOP_SCRIPT)
        flag = "--overwrite" if "--overwrite" in helptext else "--skip-existing"
        ours = [*cmd, "edges", str(folder), "-o", str(tmp / "out_sobelcli")]
        ours += ["--jobs", "2", "--quiet", flag]
        theirs = [sys.executable, str(tmp / "vips_loop.py"), str(folder), str(tmp / "out_pyvips")]
        times: dict[str, list[float]] = {"sobelcli": [], "pyvips": []}
        for _ in range(repeats):
            for name, argv in (("sobelcli", ours), ("pyvips", theirs)):
                got = _run(argv)
                if got is not None:
                    times[name].append(got[0])
        res = {name: min(ts) if ts else None for name, ts in times.items()}
        written = {
            name: len(list((tmp / f"out_{name}").glob("*_edges.png")))
            if (tmp / f"out_{name}").exists()
            else 0
            for name in res
        }
    rate = {k: None if v is None else count / v for k, v in res.items()}
    rows = [
        [
            f"`sobelcli edges DIR -o OUT --jobs 2 --quiet {flag}`",
            "—" if res["sobelcli"] is None else f"{res['sobelcli']:.2f}",
            "—" if rate["sobelcli"] is None else f"{rate['sobelcli']:.1f}",
            str(written["sobelcli"]),
            ratio(res["sobelcli"], res["pyvips"]),
        ],
        [
            "`python vips_loop.py DIR OUT` (one process)",
            "—" if res["pyvips"] is None else f"{res['pyvips']:.2f}",
            "—" if rate["pyvips"] is None else f"{rate['pyvips']:.1f}",
            str(written["pyvips"]),
            "1.00" if res["pyvips"] else "—",
        ],
    ]
    for row in rows:
        print(f"  {row[0]}: {row[1]} s, {row[2]} images/s", flush=True)
    sec.add(
        f"{count} colour photos of {PHOTO_W} x {PHOTO_H} made from scikit-image's pictures",
        "(astronaut, coffee, chelsea, rocket, camera; cropped to 4:3, resized, shifted and",
        "noised so that every file differs), half PNG and half JPEG (quality 90). Both grey",
        "them first (sobelcli by luminance, libvips by `colourspace('b-w')`) and write",
        "NAME_edges.png at deflate level 1. Whole processes, alternating, "
        + (f"best of {repeats} runs each" if repeats > 1 else "one run each"),
        "(the inputs were just written: they are in the page cache); time ratio to the",
        f"pyvips loop. A full run takes {PHOTOS} photos, --quick 60.",
        "",
        *table(["command", "seconds", "images/s", "outputs", "time / pyvips"], rows),
        "",
        "```python",
        *PYVIPS_LOOP_SCRIPT.splitlines(),
        "```",
        "",
    )
    mine, theirs_rate = rate["sobelcli"], rate["pyvips"]
    sec.targets.append(
        Target(
            f"photo batch ({count}) images/s, sobelcli --jobs 2 / pyvips loop",
            "> 1",
            "—" if mine is None or theirs_rate is None else f"{mine / theirs_rate:.2f}",
            None if mine is None or theirs_rate is None else mine > theirs_rate,
        )
    )
    return sec


# --- deflate ---------------------------------------------------------------------------------


def _up_rows(n: int) -> bytes:
    """PNG's "Up"-filtered rows (filter byte 2) of the 8-bit edge map of an n² test image."""
    import imageio.v3 as iio

    import sobelcli

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.png"
        _test_png(path, n)
        img = np.asarray(iio.imread(path), dtype=np.float32) / 255
    q = np.rint(np.asarray(sobelcli.edge_map(img)) * 255).astype(np.uint8)
    h, w = q.shape
    rows = np.empty((h, w + 1), np.uint8)
    rows[:, 0] = 2
    rows[0, 1:] = q[0]
    rows[1:, 1:] = q[1:] - q[:-1]  # uint8 arithmetic wraps, as PNG's filter does
    return rows.tobytes()


def bench_deflate(s: Settings) -> Section:
    """PNG's deflate: zlib, zlib-ng, ISA-L and sobelcli's compressor on filtered rows."""
    n = 2048
    repeats = 5
    data = _up_rows(n)
    zng = optional("zlib_ng.zlib_ng")
    isal = optional("isal.isal_zlib")
    from sobelcli.io import deflate

    def obj(make: Callable[[], Any]) -> Callable[[], bytes]:
        def run() -> bytes:
            packer = make()
            return bytes(packer.compress(data) + packer.flush())

        return run

    z = zlib
    cases: list[tuple[str, str, Callable[[], bytes] | None]] = [
        ("zlib", "level 1", obj(lambda: z.compressobj(1, z.DEFLATED, 15, 9))),
        ("zlib", "level 1, Z_RLE", obj(lambda: z.compressobj(1, z.DEFLATED, 15, 9, z.Z_RLE))),
        ("zlib", "level 6", obj(lambda: z.compressobj(6, z.DEFLATED, 15, 9))),
    ]
    if zng is not None:
        cases += [
            ("zlib-ng", "level 1", obj(lambda: zng.compressobj(1, zng.DEFLATED, 15, 9))),
            (
                "zlib-ng",
                "level 1, Z_RLE",
                obj(lambda: zng.compressobj(1, zng.DEFLATED, 15, 9, zng.Z_RLE)),
            ),
        ]
    else:
        cases += [("zlib-ng", "not installed", None)]
    if isal is not None:
        cases += [
            ("isal", "level 1", obj(lambda: isal.compressobj(1, isal.DEFLATED, 15))),
            ("isal", "level 2", obj(lambda: isal.compressobj(2, isal.DEFLATED, 15))),
        ]
    else:
        cases += [("isal", "not installed", None)]
    product = "ISA-L level 1" if deflate.fast_deflate_available() else "zlib level 1, Z_RLE"
    mine = obj(lambda: deflate.compressor(1))
    cases.append(("sobelcli.io.deflate", f"compressor(1): {product}", mine))
    results: dict[tuple[str, str], tuple[float, int, bool] | None] = {}
    for lib, how, case in cases:
        if case is None:
            results[(lib, how)] = None
            continue
        out = case()  # warm-up, and the output checked
        best = min(_timed(case) for _ in range(repeats))
        results[(lib, how)] = (best, len(out), zlib.decompress(out) == data)
    ref = results.get(("zlib", "level 1, Z_RLE"))
    rows = []
    for (lib, how), got in results.items():
        if got is None:
            rows.append([lib, how, "—", "—", "—", "—", "—"])
            continue
        t, size, ok = got
        rows.append(
            [
                lib,
                how,
                ms(t),
                f"{size / 1e6:.2f}",
                ratio(t, ref[0] if ref else None),
                ratio(size, ref[1] if ref else None),
                "yes" if ok else "**no**",
            ]
        )
        print(f"  {lib} {how}: {ms(t)} ms, {size / 1e6:.2f} MB, inflates back: {ok}", flush=True)
    sec = Section(f"Deflate: PNG's IDAT stream of a {n}² edge map")
    sec.add(
        f'The "Up"-filtered rows of the 8-bit edge map of the {n}² test PNG',
        f"({len(data) / 1e6:.2f} MB: one filter byte and {n - 2} pixels a row), deflated in",
        f"one `compress` + `flush`; best of {repeats} after a warm-up; ratios to zlib level 1",
        "with Z_RLE (window 15, memLevel 9). Every output is inflated back with",
        "`zlib.decompress` and compared with the input.",
        "",
        *table(
            ["library", "settings", "ms", "MB", "time ratio", "size ratio", "inflates back"],
            rows,
        ),
        "",
    )
    return sec


def _timed(case: Callable[[], object]) -> float:
    start = time.perf_counter()
    case()
    return time.perf_counter() - start
