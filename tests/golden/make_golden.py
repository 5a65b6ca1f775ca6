"""Regenerate the golden images from scipy, an oracle independent of sobelcli."""

from pathlib import Path

import imageio.v3 as iio
import numpy as np
from scipy import ndimage, signal

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent.parent / "sample_images"
GX = np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])


def sobel_valid(img: np.ndarray) -> np.ndarray:
    e = np.hypot(signal.correlate2d(img, GX, "valid"), signal.correlate2d(img, GX.T, "valid"))
    return e / e.max()


def main() -> None:
    square = iio.imread(SAMPLES / "square.png") / 255.0
    iio.imwrite(HERE / "square_edges.png", np.rint(sobel_valid(square) * 255).astype(np.uint8))
    reflect = np.hypot(
        ndimage.correlate(square, GX, mode="reflect"),
        ndimage.correlate(square, GX.T, mode="reflect"),
    )
    iio.imwrite(
        HERE / "square_edges_reflect.png", np.rint(reflect / reflect.max() * 255).astype(np.uint8)
    )


if __name__ == "__main__":
    main()
