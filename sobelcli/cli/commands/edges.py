"""``sobelcli edges``: the Sobel edge map of an image, or of a batch of images."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sobelcli.cli.options import (
    FiniteFloatRange,
    batch_options,
    bits_option,
    check_output,
    default_output,
    format_of,
    image_options,
    json_option,
    quiet_option,
)
from sobelcli.names import OPERATORS, OUTPUT_KINDS, PAD_MODES

if TYPE_CHECKING:  # pragma: no cover
    from sobelcli.cli.batch import Task


@click.command(
    epilog="""\b
Examples:
  sobelcli edges photo.jpg                      # writes photo_edges.png beside it
  sobelcli edges photo.jpg -o edges.png --pad reflect
  sobelcli edges photo.jpg -o edges.png --threshold 0.25
  sobelcli edges photo.jpg -o gx.png --output-kind x --operator scharr
  sobelcli edges scan.tif -o edges16.png --bits 16
  sobelcli edges photo.jpg -o edges.npy --no-normalize    # raw float values
  cat photo.png | sobelcli edges - -o - > edges.png
  sobelcli edges photos/ -o out/ --recursive --jobs 4      # out/sub/NAME_edges.png
  sobelcli edges 'scans/*.tif' -o out/ --format npy --json | jq -c 'select(.status != "ok")'
  sobelcli edges photos/ -o out/ --skip-existing           # resume an interrupted batch""",
)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...")
@click.option(
    "-o",
    "--output",
    metavar="OUT",
    help="One IMAGE: the file to write: .png (default NAME_edges.png beside IMAGE), "
    ".npy (raw floats), .tif (float32), or '-' for PNG on stdout. A batch: the folder "
    "(created if missing) for NAME_edges.png files; default beside each input.",
)
@click.option(
    "--operator",
    type=click.Choice(OPERATORS),
    default="sobel",
    show_default=True,
    help="Derivative pair: sobel (1,2,1), scharr (3,10,3) or prewitt (1,1,1) smoothing.",
)
@click.option(
    "--output-kind",
    "kind",
    type=click.Choice(OUTPUT_KINDS),
    default="magnitude",
    show_default=True,
    help="magnitude sqrt(gx^2 + gy^2); x or y, the signed responses shown with 0.5 = 0; "
    "angle atan2(gy, gx) mapped from [-pi, pi] to [0, 1].",
)
@click.option(
    "--pad",
    type=click.Choice(PAD_MODES),
    default=None,
    help="Extend the borders (scipy.ndimage's modes) so the map keeps the input's size; "
    "without it the map is 2 pixels smaller in each axis, as in the lab.",
)
@click.option(
    "--normalize/--no-normalize",
    default=True,
    show_default=True,
    help="Divide by the maximum so values lie in [0, 1].",
)
@click.option(
    "--threshold",
    type=FiniteFloatRange(0.0, 1.0),
    default=None,
    metavar="T",
    help="Write a binary map: 1 where the normalised value is >= T (0 <= T <= 1).",
)
@bits_option
@click.option(
    "--compress",
    type=click.IntRange(0, 9),
    default=1,
    show_default=True,
    help="PNG zlib level: 1 is fast, 9 is smallest, 0 stores raw.",
)
@batch_options
@image_options
@json_option
@quiet_option
def command(
    images: tuple[str, ...],
    output: str | None,
    operator: str,
    kind: str,
    pad: str | None,
    normalize: bool,
    threshold: float | None,
    bits: str,
    compress: int,
    batch: dict[str, Any],
    fmt_name: str | None,
    channel: int | None,
    max_pixels: int,
    as_json: bool,
    quiet: bool,
) -> None:
    """Write the edge map of IMAGE: E = sqrt((Gx*I)^2 + (Gy*I)^2) / max.

    IMAGE is a PNG, JPEG, TIFF, BMP, GIF (first frame), WebP or .npy file, or '-' for stdin.
    Colour images become grey by luminance (0.2125 R + 0.7154 G + 0.0721 B) unless --channel
    is given; 8- and 16-bit values are scaled to [0, 1].

    Several IMAGEs, a FOLDER (its image files; --recursive for subfolders) or a quoted
    pattern ('imgs/*.png') make a batch: each input gives NAME_edges.png (or --format),
    under -o at the input's path relative to its folder argument, or beside it. A bad input
    is reported (one line on stderr) and the rest go on; the exit status is 1 if any failed.
    Existing outputs are errors unless --overwrite or --skip-existing. --json prints one line
    per input and a summary line. Ctrl-C stops cleanly: no partial file, exit 130.
    """
    if threshold is not None and not normalize:
        raise click.UsageError("--threshold compares with the normalised map; drop --no-normalize")
    options = {
        "operator": operator,
        "kind": kind,
        "pad": pad,
        "normalize": normalize,
        "threshold": threshold,
        "bits": int(bits),
        "compress": compress,
        "channel": channel,
        "max_pixels": max_pixels,
    }
    from sobelcli.cli import batch as batches

    if batches.is_batch(images, output):
        fmt = fmt_name or "png"
        batches.run_command(
            "edges",
            images,
            edge_file,
            options,
            output=output,
            suffix="_edges",
            fmt=fmt,
            as_json=as_json,
            quiet=quiet,
            **batch,
        )
        return
    _single(images[0], output, fmt_name, options, batch["existing"] == "skip", as_json, quiet)


def _single(
    image: str,
    output: str | None,
    fmt_name: str | None,
    options: dict[str, Any],
    skip: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """One IMAGE to one output file, as sobelcli has always done."""
    from sobelcli.cli import report
    from sobelcli.cli.batch import FORMAT_SUFFIXES, Result, Task, run_single, skipped_single

    target = output or default_output(image, "_edges", FORMAT_SUFFIXES[fmt_name or "png"])
    if as_json and target == "-":
        raise click.UsageError("--json and an image on stdout (-o -) cannot share stdout")
    format_of(target, fmt_name)
    check_output(target, [image])
    if skip and skipped_single(image, target, as_json, quiet):
        return
    start = time.perf_counter()
    info = run_single(edge_file, Task(image, target, options), as_json)
    for note in info["notes"]:
        report.info(f"{image}: {note}", quiet)
    for text in info["warnings"]:
        report.warn(text)
    shape = info["shape"]
    if as_json:
        report.emit_json(
            Result(image, target, "ok", None, shape, time.perf_counter() - start).record()
        )
    if target != "-":
        o = options
        what = f"{o['operator']} {o['kind']}" + (
            f" >= {o['threshold']}" if o["threshold"] is not None else ""
        )
        report.info(f"wrote {target} ({shape[0]} x {shape[1]} pixels, H x W; {what})", quiet)


def edge_file(task: Task) -> dict[str, Any]:
    """Read ``task.source``, write its edge map to ``task.output``: the per-image work.

    Returns
    -------
    dict
        ``shape`` of the map, ``notes`` on the input, ``warnings`` on the output.
    """
    import numpy as np

    from sobelcli import io as sio
    from sobelcli.core.edges import edge_map

    o = task.options
    fmt = sio.output_format(task.output)
    loaded = sio.read_image(
        task.source,
        channel=o["channel"],
        max_pixels=o["max_pixels"],
        limit_option="--max-pixels",
        dtype=np.float64 if fmt == "npy" else np.float32,
    )
    notes, pixels = loaded.notes, loaded.pixels
    del loaded  # let the input go before the output is encoded: peak memory
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            result = edge_map(pixels, o["kind"], o["operator"], o["normalize"], o["pad"])
    except ValueError as exc:  # too small for the kernel or the pad mode: name the file
        raise sio.ImageError(task.source, str(exc)) from None
    del pixels
    if not np.isfinite(result).all():
        raise sio.ImageError(task.source, "values too large: the edge map overflows")
    if o["threshold"] is not None:
        result = (result >= o["threshold"]).astype(result.dtype)
    warnings = []
    if fmt == "png" and not o["normalize"] and float(result.max(initial=0.0)) > 1.0:
        warnings.append("values above 1 are clipped in a PNG; write .npy to keep the raw values")
    if o.get("make_folder"):
        sio.make_folder(Path(task.output).parent)
    sio.save_image(task.output, result, bits=o["bits"], compress=o["compress"])
    return {"shape": list(result.shape), "notes": notes, "warnings": warnings}
