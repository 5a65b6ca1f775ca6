"""``sobelcli predict``: classify pictures of digits with a model saved by ``sobelcli train``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

EPILOG = """\b
Examples:
  sobelcli predict model.npz digit.png
  sobelcli predict model.npz scans/*.png --json > labels.jsonl
  sobelcli predict model.npz sample.npy                  # a 28x28 array, taken as is
  sobelcli predict model.npz seven.jpg --show-input seen.png
  sobelcli predict model.npz --filters filters.png      # only draw the first-layer kernels"""


def _read_digit(path: str) -> tuple[Any, str]:
    """(28 x 28 float32 input, how it was made) for one file; ValueError names the file."""
    import numpy as np

    from sobelcli.nn.digits import mnist_like

    if path.lower().endswith(".npy"):
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise ValueError(f"{path}: not a readable .npy array ({exc})") from None
        if arr.dtype.kind not in "biuf" or arr.ndim != 2:
            raise ValueError(
                f"{path}: expected a 2-D array of numbers, got {arr.dtype} {arr.shape}"
            )
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise ValueError(f"{path}: holds NaN or infinite values")
        if arr.max() > 1.0:
            arr = arr / 255.0 if arr.max() <= 255 else arr / arr.max()
        if arr.shape == (28, 28):
            return arr.astype(np.float32), "28x28, as is"
        grey = arr
    else:
        from sobelcli.io import load_image

        grey = load_image(path)
    try:
        return mnist_like(grey), f"{grey.shape[1]}x{grey.shape[0]} -> 28x28"
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


@click.command(epilog=EPILOG)
@click.argument("model_path", metavar="MODEL.npz", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("images", nargs=-1, metavar="IMAGE...")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON line per image on stdout: file, label, probability, probabilities.",
)
@click.option(
    "--show-input",
    metavar="PNG",
    default=None,
    help="Also write the 28x28 inputs the network saw, side by side, as a PNG.",
)
@click.option(
    "--filters",
    "filters",
    metavar="PNG",
    default=None,
    help="Draw the model's 32 first-layer 3x3 kernels beside Sobel X and Y into PNG.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on stderr but errors.")
def command(
    model_path: Path,
    images: tuple[str, ...],
    as_json: bool,
    show_input: str | None,
    filters: str | None,
    quiet: bool,
) -> None:
    """Classify pictures of single digits with MODEL.npz (written by 'sobelcli train').

    \b
    Each IMAGE (PNG, JPEG, TIFF, BMP, GIF or .npy) is brought to MNIST's form first:
      grey; inverted if its background is light (MNIST is white ink on black);
      cropped to the ink; its longest side scaled to 20 px keeping the aspect ratio;
      placed in a 28x28 frame with its centre of mass at the centre.
    A 28x28 .npy array is used as it is (values 0-1, or 0-255 which are divided by 255).

    Prints the label and its probability per image: a table on stderr, or with --json one
    JSON object per line on stdout.
    """  # noqa: D301
    if not images and filters is None:
        raise click.UsageError("give at least one IMAGE (or --filters PNG)")

    import numpy as np

    from sobelcli.cli.nn_report import make_console
    from sobelcli.cli.options import check_outputs
    from sobelcli.io import atomic_write
    from sobelcli.io.png import encode_png
    from sobelcli.nn import ModelFileError, load_model
    from sobelcli.nn.filters import save_filter_grid

    paths = {"--show-input": show_input, "--filters": filters}
    check_outputs(
        {k: str(v) if v else None for k, v in paths.items()},
        [str(model_path), *images],
        suffixes={"--show-input": ".png", "--filters": ".png"},
        stdout=(),
    )
    try:
        model, _meta = load_model(model_path)
    except ModelFileError as exc:
        raise click.ClickException(str(exc)) from None
    inputs, notes, readable, failed = [], [], [], 0
    for path in images:  # a bad picture is reported and the others still classified
        try:
            digit, note = _read_digit(path)
        except ValueError as exc:  # ImageError is a ValueError too
            message = str(exc) if path in str(exc) else f"{path}: {exc}"
            click.echo(f"error: {message}", err=True)
            if as_json:  # the JSON lines account for every IMAGE
                click.echo(f'{{"file": {json.dumps(path)}, "error": {json.dumps(message)}}}')
            failed += 1
            continue
        inputs.append(digit)
        notes.append(note)
        readable.append(path)
    images = tuple(readable)
    console = make_console(quiet)
    try:
        if filters is not None:
            save_filter_grid(filters, model.layers[0].params["kernel"])
            console.print(
                f"Drew the first-layer kernels beside Sobel X and Y in {filters}", markup=False
            )
        if show_input is not None and inputs:
            strip = np.concatenate([np.pad(d, 2) for d in inputs], axis=1)
            atomic_write(show_input, encode_png(np.round(strip * 255).astype(np.uint8)))
    except OSError as exc:
        raise click.ClickException(f"cannot write: {exc}") from None
    if not inputs:
        if failed:
            raise click.exceptions.Exit(1)
        return
    probs = model.predict_proba(np.stack(inputs)[..., None])
    labels = probs.argmax(axis=1)
    if as_json:
        for path, p, label, note in zip(images, probs, labels, notes, strict=True):
            click.echo(
                json.dumps(
                    {
                        "file": path,
                        "label": int(label),
                        "probability": float(p[label]),
                        "probabilities": [round(float(v), 6) for v in p],
                        "input": note,
                    }
                )
            )
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
    for path, p, label, note in zip(images, probs, labels, notes, strict=True):
        second = int(np.argsort(p)[-2])
        table.add_row(path, str(int(label)), f"{p[label]:.4f}", f"{second} ({p[second]:.4f})", note)
    if not as_json:
        console.print(table)
    if failed:
        raise click.exceptions.Exit(1)
