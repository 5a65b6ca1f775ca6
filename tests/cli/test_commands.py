"""The commands through Click's CliRunner: results against scipy, options, and bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from click.testing import CliRunner
from scipy import signal

from sobelcli.cli.main import COMMANDS, SUMMARIES, cli
from tests.conftest import GOLDEN, SAMPLES

GX = np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])


def run(runner: CliRunner, *args: str, input: bytes | None = None):
    return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


def assert_clean_failure(result, code: int = 1) -> str:
    """Exit code, no traceback, and (for exit 1) exactly one line on stderr."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.stderr
    if code == 1:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def oracle_edges(img: np.ndarray) -> np.ndarray:
    e = np.hypot(signal.correlate2d(img, GX, "valid"), signal.correlate2d(img, GX.T, "valid"))
    return e / e.max()


# --- edges ------------------------------------------------------------------------------


def test_edges_portrait_within_one_grey_level_of_scipy(runner, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    result = run(runner, "edges", str(SAMPLES / "astronaut.png"), "-o", str(out))
    assert result.exit_code == 0, result.output
    got = iio.imread(out)
    assert got.dtype == np.uint8 and got.shape == (510, 510)
    rgb = iio.imread(SAMPLES / "astronaut.png") / 255.0
    grey = rgb @ np.array([0.2125, 0.7154, 0.0721])
    assert np.abs(got.astype(int) - np.rint(oracle_edges(grey) * 255)).max() <= 1


@pytest.mark.parametrize(
    ("options", "golden"),
    [((), "square_edges.png"), (("--pad", "reflect"), "square_edges_reflect.png")],
)
def test_edges_golden_images(runner, tmp_path: Path, options, golden: str) -> None:
    out = tmp_path / "g.png"
    assert (
        run(runner, "edges", str(SAMPLES / "square.png"), "-o", str(out), *options).exit_code == 0
    )
    assert np.abs(iio.imread(out).astype(int) - iio.imread(GOLDEN / golden).astype(int)).max() <= 1


def test_edges_default_output_goes_beside_the_input(runner, tmp_path: Path, grey_png: Path) -> None:
    result = run(runner, "edges", str(grey_png))
    assert result.exit_code == 0
    assert (tmp_path / "grey_edges.png").exists()
    assert "grey_edges.png" in result.stderr


def test_edges_stdin_to_stdout(runner, grey_png: Path) -> None:
    result = run(runner, "edges", "-", "-o", "-", input=grey_png.read_bytes())
    assert result.exit_code == 0
    assert result.stdout_bytes.startswith(b"\x89PNG")
    assert iio.imread(result.stdout_bytes).shape == (18, 28)


def test_edges_npy_output_is_raw_float(runner, tmp_path: Path, grey_png: Path) -> None:
    out = tmp_path / "e.npy"
    assert run(runner, "edges", str(grey_png), "-o", str(out), "--no-normalize").exit_code == 0
    img = iio.imread(grey_png) / 255.0
    raw = np.hypot(signal.correlate2d(img, GX, "valid"), signal.correlate2d(img, GX.T, "valid"))
    np.testing.assert_allclose(np.load(out), raw, atol=1e-12)


def test_edges_options(runner, tmp_path: Path, grey_png: Path) -> None:
    for args in (
        ["--output-kind", "x"],
        ["--output-kind", "angle"],
        ["--operator", "scharr"],
        ["--threshold", "0.3"],
        ["--bits", "16"],
        ["--pad", "wrap"],
        ["--compress", "9"],
    ):
        out = tmp_path / "o.png"
        result = run(runner, "edges", str(grey_png), "-o", str(out), *args)
        assert result.exit_code == 0, (args, result.output)
    thresholded = tmp_path / "t.png"
    run(runner, "edges", str(grey_png), "-o", str(thresholded), "--threshold", "0.3")
    assert set(np.unique(iio.imread(thresholded)).tolist()) <= {0, 255}
    run(runner, "edges", str(grey_png), "-o", str(thresholded), "--bits", "16")
    assert iio.imread(thresholded).dtype == np.uint16


def test_edges_json_line(runner, tmp_path: Path, grey_png: Path) -> None:
    result = run(runner, "edges", str(grey_png), "-o", str(tmp_path / "j.png"), "--json")
    doc = json.loads(result.stdout.strip().splitlines()[-1])
    assert doc["status"] == "ok" and doc["shape"] == [18, 28] and doc["error"] is None


def test_edges_never_overwrites_its_input(runner, grey_png: Path) -> None:
    before = grey_png.read_bytes()
    result = run(runner, "edges", str(grey_png), "-o", str(grey_png))
    assert result.exit_code == 2
    assert grey_png.read_bytes() == before


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.png", "no such file"),
        (lambda d: write(d / "empty.png", b""), "empty"),
        (lambda d: write(d / "text.png", b"not a png"), "not a readable image"),
        (
            lambda d: (np.save(d / "cube.npy", np.zeros((3, 4, 9))), d / "cube.npy")[1],
            "not an image",
        ),
        (
            lambda d: (np.save(d / "tiny.npy", np.zeros((2, 5))), d / "tiny.npy")[1],
            "smaller than the 3 x 3",
        ),
    ],
)
def test_edges_bad_input_one_line_exit_1_no_output(
    runner, tmp_path: Path, make, message: str
) -> None:
    src = make(tmp_path)
    out = tmp_path / "out.png"
    result = run(runner, "edges", str(src), "-o", str(out))
    err = assert_clean_failure(result)
    assert message in err and str(src) in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_edges_truncated_png(runner, tmp_path: Path, grey_png: Path) -> None:
    cut = tmp_path / "cut.png"
    cut.write_bytes(grey_png.read_bytes()[:60])
    err = assert_clean_failure(run(runner, "edges", str(cut), "-o", str(tmp_path / "o.png")))
    assert "cut.png" in err
    assert not (tmp_path / "o.png").exists()


def test_edges_output_folder_missing_or_unwritable(runner, tmp_path: Path, grey_png: Path) -> None:
    err = assert_clean_failure(
        run(runner, "edges", str(grey_png), "-o", str(tmp_path / "no" / "o.png"))
    )
    assert "does not exist" in err
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = run(runner, "edges", str(grey_png), "-o", str(locked / "o.png"))
        if result.exit_code == 0:  # root ignores permissions; then the write must have worked
            assert (locked / "o.png").exists()
        else:
            assert "ermission" in assert_clean_failure(result)
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize(
    "args",
    [
        ["--threshold", "1.5"],
        ["--operator", "canny"],
        ["--pad", "zero"],
        ["--bits", "12"],
        ["--compress", "10"],
        ["-o", "x.gif"],
    ],
)
def test_edges_bad_options_exit_2(runner, grey_png: Path, args) -> None:
    result = run(runner, "edges", str(grey_png), *args)
    assert result.exit_code == 2
    assert "Error" in result.stderr and "Traceback" not in result.stderr


# --- grad-input ---------------------------------------------------------------------------


def test_grad_input_npy_matches_scipy(runner, tmp_path: Path, grey_png: Path) -> None:
    out = tmp_path / "g.npy"
    assert run(runner, "grad-input", str(grey_png), "-o", str(out)).exit_code == 0
    x = iio.imread(grey_png) / 255.0
    expected = signal.convolve2d(2 * signal.correlate2d(x, GX, "valid"), GX, "full")
    np.testing.assert_allclose(np.load(out), expected, atol=1e-10)


def test_grad_input_png_is_min_max_normalised(runner, tmp_path: Path, grey_png: Path) -> None:
    out = tmp_path / "g.png"
    assert (
        run(runner, "grad-input", str(grey_png), "-o", str(out), "--kernel", "sobel-y").exit_code
        == 0
    )
    x = iio.imread(grey_png) / 255.0
    g = signal.convolve2d(2 * signal.correlate2d(x, GX.T, "valid"), GX.T, "full")
    expected = np.rint((g - g.min()) / (g.max() - g.min()) * 255)
    assert np.abs(iio.imread(out).astype(int) - expected).max() <= 1


def test_grad_input_wrt_kernel_json_and_files(runner, tmp_path: Path, grey_png: Path) -> None:
    result = run(
        runner,
        "grad-input",
        str(grey_png),
        "--wrt",
        "kernel",
        "--loss",
        "logcosh",
        "-k",
        "1,0,-1;2,0,-2;1,0,-1",
        "--json",
        "-o",
        str(tmp_path / "dk.npy"),
    )
    assert result.exit_code == 0, result.output
    x = iio.imread(grey_png) / 255.0
    k = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
    expected = signal.correlate2d(x, np.tanh(signal.correlate2d(x, k, "valid")), "valid")
    np.testing.assert_allclose(json.loads(result.stdout)["grad"], expected, atol=1e-10)
    np.testing.assert_allclose(np.load(tmp_path / "dk.npy"), expected, atol=1e-10)
    assert "dL/dK" in result.stderr


@pytest.mark.parametrize("kernel", ["1,2;3", "nan,1", "", "gauss", "1,x", "missing.npy"])
def test_bad_kernel_exit_2_one_error_line(runner, grey_png: Path, kernel: str) -> None:
    result = run(runner, "grad-input", str(grey_png), "--kernel", kernel)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert sum(line.startswith("Error") for line in result.stderr.splitlines()) == 1


def test_kernel_from_npy_file(runner, tmp_path: Path, grey_png: Path) -> None:
    np.save(tmp_path / "k.npy", np.ones((2, 3)))
    result = run(
        runner,
        "grad-input",
        str(grey_png),
        "-k",
        str(tmp_path / "k.npy"),
        "-o",
        str(tmp_path / "g.npy"),
    )
    assert result.exit_code == 0
    assert np.load(tmp_path / "g.npy").shape == (20, 30)


# --- gradcheck -----------------------------------------------------------------------------


def test_gradcheck_all_passes_with_json(runner) -> None:
    result = run(runner, "gradcheck", str(SAMPLES / "square.png"), "--all", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["passed"] is True and doc["eps"] == 1e-6
    assert len(doc["checks"]) == 48 * 64 + 9
    assert "PASS" in result.stderr


def test_gradcheck_at_pixels_and_loss(runner, grey_png: Path) -> None:
    result = run(
        runner,
        "gradcheck",
        str(grey_png),
        "--at",
        "0,0",
        "--at",
        "19,29",
        "--loss",
        "softplus",
        "--json",
    )
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert [c["index"] for c in doc["checks"] if c["wrt"] == "input"] == [[0, 0], [19, 29]]


def test_gradcheck_fails_with_exit_1_when_tolerance_is_impossible(runner, grey_png: Path) -> None:
    """With rtol = atol = 0, rounding alone fails some check: the verdict depends on it."""
    result = run(runner, "gradcheck", str(grey_png), "--all", "--rtol", "0", "--atol", "0")
    assert result.exit_code == 1
    assert "FAIL" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--at", "1;2"],
        ["--at", "99,0"],
        ["--all", "--at", "1,1"],
        ["--eps", "0"],
        ["--pixels", "0"],
    ],
)
def test_gradcheck_bad_options(runner, grey_png: Path, args) -> None:
    result = run(runner, "gradcheck", str(grey_png), *args)
    assert result.exit_code == 2 and "Traceback" not in result.stderr


# --- maximize -------------------------------------------------------------------------------


def test_maximize_lab_defaults_files_and_determinism(runner, tmp_path: Path) -> None:
    args = [
        "maximize",
        "-o",
        str(tmp_path / "m.npy"),
        "--seed",
        "3",
        "--losses",
        str(tmp_path / "l.csv"),
        "--plot",
        str(tmp_path / "p.png"),
        "--json",
    ]
    first = run(runner, *args)
    assert first.exit_code == 0, first.output
    image = np.load(tmp_path / "m.npy")
    assert run(runner, *args).exit_code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "m.npy"), image)
    rows = list(csv.reader((tmp_path / "l.csv").open()))
    assert rows[0] == ["step", "loss"] and len(rows) == 251
    losses = [float(r[1]) for r in rows[1:]]
    assert losses == sorted(losses)
    assert iio.imread(tmp_path / "p.png").shape == (400, 640, 3)
    x0 = np.random.default_rng(3).random((9, 9))
    y0 = signal.correlate2d(x0, GX, "valid")
    assert losses[0] == pytest.approx(float(np.sum(y0**2)))


def test_maximize_png_is_enlarged(runner, tmp_path: Path) -> None:
    assert run(runner, "maximize", "-o", str(tmp_path / "m.png"), "--seed", "1").exit_code == 0
    assert iio.imread(tmp_path / "m.png").shape == (261, 261)  # 9 x 29
    assert (
        run(
            runner, "maximize", "-o", str(tmp_path / "s.png"), "--scale", "2", "--size", "5x7"
        ).exit_code
        == 0
    )
    assert iio.imread(tmp_path / "s.png").shape == (10, 14)


def test_maximize_unit_norm_reports_sigma(runner, tmp_path: Path) -> None:
    result = run(
        runner,
        "maximize",
        "-o",
        str(tmp_path / "m.npy"),
        "--constraint",
        "unit-norm",
        "--steps",
        "3000",
        "--seed",
        "0",
        "--json",
    )
    doc = json.loads(result.stdout)
    assert doc["final_loss"] == pytest.approx(doc["sigma_max_squared"], rel=1e-6)
    a = np.zeros((49, 81))
    for i in range(7):
        for j in range(7):
            for p in range(3):
                for q in range(3):
                    a[i * 7 + j, (i + p) * 9 + (j + q)] = GX[p, q]
    assert doc["sigma_max_squared"] == pytest.approx(np.linalg.svd(a, compute_uv=False)[0] ** 2)


def test_maximize_overflow_is_a_clear_error_and_no_file(runner, tmp_path: Path) -> None:
    result = run(
        runner, "maximize", "-o", str(tmp_path / "m.png"), "--steps", "100000", "--seed", "0"
    )
    assert "overflows" in assert_clean_failure(result)
    assert not (tmp_path / "m.png").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--steps", "-1"],
        ["--lr", "0"],
        ["--size", "0"],
        ["--size", "3x"],
        ["--size", "2", "--kernel", "sobel-x"],
        ["--constraint", "l2"],
    ],
)
def test_maximize_bad_options(runner, tmp_path: Path, args) -> None:
    result = run(runner, "maximize", "-o", str(tmp_path / "m.png"), *args)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert not (tmp_path / "m.png").exists()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_command_list_shows_each_commands_own_first_line(name: str) -> None:
    from importlib import import_module

    import click

    module, attr = COMMANDS[name].split(":")
    command = getattr(import_module(module), attr)
    listed = click.Command(name, help=SUMMARIES[name])  # how the group's help lists it
    for limit in (30, 45, 60, 200):
        assert listed.get_short_help_str(limit) == command.get_short_help_str(limit)
