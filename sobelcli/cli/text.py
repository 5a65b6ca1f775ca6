"""Paths and messages made safe to show: one line on a terminal, valid UTF-8 in JSON.

A file name may hold a newline (which would split a "wrote" line in two) or bytes that are
not UTF-8 (which Python keeps as lone surrogates, invalid in JSON); both are escaped here.
"""

from __future__ import annotations

from typing import Any

#: Characters shown escaped on a line of text: C0 controls and DEL.
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(32), 127]}
_CONTROL |= {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}


def _no_surrogates(text: str) -> str:
    """Bytes that were not UTF-8 (lone surrogates) as ``\\xNN``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def printable(text: str) -> str:
    """``text`` as one printable line: control characters and undecodable bytes escaped."""
    return _no_surrogates(text).translate(_CONTROL)


def json_safe(value: Any) -> Any:
    """``value`` with every string (keys too) free of lone surrogates, for ``json.dumps``."""
    if isinstance(value, str):
        return _no_surrogates(value)
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
