"""The files a ``--cmd`` program reads and writes: CSV (the default) or ``.npy``.

CSV here is the plainest text a matrix can be: numbers separated by commas, one matrix row per
line, no header, no row names, no quotes. A 2 x 3 matrix is::

    1,2.5,-3
    4,0,1e-05

R reads it with ``as.matrix(read.csv(path, header = FALSE))`` and writes it with
``write.table(m, path, sep = ",", row.names = FALSE, col.names = FALSE)``. Values are written
with the shortest text that reads back as the same float64 (``repr``), integers as integers.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["EXCHANGES", "Exchange", "format_csv", "parse_csv", "read_matrix", "write_matrix"]

Exchange = Literal["csv", "npy"]
EXCHANGES: tuple[Exchange, ...] = ("csv", "npy")

#: How R and others spell the values that are not numbers.
_SPECIAL = {"na": math.nan, "nan": math.nan, "inf": math.inf, "-inf": -math.inf, "+inf": math.inf}


def format_csv(matrix: NDArray[np.generic]) -> str:
    """One matrix row per line, values separated by commas.

    Parameters
    ----------
    matrix : ndarray, shape (r, c)
        Integers are written as integers, floats with ``repr`` (exact round trip).

    Returns
    -------
    str
        ``r`` lines, each ending with a newline.
    """
    if matrix.ndim != 2:
        raise ValueError(f"a CSV file holds a 2-D matrix, not shape {matrix.shape}")
    rows = matrix.tolist()
    return "".join(",".join(map(repr, row)) + "\n" for row in rows)


def _number(text: str, line: int, column: int, name: str) -> float:
    cell = text.strip().strip('"').strip()
    special = _SPECIAL.get(cell.lower())
    if special is not None:
        return special
    try:
        return float(cell)
    except ValueError:
        raise ValueError(
            f"{name} line {line}, value {column}: {text.strip()!r} is not a number; write plain "
            'numbers without a header or row names (in R: write.table(m, path, sep = ",", '
            "row.names = FALSE, col.names = FALSE))"
        ) from None


def parse_csv(text: str, name: str = "the file") -> NDArray[np.float64]:
    """Read a matrix written as comma-separated lines.

    Blank lines are skipped; ``NA``, ``NaN`` and ``Inf`` (R's spellings) are read as such.

    Parameters
    ----------
    text : str
        The file's text.
    name : str
        What to call the file in error messages.

    Returns
    -------
    ndarray of float64, shape (lines, values per line)

    Raises
    ------
    ValueError
        If the text is empty, a value is not a number, or lines hold different counts.
    """
    rows: list[list[float]] = []
    width = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split(",")
        values = [_number(cell, number, col, name) for col, cell in enumerate(cells, start=1)]
        if rows and len(values) != width:
            raise ValueError(
                f"{name} line {number} has {len(values)} values, the lines before {width}: "
                "every matrix row needs the same number of columns"
            )
        width = len(values)
        rows.append(values)
    if not rows:
        raise ValueError(f"{name} is empty")
    return np.array(rows, dtype=np.float64)


def write_matrix(path: Path, matrix: NDArray[np.generic], exchange: Exchange) -> None:
    """Write ``matrix`` (shape (r, c)) to ``path`` as CSV text or as ``.npy``."""
    if exchange == "npy":
        np.save(path, matrix, allow_pickle=False)
    else:
        path.write_text(format_csv(matrix), encoding="utf-8")


def read_matrix(path: Path, exchange: Exchange, name: str) -> NDArray[np.generic]:
    """Read what a program wrote to ``path``.

    Parameters
    ----------
    path : Path
    exchange : {"csv", "npy"}
    name : str
        What to call the file in error messages.

    Returns
    -------
    ndarray
        float64 from CSV; from ``.npy``, the array as written (any shape, checked later).

    Raises
    ------
    ValueError
        If the file is missing, unreadable or not a matrix of numbers.
    """
    if not path.exists():
        raise ValueError(f"it did not write {name}")
    if exchange == "npy":
        try:
            out: NDArray[np.generic] = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ValueError(f"{name} is not a .npy array: {exc}") from None
        return out
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not text (UTF-8)") from None
    return parse_csv(text, name)
