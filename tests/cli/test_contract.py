"""The promises of --help and the README: one JSON contract, raw values where raw is said,
options that do nothing refused, completion of file names, logs that grep well."""

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

from sobelcli.core.kernels import SOBEL_X
from tests.cli.helpers import png as _png
from tests.cli.helpers import records, run
from tests.conftest import SAMPLES

png = functools.partial(_png, shape=(16, 18))  # this file's default picture


# --- one JSON contract ----------------------------------------------------------------------


def contract_cases(tmp_path: Path) -> dict[str, tuple[list[str], int]]:
    good, bad = png(tmp_path / "good.png"), tmp_path / "missing.png"
    return {
        "edges ok": (["edges", str(good), "-o", str(tmp_path / "e.png")], 0),
        "edges error": (["edges", str(bad), "-o", str(tmp_path / "e2.png")], 1),
        "grad-input ok": (["grad-input", str(good), "-o", str(tmp_path / "g.npy")], 0),
        "grad-input error": (["grad-input", str(bad)], 1),
        "grad-input kernel": (["grad-input", str(good), "--wrt", "kernel"], 0),
        "gradcheck ok": (["gradcheck", str(good)], 0),
        "gradcheck error": (["gradcheck", str(bad)], 1),
        "maximize ok": (["maximize", "-o", str(tmp_path / "m.png"), "--steps", "3"], 0),
        "maximize error": (["maximize", "-o", str(tmp_path / "m2.png"), "--init", str(bad)], 1),
    }


def test_every_json_line_has_status_and_input(tmp_path: Path) -> None:
    for name, (args, code) in contract_cases(tmp_path).items():
        result = run(*args, "--json")
        assert result.exit_code == code, (name, result.stderr)
        (record,) = records(result)
        assert record["status"] == ("ok" if code == 0 else "error"), name
        if name.startswith(("edges", "grad-input", "gradcheck")):
            assert record["input"].endswith((".png",)), name
        if code:
            assert record["error"], name


def test_batch_lines_and_the_readme_jq_filter_agree(tmp_path: Path) -> None:
    png(tmp_path / "in" / "a.png")
    (tmp_path / "in" / "b.png").write_bytes(b"broken")
    result = run("grad-input", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json")
    lines = records(result)
    ok = [r for r in lines if r.get("status") == "ok"]  # jq 'select(.status == "ok")'
    assert [Path(r["input"]).name for r in ok] == ["a.png"] and "L" in ok[0]
    assert lines[-1]["summary"] is True and lines[-1]["ok"] == 1 and lines[-1]["error"] == 1


def test_train_failure_prints_one_json_error(tmp_path: Path) -> None:
    result = run("train", "--data", str(tmp_path), "-o", str(tmp_path / "m.npz"), "--json")
    assert result.exit_code == 1
    (record,) = records(result)
    assert record["status"] == "error" and "error" in record


# --- raw values where raw is said -----------------------------------------------------------


def test_grad_input_tiff_holds_the_raw_values(tmp_path: Path) -> None:
    image = png(tmp_path / "a.png")
    result = run("grad-input", str(image), "-o", str(tmp_path / "g.tif"))
    assert result.exit_code == 0, result.stderr
    from scipy import signal

    x = iio.imread(image).astype(np.float64) / 255
    y = signal.correlate2d(x, SOBEL_X, "valid")  # the lab's eq. 3; L = sum y^2, dL/dY = 2Y
    expected = signal.convolve2d(2 * y, SOBEL_X, "full")  # eq. 6, independent of sobelcli
    got = iio.imread(tmp_path / "g.tif")
    assert got.dtype == np.float32 and got.min() < 0  # sign and scale kept
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


# --- train keeps what it trains --------------------------------------------------------------


def test_train_refuses_to_replace_a_model_without_overwrite(tmp_path: Path) -> None:
    os.chdir(tmp_path)
    Path("model.npz").write_bytes(b"precious")
    result = run("train", "--data", str(tmp_path), "--epochs", "1")
    assert result.exit_code == 2 and "--overwrite" in result.stderr
    assert Path("model.npz").read_bytes() == b"precious"


def test_train_without_o_keeps_its_model_in_model_npz(tmp_path: Path) -> None:
    from sobelcli.nn import load_model

    os.chdir(tmp_path)
    data = Path(__file__).resolve().parent.parent / "data" / "mnist-small"
    result = run("train", "--data", str(data), "--epochs", "1", "--limit", "300", "--seed", "0")
    assert result.exit_code == 0, result.stderr
    assert "model.npz" in result.stderr
    model, _meta = load_model(tmp_path / "model.npz")
    assert model.count_params() == 93_322


# --- options that do nothing are refused ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["edges", "IMG", "--output-kind", "angle", "--threshold", "0.3"], "means nothing"),
        (["edges", "IMG", "-o", "OUT.npy", "--bits", "16"], "--bits does nothing"),
        (["edges", "IMG", "-o", "OUT.npy", "--compress", "9"], "--compress does nothing"),
        (["edges", "DIR", "-o", "OUTDIR", "--format", "tiff", "--bits", "16"], "--bits"),
        (["grad-input", "IMG", "-o", "OUT.npy", "--bits", "16"], "--bits does nothing"),
        (["grad-input", "IMG", "--wrt", "kernel", "--bits", "16"], "--bits does nothing"),
    ],
)
def test_options_that_do_nothing_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    image = png(tmp_path / "in" / "a.png")
    names = {
        "IMG": str(image),
        "OUT.npy": str(tmp_path / "o.npy"),
        "DIR": str(tmp_path / "in"),
        "OUTDIR": str(tmp_path / "out"),
    }
    result = run(*[names.get(a, a) for a in args])
    assert result.exit_code == 2 and message in result.stderr
    assert not (tmp_path / "o.npy").exists() and not (tmp_path / "out").exists()


def test_mirror_pad_takes_one_pixel_images_as_ndimage_does(tmp_path: Path) -> None:
    image = png(tmp_path / "row.png", shape=(1, 9))
    result = run("edges", str(image), "--pad", "mirror", "-o", str(tmp_path / "e.npy"))
    assert result.exit_code == 0, result.stderr
    assert np.load(tmp_path / "e.npy").shape == (1, 9)


# --- help that says what it does ---------------------------------------------------------------


def test_output_kind_help_names_the_axes() -> None:
    result = run("edges", "--help")
    text = " ".join(result.stdout.split())
    assert "x is the derivative along the rows" in text and "OpenCV" in text


def test_compress_help_says_what_each_level_does() -> None:
    text = " ".join(run("edges", "--help").stdout.split())
    assert "never larger than 1" in text


# --- shell habits -----------------------------------------------------------------------------


def complete(words: str, cword: int) -> str:
    env = {
        **os.environ,
        "_SOBELCLI_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
    }
    code = "from sobelcli.cli.main import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    return done.stdout


@pytest.mark.parametrize(
    ("words", "cword"),
    [
        ("sobelcli edges sam", 2),
        ("sobelcli edges a.png -o ou", 4),
        ("sobelcli grad-input sam", 2),
        ("sobelcli gradcheck sam", 2),
        ("sobelcli maximize -o ou", 3),
    ],
)
def test_file_arguments_complete_file_names(words: str, cword: int) -> None:
    assert "file," in complete(words, cword)


def test_kernel_names_complete() -> None:
    out = complete("sobelcli grad-input a.png -k sob", 4)
    assert "plain,sobel-x" in out and "plain,sobel-y" in out


def test_tables_in_a_log_never_wrap_a_path(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "square.png"
    deep.parent.mkdir(parents=True)
    deep.write_bytes((SAMPLES / "square.png").read_bytes())
    code = "from sobelcli.cli.main import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "gradcheck", str(deep), "--pixels", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert any(str(deep) in line for line in done.stderr.splitlines())


# --- outputs users ask for --------------------------------------------------------------------


def test_dev_null_takes_any_command_output(tmp_path: Path) -> None:
    image = png(tmp_path / "a.png")
    for args in (["edges", str(image)], ["grad-input", str(image)], ["maximize", "--steps", "2"]):
        result = run(*args, "-o", "/dev/null")
        assert result.exit_code == 0, (args, result.stderr)


def test_stdin_with_format_writes_that_format_on_stdout(tmp_path: Path) -> None:
    image = png(tmp_path / "a.png")
    code = "from sobelcli.cli.main import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "edges", "-", "--format", "npy"],
        input=image.read_bytes(),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert b"-o -" not in done.stderr
    array = np.load(__import__("io").BytesIO(done.stdout))
    assert array.shape == (14, 16) and array.dtype == np.float64


@pytest.mark.parametrize(
    ("suffix", "kind"), [(".jpg", "JPEG"), (".jpeg", "JPEG"), (".webp", "WEBP")]
)
def test_jpeg_and_webp_outputs_with_quality(tmp_path: Path, suffix: str, kind: str) -> None:
    from PIL import Image

    image = png(tmp_path / "a.png")
    sizes = {}
    for quality in (20, 95):
        out = tmp_path / f"e{quality}{suffix}"
        result = run("edges", str(image), "-o", str(out), "--quality", str(quality))
        assert result.exit_code == 0, result.stderr
        with Image.open(out) as im:
            assert im.format == kind and im.size == (16, 14)
        sizes[quality] = out.stat().st_size
    assert sizes[20] < sizes[95]
    assert run("edges", str(image), "-o", str(tmp_path / "e.png"), "--quality", "50").exit_code == 2


def test_maximize_refuses_a_zarr_output(tmp_path: Path) -> None:
    result = run("maximize", "-o", str(tmp_path / "m.zarr"))
    assert result.exit_code == 2 and not (tmp_path / "m.zarr").exists()


# --- the summary accounts for every output ---------------------------------------------------


def test_summary_after_sigterm_counts_every_output_on_disk(tmp_path: Path) -> None:
    import signal
    import time

    src = tmp_path / "in"
    src.mkdir()
    for i in range(40):
        png(src / f"{i:02d}.png", seed=i, shape=(500, 700))
    out = tmp_path / "out"
    code = "from sobelcli.cli.main import main; main()"
    argv = [sys.executable, "-c", code, "edges", str(src), "-o", str(out), "--json", "-j", "2"]
    argv += ["--compress", "9"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            out.exists() and len(list(out.glob("*.png"))) >= 3
        ):
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    summary = [json.loads(line) for line in stdout.splitlines()][-1]
    on_disk = sorted(p.name for p in out.glob("*.png"))
    reported = [json.loads(line) for line in stdout.splitlines()][:-1]
    ok = sorted(Path(r["output"]).name for r in reported if r["status"] == "ok")
    assert proc.returncode == 143 and summary["interrupted"] is True
    assert summary["ok"] == len(on_disk) and ok == on_disk
    assert not list(out.glob(".*.part"))


def test_png_options_are_taken_by_a_batch_into_a_new_folder(tmp_path: Path) -> None:
    png(tmp_path / "in" / "a.png")
    args = [str(tmp_path / "in"), "-o", str(tmp_path / "new"), "--compress", "9", "--bits", "16"]
    result = run("edges", *args)
    assert result.exit_code == 0, result.stderr
    assert iio.imread(tmp_path / "new" / "a_edges.png").dtype == np.uint16
