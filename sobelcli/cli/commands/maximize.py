"""``sobelcli maximize``: gradient ascent on an image to maximise L = loss(K * X)."""

from __future__ import annotations

import math
from typing import Any

import click

from sobelcli.cli.options import (
    PATH,
    FiniteFloatRange,
    json_errors,
    json_option,
    kernel_option,
    loss_option,
    quiet_option,
)

SVD_MAX_PIXELS = 1600  # exact sigma_max from a dense SVD up to 40 x 40 images
MAX_PIXELS = 4096 * 4096  # of the ascent's image, and of the enlarged PNG


def _size(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, int]:
    parts = value.lower().split("x")
    if len(parts) in (1, 2) and all(p.strip().isdigit() and int(p) > 0 for p in parts):
        h, w = int(parts[0]), int(parts[-1])
        if h * w > MAX_PIXELS:
            raise click.BadParameter(
                f"{value!r} is {h * w:,} pixels; at most {MAX_PIXELS:,}", ctx=ctx, param=param
            )
        return h, w
    raise click.BadParameter(
        f"{value!r}: write H or HxW with positive integers, as in 9 or 16x32", ctx=ctx, param=param
    )


@click.command(
    epilog="""\b
Examples:
  sobelcli maximize -o pattern.png                 # the lab: 9 x 9, 250 steps, lr 0.01
  sobelcli maximize -o p.png --losses losses.csv --plot curve.png
  sobelcli maximize -o p.png --constraint unit-norm --steps 2000   # -> sigma_max^2
  sobelcli maximize -o p.png --size 32x48 --kernel sobel-y --constraint box
  sobelcli maximize -o p.npy --init photo.png --steps 20 --constraint box""",
)
@click.option(
    "-o",
    "--output",
    type=PATH,
    required=True,
    metavar="OUT",
    help="The image: .png (min-max normalised, enlarged by --scale), .npy or .tif (raw "
    "values) or '-'.",
)
@kernel_option
@loss_option
@click.option(
    "--size",
    default="9",
    show_default=True,
    callback=_size,
    metavar="H[xW]",
    help="Size of the random start image.",
)
@click.option(
    "--init",
    "init",
    type=PATH,
    metavar="IMAGE",
    default=None,
    help="Start from this image (grey, [0, 1]) instead of uniform noise.",
)
@click.option(
    "--steps",
    type=click.IntRange(min=0),
    default=250,
    show_default=True,
    help="Number of updates x += lr * dL/dx.",
)
@click.option(
    "--lr",
    type=FiniteFloatRange(min=0.0, min_open=True),
    default=0.01,
    show_default=True,
    help="Step size.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Seed of the uniform [0, 1) start (default: random).",
)
@click.option(
    "--constraint",
    type=click.Choice(["none", "unit-norm", "box"]),
    default="none",
    show_default=True,
    help="After each step: none (the lab; grows geometrically), unit-norm (x /= ||x||: "
    "power iteration, L -> sigma_max^2) or box (clip to [0, 1]).",
)
@click.option(
    "--scale",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Enlarge the PNG N times, nearest neighbour [default: to >= 256 px wide].",
)
@click.option(
    "--losses",
    "losses_csv",
    type=PATH,
    metavar="FILE.csv",
    default=None,
    help="Write step,loss rows (loss before each update).",
)
@click.option(
    "--plot",
    "plot_png",
    type=PATH,
    metavar="FILE.png",
    default=None,
    help="Draw the loss curve (log scale when it grows geometrically).",
)
@json_option
@quiet_option
def command(
    output: str,
    kernel: tuple[str, Any],
    loss: str,
    size: tuple[int, int],
    init: str | None,
    steps: int,
    lr: float,
    seed: int | None,
    constraint: str,
    scale: int | None,
    losses_csv: str | None,
    plot_png: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Find the image that a filter responds to most, by gradient ascent.

    From a uniform random image (or --init), repeat X <- X + lr * dL/dX with
    dL/dX = grad_input(dL/dY, K), as the lab does with K = Gx and L = sum y^2.
    """
    name, k = kernel
    reads = [p for p in (init, name) if p and (p is init or p.lower().endswith(".npy"))]
    fmt = _check_outputs(output, losses_csv, plot_png, reads, as_json)
    with json_errors(as_json, output=output):
        x0 = _start(init, size, seed, k)
        factor = _enlargement(x0.shape, scale, fmt)
        history, x = _ascend(x0, k, loss, steps, lr, constraint, quiet)
        summary = _summary(output, name, k, loss, steps, lr, constraint, history, x)
        summary.update(losses=losses_csv, plot=plot_png)
        _write(output, fmt, x, factor, history, losses_csv, plot_png, summary)
    if as_json:
        from sobelcli.cli import report

        report.emit_json(summary)
    _tell(summary, quiet)


def _check_outputs(
    output: str, losses_csv: str | None, plot_png: str | None, reads: list[str], as_json: bool
) -> str:
    """Refuse outputs that clash: with each other, with the files read, with JSON on stdout."""
    from sobelcli.cli.options import check_outputs, output_format_or_usage

    fmt = output_format_or_usage(output)
    if fmt == "zarr":
        raise click.BadParameter(
            "a .zarr folder is for big images; write .png, .npy or .tif", param_hint="-o"
        )
    if as_json and output == "-":
        raise click.UsageError("--json and an image on stdout (-o -) cannot share stdout")
    check_outputs(
        {"-o": output, "--losses": losses_csv, "--plot": plot_png},
        reads,
        suffixes={"--losses": ".csv", "--plot": ".png"},
    )
    return fmt


def _start(init: str | None, size: tuple[int, int], seed: int | None, k: Any) -> Any:
    """The starting image: --init, or uniform random of --size."""
    import numpy as np

    from sobelcli import io as sio
    from sobelcli.core.maximize import random_start

    x0 = sio.load_image(init, dtype=np.float64) if init else random_start(size, seed)
    if k.shape[0] > x0.shape[0] or k.shape[1] > x0.shape[1]:
        raise click.BadParameter(
            f"the image {x0.shape} is smaller than the kernel {k.shape}",
            param_hint="--init" if init else "--size",
        )
    return x0


def _enlargement(shape: tuple[int, ...], scale: int | None, fmt: str) -> int:
    """How many times a PNG output is enlarged (--scale, or to about 256 pixels wide)."""
    factor = scale or max(1, math.ceil(256 / shape[1]))
    if fmt == "png" and shape[0] * shape[1] * factor * factor > MAX_PIXELS:
        hint = "use a smaller --scale" if factor > 1 else "write .npy (-o OUT.npy) instead"
        raise click.BadParameter(
            f"a PNG of {shape[0]} x {shape[1]} enlarged {factor} times is over "
            f"{MAX_PIXELS:,} pixels; {hint}",
            param_hint="--scale" if scale else "-o",
        )
    return factor


def _ascend(
    x0: Any, k: Any, loss: str, steps: int, lr: float, constraint: str, quiet: bool
) -> tuple[list[float], Any]:
    """Run the ascent with a progress bar: the loss before each step, and the last image."""
    from rich.progress import TaskID

    from sobelcli.cli import report
    from sobelcli.core.maximize import ascend

    history: list[float] = []
    x = x0
    with report.progress("ascent", steps, quiet) as bar:
        for step in ascend(x0, k, loss, steps=steps, lr=lr, constraint=constraint):  # type: ignore[arg-type]
            history.append(step.loss)
            x = step.image
            bar.update(TaskID(0), advance=1, extra=f"L = {step.loss:.4g}")
    return history, x


def _summary(
    output: str,
    name: str,
    k: Any,
    loss: str,
    steps: int,
    lr: float,
    constraint: str,
    history: list[float],
    x: Any,
) -> dict[str, Any]:
    from sobelcli.core.maximize import top_singular_value

    summary: dict[str, Any] = {
        "status": "ok",
        "output": output,
        "steps": steps,
        "lr": lr,
        "kernel": name,
        "loss": loss,
        "constraint": constraint,
        "shape": list(x.shape),
        "first_loss": history[0] if history else None,
        "final_loss": history[-1] if history else None,
        "image_loss": _loss_of(x, k, loss),
    }
    if constraint == "unit-norm" and loss == "sumsq" and x.size <= SVD_MAX_PIXELS:
        summary["sigma_max_squared"] = top_singular_value(x.shape, k) ** 2
    return summary


def _write(
    output: str,
    fmt: str,
    x: Any,
    factor: int,
    history: list[float],
    losses_csv: str | None,
    plot_png: str | None,
    summary: dict[str, Any],
) -> None:
    """The image (min-max scaled and enlarged in a PNG), the losses CSV and the plot."""
    import numpy as np

    from sobelcli import io as sio

    if fmt in ("npy", "tiff"):  # the values themselves
        sio.save_image(output, x)
    else:
        span = float(x.max() - x.min())
        shown = (x - x.min()) / (span if span > 0 else 1.0)
        sio.save_image(output, np.kron(shown, np.ones((factor, factor))))
    if losses_csv:
        rows = "".join(f"{i},{v!r}\n" for i, v in enumerate(history, start=1))
        sio.atomic_write(losses_csv, ("step,loss\n" + rows).encode())
    if plot_png and history:
        from sobelcli.cli.plot import loss_curve
        from sobelcli.io.png import encode_png

        title = f"L = {summary['loss']}, K = {summary['kernel']}, lr = {summary['lr']:g}, "
        curve = loss_curve(history, title + f"constraint {summary['constraint']}")
        sio.atomic_write(plot_png, encode_png(curve))


def _loss_of(x: Any, k: Any, loss: str) -> float | None:
    """L of the image written (the history holds L before each update)."""
    import numpy as np

    from sobelcli.core.correlate import correlate2d
    from sobelcli.core.losses import get_loss

    with np.errstate(over="ignore", invalid="ignore"):
        value = get_loss(loss).value(correlate2d(x, k))
    return value if np.isfinite(value) else None


def _tell(summary: dict[str, Any], quiet: bool) -> None:
    from sobelcli.cli import report

    if summary["final_loss"] is not None:
        report.info(
            f"L: {report.fmt(summary['first_loss'])} at step 1 -> "
            f"{report.fmt(summary['final_loss'])} at step {summary['steps']}",
            quiet,
        )
    if "sigma_max_squared" in summary:
        exact, final = summary["sigma_max_squared"], summary["image_loss"]
        where = ""
        if final is not None and exact > 0:
            gap = abs(final - exact) / exact
            verdict = "converged" if gap < 1e-6 else "not converged yet: more --steps"
            where = f"; L of the image is within {gap:.1e} of it ({verdict})"
        report.info(
            f"sigma_max^2 of the convolution (exact, SVD) = {report.fmt(exact, 10)}{where}",
            quiet,
        )
    written = [summary["output"], summary.get("losses"), summary.get("plot")]
    for path in (p for p in written if p and p != "-"):
        report.info(f"wrote {path}", quiet)
