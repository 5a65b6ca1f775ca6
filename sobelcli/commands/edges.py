"""``sobelcli edges``: the Sobel edge map of an image."""

from __future__ import annotations

import time

import click

from ._options import (
    OPERATORS,
    OUTPUT_KINDS,
    PAD_MODES,
    check_output,
    default_output,
    image_options,
    json_option,
    output_format_or_usage,
    quiet_option,
)


@click.command(
    epilog="""\b
Examples:
  sobelcli edges photo.jpg                      # writes photo_edges.png beside it
  sobelcli edges photo.jpg -o edges.png --pad reflect
  sobelcli edges photo.jpg -o edges.png --threshold 0.25
  sobelcli edges photo.jpg -o gx.png --output-kind x --operator scharr
  sobelcli edges scan.tif -o edges16.png --bits 16
  sobelcli edges photo.jpg -o edges.npy --no-normalize    # raw float values
  cat photo.png | sobelcli edges - -o - > edges.png""",
)
@click.argument("image", metavar="IMAGE")
@click.option("-o", "--output", metavar="OUT",
              help="Where to write: .png (default NAME_edges.png beside IMAGE), .npy (raw floats), "
              ".tif (float32), or '-' for PNG on stdout.")
@click.option("--operator", type=click.Choice(OPERATORS), default="sobel", show_default=True,
              help="Derivative pair: sobel (1,2,1), scharr (3,10,3) or prewitt (1,1,1) smoothing.")
@click.option("--output-kind", "kind", type=click.Choice(OUTPUT_KINDS), default="magnitude",
              show_default=True,
              help="magnitude sqrt(gx^2 + gy^2); x or y, the signed responses shown with 0.5 = 0; "
              "angle atan2(gy, gx) mapped from [-pi, pi] to [0, 1].")
@click.option("--pad", type=click.Choice(PAD_MODES), default=None,
              help="Extend the borders (scipy.ndimage's modes) so the map keeps the input's size; "
              "without it the map is 2 pixels smaller in each axis, as in the lab.")
@click.option("--normalize/--no-normalize", default=True, show_default=True,
              help="Divide by the maximum so values lie in [0, 1].")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None, metavar="T",
              help="Write a binary map: 1 where the normalised value is >= T (0 <= T <= 1).")
@click.option("--bits", type=click.Choice(["8", "16"]), default="8", show_default=True,
              help="Bit depth of a PNG output.")
@click.option("--compress", type=click.IntRange(0, 9), default=1, show_default=True,
              help="PNG zlib level: 1 is fast, 9 is smallest, 0 stores raw.")
@image_options
@json_option
@quiet_option
def command(image: str, output: str | None, operator: str, kind: str, pad: str | None,
            normalize: bool, threshold: float | None, bits: str, compress: int, channel: int | None,
            max_pixels: int, as_json: bool, quiet: bool) -> None:
    """Write the edge map of IMAGE: E = sqrt((Gx*I)^2 + (Gy*I)^2) / max.

    IMAGE is a PNG, JPEG, TIFF, BMP, GIF (first frame) or .npy file, or '-' for stdin.
    Colour images become grey by luminance (0.2125 R + 0.7154 G + 0.0721 B) unless --channel
    is given; 8- and 16-bit values are scaled to [0, 1].
    """
    if threshold is not None and not normalize:
        raise click.UsageError("--threshold compares with the normalised map; drop --no-normalize")
    target = output or default_output(image, "_edges")
    if as_json and target == "-":
        raise click.UsageError("--json and an image on stdout (-o -) cannot share stdout")
    fmt = output_format_or_usage(target)
    check_output(target, [image])
    start = time.perf_counter()

    import numpy as np

    from .. import images, report
    from ..edges import edge_map

    loaded = images.read_image(image, channel=channel, max_pixels=max_pixels,
                               dtype=np.float64 if fmt == "npy" else np.float32)
    for note in loaded.notes:
        report.info(f"{image}: {note}", quiet)
    result = edge_map(loaded.pixels, kind, operator, normalize, pad)  # type: ignore[arg-type]
    if threshold is not None:
        result = (result >= threshold).astype(result.dtype)
    if fmt == "png" and not normalize and float(result.max(initial=0.0)) > 1.0:
        report.warn("values above 1 are clipped in a PNG; write .npy to keep the raw values")
    images.save_image(target, result, bits=int(bits), compress=compress)
    seconds = time.perf_counter() - start
    shape = list(result.shape)
    if as_json:
        report.emit_json({"input": image, "output": target, "status": "ok", "error": None,
                          "shape": shape, "seconds": round(seconds, 4)})
    if target != "-":
        what = f"{operator} {kind}" + (f" >= {threshold}" if threshold is not None else "")
        report.info(f"wrote {target} ({shape[1]} x {shape[0]}, {what})", quiet)
