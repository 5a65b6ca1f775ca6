"""Check someone's own convolution, its two gradients or the edge map against sobelcli's.

The implementation is a Python function (``path/to/file.py:function`` or
``package.module:function``) or any program run through a command template with file
placeholders (``Rscript conv.R {x} {k} {out}``); it always runs in a child process, so that an
exception, a crash or an endless loop in it fails one case and nothing else. Each case's
answer is compared with sobelcli's reference, and a wrong answer is matched against the usual
mistakes (kernel flipped, transposed, 'same' size, dL/dY unused, ...).

>>> from sobelcli.verify import VerifyOptions, parse_python, verify
>>> result = verify(parse_python("examples/conv.py:correlate"), VerifyOptions("forward"))
>>> result.passed  # doctest: +SKIP
True

This package imports numpy and sobelcli's public API only: no click, no rich.
"""

from __future__ import annotations

from .cases import DEFAULT_CASES, ROLE_INFO, ROLES, Case, Role, battery, reference
from .check import GRADIENT_ROLES, VerifyOptions, verify
from .diagnose import MISTAKES, diagnose, sentence
from .exchange import EXCHANGES, Exchange, format_csv, parse_csv
from .impls import (
    CommandImpl,
    Impl,
    ImplementationError,
    ImplementationNotFound,
    PythonImpl,
    parse_command,
    parse_impl,
    parse_python,
)
from .result import CaseOutcome, FiniteDifference, VerifyResult
from .runner import DEFAULT_TIMEOUT

__all__ = [
    "DEFAULT_CASES",
    "DEFAULT_TIMEOUT",
    "EXCHANGES",
    "GRADIENT_ROLES",
    "MISTAKES",
    "ROLES",
    "ROLE_INFO",
    "Case",
    "CaseOutcome",
    "CommandImpl",
    "Exchange",
    "FiniteDifference",
    "Impl",
    "ImplementationError",
    "ImplementationNotFound",
    "PythonImpl",
    "Role",
    "VerifyOptions",
    "VerifyResult",
    "battery",
    "diagnose",
    "format_csv",
    "parse_command",
    "parse_csv",
    "parse_impl",
    "parse_python",
    "reference",
    "sentence",
    "verify",
]
