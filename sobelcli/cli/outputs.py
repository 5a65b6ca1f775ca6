"""Checking outputs before any work: formats from names, and no output over an input."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click


def output_format_of(images: tuple[str, ...], output: str | None, batch: Any) -> str | None:
    """The format a command will write (``png``, ``npy`` ...), or None if it cannot tell yet."""
    from sobelcli.names import OUTPUT_SUFFIXES

    if batch.fmt is not None:
        return str(batch.fmt)
    from sobelcli.cli.batch.inputs import is_batch

    if output is None or output == "-" or is_batch(images, output):
        return "png"
    if not Path(output).suffix and os.path.exists(output):  # a device such as /dev/null
        return "png"
    return OUTPUT_SUFFIXES.get(Path(output).suffix.lower())


def format_of(target: str, fmt_name: str | None) -> str:
    """The format of a single output, which --format, if given, must agree with."""
    from sobelcli.io.files import is_stream

    if is_stream(target):  # stdout or a device: --format says, PNG by default
        return fmt_name or "png"
    fmt = output_format_or_usage(target)
    if fmt_name is not None and fmt != fmt_name:
        raise click.BadParameter(f"--format {fmt_name} does not match {target!r}", param_hint="-o")
    return fmt


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
