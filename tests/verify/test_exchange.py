"""The CSV files a --cmd program reads and writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sobelcli.verify import format_csv, parse_csv
from sobelcli.verify.exchange import read_matrix, write_matrix


def test_csv_is_one_row_per_line_and_reads_back_exactly() -> None:
    m = np.array([[1.0, -2.5, 1e-300], [0.1, 3.0, -0.0]])
    text = format_csv(m)
    assert text == "1.0,-2.5,1e-300\n0.1,3.0,-0.0\n"
    assert np.array_equal(parse_csv(text), m)
    assert format_csv(np.array([[1, -2]], dtype=np.int64)) == "1,-2\n"


@pytest.mark.parametrize("shape", [(1, 5), (5, 1), (1, 1)])
def test_one_row_and_one_column_keep_their_shape(shape: tuple[int, int]) -> None:
    m = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    assert parse_csv(format_csv(m)).shape == shape


def test_r_spellings_blank_lines_and_spaces() -> None:
    got = parse_csv('1, NA\n\n"2", Inf\n-Inf,NaN\n')
    assert got.shape == (3, 2)
    assert np.isnan(got[0, 1]) and got[1, 1] == np.inf and got[2, 0] == -np.inf


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"V1","V2"\n1,2\n', "line 1, value 1: '\"V1\"' is not a number"),
        ("1,2\n3\n", "line 2 has 1 values, the lines before 2"),
        ("\n \n", "is empty"),
        ("1;2\n", "'1;2' is not a number"),
    ],
)
def test_errors_say_where_and_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_csv(text, "out.csv")
    assert message in str(info.value)
    assert str(info.value).startswith("out.csv")
    assert ("write.table" in str(info.value)) == ("is not a number" in message)


def test_files(tmp_path: Path) -> None:
    m = np.array([[1.5, 2.0]], dtype=np.float32)
    for exchange in ("csv", "npy"):
        path = tmp_path / f"m.{exchange}"
        write_matrix(path, m, exchange)  # type: ignore[arg-type]
        np.testing.assert_array_equal(read_matrix(path, exchange, "{out}"), m)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"it did not write \{out\}"):
        read_matrix(tmp_path / "missing.csv", "csv", "{out}")
    (tmp_path / "bad.npy").write_bytes(b"not npy")
    with pytest.raises(ValueError, match="not a .npy array"):
        read_matrix(tmp_path / "bad.npy", "npy", "{out}")
