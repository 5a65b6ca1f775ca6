"""``grad-input`` in strips: dL/dX of a big image, two correlations a strip (see streaming.py).

The decision and the shared steps (the source, the sink, the progress bar) are
:mod:`sobelcli.cli.streaming`'s; this module holds what only the gradient needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sobelcli import names
from sobelcli.cli import streaming

if TYPE_CHECKING:  # pragma: no cover
    from sobelcli.cli.batch import Done, Task
    from sobelcli.cli.commands.grad_input import GradJob


class _LossGradient:
    """dL/dY of ``Y = K * X`` as a row source, computed from the image's rows as they are asked.

    ``value`` adds up L over the rows handed out (each once per pass, top to bottom).
    """

    def __init__(self, image: Any, kernel: Any, loss: Any, method: str, correlate: Any) -> None:
        import numpy as np

        self.image, self.kernel, self.loss = image, kernel, loss
        self.method, self.correlate = method, correlate
        kh, kw = kernel.shape
        self.shape = (image.shape[0] - kh + 1, image.shape[1] - kw + 1)
        self.dtype = np.dtype(np.float64)
        # The direct sum takes another path below this many output rows (see stream_conv).
        self.least = -(-int(np.count_nonzero(kernel)) // self.shape[1])
        self.value = 0.0

    def read_rows(self, r0: int, r1: int) -> Any:
        import numpy as np

        kh = self.kernel.shape[0]
        a = max(0, min(r0, r1 - self.least))
        b = min(self.shape[0], max(r1, a + self.least))
        y = self.correlate(self.image.read_rows(a, b + kh - 1), self.kernel, method=self.method)
        y = y[r0 - a : r1 - a]
        self.value += self.loss.value(y)
        dy = self.loss.grad(y)
        if not np.isfinite(dy).all():
            from sobelcli.io import ImageError

            raise ImageError(self.image.name, "values too large: L or its gradient overflows")
        return dy


def stream_grad_input(job: GradJob, task: Task) -> Done | None:
    """Write dL/dX of ``task`` in strips, or None to take the in-memory path."""
    fmt = streaming.stream_input(
        task.source, task.output, job.read.max_pixels, names.SHARED_STREAM_MIN_PIXELS
    )
    if fmt is None or not job.plain:
        return None
    import numpy as np

    from sobelcli.cli.batch import Done
    from sobelcli.core.correlate import choose_method, correlate2d
    from sobelcli.core.losses import get_loss
    from sobelcli.engine.stream import full_convolution_strips
    from sobelcli.io import ImageError

    source = streaming._open(task.source, fmt, job.read, np.float64, task.output)
    if source is None:
        return None
    k = np.asarray(job.kernel, dtype=np.float64)
    kh, kw = k.shape
    raw = Path(task.output).suffix.lower() != ".png"  # a PNG shows dL/dX min-max scaled
    with source:
        if kh > source.shape[0] or kw > source.shape[1]:
            shape_text = f"image of shape {source.shape} is smaller than the kernel {k.shape}"
            raise ImageError(task.source, shape_text)
        forward = choose_method(source.shape, k)
        dy = _LossGradient(source, k, get_loss(job.loss), forward, correlate2d)
        flipped = np.ascontiguousarray(k[::-1, ::-1])
        full = (dy.shape[0] + 2 * (kh - 1), dy.shape[1] + 2 * (kw - 1))
        method = choose_method(full, flipped)
        shape = source.shape
        passes = 1 if raw else 2
        low, high = np.inf, -np.inf

        def strips(progress: Callable[[int, int], None], done: int) -> Iterator[Any]:
            nonlocal low, high
            dy.value = 0.0
            for o0, g in full_convolution_strips(
                dy, k, correlate=correlate2d, method=method, strip_rows=streaming.STRIP_ROWS
            ):
                if not np.isfinite(g).all():
                    raise ImageError(task.source, "values too large: L or its gradient overflows")
                low, high = min(low, float(g.min())), max(high, float(g.max()))
                progress(done + o0 + g.shape[0], passes * shape[0])
                yield g

        dtype = np.float64 if Path(task.output).suffix.lower() == ".npy" else np.float32
        try:
            with (
                streaming._sink(task.output, shape, dtype, job.bits) as sink,
                streaming._progress("grad-input") as progress,
                np.errstate(over="ignore", invalid="ignore"),
            ):
                if not raw:
                    for _ in strips(progress, 0):
                        pass
                    span = high - low
                for g in strips(progress, (passes - 1) * shape[0]):
                    sink.write_rows(g if raw else (g - low) / (span if span > 0 else 1.0))
                if not np.isfinite(dy.value):  # before the commit: no output
                    raise ImageError(task.source, "values too large: L or its gradient overflows")
        except (ValueError, OSError) as exc:  # the commit's errors too
            raise streaming._as_image_error(exc, task.source, task.output) from None
    figures = {
        "wrt": "input",
        "kernel": job.kernel_name,
        "loss": job.loss,
        "L": float(dy.value),
        "min": low,
        "max": high,
    }
    return Done(list(shape), list(source.notes), figures=figures)
