"""``sobelcli predict``: classify pictures of digits with a model saved by ``sobelcli train``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from sobelcli.cli.options import PATH, quiet_option

EPILOG = """\b
Examples:
  sobelcli predict model.npz digit.png
  sobelcli predict model.npz scans/*.png --json > labels.jsonl
  sobelcli predict model.npz sample.npy                  # a 28x28 array, taken as is
  sobelcli predict model.npz seven.jpg --show-input seen.png
  sobelcli predict model.npz --filters filters.png      # only draw the first-layer kernels"""


def _read_digit(path: str, raw: bool) -> tuple[Any, str]:
    """(28 x 28 float32 input, how it was made) for one file; ValueError names the file.

    A 28 x 28 picture on a dark background is already in MNIST's form and goes in as it is
    (so does any 28 x 28 picture with ``raw``); anything else is brought to that form.
    """
    import numpy as np

    from sobelcli import io as sio
    from sobelcli.nn.digits import mnist_like

    if path.lower().endswith(".npy"):
        arr = sio.read_array(path, max_bytes=1 << 26)  # the header is checked before reading
        if arr.dtype.kind not in "biuf" or arr.ndim != 2:
            raise ValueError(
                f"{path}: expected a 2-D array of numbers, got {arr.dtype} {arr.shape}"
            )
        grey: Any = arr.astype(np.float64)
        if not np.isfinite(grey).all():
            raise ValueError(f"{path}: holds NaN or infinite values")
        if grey.max() > 1.0:
            grey = grey / 255.0 if grey.max() <= 255 else grey / grey.max()
    else:
        grey = sio.load_image(path, max_pixels=1 << 26)
    if grey.shape == (28, 28) and (raw or _dark_background(grey)):
        return grey.astype(np.float32), "28x28, as is"
    if raw:
        raise ValueError(f"{path}: --raw takes 28 x 28 pictures, this one is {grey.shape}")
    try:
        return mnist_like(grey), f"{grey.shape[1]}x{grey.shape[0]} -> 28x28"
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _dark_background(grey: Any) -> bool:
    """True when the picture's 2-pixel border is mostly black, as MNIST's digits are."""
    import numpy as np

    border = np.concatenate(
        [grey[:2].ravel(), grey[-2:].ravel(), grey[:, :2].ravel(), grey[:, -2:].ravel()]
    )
    return float(np.median(border)) < 0.1


@click.command(epilog=EPILOG)
@click.argument("model_path", metavar="MODEL.npz", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("images", nargs=-1, metavar="IMAGE...", type=PATH)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON line per image on stdout: file, label, probability, probabilities.",
)
@click.option(
    "--show-input",
    type=PATH,
    metavar="PNG",
    default=None,
    help="Also write the 28x28 inputs the network saw, side by side, as a PNG.",
)
@click.option(
    "--filters",
    "filters",
    type=PATH,
    metavar="PNG",
    default=None,
    help="Draw the model's 32 first-layer 3x3 kernels beside Sobel X and Y into PNG.",
)
@click.option(
    "--raw",
    is_flag=True,
    help="Take 28x28 pictures as they are (MNIST's form), whatever their background.",
)
@quiet_option
def command(
    model_path: Path,
    images: tuple[str, ...],
    as_json: bool,
    show_input: str | None,
    filters: str | None,
    raw: bool,
    quiet: bool,
) -> None:
    """Classify pictures of single digits with MODEL.npz (written by 'sobelcli train').

    \b
    Each IMAGE (PNG, JPEG, TIFF, BMP, GIF or .npy) is brought to MNIST's form first:
      grey; inverted if its background is light (MNIST is white ink on black);
      cropped to the ink; its longest side scaled to 20 px keeping the aspect ratio;
      placed in a 28x28 frame with its centre of mass at the centre.
    A 28x28 picture on a dark background (MNIST's own form) and a 28x28 .npy array are
    used as they are (values 0-1, or 0-255 which are divided by 255); --raw takes every
    28x28 picture as it is.

    Prints the label and its probability per image: a table on stderr, or with --json one
    JSON object per line on stdout.
    """  # noqa: D301
    if not images and filters is None:
        raise click.UsageError("give at least one IMAGE (or --filters PNG)")
    from sobelcli.cli import report
    from sobelcli.cli.options import check_outputs

    paths = {"--show-input": show_input, "--filters": filters}
    check_outputs(
        {k: str(v) if v else None for k, v in paths.items()},
        [str(model_path), *images],
        suffixes={"--show-input": ".png", "--filters": ".png"},
        stdout=(),
    )
    model = _load(model_path)
    digits = [_digit_or_error(path, raw) for path in images]  # in input order
    console = report.console(quiet)
    _side_outputs(model, [d for d in digits if "digit" in d], show_input, filters, console)
    records = _classify(model, digits)
    for record in records:
        if record["status"] == "error":
            click.echo(f"error: {record['error']}", err=True)
        if as_json:
            click.echo(json.dumps(record, allow_nan=False))
    if not as_json and any(r["status"] == "ok" for r in records):
        _table(model_path, records, console)
    if any(r["status"] == "error" for r in records):
        raise click.exceptions.Exit(1)


def _load(model_path: Path) -> Any:
    from sobelcli.nn import ModelFileError, load_model

    try:
        model, _meta = load_model(model_path)
    except ModelFileError as exc:
        raise click.ClickException(str(exc)) from None
    return model


def _digit_or_error(path: str, raw: bool) -> dict[str, Any]:
    """``{"input", "digit", "prepared"}``, or ``{"input", "error"}`` for a bad picture."""
    try:
        digit, note = _read_digit(path, raw)
    except ValueError as exc:  # ImageError is a ValueError too
        return {"input": path, "error": str(exc) if path in str(exc) else f"{path}: {exc}"}
    return {"input": path, "digit": digit, "prepared": note}


def _side_outputs(
    model: Any,
    digits: list[dict[str, Any]],
    show_input: str | None,
    filters: str | None,
    console: Any,
) -> None:
    import numpy as np

    from sobelcli.io import atomic_write
    from sobelcli.io.png import encode_png
    from sobelcli.nn.filters import save_filter_grid

    try:
        if filters is not None:
            save_filter_grid(filters, model.layers[0].params["kernel"])
            console.print(
                f"Drew the first-layer kernels beside Sobel X and Y in {filters}", markup=False
            )
        if show_input is not None and digits:
            strip = np.concatenate([np.pad(d["digit"], 2) for d in digits], axis=1)
            atomic_write(show_input, encode_png(np.round(strip * 255).astype(np.uint8)))
    except OSError as exc:
        raise click.ClickException(f"cannot write: {exc}") from None


def _classify(model: Any, digits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One JSON record per IMAGE, in order: its label, or its error."""
    import numpy as np

    ok = [d for d in digits if "digit" in d]
    probs = model.predict_proba(np.stack([d["digit"] for d in ok])[..., None]) if ok else []
    found = {id(d): p for d, p in zip(ok, probs, strict=True)}
    records = []
    for d in digits:
        p = found.get(id(d))
        if p is None:
            records.append({"status": "error", "input": d["input"], "error": d["error"]})
        elif not np.isfinite(p).all():
            message = f"{d['input']}: the model's output is not a number (its weights overflow)"
            records.append({"status": "error", "input": d["input"], "error": message})
        else:
            label = int(p.argmax())
            records.append(
                {
                    "status": "ok",
                    "input": d["input"],
                    "label": label,
                    "probability": float(p[label]),
                    "probabilities": [round(float(v), 6) for v in p],
                    "runner_up": int(np.argsort(p)[-2]),
                    "prepared": d["prepared"],
                }
            )
    return records


def _table(model_path: Path, records: list[dict[str, Any]], console: Any) -> None:
    from rich.table import Table

    from sobelcli.cli.report import table_box

    table = Table(title=f"Digits by {model_path}", title_justify="left", box=table_box())
    for name, justify in (
        ("Image", "left"),
        ("Label", "right"),
        ("Probability", "right"),
        ("Runner-up", "right"),
        ("Input", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for r in (r for r in records if r["status"] == "ok"):
        second = r["runner_up"]
        table.add_row(
            r["input"],
            str(r["label"]),
            f"{r['probability']:.4f}",
            f"{second} ({r['probabilities'][second]:.4f})",
            r["prepared"],
        )
    console.print(table)
