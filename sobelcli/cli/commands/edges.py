"""``sobelcli edges``: the Sobel edge map of an image, or of a batch of images."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from sobelcli.cli.edge_features import Features, check_features, feature_options
from sobelcli.cli.options import (
    PATH,
    FiniteFloatRange,
    ImageOptions,
    batch_options,
    bits_option,
    image_options,
    json_option,
    output_format_of,
    quality_option,
    quiet_option,
    refuse_unused,
)
from sobelcli.cli.scheduler import run_on_cluster, scheduler_option
from sobelcli.names import BIG_IMAGE_PIXELS, LOSSY_FORMATS, OPERATORS, OUTPUT_KINDS, PAD_MODES

if TYPE_CHECKING:  # pragma: no cover
    from sobelcli.cli.batch import BatchOptions, Done, Result, Task


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
  sobelcli edges photos/ -o out/ --skip-existing           # resume an interrupted batch
  sobelcli edges photo.jpg -o thin.png --canny --sigma 2   # Canny's thin binary edges
  sobelcli edges noisy.png -o e.png --sigma 1.5 --ksize 5  # smoothed, the 5 x 5 Sobel pair
  sobelcli edges photo.jpg -o rgb.png --color per-channel  # edges of R, G and B
  sobelcli edges photo.jpg -o e.png --percentile 99        # robust to one bright pixel
  sobelcli edges scan.tif -o p3.png --frame 2 --alpha black
  sobelcli edges in/ -o out/ --name '{stem}_{ext}_edges.jpg' --quality 85
  sobelcli edges huge.tif -o huge_edges.png               # streamed: memory stays flat
  sobelcli edges scans/ -o out/ --scheduler tcp://scheduler:8786  # on a Dask cluster""",
)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...", type=PATH)
@click.option(
    "-o",
    "--output",
    metavar="OUT",
    type=PATH,
    help="One IMAGE: the file to write: .png (default NAME_edges.png beside IMAGE), "
    ".npy (raw floats), .tif (float32), .zarr (a folder of float32 chunks), or '-' for PNG "
    "on stdout. A batch: the folder (created if missing) for NAME_edges.png files; default "
    "beside each input. To a .png, .tif, .npy or .zarr file, a PNG, JPEG, TIFF, .npy or Zarr "
    "input is read, filtered and written a strip of rows at a time, so memory stays flat "
    "whatever its size.",
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
    "angle atan2(gy, gx) mapped from [-pi, pi] to [0, 1]. As in the lab, x is the derivative "
    "along the rows (axis 0, down the image: it finds horizontal edges; OpenCV and "
    "ImageMagick call it dy) and y the one along the columns; angle is in that frame.",
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
    help="PNG compression: 0 stores the rows raw; 1 (fast) the Up filter, deflated by ISA-L "
    "(zlib's run-length mode where isal is missing); 2-9 also try the best filter per row at "
    "that zlib level and keep the smaller file: never larger than 1, slower as the level rises.",
)
@quality_option
@feature_options
@batch_options
@image_options
@json_option
@quiet_option
@scheduler_option
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
    quality: int,
    features: Features,
    batch: BatchOptions,
    read: ImageOptions,
    as_json: bool,
    quiet: bool,
    scheduler: str | None,
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
    if threshold is not None and kind == "angle":
        raise click.UsageError("--threshold means nothing for --output-kind angle; drop one")
    ctx = click.get_current_context()
    fmt = output_format_of(images, output, batch)
    if fmt != "png":
        refuse_unused(ctx, "unless the output is a PNG", "bits", "compress")
    if fmt not in LOSSY_FORMATS:
        refuse_unused(ctx, "unless the output is a .jpg or .webp", "quality")
    check_features(ctx, features, kind, operator, normalize)
    job = EdgeJob(
        operator, kind, pad, normalize, threshold, int(bits), compress, read, features, quality
    )
    if scheduler:
        run_on_cluster(
            "edges",
            images,
            output,
            job,
            batch,
            scheduler,
            suffix="_edges",
            as_json=as_json,
            quiet=quiet,
            describe=job.describe,
        )
        return
    from sobelcli.cli.batch import run_images

    run_images(
        "edges",
        images,
        output,
        job,
        batch,
        suffix="_edges",
        as_json=as_json,
        quiet=quiet,
        describe=job.describe,
    )


@dataclass(frozen=True)
class EdgeJob:
    """The edge map of one image file, written to another: the per-input work of ``edges``."""

    operator: str = "sobel"
    kind: str = "magnitude"
    pad: str | None = None
    normalize: bool = True
    threshold: float | None = None
    bits: int = 8
    compress: int = 1
    read: ImageOptions = ImageOptions()
    features: Features = Features()
    quality: int = 90

    @property
    def plain(self) -> bool:
        """True with the lab's map options only: the strip and chunk paths can run it."""
        return self.features == Features() and self.quality == EdgeJob.quality

    def __call__(self, task: Task) -> Done:
        """Read ``task.source``, write its edge map to ``task.output`` (in strips if big)."""
        from sobelcli.cli import streaming
        from sobelcli.io import early

        try:
            streamed = streaming.stream_edges(self, task)
        finally:
            early.discard()  # a decode started for a stream that did not happen
        if streamed is not None:
            return streamed
        import numpy as np

        from sobelcli import io as sio
        from sobelcli.cli.batch import Done

        fmt = sio.output_format(task.output, task.fmt)
        loaded = sio.read_image(
            task.source,
            channel=self.read.channel,
            max_pixels=self.read.pixel_limit,
            dtype=np.float64 if fmt == "npy" else np.float32,
            max_memory=self.read.max_memory,
            alpha=self.read.alpha,
            frame=self.features.frame,
            colour=self.features.colour != "luminance",
            working_bytes=3 * (8 if fmt == "npy" else 4),  # angle, x, y, --pad: 3 maps at most
        )
        notes, pixels = loaded.notes, loaded.pixels
        del loaded  # let the input go before the output is encoded: peak memory
        if self.features.whole_image and pixels.shape[0] * pixels.shape[1] >= BIG_IMAGE_PIXELS:
            notes.append(
                f"{self.features.describe()} needs the whole image in memory: not streamed"
            )
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                result = self.features.apply(
                    pixels, self.kind, self.operator, self.normalize, self.pad
                )
        except ValueError as exc:  # too small for the kernel or the pad mode: name the file
            raise sio.ImageError(task.source, str(exc)) from None
        del pixels
        if not np.isfinite(result).all():
            raise sio.ImageError(task.source, "values too large: the edge map overflows")
        if self.threshold is not None:
            result = (result >= self.threshold).astype(result.dtype)
        warnings = []
        if fmt == "png" and not self.normalize and float(result.max(initial=0.0)) > 1.0:
            warnings.append(
                "values above 1 are clipped in a PNG; write .npy to keep the raw values"
            )
        streaming.save_image(
            task.output,
            result,
            bits=self.bits,
            compress=self.compress,
            fmt=fmt,
            quality=self.quality,
        )
        return Done(list(result.shape), notes, warnings)

    def describe(self, result: Result) -> str:
        """The line that reports one written map."""
        h, w = (result.shape or [0, 0])[:2]
        what = f"{self.operator} {self.kind}"
        if self.features.canny is not None:
            what = "canny"
        if self.threshold is not None:
            what += f" >= {self.threshold}"
        return f"wrote {result.output} ({h} x {w} pixels, H x W; {what})"
