"""Benchmark group of Canny: sobelcli's numpy Canny against scikit-image and OpenCV.

Run alone (prints the section; ``bench/run.py`` runs it as a group once registered)::

    .venv/bin/python bench/group_canny.py [--quick] [--repeats N]
"""

from __future__ import annotations

import numpy as np
from common import (
    ROOT,
    Case,
    Section,
    Settings,
    Target,
    adaptive_repeats,
    measure,
    ms,
    optional,
    ratio,
    table,
)

from sobelcli import engine as _engine
from sobelcli.core.canny import canny, gradients
from sobelcli.core.smooth import gaussian, gaussian_radius
from sobelcli.io import load_image

SIGMA, LOW, HIGH = 1.0, 0.1, 0.2


def f1(a: np.ndarray, b: np.ndarray) -> float:
    """F1 of edge pixels: 2 |a & b| / (|a| + |b|), 1 when both are empty."""
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2 * int((a & b).sum()) / total


def test_images(s: Settings) -> dict[str, np.ndarray]:
    """The sample portrait (512²) and the camera mirrored into a seamless larger square."""
    astronaut = load_image(ROOT / "sample_images" / "astronaut.png")
    camera = load_image(ROOT / "sample_images" / "camera.png")
    n = 1024 if s.quick else 2048
    big = np.pad(camera, ((0, n - camera.shape[0]), (0, n - camera.shape[1])), mode="symmetric")
    return {
        f"astronaut {astronaut.shape[0]}x{astronaut.shape[1]}": astronaut,
        f"camera mirrored {n}x{n}": big,
    }


def opencv_case(cv2: object, x: np.ndarray) -> tuple[Case, np.ndarray]:
    """OpenCV's GaussianBlur + Canny on the uint8 image, thresholds as sobelcli's quantiles.

    cv2.Canny takes 8-bit images and absolute thresholds on its own 3 x 3 Sobel magnitude
    (L2gradient=True: sqrt(dx^2 + dy^2), as sobelcli and skimage). The thresholds are the
    same quantiles (LOW, HIGH) of that magnitude of the blurred uint8 image, computed once
    outside the timing; the blur has sobelcli's radius int(4 sigma + 0.5) and border reflect.
    """
    u8 = np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)
    r = gaussian_radius(SIGMA)
    k = (2 * r + 1, 2 * r + 1)
    border = cv2.BORDER_REFLECT  # type: ignore[attr-defined]
    blurred = cv2.GaussianBlur(u8, k, SIGMA, borderType=border)  # type: ignore[attr-defined]
    dx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, borderType=border)  # type: ignore[attr-defined]
    dy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, borderType=border)  # type: ignore[attr-defined]
    lo, hi = np.percentile(np.hypot(dx, dy), [100 * LOW, 100 * HIGH])

    def run() -> np.ndarray:
        b = cv2.GaussianBlur(u8, k, SIGMA, borderType=border)  # type: ignore[attr-defined]
        return cv2.Canny(b, float(lo), float(hi), L2gradient=True) > 0  # type: ignore[attr-defined]

    return run, run()


def bench_canny(s: Settings) -> Section:
    """Canny (sigma 1, quantile thresholds 0.1 / 0.2) vs skimage.feature.canny and OpenCV."""
    sec = Section("Canny edges (sigma 1, quantile thresholds 0.1 and 0.2)")
    sec.add(
        "Median ms. `sobelcli` is `sobelcli.core.canny.canny(x, 1.0, 0.1, 0.2, quantiles=True)`;",
        "`skimage` is `skimage.feature.canny(x, 1.0, 0.1, 0.2, use_quantiles=True,",
        "mode='reflect')`, which gives the same map (F1 below; skimage's default",
        "`mode='constant'` divides by the smoothed mask and costs one more Gaussian);",
        "`OpenCV` is `cv2.GaussianBlur` (9 x 9, sigma 1, reflect) + `cv2.Canny(L2gradient=True)`",
        "on the image as uint8, with absolute thresholds set to the same quantiles of its own",
        "magnitude (computed outside the timing: cv2.Canny has no quantile option). OpenCV",
        "thins without interpolation, on 8-bit data, hence its lower F1. sobelcli and OpenCV",
        "use the machine's threads, skimage one; `1 thread` is sobelcli after",
        "`engine.set_threads(1)`. Ratios are sobelcli (all threads) / the reference.",
        "",
    )
    skf = optional("skimage.feature")
    cv2 = optional("cv2")
    rows: list[list[str]] = []
    for label, image64 in test_images(s).items():
        for dtype in (np.float64, np.float32):
            x = image64.astype(dtype)
            ours = canny(x, SIGMA, LOW, HIGH, quantiles=True)
            cases: dict[str, Case] = {
                "sobelcli": lambda x=x: canny(x, SIGMA, LOW, HIGH, quantiles=True),
                "sobelcli 1 thread": lambda x=x: _one_thread(x),
            }
            agree: dict[str, float] = {}
            if skf is not None:

                def sk(x: np.ndarray = x) -> np.ndarray:
                    return skf.canny(x, SIGMA, LOW, HIGH, use_quantiles=True, mode="reflect")

                cases["skimage"] = sk
                agree["skimage"] = f1(ours, sk())
            if cv2 is not None and dtype == np.float64:
                cases["OpenCV"], cv_map = opencv_case(cv2, x)
                agree["OpenCV"] = f1(ours, cv_map)
            reps = min(adaptive_repeats(c, s.repeats) for c in cases.values())
            res = measure(cases, reps)
            name = f"{label} {np.dtype(dtype).name}"
            rows.append(
                [
                    name,
                    ms(res["sobelcli"]),
                    ms(res["sobelcli 1 thread"]),
                    ms(res.get("skimage")),
                    ms(res.get("OpenCV")),
                    ratio(res["sobelcli"], res.get("skimage")),
                    ratio(res["sobelcli"], res.get("OpenCV")),
                    f"{agree['skimage']:.4f}" if "skimage" in agree else "—",
                    f"{agree['OpenCV']:.3f}" if "OpenCV" in agree else "—",
                ]
            )
            print(
                f"  canny {name}: "
                + ", ".join(f"{c} {ms(t)}" for c, t in res.items())
                + ", F1 "
                + ", ".join(f"{c} {v:.4f}" for c, v in agree.items()),
                flush=True,
            )
            if dtype == np.float64 and "skimage" in res:
                value = res["sobelcli"] / res["skimage"]
                sec.targets.append(
                    Target(f"canny {label} / skimage", "≤ 2 (aim < 1)", f"{value:.2f}", value <= 2)
                )
    header = ["image", "sobelcli", "1 thread", "skimage", "OpenCV", "/ skimage", "/ OpenCV"]
    sec.add(*table([*header, "F1 skimage", "F1 OpenCV"], rows), "")
    sec.add(*_stages(s), "")
    return sec


def _one_thread(x: np.ndarray) -> np.ndarray:
    before = _engine.threads()
    _engine.set_threads(1)
    try:
        return canny(x, SIGMA, LOW, HIGH, quantiles=True)
    finally:
        _engine.set_threads(before)


def _stages(s: Settings) -> list[str]:
    """Where sobelcli's time goes, on the portrait: smoothing, gradients, the rest."""
    x = load_image(ROOT / "sample_images" / "astronaut.png")
    smoothed = gaussian(x, SIGMA)
    cases: dict[str, Case] = {
        "gaussian": lambda: gaussian(x, SIGMA),
        "gradients": lambda: gradients(smoothed),
        "whole canny": lambda: canny(x, SIGMA, LOW, HIGH, quantiles=True),
    }
    res = measure(cases, s.repeats)
    rows = [[name, ms(t)] for name, t in res.items()]
    return [
        "sobelcli's stages on the portrait (float64); thinning, quantiles and hysteresis make",
        "the rest:",
        "",
        *table(["stage", "ms"], rows),
    ]


if __name__ == "__main__":
    import argparse

    from common import settings

    parser = argparse.ArgumentParser(description="Canny benchmark group alone")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args()
    section = bench_canny(settings(args.quick, args.repeats))
    print("\n".join([f"## {section.title}", "", *section.lines]))
    for t in section.targets:
        print(f"target: {t.what}: {t.value} (goal {t.goal}, met: {t.met})")
