"""Draw axes.png: which step each of ``--output-kind x`` and ``y`` finds (README, "edges").

Run from the repository root: ``.venv/bin/python sample_images/results/make_axes.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from sobelcli.core.edges import edge_map

SIZE, SCALE, GAP = 24, 5, 12


def main() -> None:
    horizontal = np.zeros((SIZE, SIZE))
    horizontal[SIZE // 2 :] = 1.0  # dark above, light below: an edge across the rows
    vertical = horizontal.T.copy()  # dark left, light right: an edge down the columns
    rows = []
    for step in (horizontal, vertical):
        panels = [step, *(edge_map(step, kind, pad="nearest") for kind in ("x", "y"))]
        rows.append(panels)
    cell = SIZE * SCALE
    width = 3 * cell + 4 * GAP
    height = 2 * cell + 3 * GAP + 18
    canvas = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(canvas)
    for c, title in enumerate(("input", "--output-kind x", "--output-kind y")):
        draw.text((GAP + c * (cell + GAP), 4), title, fill=0)
    for r, panels in enumerate(rows):
        for c, panel in enumerate(panels):
            pixels = np.kron(np.round(panel * 255), np.ones((SCALE, SCALE))).astype(np.uint8)
            x0, y0 = GAP + c * (cell + GAP), 18 + GAP + r * (cell + GAP)
            draw.rectangle((x0 - 2, y0 - 2, x0 + cell + 1, y0 + cell + 1), fill=0)
            canvas.paste(
                Image.fromarray(pixels), (GAP + c * (cell + GAP), 18 + GAP + r * (cell + GAP))
            )
    canvas.save(Path(__file__).with_name("axes.png"), optimize=True)


if __name__ == "__main__":
    main()
