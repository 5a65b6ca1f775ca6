"""Make the OpenCV reference figures that tests/core/test_ksize.py reads (OpenCV not needed there).

Run once, from the repository root, with OpenCV installed (``pip install .[bench]``)::

    .venv/bin/python tests/data/opencv/make_figures.py

It writes, beside itself:

- ``deriv_kernels.json``: ``cv2.getDerivKernels(dx, dy, ksize)`` for ksize 3, 5, 7 and
  (dx, dy) = (1, 0) and (0, 1), each as ``{"kx": [...], "ky": [...]}`` (kx is applied along
  axis 1, ky along axis 0), with the OpenCV version;
- ``sobel.npz``: two seeded float64 test images (``image_<name>``) and, for each image, ksize
  3, 5, 7 and border (scipy.ndimage's name of each OpenCV border: reflect = BORDER_REFLECT,
  mirror = BORDER_REFLECT_101, nearest = BORDER_REPLICATE, constant = BORDER_CONSTANT;
  OpenCV's Sobel refuses BORDER_WRAP), ``<name>_k<ksize>_<border>_dy`` =
  ``cv2.Sobel(image, CV_64F, dx=0, dy=1, ksize)`` (the derivative along rows: sobelcli's x)
  and ``..._dx`` = ``cv2.Sobel(image, CV_64F, dx=1, dy=0, ksize)`` (sobelcli's y).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
BORDERS = {
    "reflect": cv2.BORDER_REFLECT,
    "mirror": cv2.BORDER_REFLECT_101,
    "nearest": cv2.BORDER_REPLICATE,
    "constant": cv2.BORDER_CONSTANT,
}


def main() -> None:
    kernels: dict[str, object] = {"opencv": cv2.__version__}
    for ksize in (3, 5, 7):
        for dx, dy in ((1, 0), (0, 1)):
            kx, ky = cv2.getDerivKernels(dx, dy, ksize, normalize=False, ktype=cv2.CV_64F)
            kernels[f"k{ksize}_dx{dx}_dy{dy}"] = {
                "kx": kx.ravel().tolist(),
                "ky": ky.ravel().tolist(),
            }
    (HERE / "deriv_kernels.json").write_text(json.dumps(kernels, indent=1) + "\n")

    rng = np.random.default_rng(20240513)
    images = {"rect": rng.random((16, 13)), "small": rng.random((8, 9))}
    arrays: dict[str, np.ndarray] = {}
    for name, image in images.items():
        arrays[f"image_{name}"] = image
        for ksize in (3, 5, 7):
            for border, code in BORDERS.items():
                key = f"{name}_k{ksize}_{border}"
                for axis, (dx, dy) in (("dy", (0, 1)), ("dx", (1, 0))):
                    arrays[f"{key}_{axis}"] = cv2.Sobel(
                        image, cv2.CV_64F, dx, dy, ksize=ksize, borderType=code
                    )
    np.savez_compressed(HERE / "sobel.npz", **arrays)
    pairs = len(kernels) - 1
    print(f"wrote {len(arrays)} arrays and {pairs} kernel pairs (OpenCV {cv2.__version__})")


if __name__ == "__main__":
    main()
