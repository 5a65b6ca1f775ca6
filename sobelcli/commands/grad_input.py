"""``sobelcli grad-input``: dL/dX (or dL/dK) of L = loss(K * X) for an image X."""

from __future__ import annotations

from typing import Any

import click

from ._options import (
    check_output,
    default_output,
    image_options,
    json_option,
    kernel_option,
    loss_option,
    quiet_option,
)


@click.command(
    epilog="""\b
Examples:
  sobelcli grad-input photo.png                   # writes photo_grad.png beside it
  sobelcli grad-input photo.png -o grad.npy       # raw float64 dL/dX
  sobelcli grad-input photo.png -o g.png --kernel sobel-y --loss logcosh
  sobelcli grad-input photo.png -k '1,0,-1;2,0,-2;1,0,-1' -o g.png
  sobelcli grad-input photo.png --wrt kernel      # dL/dK as a table
  sobelcli grad-input photo.png --wrt kernel -o dk.json""",
)
@click.argument("image", metavar="IMAGE")
@click.option("-o", "--output", metavar="OUT",
              help="--wrt input: .png (min-max normalised, default NAME_grad.png), .npy (raw "
              "float64), .tif or '-'. --wrt kernel: .npy or .json (default: no file).")
@kernel_option
@loss_option
@click.option("--wrt", type=click.Choice(["input", "kernel"]), default="input", show_default=True,
              help="input: dL/dX, the full convolution of dL/dY with K (the lab's eq. 6); "
              "kernel: dL/dK, the valid correlation of X with dL/dY (eq. 5).")
@click.option("--bits", type=click.Choice(["8", "16"]), default="8", show_default=True,
              help="Bit depth of a PNG output.")
@image_options
@json_option
@quiet_option
def command(image: str, output: str | None, kernel: tuple[str, Any], loss: str, wrt: str,
            bits: str, channel: int | None, max_pixels: int, as_json: bool, quiet: bool) -> None:
    """Gradient of L = loss(K * X) with respect to the image X (or the kernel K).

    Y = K * X is the lab's valid cross-correlation and dL/dY comes from --loss (for the lab's
    L = sum y^2 it is 2Y). dL/dX has the shape of IMAGE; a PNG shows it min-max normalised,
    as the lab draws it (mid-grey is not zero: write .npy for the values).
    """
    name, k = kernel
    if wrt == "input":
        target = output or default_output(image, "_grad")
        from ._options import output_format_or_usage

        output_format_or_usage(target)
    else:
        target = output or ""
        if target and not target.lower().endswith((".npy", ".json")):
            raise click.BadParameter("with --wrt kernel, write .npy or .json", param_hint="-o")
    if as_json and target == "-":
        raise click.UsageError("--json and an image on stdout (-o -) cannot share stdout")
    if target:
        check_output(target, [image])

    import numpy as np

    from .. import images, report
    from ..conv import correlate2d, grad_input, grad_kernel
    from ..losses import get_loss

    x = images.load_image(image, channel=channel, max_pixels=max_pixels, dtype=np.float64)
    if k.shape[0] > x.shape[0] or k.shape[1] > x.shape[1]:
        raise click.ClickException(f"{image}: image of shape {x.shape} is smaller than the kernel {k.shape}")
    lo = get_loss(loss)
    y = correlate2d(x, k)
    dy = lo.grad(y)
    grad = grad_input(dy, k) if wrt == "input" else grad_kernel(x, dy)
    summary = {"input": image, "output": target or None, "wrt": wrt, "kernel": name, "loss": loss,
               "L": lo.value(y), "shape": list(grad.shape), "min": float(grad.min()),
               "max": float(grad.max())}
    if wrt == "kernel":
        summary["grad"] = grad.tolist()
        report.table(f"dL/dK for L = {lo.formula}, K = {name}", ["", *map(str, range(grad.shape[1]))],
                     [[str(i), *(report.fmt(v) for v in row)] for i, row in enumerate(grad.tolist())],
                     justify=["right"] * (grad.shape[1] + 1))
        if target.lower().endswith(".json"):
            import json

            images.atomic_write(target, (json.dumps(summary, indent=2) + "\n").encode())
        elif target:
            images.atomic_write(target, images.encode(grad, "npy"))
    else:
        fmt = images.output_format(target)
        span = float(grad.max() - grad.min())
        shown = grad if fmt == "npy" else (grad - grad.min()) / (span if span > 0 else 1.0)
        images.save_image(target, shown, bits=int(bits))
    if as_json:
        report.emit_json(summary)
    where = f", wrote {target}" if target and target != "-" else ""
    report.info(f"L = {report.fmt(summary['L'])}; dL/d{'X' if wrt == 'input' else 'K'} "
                f"{grad.shape[0]} x {grad.shape[1]} in [{report.fmt(summary['min'])}, "
                f"{report.fmt(summary['max'])}]{where}", quiet)
