"""What ``sobelcli train`` shows on stderr: a Keras-like summary, progress, epoch lines.

Everything goes through one rich Console on stderr. rich drops colour by itself when
stderr is not a terminal or ``NO_COLOR`` is set; the progress bar is drawn only on a
terminal, and ``quiet`` silences everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from sobelcli.nn.model import Sequential

__all__ = ["EpochReporter"]


class EpochReporter:
    """Summary table, one progress bar per epoch, and a line of metrics after each epoch."""

    def __init__(self, console: Console, model: Sequential, epochs: int) -> None:
        self.console = console
        self.model = model
        self.epochs = epochs
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def summary(self, n_train: int, n_val: int, n_test: int, seed: int) -> None:
        """The model table, like Keras' ``summary(model)``, and the data sizes."""
        from rich.table import Table

        from sobelcli.cli.report import table_box

        total = self.model.count_params()
        table = Table(
            title="Model: the lab's CNN (channels last)",
            title_justify="left",
            caption=f"Total params: {total:,} (all trainable)",
            caption_justify="left",
            box=table_box(),
        )
        table.add_column("Layer (type)")
        table.add_column("Output Shape")
        table.add_column("Param #", justify="right")
        for row in self.model.summary_rows():
            table.add_row(*row)
        self.console.print(table)
        self.console.print(
            f"Training on {n_train:,} images, validating on {n_val:,} (the last 20%), "
            f"testing on {n_test:,}; seed {seed}",
            markup=False,
        )

    def batch(self, step: int, steps: int, loss: float, accuracy: float) -> None:
        """Advance the epoch's bar (created on the first batch; only on a terminal)."""
        if not self.console.is_terminal or self.console.quiet:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}  accuracy {task.fields[acc]:.4f}"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
        if self._task is None:
            epoch = len(getattr(self, "_done", [])) + 1
            self._task = self._progress.add_task(
                f"Epoch {epoch}/{self.epochs}", total=steps, loss=loss, acc=accuracy
            )
        self._progress.update(self._task, completed=step, loss=loss, acc=accuracy)

    def epoch(self, row: dict[str, float]) -> None:
        """One line of the epoch's metrics, after its bar is removed."""
        if self._progress is not None and self._task is not None:
            self._progress.remove_task(self._task)
            self._task = None
        self._done = [*getattr(self, "_done", []), row]
        text = (
            f"Epoch {int(row['epoch'])}/{self.epochs}  {row['seconds']:.1f} s  "
            f"loss {row['loss']:.4f}  accuracy {row['accuracy']:.4f}"
        )
        if "val_loss" in row:
            text += f"  val_loss {row['val_loss']:.4f}  val_accuracy {row['val_accuracy']:.4f}"
        self.console.print(text, markup=False)

    def close(self) -> None:
        """Stop the live display (safe to call twice)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
