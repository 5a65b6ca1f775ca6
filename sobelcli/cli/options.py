"""Options shared by several commands, defined once, and the small helpers they need.

This module imports click alone: the names offered by --help are listed here, and a test
keeps them equal to the core's own lists.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

from sobelcli import names
from sobelcli.names import DEFAULT_MAX_PIXELS, FORMATS, KERNEL_NAMES, LOSS_NAMES

F = TypeVar("F", bound=Callable[..., Any])

#: A file or folder argument: not checked here (the library says what is wrong), but typed,
#: so that bash, zsh and fish complete file names after it.
PATH = click.Path(allow_dash=True, path_type=str)


def _compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


@functools.cache
def default_max_memory() -> int:
    """The default of ``--max-memory``: 2 GiB, or half the physical memory if that is less."""
    try:
        share = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * names.MEMORY_SHARE)
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        share = 0
    return min(names.DEFAULT_MAX_MEMORY, share) if share > 0 else names.DEFAULT_MAX_MEMORY


class ByteSize(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2
    """A size in bytes: ``2G``, ``512M``, ``1.5GiB``, ``300000000`` (K, M, G, T: powers of 1024)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Bytes as an int, from an int or a number with an optional unit."""
        found = re.fullmatch(r"\s*(\d+\.?\d*|\.\d+)\s*([KMGT]?)(I?B)?\s*", str(value), re.I)
        size = float(found[1]) * 1024 ** " KMGT".find(found[2].upper() or " ") if found else 0
        if not 1 <= size < 1 << 62:
            self.fail(f"{value!r} is not a size: bytes, or a number and K, M, G or T", param, ctx)
        return int(size)


@dataclass(frozen=True)
class ImageOptions:
    """How IMAGE files are read: ``--channel``, ``--max-pixels`` and ``--max-memory``."""

    channel: int | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_memory: int = field(default_factory=default_max_memory)


_image_flags = _compose(
    click.option(
        "--channel",
        type=click.IntRange(min=0),
        default=None,
        metavar="N",
        help="Use channel N of a colour image (0 = red) instead of its luminance.",
    ),
    click.option(
        "--max-pixels",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_PIXELS,
        show_default=True,
        metavar="N",
        help="Refuse, before decoding, images with more pixels than this.",
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
    """--channel, --max-pixels and --max-memory, handed to the command as one ``read``."""

    @functools.wraps(func)
    def packed(*args: Any, **kwargs: Any) -> Any:
        limits = kwargs.pop("max_pixels"), kwargs.pop("max_memory")
        kwargs["read"] = ImageOptions(kwargs.pop("channel"), *limits)
        return func(*args, **kwargs)

    return _image_flags(packed)  # type: ignore[return-value]


class FiniteFloatRange(click.FloatRange):
    """Click's FloatRange, refusing also nan and inf, which its comparisons let through."""

    name = "float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Convert and check the range; then refuse what is not a finite number."""
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number ({self._describe_range()})", param, ctx)
        return number


_batch_flags = _compose(
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
        help="Format of the outputs a batch (or a missing -o) names: png, npy (raw "
        "floats) or tiff (float32)  [default: png]",
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


def given(ctx: click.Context, name: str) -> bool:
    """True when the user set option ``name`` (on the command line or in the environment)."""
    from click.core import ParameterSource

    source = ctx.get_parameter_source(name)
    return source in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def refuse_unused(ctx: click.Context, why: str, *names: str) -> None:
    """Exit 2 when an option that does nothing here was given: ``why`` says why."""
    used = [n for n in names if given(ctx, n)]
    if used:
        flags = ", ".join("--" + n.replace("_", "-") for n in used)
        raise click.UsageError(f"{flags} does nothing {why}; drop it")


@contextmanager
def json_errors(as_json: bool, **keys: Any) -> Iterator[None]:
    """With --json, a failure still prints one JSON object, ``{"status": "error", ...}``."""
    try:
        yield
    except click.UsageError:
        raise
    except (click.ClickException, ValueError, OSError) as exc:
        if as_json:
            from sobelcli.cli import report
            from sobelcli.cli.main import one_line

            text = exc.format_message() if isinstance(exc, click.ClickException) else one_line(exc)
            report.emit_json({"status": "error", **keys, "error": text})
        raise


def output_format_of(images: tuple[str, ...], output: str | None, batch: Any) -> str | None:
    """The format a command will write (``png``, ``npy`` ...), or None if it cannot tell yet."""
    from sobelcli.names import OUTPUT_SUFFIXES

    if batch.fmt is not None:
        return str(batch.fmt)
    if output is None or output == "-" or os.path.isdir(output) or len(images) > 1:
        return "png"
    return OUTPUT_SUFFIXES.get(Path(output).suffix.lower())


def existing_policy(overwrite: bool, skip_existing: bool) -> str:
    """What to do with an output that exists: "error", "skip" or "overwrite"."""
    if overwrite and skip_existing:
        raise click.UsageError("--overwrite and --skip-existing exclude each other; give one")
    return "overwrite" if overwrite else "skip" if skip_existing else "error"


def format_of(target: str, fmt_name: str | None) -> str:
    """The format of a single output, which --format, if given, must agree with."""
    fmt = output_format_or_usage(target)
    if fmt_name is not None and fmt != fmt_name:
        raise click.BadParameter(f"--format {fmt_name} does not match {target!r}", param_hint="-o")
    return fmt


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


def default_output(source: str, suffix: str, ext: str = ".png") -> str:
    """The output next to an input, ``NAME{suffix}{ext}``; ``-`` (stdout) for stdin."""
    if source == "-":
        return "-"
    p = Path(source)
    return str(p.with_name(f"{p.stem}{suffix}{ext}"))


def check_output(output: str, inputs: list[str], param: str = "-o") -> None:
    """Refuse an output that is one of the inputs, or stdout when it is a terminal."""
    if output == "-":
        if sys.stdout.isatty():
            raise click.UsageError(
                "refusing to write an image to the terminal (stdout); redirect it "
                "(> out.png), pipe it, or give -o FILE"
            )
        return
    for src in inputs:
        if (
            src != "-"
            and os.path.exists(src)
            and os.path.exists(output)
            and os.path.samefile(src, output)
        ):
            raise click.BadParameter(
                f"{output!r} is the input {src!r}; it would be overwritten", param_hint=param
            )


def check_outputs(
    outputs: dict[str, str | None],
    inputs: list[str],
    suffixes: dict[str, str] | None = None,
    stdout: tuple[str, ...] = ("-o",),
) -> None:
    """Before any work: refuse outputs that are an input or one another, or cannot be written.

    ``outputs`` maps an option (``-o``, ``--plot`` ...) to its path or None. Each is checked
    like ``-o`` by :func:`check_output`, against the others, and for a writable folder, so a
    run never ends by replacing its own input or result, nor after a late failure. An option
    in ``suffixes`` must end with that suffix; only the options in ``stdout`` take ``-``.
    """
    from sobelcli.io import check_writable

    for opt, path in outputs.items():
        if path == "-" and opt not in stdout:
            raise click.BadParameter(
                "'-' (stdout) is not available here; name a file", param_hint=opt
            )
        wanted = (suffixes or {}).get(opt)
        if path and path != "-" and wanted and not path.lower().endswith(wanted):
            raise click.BadParameter(f"{path!r} should end in {wanted}", param_hint=opt)
    given = {opt: path for opt, path in outputs.items() if path and path != "-"}
    seen: dict[str, str] = {}
    for opt, path in given.items():
        check_output(path, [p for p in inputs if p], opt)
        key = os.path.realpath(path)
        if key in seen:
            raise click.BadParameter(f"{path!r} is also the file of {seen[key]}", param_hint=opt)
        seen[key] = opt
        try:
            check_writable(path)
        except OSError as exc:
            message = f"{path}: cannot write there ({exc})"
            raise click.BadParameter(message, param_hint=opt) from None
    for opt, stream in outputs.items():
        if stream == "-":
            check_output(stream, inputs, opt)


def output_format_or_usage(output: str) -> str:
    """The format of an output path, or a usage error naming the allowed extensions."""
    from sobelcli.io import output_format

    try:
        return output_format(output)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="-o") from None
