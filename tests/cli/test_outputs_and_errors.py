"""Regressions from a new user's review: side outputs, batch into the input folder, JSON errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sobelcli.cli.main import cli
from sobelcli.core.gradcheck import Checks
from tests.conftest import SAMPLES


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("side", ["--plot", "--losses"])
def test_maximize_side_output_never_replaces_the_init_image(tmp_path: Path, side: str) -> None:
    init = tmp_path / ("start.png" if side == "--plot" else "start.csv")
    init.write_bytes((SAMPLES / "square.png").read_bytes())
    before = init.read_bytes()
    result = run("maximize", "--init", str(init), "-o", str(tmp_path / "m.png"), side, str(init))
    assert result.exit_code == 2
    assert init.read_bytes() == before
    assert not (tmp_path / "m.png").exists()


def test_maximize_plot_cannot_be_the_output_and_a_bad_folder_fails_first(tmp_path: Path) -> None:
    out = tmp_path / "m.png"
    assert run("maximize", "-o", str(out), "--plot", str(out)).exit_code == 2
    result = run("maximize", "-o", str(out), "--losses", str(tmp_path / "no" / "l.csv"))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert not out.exists()  # refused before the ascent, so nothing is half done


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "100000x100000"], "at most"),
        (["--scale", "100000"], "smaller --scale"),
        (["--seed", "-5"], "x>=0"),
    ],
)
def test_maximize_huge_or_negative_values_are_usage_errors(tmp_path: Path, args, message) -> None:
    result = run("maximize", "-o", str(tmp_path / "m.png"), *args)
    assert result.exit_code == 2 and message in result.stderr


def test_maximize_overflowing_step_is_one_clear_line(tmp_path: Path) -> None:
    result = run("maximize", "-o", str(tmp_path / "m.png"), "--lr", "1e308")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: the image overflows at step 1; use a smaller --lr or fewer --steps"
    ]


def test_batch_into_the_input_folder_processes_the_inputs(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.png").write_bytes((SAMPLES / "square.png").read_bytes())
    result = run("edges", str(folder), "-o", str(folder))
    assert result.exit_code == 0, result.output
    assert (folder / "a_edges.png").exists()
    again = run("edges", str(folder), "-o", str(folder), "--skip-existing", "--json")
    records = [json.loads(line) for line in again.stdout.splitlines()]
    assert [r["status"] for r in records if "status" in r] == ["skipped"]  # not a_edges.png


@pytest.mark.parametrize("command", ["edges", "grad-input"])
def test_single_input_error_still_prints_its_json_line(tmp_path: Path, command: str) -> None:
    result = run(command, str(tmp_path / "missing.png"), "-o", str(tmp_path / "o.png"), "--json")
    assert result.exit_code == 1
    record = json.loads(result.stdout)
    assert record["status"] == "error" and "no such file" in record["error"]


def test_relative_error_of_zero_against_rounding_noise_is_small() -> None:
    checks = Checks(
        "input",
        np.zeros((2, 2), dtype=np.intp),
        np.array([0.0, 2.0]),
        np.array([1e-14, 2.0 + 1e-9]),
        rtol=1e-5,
        atol=1e-7,
    )
    assert checks.ok.all()
    assert checks.rel_err.max() < 1e-5


def test_predict_refuses_side_outputs_over_its_inputs_and_non_model_files(tmp_path: Path) -> None:
    model = tmp_path / "model.npz"
    model.write_bytes(b"PK not really")
    before = model.read_bytes()
    digit = tmp_path / "d.png"
    digit.write_bytes((SAMPLES / "square.png").read_bytes())
    assert run("predict", str(model), str(digit), "--show-input", str(model)).exit_code == 2
    assert run("predict", str(model), "--filters", str(model)).exit_code == 2
    assert run("predict", str(model), str(digit), "--filters", str(digit)).exit_code == 2
    assert model.read_bytes() == before
    np.save(tmp_path / "e.npy", np.zeros((3, 3)))
    result = run("predict", str(tmp_path / "e.npy"), str(digit))
    assert result.exit_code == 1 and "not a model file" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_train_saves_models_as_npz_only(tmp_path: Path) -> None:
    result = run("train", "--data", str(tmp_path), "-o", str(tmp_path / "m.png"))
    assert result.exit_code == 2 and ".npz" in result.stderr


def test_gradcheck_json_gives_a_verdict_even_for_an_unreadable_image(tmp_path: Path) -> None:
    result = run("gradcheck", str(tmp_path / "missing.png"), "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "status": "error",
        "input": str(tmp_path / "missing.png"),
        "passed": False,
        "error": f"{tmp_path / 'missing.png'}: no such file",
    }


def test_train_side_outputs_never_replace_the_data(tmp_path: Path) -> None:
    data = tmp_path / "mnist"
    data.mkdir()
    target = data / "t10k-labels-idx1-ubyte.gz"
    target.write_bytes(b"labels")
    result = run("train", "--data", str(data), "--filters", str(target))
    assert result.exit_code == 2
    assert target.read_bytes() == b"labels"
    for bad in ("x.txt", "-"):
        assert run("train", "--data", str(data), "--filters", bad).exit_code == 2


@pytest.mark.parametrize("args", [["--steps", "0"], ["-k", "0,0;0,0"], ["--steps", "5"]])
def test_maximize_unit_norm_reports_without_crashing(tmp_path: Path, args) -> None:
    result = run(
        "maximize", "-o", str(tmp_path / "m.png"), "--constraint", "unit-norm", "--seed", "0", *args
    )
    assert result.exit_code == 0, result.output
    assert "sigma_max^2" in result.stderr


@pytest.mark.parametrize("args", [["--eps", "1e300"], ["-k", "1e308,1e308;1e308,1e308"]])
def test_gradcheck_overflow_is_one_clear_line_and_a_json_verdict(args) -> None:
    result = run("gradcheck", str(SAMPLES / "square.png"), "--json", *args)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["passed"] is False
    assert result.stderr.count("\n") == 1 and "square.png" in result.stderr
    assert "Warning" not in result.stderr
