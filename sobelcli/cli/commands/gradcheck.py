"""``sobelcli gradcheck``: analytic gradients against central finite differences."""

from __future__ import annotations

from typing import Any

import click

from sobelcli.cli.options import (
    PATH,
    FiniteFloatRange,
    ImageOptions,
    image_options,
    json_option,
    kernel_option,
    loss_option,
    quiet_option,
)

WORST = 20


def _pixel(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> list[tuple[int, int]]:
    out = []
    for text in values:
        parts = text.replace(" ", "").split(",")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise click.BadParameter(
                f"{text!r} is not a pixel; write ROW,COL with 0-based integers, as in --at 10,20",
                ctx=ctx,
                param=param,
            )
        out.append((int(parts[0]), int(parts[1])))
    return out


@click.command(
    epilog="""\b
Examples:
  sobelcli gradcheck photo.png                    # 10 random pixels + every kernel element
  sobelcli gradcheck photo.png --all              # every pixel, in seconds
  sobelcli gradcheck photo.png --at 10,20 --at 0,0 --loss logcosh
  sobelcli gradcheck photo.png --all --json | jq .max_rel_err
  sobelcli gradcheck photo.png --kernel scharr-y --rtol 1e-6 || echo 'gradient broken'""",
)
@click.argument("image", metavar="IMAGE", type=PATH)
@kernel_option
@loss_option
@click.option(
    "--pixels",
    "n_pixels",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    metavar="N",
    help="Check N random pixels (distinct, drawn with --seed).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the random pixels.",
)
@click.option(
    "--at",
    "at",
    multiple=True,
    callback=_pixel,
    metavar="ROW,COL",
    help="Check this pixel (0-based; repeatable) instead of random ones.",
)
@click.option("--all", "check_all", is_flag=True, help="Check every pixel.")
@click.option(
    "--eps",
    type=FiniteFloatRange(min=0.0, min_open=True),
    default=1e-6,
    show_default=True,
    help="Step of the central difference.",
)
@click.option(
    "--rtol",
    type=FiniteFloatRange(min=0.0),
    default=1e-5,
    show_default=True,
    help="Relative tolerance.",
)
@click.option(
    "--atol",
    type=FiniteFloatRange(min=0.0),
    default=1e-7,
    show_default=True,
    help="Absolute tolerance.",
)
@image_options
@json_option
@quiet_option
def command(
    image: str,
    kernel: tuple[str, Any],
    loss: str,
    n_pixels: int,
    seed: int,
    at: list[tuple[int, int]],
    check_all: bool,
    eps: float,
    rtol: float,
    atol: float,
    read: ImageOptions,
    as_json: bool,
    quiet: bool,
) -> None:
    """Check dL/dX and dL/dK of L = loss(K * X) against finite differences.

    Rows are x[i,j] for dL/dx_ij (0-based) and K[k,l] for dL/dk_kl. The numeric
    derivative is (L(x + eps) - L(x - eps)) / (2 eps) with the forward recomputed,
    summed over the outputs the pixel touches. A check passes when

    \b
        |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|)

    and its relative error is |analytic - numeric| / max(|analytic|, |numeric|, atol / rtol)
    (below atol / rtol, atol is the measure). The table shows the checks closest to their
    tolerance first. Every kernel
    element is always checked. Work is in float64. Exit status 0 when every check passes,
    1 when any fails, so that CI can use it; --quiet keeps only that one verdict line.
    """
    if check_all and at:
        raise click.UsageError("--all and --at cannot be used together")
    name, k = kernel
    x = _read(image, read, k, at, as_json)
    if check_all or n_pixels >= x.size:
        pixels = None  # every pixel: the vectorised path, faster than listing them
    else:
        from sobelcli.core.gradcheck import random_pixels

        pixels = at or random_pixels(x.shape, n_pixels, seed)
    result = _check(image, x, k, loss, pixels, eps, rtol, atol, as_json)
    from sobelcli.cli import report

    if as_json:
        report.emit_json({"status": "ok", "input": image, **result.to_dict()})
    if not quiet:
        _table(result, image, name)
    verdict = "PASS" if result.passed else "FAIL"
    bad = f"{result.failed:,} of " if not result.passed else ""
    message = (
        f"{verdict}: {bad}{result.count:,} checks (L = {result.loss}, K = {name}); max rel err "
        f"{result.max_rel_err:.2e}, max abs err {result.max_abs_err:.2e} "
        f"(rtol {rtol:g}, atol {atol:g}, eps {eps:g})"
    )
    report.console().print(message, markup=False, style="green" if result.passed else "bold red")
    if not result.passed:
        raise click.exceptions.Exit(1)


def _fail(image: str, message: str, as_json: bool) -> click.ClickException:
    """The error of an image that cannot be checked; --json still gets a verdict."""
    if as_json:
        from sobelcli.cli import report

        report.emit_json({"status": "error", "input": image, "passed": False, "error": message})
    return click.ClickException(message)


def _read(image: str, read: ImageOptions, k: Any, at: list[tuple[int, int]], as_json: bool) -> Any:
    """The image in float64, checked against the kernel and the --at pixels."""
    import numpy as np

    from sobelcli import io as sio
    from sobelcli.cli.main import one_line

    try:
        x = sio.load_image(
            image,
            channel=read.channel,
            max_pixels=read.pixel_limit,
            dtype=np.float64,
            max_memory=read.max_memory,
            alpha=read.alpha,
            working_bytes=100,  # --all: the analytic and the numeric gradients, float64
        )
    except sio.ImageError as exc:
        raise _fail(image, one_line(exc), as_json) from None
    if k.shape[0] > x.shape[0] or k.shape[1] > x.shape[1]:
        message = f"{image}: image of shape {x.shape} is smaller than the kernel {k.shape}"
        raise _fail(image, message, as_json)
    for i, j in at:
        if not (i < x.shape[0] and j < x.shape[1]):
            raise click.BadParameter(
                f"pixel {i},{j} is outside the {x.shape[0]} x {x.shape[1]} image", param_hint="--at"
            )
    return x


def _check(
    image: str,
    x: Any,
    k: Any,
    loss: str,
    pixels: Any,
    eps: float,
    rtol: float,
    atol: float,
    as_json: bool,
) -> Any:
    """Run the checks; an overflow of L or its gradients is this image's error."""
    import numpy as np

    from sobelcli.core.gradcheck import gradcheck

    try:
        with np.errstate(all="ignore"):
            result = gradcheck(x, k, loss, pixels=pixels, eps=eps, rtol=rtol, atol=atol)
        finite = all(
            np.isfinite(g.analytic).all() and np.isfinite(g.numeric).all() for g in result.groups
        )
    except ValueError:  # dL/dY itself overflowed
        finite = False
    if not finite:
        message = f"{image}: values too large: L or its gradients overflow float64"
        raise _fail(image, message, as_json)
    return result


def _table(result: Any, image: str, kernel: str) -> None:
    import numpy as np

    from sobelcli.cli import report

    # Rank every check by how much of its tolerance it uses; show the worst.
    usage = np.concatenate([g.abs_err / np.maximum(g.tolerance, 1e-300) for g in result.groups])
    owner = [(g, n) for g in result.groups for n in range(len(g))] if len(usage) <= 5000 else None
    order = np.argsort(-usage, kind="stable")
    limit = len(order) if len(order) <= WORST + 9 else WORST
    offsets = np.cumsum([0, *(len(g) for g in result.groups)])
    shown = []
    for flat in order[:limit].tolist():
        if owner is not None:
            g, n = owner[flat]
        else:
            gi = int(np.searchsorted(offsets, flat, side="right") - 1)
            g, n = result.groups[gi], flat - int(offsets[gi])
        shown.append((0.0, g, n))
    caption = None
    if limit < len(order):
        rest = np.concatenate([g.rel_err for g in result.groups])[order[limit:]]
        caption = (
            f"… {len(rest):,} more checks, using at most {100 * usage[order[limit]]:.2g}% of their "
            f"tolerance; rel err <= {rest.max():.2e} (median {np.median(rest):.2e})"
        )
    report.table(
        f"gradcheck {image}: the {len(shown)} checks closest to their tolerance"
        if caption
        else f"gradcheck {image}",
        ["where", "analytic", "numeric", "abs err", "rel err", "ok"],
        [
            (
                f"{'x' if g.wrt == 'input' else 'K'}[{g.index[n][0]},{g.index[n][1]}]",
                f"{float(g.analytic[n]):.7g}",
                f"{float(g.numeric[n]):.7g}",
                f"{g.abs_err[n]:.1e}",
                f"{g.rel_err[n]:.1e}",
                "yes" if g.ok[n] else "NO",
            )
            for _, g, n in shown
        ],
        justify=["left", "right", "right", "right", "right", "center"],
        caption=caption,
    )
