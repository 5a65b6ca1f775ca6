"""``sobelcli grad-input``: dL/dX (or dL/dK) of L = loss(K * X) for an image X, or a batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from sobelcli.cli.options import (
    PATH,
    ImageOptions,
    batch_options,
    bits_option,
    check_output,
    image_options,
    json_option,
    kernel_option,
    loss_option,
    output_format_of,
    quiet_option,
    refuse_unused,
)
from sobelcli.cli.scheduler import run_on_cluster, scheduler_option

if TYPE_CHECKING:  # pragma: no cover
    from sobelcli.cli.batch import BatchOptions, Done, Result, Task


@click.command(
    epilog="""\b
Examples:
  sobelcli grad-input photo.png                   # writes photo_grad.png beside it
  sobelcli grad-input photo.png -o grad.npy       # raw float64 dL/dX
  sobelcli grad-input photo.png -o g.png --kernel sobel-y --loss logcosh
  sobelcli grad-input photo.png -k '1,0,-1;2,0,-2;1,0,-1' -o g.png
  sobelcli grad-input photo.png --wrt kernel      # dL/dK as a table
  sobelcli grad-input photo.png --wrt kernel -o dk.json
  sobelcli grad-input photos/ -o grads/ --format npy --jobs 2   # grads/NAME_grad.npy""",
)
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...", type=PATH)
@click.option(
    "-o",
    "--output",
    metavar="OUT",
    type=PATH,
    help="--wrt input: .png (min-max normalised, default NAME_grad.png), .npy (raw "
    "float64), .tif (raw float32), .zarr (raw float32, a folder) or '-'; a batch: the folder "
    "for NAME_grad.png files (default: beside each input). Images of 16.8 million pixels or "
    "more, and Zarr, are written in strips to a file. --wrt kernel: .npy or .json (default: "
    "no file).",
)
@kernel_option
@loss_option
@click.option(
    "--wrt",
    type=click.Choice(["input", "kernel"]),
    default="input",
    show_default=True,
    help="input: dL/dX, the full convolution of dL/dY with K (the lab's eq. 6); "
    "kernel: dL/dK, the valid correlation of X with dL/dY (eq. 5).",
)
@bits_option
@batch_options
@image_options
@json_option
@quiet_option
@scheduler_option
def command(
    images: tuple[str, ...],
    output: str | None,
    kernel: tuple[str, Any],
    loss: str,
    wrt: str,
    bits: str,
    batch: BatchOptions,
    read: ImageOptions,
    as_json: bool,
    quiet: bool,
    scheduler: str | None,
) -> None:
    """Gradient of L = loss(K * X) with respect to the image X (or the kernel K).

    Y = K * X is the lab's valid cross-correlation and dL/dY comes from --loss (for the lab's
    L = sum y^2 it is 2Y). dL/dX has the shape of IMAGE; a PNG shows it min-max normalised,
    as the lab draws it (mid-grey is not zero: write .npy for the values).

    Several IMAGEs, a FOLDER or a quoted pattern make a batch (--wrt input only), as in
    'sobelcli edges': NAME_grad.png per input, one error line per bad input, exit 1 if any
    failed, --json lines with L, min and max, and a summary.
    """
    name, k = kernel
    if wrt == "kernel" or output_format_of(images, output, batch) != "png":
        refuse_unused(click.get_current_context(), "unless dL/dX goes to a PNG", "bits")
    job = GradJob(k, name, loss, int(bits), read)
    protected = [name] if name.lower().endswith(".npy") else []
    if scheduler:
        run_on_cluster(
            "grad-input",
            images,
            output,
            job,
            batch,
            scheduler,
            suffix="_grad",
            as_json=as_json,
            quiet=quiet,
            protected=protected,
            describe=job.describe,
        )
        return
    if wrt == "kernel":
        _kernel_gradient(images, output, job, protected, as_json, quiet)
        return
    from sobelcli.cli.batch import run_images

    run_images(
        "grad-input",
        images,
        output,
        job,
        batch,
        suffix="_grad",
        as_json=as_json,
        quiet=quiet,
        protected=protected,
        describe=job.describe,
    )


@dataclass(frozen=True)
class GradJob:
    """dL/dX of one image file, written to another: the per-input work of ``grad-input``."""

    kernel: Any
    kernel_name: str = "sobel-x"
    loss: str = "sumsq"
    bits: int = 8
    read: ImageOptions = ImageOptions()

    def gradient(self, source: str, wrt: str) -> tuple[Any, dict[str, Any], list[str]]:
        """dL/dX (``wrt="input"``) or dL/dK of an image file, its figures and notes."""
        import numpy as np

        from sobelcli import io as sio
        from sobelcli.core.correlate import correlate2d, grad_input, grad_kernel
        from sobelcli.core.losses import get_loss

        loaded = sio.read_image(
            source,
            channel=self.read.channel,
            max_pixels=self.read.pixel_limit,
            dtype=np.float64,
            max_memory=self.read.max_memory,
            alpha=self.read.alpha,
            working_bytes=40,  # Y, dL/dY, dL/dX and the loss's temporaries, float64
        )
        x, k = loaded.pixels, self.kernel
        if k.shape[0] > x.shape[0] or k.shape[1] > x.shape[1]:
            raise sio.ImageError(
                source, f"image of shape {x.shape} is smaller than the kernel {k.shape}"
            )
        lo = get_loss(self.loss)
        with np.errstate(over="ignore", invalid="ignore"):
            y = correlate2d(x, k)
            grad = grad_input(lo.grad(y), k) if wrt == "input" else grad_kernel(x, lo.grad(y))
            value = lo.value(y)
        if not (np.isfinite(value) and np.isfinite(grad).all()):
            raise sio.ImageError(source, "values too large: L or its gradient overflows")
        figures = {
            "wrt": wrt,
            "kernel": self.kernel_name,
            "loss": self.loss,
            "L": float(value),
            "min": float(grad.min()),
            "max": float(grad.max()),
        }
        return grad, figures, loaded.notes

    #: Every option of grad-input runs on the strip and chunk paths too.
    plain = True

    def __call__(self, task: Task) -> Done:
        """Read ``task.source``, write dL/dX to ``task.output`` (in strips if big)."""
        from sobelcli import io as sio
        from sobelcli.cli import streaming
        from sobelcli.cli.batch import Done

        streamed = streaming.stream_grad(self, task)
        if streamed is not None:
            return streamed
        grad, figures, notes = self.gradient(task.source, "input")
        fmt = sio.output_format(task.output, task.fmt)
        span = float(grad.max() - grad.min())
        raw = fmt in ("npy", "tiff", "zarr")  # the values; a PNG shows them min-max scaled
        shown = grad if raw else (grad - grad.min()) / (span if span > 0 else 1.0)
        streaming.save_image(task.output, shown, bits=self.bits, fmt=fmt)
        return Done(list(grad.shape), notes, figures=figures)

    def describe(self, result: Result) -> str:
        """The line that reports one written gradient."""
        from sobelcli.cli import report

        h, w = (result.shape or [0, 0])[:2]
        f = result.extra
        where = f", wrote {result.output}" if result.output not in (None, "", "-") else ""
        return (
            f"L = {report.fmt(f['L'])}; dL/d{'X' if f['wrt'] == 'input' else 'K'} "
            f"{h} x {w} (H x W) in [{report.fmt(f['min'])}, {report.fmt(f['max'])}]{where}"
        )


def _kernel_gradient(
    images: tuple[str, ...],
    output: str | None,
    job: GradJob,
    protected: list[str],
    as_json: bool,
    quiet: bool,
) -> None:
    """--wrt kernel: dL/dK of one IMAGE as a table on stderr, and a .npy or .json file."""
    import json
    import time

    from sobelcli import io as sio
    from sobelcli.cli import report
    from sobelcli.cli.batch import Result
    from sobelcli.cli.batch.inputs import is_batch
    from sobelcli.core.losses import get_loss

    if is_batch(images, output):
        raise click.UsageError("--wrt kernel takes a single IMAGE, not a batch")
    image, target = images[0], output or ""
    if target and not target.lower().endswith((".npy", ".json")):
        raise click.BadParameter("with --wrt kernel, write .npy or .json", param_hint="-o")
    if target:
        check_output(target, [image, *protected])
    start = time.perf_counter()
    try:
        grad, figures, _ = job.gradient(image, "kernel")
    except ValueError as exc:
        if as_json:
            report.emit_json(Result(image, target or None, "error", str(exc)).record())
        raise
    report.table(
        f"dL/dK for {get_loss(job.loss).formula}, K = {job.kernel_name}",
        ["", *map(str, range(grad.shape[1]))],
        [[str(i), *(report.fmt(v) for v in row)] for i, row in enumerate(grad.tolist())],
        justify=["right"] * (grad.shape[1] + 1),
    )
    result = Result(image, target or None, "ok", None, list(grad.shape), extra=figures)
    result.seconds = time.perf_counter() - start
    record = {**result.record(), "grad": grad.tolist()}
    if target.lower().endswith(".json"):
        sio.atomic_write(target, (json.dumps(record, indent=2) + "\n").encode())
    elif target:
        sio.atomic_write(target, sio.encode(grad, "npy"))
    if as_json:
        report.emit_json(record)
    report.info(job.describe(result), quiet)
