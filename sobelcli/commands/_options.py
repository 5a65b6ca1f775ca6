"""Options shared by several commands, defined once, and the small helpers they need.

This module imports click alone: the names offered by --help are listed here, and a test
keeps them equal to the core's own lists.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

OPERATORS = ("sobel", "scharr", "prewitt")
PAD_MODES = ("reflect", "mirror", "nearest", "constant", "wrap")
OUTPUT_KINDS = ("magnitude", "x", "y", "angle")
LOSS_NAMES = ("sumsq", "logcosh", "softplus", "sum")
KERNEL_NAMES = ("sobel-x", "sobel-y", "scharr-x", "scharr-y", "prewitt-x", "prewitt-y",
                "laplace", "box3", "identity")
DEFAULT_MAX_PIXELS = 250_000_000


def _compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


image_options = _compose(
    click.option("--channel", type=click.IntRange(min=0), default=None, metavar="N",
                 help="Use channel N of a colour image (0 = red) instead of its luminance."),
    click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS,
                 show_default=True, metavar="N",
                 help="Refuse, before decoding, images with more pixels than this."),
)


def _kernel(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, Any]:
    from ..images import ImageError, load_kernel_file
    from ..kernels import parse_kernel

    try:
        if value.lower().endswith(".npy"):
            return value, load_kernel_file(value)
        return value, parse_kernel(value)
    except (ValueError, ImageError) as exc:
        raise click.BadParameter(
            f"{exc}. Give a name ({', '.join(KERNEL_NAMES)}), a FILE.npy, or rows such "
            "as '1,0,-1;2,0,-2;1,0,-1'", ctx=ctx, param=param) from None


kernel_option = click.option(
    "-k", "--kernel", default="sobel-x", show_default=True, callback=_kernel, metavar="KERNEL",
    help="The convolution's kernel: a name (" + ", ".join(KERNEL_NAMES) + "), a 2-D FILE.npy, "
    "or rows split by ';' as in '1,0,-1;2,0,-2;1,0,-1'.")

loss_option = click.option(
    "--loss", type=click.Choice(LOSS_NAMES), default="sumsq", show_default=True,
    help="L of Y = K * X: sumsq = sum y^2 (the lab's), logcosh = sum log cosh y, "
    "softplus = sum log(1 + e^y), sum = sum y.")

quiet_option = click.option("-q", "--quiet", is_flag=True, help="Print nothing on stderr but errors.")
json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as JSON on stdout.")


def default_output(source: str, suffix: str, ext: str = ".png") -> str:
    """The output next to an input, ``NAME{suffix}{ext}``; ``-`` (stdout) for stdin."""
    if source == "-":
        return "-"
    p = Path(source)
    return str(p.with_name(f"{p.stem}{suffix}{ext}"))


def check_output(output: str, inputs: list[str], param: str = "-o") -> None:
    """Refuse an output that is one of the inputs, or stdout when it is a terminal."""
    if output == "-":
        if click.get_text_stream("stdout").isatty():
            raise click.UsageError(
                f"{param} -: refusing to write an image to a terminal; redirect stdout "
                "(> out.png) or pipe it")
        return
    for src in inputs:
        if src != "-" and os.path.exists(src) and os.path.exists(output) and os.path.samefile(src, output):
            raise click.BadParameter(f"{output!r} is the input {src!r}; it would be overwritten",
                                     param_hint=param)


def output_format_or_usage(output: str) -> str:
    """The format of an output path, or a usage error naming the allowed extensions."""
    from ..images import output_format

    try:
        return output_format(output)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="-o") from None
