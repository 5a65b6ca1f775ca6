"""Training on the shipped MNIST slice, and the train / predict commands end to end."""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from click.testing import CliRunner

from sobelcli.cli.commands.predict import command as predict
from sobelcli.cli.commands.train import command as train
from sobelcli.nn import evaluate, fit, lab_cnn, load_mnist, load_model, split_validation

SLICE = Path(__file__).resolve().parent.parent / "data" / "mnist-small"
EPOCHS = 4


def run(cmd, args):
    result = CliRunner().invoke(cmd, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One real training run on the slice through the CLI: model, filters, JSON."""
    out = tmp_path_factory.mktemp("train")
    model, filters = out / "model.npz", out / "filters.png"
    result = run(
        train,
        [
            "--data",
            SLICE,
            "--epochs",
            EPOCHS,
            "--seed",
            0,
            "-o",
            model,
            "--filters",
            filters,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return model, filters, report, result


def test_training_learns(trained):
    _, _, report, _ = trained
    history = report["history"]
    assert len(history) == EPOCHS
    assert history[-1]["loss"] < history[0]["loss"]
    assert report["train_samples"] == 2400 and report["validation_samples"] == 600
    assert report["params"] == 93_322
    assert history[-1]["val_accuracy"] > 0.9
    assert report["test"]["accuracy"] > 0.9, report["test"]


def test_train_output_on_stderr(trained):
    _, _, _, result = trained
    err = result.stderr
    assert "93,322" in err and "conv2d_2 (Conv2D)" in err and "(None, 3, 3, 64)" in err
    assert f"Epoch {EPOCHS}/{EPOCHS}" in err and "val_accuracy" in err and "Test loss" in err


def test_model_file_and_filters(trained):
    model_path, filters, report, _ = trained
    model, meta = load_model(model_path)
    assert meta["history"] == report["history"] and meta["seed"] == 0
    pic = iio.imread(filters)
    assert pic.ndim == 2 and pic.dtype == np.uint8 and pic.shape[1] > pic.shape[0]
    data = load_mnist(SLICE)
    _, acc = evaluate(model, data.test_images, data.test_labels)
    assert acc == pytest.approx(report["test"]["accuracy"])


def test_seed_makes_training_reproducible():
    data = load_mnist(SLICE).limit(300)
    xt, yt, _, _ = split_validation(data.train_images, data.train_labels)
    runs = []
    for _ in range(2):
        model = lab_cnn(seed=7)
        history = fit(model, xt, yt, epochs=1, rng=np.random.default_rng(7))
        runs.append((history[0]["loss"], model.layers[0].params["kernel"].copy()))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_workers_do_not_change_the_result_beyond_rounding():
    data = load_mnist(SLICE).limit(200)
    out = []
    for workers in (1, 2):
        model = lab_cnn(seed=1)
        fit(
            model,
            data.train_images,
            data.train_labels,
            epochs=1,
            rng=np.random.default_rng(1),
            workers=workers,
        )
        out.append(model.layers[-1].params["kernel"])
    np.testing.assert_allclose(out[0], out[1], rtol=1e-3, atol=1e-5)


def test_predict_digits_from_the_slice(trained, tmp_path):
    model_path = trained[0]
    data = load_mnist(SLICE)
    files, expected = [], []
    for i in range(8):
        img = data.test_images[i]
        if i % 2:  # dark ink on white, three times larger: must be normalised back
            img = 255 - np.kron(img, np.ones((3, 3), np.uint8))
        path = tmp_path / f"digit{i}.png"
        iio.imwrite(path, img)
        files.append(path)
        expected.append(int(data.test_labels[i]))
    np.save(tmp_path / "raw.npy", data.test_images[0])
    files.append(tmp_path / "raw.npy")
    expected.append(int(data.test_labels[0]))
    result = run(predict, [model_path, *files, "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [line["input"] for line in lines] == [str(f) for f in files]
    assert all(line["status"] == "ok" for line in lines)
    # MNIST's own 28 x 28 pictures go in as they are; the enlarged, inverted ones are prepared
    prepared = [line["prepared"] for line in lines]
    assert prepared[0] == "28x28, as is" and prepared[1] == "84x84 -> 28x28"
    got = [line["label"] for line in lines]
    assert sum(g == e for g, e in zip(got, expected, strict=True)) >= len(expected) - 1, (
        got,
        expected,
    )
    assert all(0 <= line["probability"] <= 1 and len(line["probabilities"]) == 10 for line in lines)


def test_predict_table_and_show_input(trained, tmp_path):
    data = load_mnist(SLICE)
    iio.imwrite(tmp_path / "d.png", data.test_images[1])
    seen = tmp_path / "seen.png"
    result = run(predict, [trained[0], tmp_path / "d.png", "--show-input", seen])
    assert result.exit_code == 0, result.output
    assert "Probability" in result.stderr and "28x28, as is" in result.stderr
    assert result.stdout == ""
    assert iio.imread(seen).shape == (32, 32)


@pytest.mark.parametrize("case", ["missing", "blank", "not-image"])
def test_predict_bad_image(trained, tmp_path, case):
    path = tmp_path / f"{case}.png"
    if case == "blank":
        iio.imwrite(path, np.zeros((10, 10), np.uint8))
    elif case == "not-image":
        path.write_bytes(b"not a picture")
    result = run(predict, [trained[0], path])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and str(path) in result.output


def test_predict_bad_model(tmp_path):
    bad = tmp_path / "model.npz"
    bad.write_bytes(b"junk")
    result = run(predict, [bad, tmp_path / "x.png"])
    assert result.exit_code == 1 and "model.npz" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_predict_needs_an_image(trained):
    assert run(predict, [trained[0]]).exit_code == 2


def copy_slice(dst: Path) -> Path:
    dst.mkdir()
    for f in SLICE.glob("*.gz"):
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


@pytest.mark.parametrize("case", ["missing-folder", "missing-file", "truncated", "wrong-magic"])
def test_train_bad_data(tmp_path, case):
    data = tmp_path / "nowhere"
    if case != "missing-folder":
        data = copy_slice(tmp_path / "mnist")
        f = data / "t10k-images-idx3-ubyte.gz"
        if case == "missing-file":
            f.unlink()
        elif case == "truncated":
            f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 2])
        else:
            f.write_bytes((data / "t10k-labels-idx1-ubyte.gz").read_bytes())
    out = tmp_path / "model.npz"
    result = run(train, ["--data", data, "-o", out, "--epochs", 1])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert (data.name if case == "missing-folder" else "t10k-images-idx3-ubyte") in lines[0]
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".npz" or ".tmp" in p.name] == []


@pytest.mark.parametrize(
    "args", [["--epochs", 0], ["--lr", 0], ["--batch-size", -1], ["--limit", 2]]
)
def test_train_bad_options(tmp_path, args):
    result = run(train, ["--data", SLICE, *args])
    assert result.exit_code == 2


def test_train_unwritable_output_fails_before_training(tmp_path):
    result = run(train, ["--data", SLICE, "-o", tmp_path / "no" / "such" / "m.npz"])
    assert result.exit_code == 2 and "m.npz" in result.output


def test_help_teaches():
    for cmd in (train, predict):
        text = CliRunner().invoke(cmd, ["--help"]).output
        assert "Examples:" in text and "\\b" not in text
    assert "93,322" in CliRunner().invoke(train, ["--help"]).output


def test_predict_goes_on_past_a_bad_picture(trained, tmp_path):
    data = load_mnist(SLICE)
    good = tmp_path / "good.png"
    iio.imwrite(good, data.test_images[2])
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture")
    result = run(predict, [trained[0], bad, good, "--json"])
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["input"] for line in lines] == [str(bad), str(good)]
    assert [line["status"] for line in lines] == ["error", "ok"]
    assert "error" in lines[0] and lines[1]["label"] in range(10)
    assert f"error: {bad}" in result.stderr
