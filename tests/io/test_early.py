"""A PNG or JPEG decoded on a thread before numpy is imported, then adopted by the reader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sobelcli.io import early
from sobelcli.io.read import read_image
from sobelcli.io.stream import SourceOptions, open_source
from sobelcli.io.stream_vips import pyvips_available

pytestmark = pytest.mark.skipif(not pyvips_available(), reason="pyvips is not installed")


@pytest.fixture(autouse=True)
def nothing_pending():
    yield
    early.discard()


def picture(tmp_path: Path, rng: np.random.Generator, name: str, shape=(97, 61)) -> Path:
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    path = tmp_path / name
    Image.fromarray(pixels).save(path, **({"quality": 95} if name.endswith(".jpg") else {}))
    return path


def read_all(path: Path, rows: int, folder: Path | None = None) -> np.ndarray:
    options = SourceOptions(dtype=np.float32, spill=None if folder is None else str(folder))
    with open_source(path, options) as source:
        h = source.shape[0]
        got = np.concatenate([source.read_rows(r, min(r + rows, h)) for r in range(0, h, rows)])
        np.testing.assert_array_equal(source.read_rows(0, min(h, 5)), got[:5])  # back up
        return got


@pytest.mark.parametrize("name", ["a.png", "a.jpg"])
@pytest.mark.parametrize("fetch", [1 << 19, 61, 200])  # all decoded early; 1 row and 3 a request
@pytest.mark.parametrize("rows", [1, 7, 40])
def test_adopted_rows_are_the_rows_the_reader_decodes_itself(
    tmp_path, rng, monkeypatch, name: str, fetch: int, rows: int
) -> None:
    """Whatever the decode had done when taken, strips across its end read right."""
    path = picture(tmp_path, rng, name)
    want = read_all(path, rows)  # nothing pending: the reader decodes by itself
    if name.endswith(".png"):  # and the oracle: Pillow's decode, scaled as every reader does
        np.testing.assert_array_equal(want, read_image(path, dtype=np.float32).pixels)
    monkeypatch.setattr(early, "FETCH_BYTES", fetch)
    taken = []
    real_take = early.take
    monkeypatch.setattr(early, "take", lambda *a: taken.append(real_take(*a)) or taken[-1])
    folder = tmp_path / "out"
    folder.mkdir()
    assert early.start(str(path), str(folder))
    np.testing.assert_array_equal(read_all(path, rows, folder), want)
    assert taken and taken[0] is not None and 1 <= taken[0].rows <= 97
    assert list(folder.iterdir()) == []  # the copy has no name


def test_a_decode_is_taken_by_its_own_file_only_and_leaves_nothing(
    tmp_path, rng, monkeypatch
) -> None:
    monkeypatch.delenv("OPENBLAS_MAIN_FREE", raising=False)
    a, b = picture(tmp_path, rng, "a.png"), picture(tmp_path, rng, "b.png")
    threads = threading.active_count()
    assert early.start(str(a), str(tmp_path))
    assert not early.start(str(b), str(tmp_path))  # one at a time
    assert early.take(str(b), 61) is None  # another file: dropped, not handed over
    assert early.take(str(a), 61) is None  # and gone
    assert early.start(str(a), str(tmp_path))
    assert early.take(str(a), 3 * 61) is None  # other rows (RGB): dropped
    assert early.start(str(a), str(tmp_path))
    early.discard()
    assert threading.active_count() == threads
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png"]
    assert os.environ.get("OPENBLAS_MAIN_FREE") == "1"  # numpy's import changes no environment


def test_a_decode_the_reader_cannot_use_is_stopped_when_it_opens(tmp_path, rng) -> None:
    """A tRNS colour (left out, as Pillow does) changes the rows: the early ones are dropped."""
    path = tmp_path / "t.png"
    Image.fromarray(rng.integers(0, 256, (400, 300, 3), dtype=np.uint8)).save(
        path, transparency=(1, 2, 3)
    )
    want = read_image(path, dtype=np.float32).pixels
    assert early.start(str(path), str(tmp_path))
    with open_source(path, SourceOptions(dtype=np.float32)) as source:
        assert not [t for t in threading.enumerate() if t.name == "sobelcli-early-decode"]
        np.testing.assert_allclose(source.read_rows(0, 400), want, rtol=0, atol=2.4e-7)
    assert os.listdir(tmp_path) == ["t.png"]


@pytest.mark.parametrize("damage", ["truncated", "not an image", "missing"])
def test_a_file_the_decode_fails_on_is_left_to_the_reader_and_its_words(
    tmp_path, rng, damage: str
) -> None:
    path = picture(tmp_path, rng, "a.png", (300, 200))
    whole = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(whole[: len(whole) // 2])
    elif damage == "not an image":
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 100)
    else:
        path.unlink()
    assert early.start(str(path), str(tmp_path))
    with pytest.raises((ValueError, OSError), match=r"a\.png"):
        read_all(path, 10, tmp_path)


def test_the_command_decodes_while_numpy_is_imported(tmp_path, rng) -> None:
    """A real process: the input is decoded before numpy is loaded, and the map is the core's."""
    import sobelcli

    path = picture(tmp_path, rng, "in.png", (300, 260))
    script = textwrap.dedent(
        """
        import json, sys
        import sobelcli.io.early as early
        seen = {}
        real_take = early.take
        def take(path, row_bytes):
            seen["numpy at take"] = "numpy" in sys.modules
            got = real_take(path, row_bytes)
            seen["rows"] = got.rows if got else 0
            return got
        early.take = take
        real_start = early.start
        early.start = lambda *a: seen.setdefault("numpy at start", "numpy" in sys.modules) or (
            real_start(*a)
        )
        from sobelcli.cli.main import cli
        try:
            cli.main(sys.argv[1:], standalone_mode=False)
        finally:
            print(json.dumps(seen))
        """
    )
    out = tmp_path / "out.png"
    run = subprocess.run(
        [sys.executable, "-c", script, "edges", str(path), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["numpy at start"] is False and seen["numpy at take"] is True
    assert seen["rows"] > 0
    pixels = np.asarray(Image.open(path), dtype=np.float32) / np.float32(255)  # Pillow's decode
    want = np.rint(np.clip(sobelcli.edge_map(pixels), 0, 1) * np.float32(255))
    np.testing.assert_array_equal(np.asarray(Image.open(out)), want)
