"""``sobelcli grad-input``: dL/dX (or dL/dK) of L = loss(K * X) for an image X, or a batch."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sobelcli.cli.options import (
    batch_options,
    bits_option,
    check_output,
    default_output,
    format_of,
    image_options,
    json_option,
    kernel_option,
    loss_option,
    quiet_option,
)

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from numpy.typing import NDArray

    from sobelcli.cli.batch import Task


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
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...")
@click.option(
    "-o",
    "--output",
    metavar="OUT",
    help="--wrt input: .png (min-max normalised, default NAME_grad.png), .npy (raw "
    "float64), .tif or '-'; a batch: the folder for NAME_grad.png files (default: beside "
    "each input). --wrt kernel: .npy or .json (default: no file).",
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
def command(
    images: tuple[str, ...],
    output: str | None,
    kernel: tuple[str, Any],
    loss: str,
    wrt: str,
    bits: str,
    batch: dict[str, Any],
    fmt_name: str | None,
    channel: int | None,
    max_pixels: int,
    as_json: bool,
    quiet: bool,
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
    options = {
        "kernel": k,
        "kernel_name": name,
        "loss": loss,
        "bits": int(bits),
        "channel": channel,
        "max_pixels": max_pixels,
    }
    from sobelcli.cli import batch as batches

    if batches.is_batch(images, output):
        if wrt != "input":
            raise click.UsageError("--wrt kernel takes a single IMAGE, not a batch")
        fmt = fmt_name or "png"
        batches.run_command(
            "grad-input",
            images,
            grad_file,
            options,
            output=output,
            suffix="_grad",
            fmt=fmt,
            as_json=as_json,
            quiet=quiet,
            **batch,
        )
        return
    target = _single_target(images[0], output, wrt, fmt_name, as_json)
    if batch["existing"] == "skip" and batches.skipped_single(images[0], target, as_json, quiet):
        return
    _single(images[0], target, wrt, options, as_json, quiet)


def _single_target(
    image: str, output: str | None, wrt: str, fmt_name: str | None, as_json: bool
) -> str:
    """The output file of one IMAGE, checked; "" for none (--wrt kernel without -o)."""
    target = _target(image, output, wrt, fmt_name)
    if as_json and target == "-":
        raise click.UsageError("--json and an image on stdout (-o -) cannot share stdout")
    if target:
        check_output(target, [image])
    return target


def _target(image: str, output: str | None, wrt: str, fmt_name: str | None) -> str:
    from sobelcli.cli.batch import FORMAT_SUFFIXES

    if wrt == "input":
        target = output or default_output(image, "_grad", FORMAT_SUFFIXES[fmt_name or "png"])
        format_of(target, fmt_name)
        return target
    target = output or ""
    if target and not target.lower().endswith((".npy", ".json")):
        raise click.BadParameter("with --wrt kernel, write .npy or .json", param_hint="-o")
    return target


def _single(
    image: str, target: str, wrt: str, options: dict[str, Any], as_json: bool, quiet: bool
) -> None:
    """One IMAGE: dL/dX to an image file, or dL/dK as a table (and .npy or .json)."""
    from sobelcli.cli import report
    from sobelcli.cli.batch import Task, run_single

    if wrt == "input":
        info = run_single(grad_file, Task(image, target, options), as_json)
        for note in info["notes"]:
            report.info(f"{image}: {note}", quiet)
        summary = {
            "input": image,
            "output": target,
            "wrt": wrt,
            "kernel": options["kernel_name"],
            "loss": options["loss"],
            "L": info["L"],
            "shape": info["shape"],
            "min": info["min"],
            "max": info["max"],
        }
    else:
        summary = _kernel_gradient(image, target, options)
    if as_json:
        report.emit_json(summary)
    h, w = summary["shape"]
    where = f", wrote {target}" if target and target != "-" else ""
    report.info(
        f"L = {report.fmt(summary['L'])}; dL/d{'X' if wrt == 'input' else 'K'} "
        f"{h} x {w} (H x W) in [{report.fmt(summary['min'])}, "
        f"{report.fmt(summary['max'])}]{where}",
        quiet,
    )


def _gradient(
    image: str, options: dict[str, Any], wrt: str
) -> tuple[Any, dict[str, Any], list[str]]:
    """dL/dX or dL/dK of an image file, its figures (L, shape, min, max) and notes."""
    import numpy as np

    from sobelcli import io as sio
    from sobelcli.core.correlate import correlate2d, grad_input, grad_kernel
    from sobelcli.core.losses import get_loss

    loaded = sio.read_image(
        image,
        channel=options["channel"],
        max_pixels=options["max_pixels"],
        dtype=np.float64,
        limit_option="--max-pixels",
    )
    x, k = loaded.pixels, options["kernel"]
    if k.shape[0] > x.shape[0] or k.shape[1] > x.shape[1]:
        raise sio.ImageError(
            image, f"image of shape {x.shape} is smaller than the kernel {k.shape}"
        )
    lo = get_loss(options["loss"])
    with np.errstate(over="ignore", invalid="ignore"):
        y = correlate2d(x, k)
        grad = grad_input(lo.grad(y), k) if wrt == "input" else grad_kernel(x, lo.grad(y))
        value = lo.value(y)
    if not (np.isfinite(value) and np.isfinite(grad).all()):
        raise sio.ImageError(image, "values too large: L or its gradient overflows")
    figures = {
        "L": value,
        "shape": list(grad.shape),
        "min": float(grad.min()),
        "max": float(grad.max()),
    }
    return grad, figures, loaded.notes


def grad_file(task: Task) -> dict[str, Any]:
    """Write dL/dX of ``task.source`` to ``task.output``: the per-image work of a batch.

    Returns
    -------
    dict
        ``shape``, ``L``, ``min`` and ``max`` of dL/dX, and ``notes`` on the input.
    """
    from sobelcli import io as sio

    grad, figures, notes = _gradient(task.source, task.options, "input")
    fmt = sio.output_format(task.output)
    span = float(grad.max() - grad.min())
    shown = grad if fmt == "npy" else (grad - grad.min()) / (span if span > 0 else 1.0)
    if task.options.get("make_folder"):
        sio.make_folder(Path(task.output).parent)
    sio.save_image(task.output, shown, bits=task.options["bits"])
    return {**figures, "notes": notes}


def _kernel_gradient(image: str, target: str, options: dict[str, Any]) -> dict[str, Any]:
    import json

    from sobelcli import io as sio
    from sobelcli.cli import report
    from sobelcli.core.losses import get_loss

    grad, figures, _ = _gradient(image, options, "kernel")
    summary = {
        "input": image,
        "output": target or None,
        "wrt": "kernel",
        "kernel": options["kernel_name"],
        "loss": options["loss"],
        **figures,
        "grad": grad.tolist(),
    }
    report.table(
        f"dL/dK for {get_loss(options['loss']).formula}, K = {options['kernel_name']}",
        ["", *map(str, range(grad.shape[1]))],
        [[str(i), *(report.fmt(v) for v in row)] for i, row in enumerate(_rows(grad))],
        justify=["right"] * (grad.shape[1] + 1),
    )
    if target.lower().endswith(".json"):
        sio.atomic_write(target, (json.dumps(summary, indent=2) + "\n").encode())
    elif target:
        sio.atomic_write(target, sio.encode(grad, "npy"))
    return summary


def _rows(grad: NDArray[np.floating]) -> list[list[float]]:
    return grad.tolist()  # type: ignore[no-any-return]
