"""Benchmark groups of the numpy core: edges, correlate, grads and the lab's own runs."""

from __future__ import annotations

import inspect

import numpy as np
from common import (
    Case,
    Section,
    Settings,
    Target,
    adaptive_repeats,
    image,
    measure,
    ms,
    optional,
    ratio,
    table,
)

import sobelcli
from sobelcli import engine as _engine
from sobelcli.core import correlate as conv
from sobelcli.core import edges
from sobelcli.core.kernels import SMOOTH, SOBEL_X, SOBEL_Y


def _numpy_slices(x: np.ndarray) -> np.ndarray:
    """Plain numpy, the textbook way: 9 shifted slices per kernel over the whole image."""
    oh, ow = x.shape[0] - 2, x.shape[1] - 2
    gx = np.zeros((oh, ow), dtype=x.dtype)
    gy = np.zeros((oh, ow), dtype=x.dtype)
    for a in range(3):
        for b in range(3):
            window = x[a : a + oh, b : b + ow]
            gx += SOBEL_X[a, b].astype(x.dtype) * window
            gy += SOBEL_Y[a, b].astype(x.dtype) * window
    mag = np.sqrt(gx**2 + gy**2)
    return mag / mag.max()


def _numpy_separable(x: np.ndarray) -> np.ndarray:
    """Plain numpy with the separable passes: smooth then difference, whole-image arrays."""
    sm = x[:, :-2] + 2 * x[:, 1:-1] + x[:, 2:]
    gx = sm[2:] - sm[:-2]
    df = x[:, 2:] - x[:, :-2]
    gy = df[:-2] + 2 * df[1:-1] + df[2:]
    mag = np.sqrt(gx * gx + gy * gy)
    return mag / mag.max()


def edge_cases(x: np.ndarray) -> dict[str, Case]:
    """Every implementation of the normalised Sobel magnitude, by its table name."""
    cases: dict[str, Case] = {"sobelcli": lambda: sobelcli.edge_magnitude(x)}
    if "gradient_magnitude" not in inspect.getsource(edges.edge_magnitude):
        cases["sobelcli engine"] = lambda: _engine.gradient_magnitude(x, SMOOTH["sobel"], True)
    ndi = optional("scipy.ndimage")
    if ndi is not None:
        kx, ky = SOBEL_X.astype(x.dtype), SOBEL_Y.astype(x.dtype)

        def scipy_ndimage() -> np.ndarray:
            m = np.hypot(ndi.correlate(x, kx), ndi.correlate(x, ky))
            return m / m.max()

        cases["scipy.ndimage"] = scipy_ndimage
    skf = optional("skimage.filters")
    if skf is not None:

        def skimage_sobel() -> np.ndarray:
            m = skf.sobel(x)
            return m / m.max()

        cases["skimage"] = skimage_sobel
    cv2 = optional("cv2")
    if cv2 is not None:
        depth = cv2.CV_32F if x.dtype == np.float32 else cv2.CV_64F

        def opencv() -> np.ndarray:
            gx = cv2.Sobel(x, depth, 0, 1, ksize=3)
            gy = cv2.Sobel(x, depth, 1, 0, ksize=3)
            m = cv2.magnitude(gx, gy)
            m /= m.max()
            return m

        cases["OpenCV"] = opencv
    cases["numpy 9 slices"] = lambda: _numpy_slices(x)
    cases["numpy separable"] = lambda: _numpy_separable(x)
    floor = np.empty_like(x)
    cases["np.copyto"] = lambda: np.copyto(floor, x)
    return cases


def bench_edges(s: Settings) -> Section:
    """Sobel edge magnitude vs scipy.ndimage, skimage, OpenCV, numpy."""
    sec = Section("Edge magnitude (Sobel, normalised)")
    sec.add(
        "Median ms. `sobelcli` is `sobelcli.edge_magnitude(x)` (valid (H-2) x (W-2) map);",
        "scipy.ndimage is two `correlate` calls + `np.hypot` (H x W, reflected borders);",
        "skimage is `skimage.filters.sobel`; OpenCV is `cv2.Sobel` x2 + `cv2.magnitude`;",
        "all are divided by their maximum. `np.copyto` of the image is the memory floor.",
        "",
    )
    rows: list[list[str]] = []
    ratio_rows: list[list[str]] = []
    names: list[str] = []
    results: dict[tuple[int, str], dict[str, float]] = {}
    for n in s.edge_sizes:
        for dtype in (np.float32, np.float64):
            x = image(n, dtype)
            cases = edge_cases(x)
            check = _numpy_separable(x.astype(np.float64))
            err = float(np.abs(sobelcli.edge_magnitude(x) - check).max())
            res = measure(cases, s.repeats if n < 4096 else max(3, s.repeats - 2))
            names = list(cases)
            results[(n, np.dtype(dtype).name)] = res
            label = f"{n}² {np.dtype(dtype).name}"
            rows.append([label, *(ms(res[c]) for c in names)])
            for who in ("sobelcli", "sobelcli engine"):
                if who in res:
                    refs = [c for c in names if not c.startswith("sobelcli")]
                    ratio_rows.append([f"{label}, {who}", *(ratio(res[who], res[c]) for c in refs)])
            print(
                f"  edges {label}: "
                + ", ".join(f"{c} {ms(t)}" for c, t in res.items())
                + f" (max |sobelcli - float64 numpy| = {err:.1e})",
                flush=True,
            )
    sec.add(*table(["image", *names], rows), "")
    sec.add("Ratio sobelcli time / reference time (below 1: sobelcli is faster):", "")
    refs = [c for c in names if not c.startswith("sobelcli")]
    sec.add(*table(["image, implementation", *refs], ratio_rows), "")
    big = max(s.edge_sizes)
    res = results[(big, "float32")]
    # Until edges.edge_magnitude calls _engine.gradient_magnitude, judge the engine too.
    judged = ["sobelcli", *(["sobelcli engine"] if "sobelcli engine" in res else [])]
    for who in judged:
        for ref, goal, limit in (
            ("OpenCV", "≤ 1.5 (aim 1.0)", 1.5),
            ("skimage", "≤ 0.33 (3x faster)", 1 / 3),
            ("scipy.ndimage", "≤ 0.33 (3x faster)", 1 / 3),
        ):
            what = f"{who} edge magnitude {big}² float32 / {ref}"
            if ref in res:
                value = res[who] / res[ref]
                sec.targets.append(Target(what, goal, f"{value:.2f}", value <= limit))
            else:
                sec.targets.append(Target(what, goal, "not installed", None))
    if len(judged) > 1:
        sec.add(
            "`sobelcli engine` is `_engine.gradient_magnitude(x, (1, 2, 1), True)`, the fused",
            "magnitude that `edges.edge_magnitude` does not call yet (it still runs `np.hypot`",
            "per strip); the row disappears once it does.",
            "",
        )
    return sec


# --- correlation and its gradients -------------------------------------------------------


def correlate_cases(x: np.ndarray, k: np.ndarray, direct: bool, ndimage: bool) -> dict[str, Case]:
    """sobelcli's correlate2d (auto and forced methods) and the scipy references."""
    signal = optional("scipy.signal")
    ndi = optional("scipy.ndimage")
    cases: dict[str, Case] = {"auto": lambda: sobelcli.correlate2d(x, k)}
    if direct:
        cases["direct"] = lambda: conv.correlate2d(x, k, method="direct")
    cases["fft"] = lambda: conv.correlate2d(x, k, method="fft")
    if signal is not None:
        cases["scipy"] = lambda: signal.correlate(x, k, mode="valid", method="auto")
    if ndi is not None and ndimage:
        cases["ndimage"] = lambda: ndi.correlate(x, k)
    return cases


def bench_correlate(s: Settings) -> Section:
    """correlate2d per kernel size vs scipy.signal / scipy.ndimage."""
    sec = Section(f"correlate2d on {s.conv_size}² (random dense kernels)")
    sec.add(
        "Median ms. `auto` is `sobelcli.correlate2d(x, k)` (its method in brackets);",
        "`direct` / `fft` force a method; scipy is `scipy.signal.correlate(x, k, 'valid',",
        "method='auto')`; ndimage is `scipy.ndimage.correlate` (same-size output; kernels",
        "up to 15 only). Ratio = sobelcli auto / scipy.signal auto.",
        "",
    )
    rows = []
    rng = np.random.default_rng(1)
    for dtype in (np.float64, np.float32):
        x = image(s.conv_size, dtype)
        for ks in s.kernel_sizes:
            k = rng.standard_normal((ks, ks)).astype(dtype)
            method = conv.choose_method(x.shape, k)
            cases = correlate_cases(x, k, direct=ks <= 7 or s.quick, ndimage=ks <= 15)
            reps = min(adaptive_repeats(c, s.repeats) for c in cases.values())
            res = measure(cases, reps, warmup=0)
            label = f"{ks}x{ks} {np.dtype(dtype).name}"
            rows.append(
                [
                    label,
                    f"{ms(res['auto'])} ({method})",
                    ms(res.get("direct")),
                    ms(res["fft"]),
                    ms(res.get("scipy")),
                    ms(res.get("ndimage")),
                    ratio(res["auto"], res.get("scipy")),
                ]
            )
            print(
                f"  correlate {label}: "
                + ", ".join(f"{c} {ms(t)}" for c, t in res.items())
                + f" [auto -> {method}]",
                flush=True,
            )
            if ks == max(s.kernel_sizes):
                value = res["auto"] / res["scipy"] if "scipy" in res else None
                sec.targets.append(
                    Target(
                        f"correlate2d {ks}x{ks} on {s.conv_size}² {np.dtype(dtype).name}"
                        " / scipy auto",
                        "≤ 1.0",
                        "—" if value is None else f"{value:.2f}",
                        None if value is None else value <= 1.0,
                    )
                )
    sec.add(*table(["kernel", "auto", "direct", "fft", "scipy", "ndimage", "ratio"], rows), "")
    return sec


def bench_grads(s: Settings) -> Section:
    """grad_input / grad_kernel vs scipy.signal."""
    n = s.conv_size
    sec = Section(f"Gradients on {n}² with a 3x3 kernel (float64)")
    signal = optional("scipy.signal")
    sec.add(
        "Median ms. `grad_input(dy, k)` against `scipy.signal.convolve2d(dy, k, 'full')`;",
        "`grad_kernel(x, dy)` against `scipy.signal.correlate2d(x, dy, 'valid')`.",
        "",
    )
    rng = np.random.default_rng(2)
    x = image(n, np.float64)
    k = rng.standard_normal((3, 3))
    dy = rng.standard_normal((n - 2, n - 2))
    rows = []
    pairs: list[tuple[str, Case, Case | None]] = [
        (
            "grad_input",
            lambda: sobelcli.grad_input(dy, k),
            (lambda: signal.convolve2d(dy, k, mode="full")) if signal else None,
        ),
        (
            "grad_input (Sobel)",
            lambda: sobelcli.grad_input(dy, SOBEL_X),
            (lambda: signal.convolve2d(dy, SOBEL_X, mode="full")) if signal else None,
        ),
        (
            "grad_kernel",
            lambda: sobelcli.grad_kernel(x, dy),
            (lambda: signal.correlate2d(x, dy, mode="valid")) if signal else None,
        ),
    ]
    for name, ours, ref in pairs:
        cases: dict[str, Case] = {"sobelcli": ours}
        if ref is not None:
            cases["scipy"] = ref
        reps = min(adaptive_repeats(c, s.repeats) for c in cases.values())
        res = measure(cases, reps, warmup=0)
        rows.append(
            [
                name,
                ms(res["sobelcli"]),
                ms(res.get("scipy")),
                ratio(res["sobelcli"], res.get("scipy")),
            ]
        )
        print(f"  {name}: " + ", ".join(f"{c} {ms(t)}" for c, t in res.items()), flush=True)
    sec.add(*table(["function", "sobelcli", "scipy.signal", "ratio"], rows), "")
    return sec


def bench_lab(s: Settings) -> Section:
    """gradcheck (every pixel) and maximize: absolute times."""
    from sobelcli.core.gradcheck import gradcheck
    from sobelcli.core.maximize import ascend, random_start

    n = s.gradcheck_size
    sec = Section("The lab's checks (absolute times)")
    x = image(n, np.float64)
    cases: dict[str, Case] = {
        "gradcheck": lambda: gradcheck(x, SOBEL_X),
        "maximize": lambda: list(ascend(random_start((9, 9), 0), SOBEL_X)),
    }
    res = measure(cases, max(3, s.repeats // 2))
    result = gradcheck(x, SOBEL_X)
    sec.add(
        f"Median ms. `gradcheck(x, SOBEL_X)` with every pixel of a {n}² image "
        f"({result.count} checks, passed: {result.passed}); `maximize` is "
        "`list(ascend(random_start((9, 9), 0), SOBEL_X))`, 250 steps.",
        "",
    )
    sec.add(
        *table(
            ["check", "ms", "target"],
            [
                [f"gradcheck {n}², every pixel", ms(res["gradcheck"]), "< 2000"],
                ["maximize 9x9, 250 steps", ms(res["maximize"]), "< 100"],
            ],
        ),
        "",
    )
    print(f"  gradcheck {ms(res['gradcheck'])}, maximize {ms(res['maximize'])}", flush=True)
    sec.targets.append(
        Target(
            f"gradcheck {n}² every pixel",
            "< 2 s",
            f"{res['gradcheck']:.3f} s",
            res["gradcheck"] < 2.0,
        )
    )
    sec.targets.append(
        Target(
            "maximize 9x9, 250 steps", "< 0.1 s", f"{res['maximize']:.3f} s", res["maximize"] < 0.1
        )
    )
    return sec


# --- whole process ---------------------------------------------------------------------------
