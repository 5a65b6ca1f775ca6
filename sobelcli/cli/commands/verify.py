"""``sobelcli verify``: check your own convolution, its gradients or the edge map.

The work is done by :mod:`sobelcli.verify` (imported inside the command, so that ``--help``
starts without numpy); this module reads the options and tells people what it found: a table
of the failing cases, the smallest one in full and a diagnosis on stderr, JSON on stdout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import click

from sobelcli.cli import report

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from sobelcli.verify import CaseOutcome, Exchange, Role, VerifyResult

#: The roles, as ``sobelcli.verify.ROLES`` (repeated here to keep numpy out of ``--help``).
ROLES = ("forward", "grad-input", "grad-kernel", "edges")
EXCHANGES = ("csv", "npy")
DEFAULT_CASES = 20
DEFAULT_TIMEOUT = 10.0
#: Failing cases listed in the table; the rest are counted.
SHOWN = 12
#: Width of the report when stderr is not a terminal (and COLUMNS is not set).

EPILOG = """\b
Examples:
  sobelcli verify examples/conv.py:correlate --role forward
  sobelcli verify examples/conv.py:grad_input --role grad-input
  sobelcli verify mylab.py:grad_k --role grad-kernel --forward mylab.py:conv
  sobelcli verify mypackage.sobel:edges --role edges --cases 100 --seed 7
  sobelcli verify mylab.py:conv --role forward --json | jq .diagnosis
  sobelcli verify --role forward --cmd 'Rscript examples/conv.R forward {x} {k} {out}'
  sobelcli verify --role grad-input --cmd 'Rscript examples/conv.R grad-input {dy} {k} {out}'
  sobelcli verify --role grad-kernel --cmd 'Rscript examples/conv.R grad-kernel {x} {dy} {out}'
  sobelcli verify --role edges --cmd 'Rscript examples/conv.R edges {x} {out}' --timeout 30
  sobelcli verify --role forward --cmd 'julia conv.jl {x} {k} {out}' --exchange npy"""


def _usage(message: str, as_json: bool, hint: str | None = None) -> click.UsageError:
    if as_json:
        report.emit_json(
            {
                "status": "error",
                "passed": False,
                "cases": 0,
                "failures": [],
                "diagnosis": "",
                "error": message,
            }
        )
    if hint:
        return click.BadParameter(message, param_hint=hint)
    return click.UsageError(message)


@click.command(
    "verify",
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.argument("impl", metavar="[IMPL]", required=False)
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="What IMPL computes (signatures above).",
)
@click.option(
    "--cmd",
    "template",
    metavar="TEMPLATE",
    help="Run this program for each case instead of a Python IMPL; {x} {k} {dy} {out} are files.",
)
@click.option(
    "--exchange",
    type=click.Choice(EXCHANGES),
    default="csv",
    show_default=True,
    help="Format of the --cmd files: CSV text or numpy's .npy.",
)
@click.option(
    "--forward",
    metavar="IMPL2",
    help=(
        "Your own forward f(x, k) -> y (a Python function, or a template with {x} {k} {out}): "
        "the gradient roles are also checked against its finite differences."
    ),
)
@click.option(
    "--cases",
    type=click.IntRange(min=1),
    default=DEFAULT_CASES,
    show_default=True,
    metavar="N",
    help="Number of cases: the hand-made ones first, then random ones.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the cases' values (and of the random shapes).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.0, min_open=True),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="Time each case may take; a slower one fails.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the verdict line on stderr.")
def command(
    impl: str | None,
    role: str,
    template: str | None,
    exchange: str,
    forward: str | None,
    cases: int,
    seed: int,
    timeout: float,
    as_json: bool,
    quiet: bool,
) -> None:
    """Check your own convolution, its gradients or the edge map against sobelcli's.

    IMPL is a Python function, path/to/file.py:function or package.module:function. It is
    called with 2-D numpy arrays (0-based: the lab's x_{i+k-1,j+l-1} is x[i+k, j+l]) and
    returns a 2-D array; integer and float32 inputs come too. The roles, with the lab's
    1-based formulas (r() rows, c() columns; "convolution" is a cross-correlation, no flip):

    \b
      forward      f(x, k)  -> Y      y_ij = sum_k sum_l x_{i+k-1,j+l-1} k_kl        (eq. 3)
                                      valid: (r(X)-r(K)+1) x (c(X)-c(K)+1)
      grad-input   f(dy, k) -> dL/dX  dL/dx_ij = sum_kl dL/dy_{i-k+1,j-l+1} k_kl     (eq. 6)
                                      full convolution of dL/dY with K: the shape of X
      grad-kernel  f(x, dy) -> dL/dK  dL/dk_kl = sum_ij dL/dy_ij x_{i+k-1,j+l-1}     (eq. 5)
                                      valid correlation of X with dL/dY: the shape of K
      edges        f(image) -> E      E = sqrt((Gx*I)^2 + (Gy*I)^2) / max(...)       (eq. 2)
                                      Gx = [[-1,-2,-1],[0,0,0],[1,2,1]], Gy = Gx^T:
                                      (H-2) x (W-2)

    With --cmd, any program does the work, once per case: sobelcli writes the role's inputs
    to files, puts their paths in place of the placeholders {x} (X, or the image), {k} (K)
    and {dy} (dL/dY), runs the command (split into words as a shell would, but run without
    one), and reads the answer from the file {out}. The files are CSV: plain numbers,
    comma-separated, one matrix row per line, no header, no row names, such as

    \b
      1,2.5,-3
      4,0,1e-05

    In R: m <- as.matrix(read.csv(path, header = FALSE)) reads one and write.table(m, path,
    sep = ",", row.names = FALSE, col.names = FALSE) writes one (examples/conv.R does the
    lab's loops this way). --exchange npy exchanges numpy .npy files instead.

    Every case runs in a child process with --timeout seconds: an exception, a crash, a hang,
    NaN, a wrong shape or a value that is not an array fails that case. A case passes when
    every element is within 1e-6 (1e-4 for float32 inputs) of sobelcli's answer, relative to
    the sizes of the terms summed. Failing cases are listed with their shapes, largest error
    and where it is (0-based row, column); the smallest is printed in full, and a diagnosis
    names the mistake when it is a known one: kernel flipped, kernel or image transposed,
    'same' or 'full' size, off by one, dL/dY not used, sign flipped, a factor of 2.

    Exit status: 0 every case passes, 1 a case fails (or IMPL fails to load), 2 bad usage.
    """
    if (impl is None) == (template is None):
        which = "both" if impl else "neither"
        raise _usage(
            f"give a Python function as IMPL or a program with --cmd, not {which}", as_json
        )
    if forward is not None and role not in ("grad-input", "grad-kernel"):
        raise _usage(
            "--forward gives finite differences to check the gradient roles "
            "(grad-input, grad-kernel), not " + role,
            as_json,
        )

    from sobelcli.verify import (
        Impl,
        ImplementationNotFound,
        VerifyOptions,
        parse_command,
        parse_impl,
        parse_python,
        verify,
    )

    the_role, the_exchange = cast("Role", role), cast("Exchange", exchange)
    try:
        options = VerifyOptions(the_role, cases, seed, timeout)
    except ValueError as exc:
        raise _usage(str(exc), as_json) from None
    implementation: Impl
    try:
        if template is not None:
            implementation = parse_command(template, the_role, the_exchange)
        else:
            assert impl is not None
            implementation = parse_python(impl)
    except ValueError as exc:
        raise _usage(str(exc), as_json, "--cmd" if template is not None else "IMPL") from None
    try:
        own_forward = None if forward is None else parse_impl(forward, "forward", the_exchange)
    except ValueError as exc:
        raise _usage(str(exc), as_json, "--forward") from None

    from rich.text import Text

    console = report.console()
    status = None
    if not quiet and console.is_terminal:  # a spinner: R and friends take a while per case
        status = console.status(Text(f"verifying {implementation} ({role})"))

    def progress(outcome: CaseOutcome) -> None:
        if status is not None:
            mark = "ok" if outcome.passed else "FAIL"
            text = f"verifying {implementation} ({role}): case {outcome.case.index}/{cases} {mark}"
            status.update(Text(text))

    try:
        if status is not None:
            status.start()
        result = verify(implementation, options, own_forward, progress)
    except ImplementationNotFound as exc:
        raise _usage(str(exc), as_json) from None
    finally:
        if status is not None:
            status.stop()

    if as_json:
        report.emit_json(result.to_dict())
    _report(console, result, quiet, own_forward is not None)
    if not result.passed:
        raise click.exceptions.Exit(1)


def _report(console: Console, result: VerifyResult, quiet: bool, with_fd: bool) -> None:
    """The table, the smallest failing case, the diagnosis and the verdict, on stderr."""
    name = f"{result.role}, {result.implementation}"
    if result.error:
        console.print(f"error: {result.error}", markup=False, style="bold red")
        console.print(f"FAIL: nothing checked ({name})", markup=False, style="bold red")
        return
    failures = result.failures
    total = len(result.outcomes)
    fd = " and finite differences of the forward" if with_fd else ""
    if not failures:
        console.print(
            f"PASS: {total} of {total} cases agree with sobelcli{fd} ({name})",
            markup=False,
            style="green",
        )
        return
    if not quiet:
        _table(console, result)
        smallest = result.smallest_failure()
        if smallest is not None:
            console.print()
            console.print("Smallest failing case, in full:", markup=False, style="bold")
            console.print(smallest.describe(), markup=False)
        console.print()
        console.print(f"Diagnosis: {result.diagnosis}", markup=False, style="bold")
    from sobelcli.verify.diagnose import title

    short = f": {title(result.mistake, result.role)}" if result.mistake else ""
    console.print(
        f"FAIL: {len(failures)} of {total} cases failed ({name}){short}",
        markup=False,
        style="bold red",
    )


def _table(console: Console, result: VerifyResult) -> None:
    from rich.table import Table

    from sobelcli.verify import ROLE_INFO
    from sobelcli.verify.diagnose import title

    table = Table(title="Failing cases", box=report.table_box(), title_justify="left")
    for column, justify in (
        ("#", "right"),
        ("case", "left"),
        ("inputs", "left"),
        ("expected", "left"),
        ("got", "left"),
        ("max abs err", "right"),
        ("where", "left"),
        ("mistake", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    names = {"x": "I" if result.role == "edges" else "X", "k": "K", "dy": "dL/dY"}
    failures = result.failures
    for outcome in failures[:SHOWN]:
        case = outcome.case
        arrays = zip(ROLE_INFO[result.role].inputs, case.inputs(result.role), strict=True)
        inputs = ", ".join(f"{names[n]} {_shape(a.shape)}" for n, a in arrays)
        if outcome.output is not None:
            got = _shape(outcome.output.shape)
        else:
            got = outcome.problem.split(":")[0].split(" (")[0]
        err = "" if outcome.max_abs_err is None else f"{outcome.max_abs_err:.3g}"
        if outcome.where is not None:
            where = f"{outcome.where[0]}, {outcome.where[1]}"
        else:
            where = outcome.location or ("shape" if outcome.output is not None else "")
        keys = outcome.mistakes
        key = result.mistake if result.mistake in keys else (keys[0] if keys else None)
        table.add_row(
            str(case.index),
            case.label,
            f"{inputs}\n{case.dtype}",
            _shape(outcome.expected.shape),
            got,
            err,
            where,
            title(key, result.role) if key else "?",
        )
    if len(failures) > SHOWN:
        table.caption = f"and {len(failures) - SHOWN} more failing cases (--json lists all)"
    console.print(table)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "scalar"
