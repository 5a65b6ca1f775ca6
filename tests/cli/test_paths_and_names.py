"""Files a command reads are never written, outputs stay under -o, links in -o are replaced,
patterns end on link loops, and odd file names print as one line and valid JSON."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from sobelcli.cli.batch.inputs import matches
from tests.cli.helpers import png as _png
from tests.cli.helpers import records, run

png = functools.partial(_png, shape=(12, 14))  # this file's default picture


# --- a file the command reads is never its output ---------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["grad-input", "IMG", "-k", "K", "-o", "K"],
        ["grad-input", "IMG", "--wrt", "kernel", "-k", "K", "-o", "K"],
        ["maximize", "-k", "K", "-o", "K"],
    ],
    ids=["grad-input", "grad-input-wrt-kernel", "maximize"],
)
def test_a_kernel_file_is_never_overwritten(tmp_path: Path, args: list[str]) -> None:
    image = png(tmp_path / "camera.png")
    kernel = tmp_path / "k.npy"
    np.save(kernel, np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]))
    before = kernel.read_bytes()
    argv = [str(image) if a == "IMG" else str(kernel) if a == "K" else a for a in args]
    result = run(*argv)
    assert result.exit_code == 2
    assert "would be overwritten" in result.stderr
    assert kernel.read_bytes() == before


def test_a_batch_with_overwrite_never_replaces_the_kernel(tmp_path: Path) -> None:
    png(tmp_path / "in" / "k.png")
    kernel = tmp_path / "out" / "k_grad.npy"
    kernel.parent.mkdir()
    np.save(kernel, np.ones((3, 3)))
    before = kernel.read_bytes()
    args = [str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--format", "npy"]
    result = run("grad-input", *args, "-k", str(kernel), "--overwrite", "--json", "-j", "1")
    assert result.exit_code == 1
    (line,) = [r for r in records(result) if "summary" not in r]
    assert line["status"] == "error" and "a file this command reads" in line["error"]
    assert kernel.read_bytes() == before


# --- outputs stay under -o ---------------------------------------------------------------


def test_a_pattern_that_climbs_out_writes_nothing_outside(tmp_path: Path) -> None:
    png(tmp_path / "victim" / "v.png")
    (tmp_path / "deep" / "er" / "base" / "x").mkdir(parents=True)
    os.chdir(tmp_path)
    result = run("edges", "deep/er/base/*/../../../../victim/*.png", "-o", "o", "--json")
    assert result.exit_code == 1
    (line, _summary) = records(result)
    assert line["status"] == "error" and "outside o" in line["error"]
    assert sorted(p.name for p in (tmp_path / "victim").iterdir()) == ["v.png"]
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").rglob("*"))


# --- links in the output folder ------------------------------------------------------------


def test_a_link_in_the_output_folder_is_replaced_and_hides_no_input(tmp_path: Path) -> None:
    a, b = png(tmp_path / "in" / "a.png", 1), png(tmp_path / "in" / "b.png", 2)
    b_bytes = b.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_edges.png").symlink_to(Path("..") / "in" / "b.png")
    result = run("edges", str(tmp_path / "in"), "-o", str(out), "--overwrite", "--json")
    assert result.exit_code == 0, result.stderr
    lines = records(result)
    assert sorted(r["input"] for r in lines if "input" in r) == [str(a), str(b)]
    assert lines[-1]["ok"] == 2
    assert not (out / "a_edges.png").is_symlink()
    assert b.read_bytes() == b_bytes  # the link's target is untouched
    assert iio.imread(out / "a_edges.png").shape == (10, 12)


# --- patterns over link loops ---------------------------------------------------------------


def test_recursive_pattern_ends_on_a_link_loop(tmp_path: Path) -> None:
    png(tmp_path / "L" / "a.png")
    png(tmp_path / "L" / "sub" / "b.png")
    (tmp_path / "L" / "sub" / "loop").symlink_to(tmp_path / "L")
    (tmp_path / "L" / "self").symlink_to(".")
    found = matches(str(tmp_path / "L" / "**" / "*.png"), recursive=True)
    names = sorted(Path(p).name for p in found)
    assert names == ["a.png", "b.png"]


def test_recursive_pattern_in_a_real_process_finishes(tmp_path: Path) -> None:
    png(tmp_path / "L" / "a.png")
    (tmp_path / "L" / "loop").symlink_to(tmp_path / "L")
    code = "from sobelcli.cli.main import main; main()"
    argv = [sys.executable, "-c", code, "edges", "L/**/*.png", "-r", "-o", "o", "--json"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "a_edges.png").exists()


def test_double_star_matches_glob_where_there_is_no_loop(tmp_path: Path) -> None:
    import glob

    for rel in ["a.png", "x/b.png", "x/y/c.png", ".hidden/d.png", "x/.e.png"]:
        png(tmp_path / rel)
    pattern = str(tmp_path / "**" / "*.png")
    assert sorted(matches(pattern, True)) == sorted(glob.glob(pattern, recursive=True))


# --- odd names ------------------------------------------------------------------------------


def test_a_newline_in_a_name_stays_on_one_line(tmp_path: Path) -> None:
    image = png(tmp_path / "two\nlines.png")
    result = run("edges", str(image))
    assert result.exit_code == 0
    (line,) = result.stderr.strip().splitlines()
    assert "two\\nlines_edges.png" in line


def test_a_non_utf8_name_gives_valid_json(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path)
    name = os.path.join(folder, b"caf\xe9.png")
    png(Path(os.fsdecode(name)))
    argv = [sys.executable, "-c", "from sobelcli.cli.main import main; main()"]
    done = subprocess.run(
        [*argv, "edges", os.fsdecode(name), "--json"], capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.decode("utf-8"))  # strict UTF-8, no lone surrogates
    assert record["status"] == "ok" and record["input"].endswith("caf\\xe9.png")


# --- small ones ------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["1,,2", "1,2,;3,4,5", ",1"])
def test_empty_kernel_values_are_refused(tmp_path: Path, kernel: str) -> None:
    result = run("grad-input", str(png(tmp_path / "a.png")), "-k", kernel)
    assert result.exit_code == 2 and "empty value" in result.stderr


def test_more_pixels_than_the_image_checks_every_pixel(tmp_path: Path) -> None:
    image = png(tmp_path / "a.png", shape=(9, 11))
    result = run("gradcheck", str(image), "--pixels", "100000000", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["count"] == 9 * 11 + 9  # every pixel and every kernel element


# --- --name templates -------------------------------------------------------------------------


def test_name_template_keeps_same_stem_inputs_apart(tmp_path: Path) -> None:
    png(tmp_path / "in" / "a.png", 1)
    pixels = np.random.default_rng(2).integers(0, 256, (12, 14), dtype=np.uint8)
    iio.imwrite(tmp_path / "in" / "a.jpg", pixels)
    args = [str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json"]
    clash = run("edges", *args)
    assert clash.exit_code == 1 and "also the output of" in clash.stderr
    result = run("edges", *args, "--name", "{stem}_{ext}_edges.png", "--overwrite")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a_edges.png",  # the first run wrote the first of the two, and refused the other
        "a_jpg_edges.png",
        "a_png_edges.png",
    ]


def test_a_template_that_names_each_input_itself_is_refused_input_by_input(
    tmp_path: Path,
) -> None:
    for name in ("a.png", "b.png"):
        png(tmp_path / "in" / name)
    before = {p.name: p.read_bytes() for p in (tmp_path / "in").iterdir()}
    result = run("edges", str(tmp_path / "in"), "--name", "{stem}.png", "--overwrite")
    assert result.exit_code == 1
    assert result.stderr.count("is an input of this batch; it would be overwritten") == 2
    assert "0 written, 2 failed" in result.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "in").iterdir()} == before


def test_name_template_sets_the_format_and_names_a_single_output(tmp_path: Path) -> None:
    image = png(tmp_path / "photo.png")
    result = run("edges", str(image), "--name", "{name}.edges.npy")
    assert result.exit_code == 0, result.stderr
    assert np.load(tmp_path / "photo.png.edges.npy").shape == (10, 12)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{stem}_{size}.png", "use the fields"),
        ("{stem}", "must end in one of"),
        ("sub/{stem}.png", "must name a file"),
    ],
)
def test_bad_name_templates_exit_2(tmp_path: Path, template: str, message: str) -> None:
    result = run("edges", str(png(tmp_path / "a.png")), "--name", template)
    assert result.exit_code == 2 and message in result.stderr


def test_name_template_and_a_different_format_disagree(tmp_path: Path) -> None:
    result = run("edges", str(png(tmp_path / "a.png")), "--name", "{stem}.png", "--format", "npy")
    assert result.exit_code == 2 and "disagree" in result.stderr


@pytest.mark.parametrize(
    ("inputs", "why"),
    [
        (["photos.png"], "'{d}/photos.png' is a folder"),
        (["{d}/photos.png/*.png"], "'{d}/photos.png/*.png' is a pattern"),
        (["{d}/photos.png/a.png", "{d}/photos.png/b.png"], "with several inputs"),
    ],
    ids=["a folder named like an image", "a pattern", "two files"],
)
def test_an_output_file_for_a_batch_says_why_the_inputs_are_a_batch(
    tmp_path: Path, inputs: list[str], why: str
) -> None:
    png(tmp_path / "photos.png" / "a.png")
    png(tmp_path / "photos.png" / "b.png", seed=1)
    args = [a.format(d=tmp_path) if "{d}" in a else str(tmp_path / a) for a in inputs]
    result = run("edges", *args, "-o", str(tmp_path / "out.png"))
    assert result.exit_code == 2
    message = why.format(d=tmp_path) + ": -o names a folder (created if missing)"
    assert message in " ".join(result.stderr.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos.png"]
