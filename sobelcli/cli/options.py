"""Options shared by several commands, defined once, and the small helpers they need.

This module imports click alone: the names offered by --help are listed here, and a test
keeps them equal to the core's own lists.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

# Re-exported: a command finds every option and check it needs in this one module.
from sobelcli.cli.outputs import (
    check_output,
    check_outputs,
    default_output,
    format_of,
    output_format_of,
    output_format_or_usage,
)
from sobelcli.cli.params import (
    PATH,
    ByteSize,
    FiniteFloatRange,
    compose,
    default_max_memory,
    given,
    json_errors,
    refuse_unused,
)
from sobelcli.names import ALPHA_MODES, DEFAULT_MAX_PIXELS, FORMATS, KERNEL_NAMES, LOSS_NAMES

__all__ = [
    "ByteSize",
    "FiniteFloatRange",
    "ImageOptions",
    "PATH",
    "batch_options",
    "bits_option",
    "check_output",
    "check_outputs",
    "compose",
    "default_max_memory",
    "default_output",
    "existing_policy",
    "format_of",
    "given",
    "image_options",
    "json_errors",
    "json_option",
    "kernel_option",
    "loss_option",
    "output_format_of",
    "output_format_or_usage",
    "quality_option",
    "quiet_option",
    "refuse_unused",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ImageOptions:
    """How IMAGE files are read: ``--channel``, ``--alpha``, ``--max-pixels``, ``--max-memory``."""

    channel: int | None = None
    max_pixels: int | None = None  # not given: DEFAULT_MAX_PIXELS, and no limit on big streams
    max_memory: int = field(default_factory=default_max_memory)
    alpha: str = "white"

    @property
    def pixel_limit(self) -> int:
        """``--max-pixels``, or its default when not given."""
        return DEFAULT_MAX_PIXELS if self.max_pixels is None else self.max_pixels


_image_flags = compose(
    click.option(
        "--channel",
        type=click.IntRange(min=0),
        default=None,
        metavar="N",
        help="Use channel N of a colour image (0 = red) instead of its luminance.",
    ),
    click.option(
        "--alpha",
        type=click.Choice(ALPHA_MODES),
        default="white",
        show_default=True,
        help="Transparent pixels: composite over white or black (c a + background (1 - a)), "
        "or ignore alpha and use the colour beneath it.",
    ),
    click.option(
        "--max-pixels",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help=f"Refuse, before decoding, images with more pixels than N (default "
        f"{DEFAULT_MAX_PIXELS:,}). When it is not given, a file of 16.8 million pixels or more "
        "that edges or grad-input stream (see -o) has no pixel limit; when it is, it limits "
        "every image.",
    ),
    click.option(
        "--max-memory",
        type=ByteSize(),
        default=default_max_memory,
        show_default="2G, or half the physical memory if less",
        metavar="SIZE",
        help="Refuse, before decoding, images whose reading and processing would take more "
        "memory than this (512M, 2G ...), estimated from their header; read no more bytes "
        "than this from a pipe or a device.",
    ),
)


def image_options(func: F) -> F:
    """--channel, --alpha, --max-pixels and --max-memory, handed over as one ``read``."""

    @functools.wraps(func)
    def packed(*args: Any, **kwargs: Any) -> Any:
        limits = kwargs.pop("max_pixels"), kwargs.pop("max_memory")
        kwargs["read"] = ImageOptions(kwargs.pop("channel"), *limits, kwargs.pop("alpha"))
        return func(*args, **kwargs)

    return _image_flags(packed)  # type: ignore[return-value]


_batch_flags = compose(
    click.option(
        "-r",
        "--recursive",
        is_flag=True,
        help="Take the images in the subfolders of a FOLDER too (and let ** in a pattern descend).",
    ),
    click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help="Process a batch in N parallel processes (default: the number of cores; "
        "1 works in this process).",
    ),
    click.option(
        "--fail-fast",
        is_flag=True,
        help="Stop a batch at its first failed input; the rest are not started.",
    ),
    click.option(
        "--overwrite",
        is_flag=True,
        help="Replace outputs that exist. Without it a batch leaves them alone and counts "
        "each as an error (exit 1); one IMAGE replaces its output as always.",
    ),
    click.option(
        "--skip-existing",
        is_flag=True,
        help="Skip inputs whose output exists (status 'skipped', exit 0): resumes an "
        "interrupted batch.",
    ),
    click.option(
        "--format",
        "fmt_name",
        type=click.Choice(FORMATS),
        default=None,
        help="Format of the outputs a batch (or a missing -o) names: png, npy (raw floats), "
        "tiff (float32), zarr (a folder of float32 chunks), jpeg or webp  [default: png]",
    ),
    click.option(
        "--name",
        "name_template",
        metavar="TEMPLATE",
        default=None,
        callback=lambda ctx, param, value: _name_template(value),
        help="Name the outputs by TEMPLATE, from the fields {stem}, {ext} and {name} of "
        "each input (photo, jpg, photo.jpg); its extension sets the format. Example: "
        "'{stem}_{ext}_edges.png' keeps a.jpg and a.png apart.",
    ),
)


def _name_template(value: str | None) -> str | None:
    """Check a --name template: known fields, a file name (no folder), a known extension."""
    if value is None:
        return None
    from sobelcli.names import OUTPUT_SUFFIXES

    try:
        sample = value.format(stem="photo", ext="jpg", name="photo.jpg")
    except (KeyError, IndexError, ValueError) as exc:
        raise click.BadParameter(
            f"{value!r}: use the fields {{stem}}, {{ext}} and {{name}} ({exc})",
            param_hint="--name",
        ) from None
    if "/" in sample or os.sep in sample or sample in ("", ".", ".."):
        raise click.BadParameter(f"{value!r} must name a file, not a folder", param_hint="--name")
    if Path(sample).suffix.lower() not in OUTPUT_SUFFIXES:
        raise click.BadParameter(
            f"{value!r} must end in one of {', '.join(OUTPUT_SUFFIXES)}", param_hint="--name"
        )
    return value


def batch_options(func: F) -> F:
    """The batch options and --format, handed to the command as one ``batch`` (BatchOptions)."""

    @functools.wraps(func)
    def packed(*args: Any, **kwargs: Any) -> Any:
        from sobelcli.cli.batch.types import BatchOptions

        existing = existing_policy(kwargs.pop("overwrite"), kwargs.pop("skip_existing"))
        kwargs["batch"] = BatchOptions(
            recursive=kwargs.pop("recursive"),
            jobs=kwargs.pop("jobs"),
            fail_fast=kwargs.pop("fail_fast"),
            existing=existing,
            fmt=kwargs.pop("fmt_name"),
            name=kwargs.pop("name_template"),
        )
        template = kwargs["batch"].name
        if template is not None:
            from sobelcli.names import OUTPUT_SUFFIXES

            fmt = OUTPUT_SUFFIXES[
                Path(template.format(stem="a", ext="b", name="a.b")).suffix.lower()
            ]
            if kwargs["batch"].fmt not in (None, fmt):
                raise click.UsageError(
                    f"--format {kwargs['batch'].fmt} and --name {template!r} disagree"
                )
            kwargs["batch"] = dataclasses.replace(kwargs["batch"], fmt=fmt)
        return func(*args, **kwargs)

    return _batch_flags(packed)  # type: ignore[return-value]


def existing_policy(overwrite: bool, skip_existing: bool) -> str:
    """What to do with an output that exists: "error", "skip" or "overwrite"."""
    if overwrite and skip_existing:
        raise click.UsageError("--overwrite and --skip-existing exclude each other; give one")
    return "overwrite" if overwrite else "skip" if skip_existing else "error"


def _kernel(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, Any]:
    from sobelcli.core.kernels import check_kernel, parse_kernel
    from sobelcli.io import read_array

    try:
        if value.lower().endswith(".npy"):
            return value, check_kernel(read_array(value), value)
        return value, parse_kernel(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{exc}. Give a name ({', '.join(KERNEL_NAMES)}), a FILE.npy, or rows such "
            "as '1,0,-1;2,0,-2;1,0,-1'",
            ctx=ctx,
            param=param,
        ) from None


def _complete_kernel(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    """Kernel names that start with what is typed, then files."""
    from click.shell_completion import CompletionItem

    names = [CompletionItem(n) for n in KERNEL_NAMES if n.startswith(incomplete)]
    return [*names, CompletionItem(incomplete, type="file")]


kernel_option = click.option(
    "-k",
    "--kernel",
    default="sobel-x",
    show_default=True,
    callback=_kernel,
    shell_complete=_complete_kernel,
    metavar="KERNEL",
    help="The convolution's kernel: a name (" + ", ".join(KERNEL_NAMES) + "), a 2-D FILE.npy, "
    "or rows split by ';' as in '1,0,-1;2,0,-2;1,0,-1'.",
)

loss_option = click.option(
    "--loss",
    type=click.Choice(LOSS_NAMES),
    default="sumsq",
    show_default=True,
    help="L of Y = K * X: sumsq = sum y^2 (the lab's), logcosh = sum log cosh y, "
    "softplus = sum log(1 + e^y), sum = sum y.",
)

quality_option = click.option(
    "--quality",
    type=click.IntRange(1, 100),
    default=90,
    show_default=True,
    metavar="Q",
    help="Quality of a .jpg or .webp output, 1-100 (WebP at 100 is lossless).",
)

bits_option = click.option(
    "--bits",
    type=click.Choice(["8", "16"]),
    default="8",
    show_default=True,
    help="Bit depth of a PNG output.",
)

quiet_option = click.option(
    "-q", "--quiet", is_flag=True, help="Print nothing on stderr but errors."
)
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON on stdout."
)
