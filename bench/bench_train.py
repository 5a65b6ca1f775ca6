"""Train the lab's CNN for real on MNIST and time it; optionally the same in PyTorch.

Usage:
    python bench/bench_train.py [DATA_DIR] [--epochs 5] [--seed 0] [--workers N]
                                [--torch-python /path/to/python-with-torch]

DATA_DIR defaults to ../shared/mnist beside the repo. Prints the per-epoch time, the
validation and test metrics, and the peak resident memory (ru_maxrss). If torch is
importable here, or --torch-python names an interpreter that has it, the same model,
data, batches and optimizer (RMSprop lr 1e-3, rho 0.9, eps 1e-7) are also trained in
PyTorch on the CPU with as many threads, as a reference. torch is never a dependency.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT_DATA = REPO.parent / "shared" / "mnist"


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB.

    /proc/self/status's VmHWM belongs to this address space alone; getrusage's ru_maxrss is
    kept across execve on Linux, so it reports the parent's peak when ``make bench`` (which
    first benchmarks 4096² images) starts this script.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench_numpy(data_dir: Path, epochs: int, seed: int, workers: int | None) -> dict:
    import numpy as np

    from sobelcli.nn import evaluate, fit, lab_cnn, load_mnist, split_validation
    from sobelcli.nn.train import default_workers

    data = load_mnist(data_dir)
    xt, yt, xv, yv = split_validation(data.train_images, data.train_labels)
    model = lab_cnn(seed=seed)
    nw = workers or default_workers()
    print(
        f"numpy core: {len(xt)} train / {len(xv)} validation / {len(data.test_images)} test, "
        f"{model.count_params():,} params, {nw} worker thread(s)",
        flush=True,
    )

    cpu: list[float] = []
    marks: dict[str, float] = {}

    def on_batch(step: int, steps: int, loss: float, acc: float) -> None:
        # CPU seconds of the epoch's training (both threads), a figure that other jobs
        # sharing the cores disturb less than the wall-clock time.
        if step == 1:
            marks["start"] = time.process_time()
        if step == steps:
            cpu.append(time.process_time() - marks["start"])

    def on_epoch(row: dict) -> None:
        print(
            f"  epoch {row['epoch']}: {row['seconds']:.1f} s (cpu {cpu[-1]:.1f} s)  "
            f"loss {row['loss']:.4f}  acc {row['accuracy']:.4f}  "
            f"val_loss {row['val_loss']:.4f}  val_acc {row['val_accuracy']:.4f}",
            flush=True,
        )

    history = fit(
        model,
        xt,
        yt,
        epochs=epochs,
        validation=(xv, yv),
        rng=np.random.default_rng(seed),
        workers=nw,
        on_batch=on_batch,
        on_epoch=on_epoch,
    )
    t = time.perf_counter()
    loss, acc = evaluate(model, data.test_images, data.test_labels, workers=nw)
    eval_s = time.perf_counter() - t
    result = {
        "epoch_seconds": [round(h["seconds"], 2) for h in history],
        "epoch_cpu_seconds": [round(c, 2) for c in cpu],
        "test_loss": loss,
        "test_accuracy": acc,
        "test_eval_seconds": round(eval_s, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "workers": nw,
    }
    print(f"  test loss {loss:.4f}  accuracy {acc:.4f} (evaluated in {eval_s:.1f} s)")
    print(f"  peak RSS {result['peak_rss_mb']:.0f} MB")
    return result


def bench_torch(data_dir: Path, epochs: int, seed: int, threads: int) -> dict:
    import numpy as np
    import torch
    from torch import nn

    from sobelcli.nn.mnist import load_mnist

    torch.set_num_threads(threads)
    # Without this, torch on this CPU slows down as gradients shrink into denormal floats
    # (measured: 13.5 vs 17.4 ms a batch early on, and far worse later); numpy's float32
    # path here did not show it.
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    data = load_mnist(data_dir)
    n_train = int(len(data.train_images) * 0.8)

    def tensor(images: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)

    x, y = (
        tensor(data.train_images[:n_train]),
        torch.from_numpy(data.train_labels[:n_train].astype(np.int64)),
    )
    xtest = tensor(data.test_images)
    ytest = torch.from_numpy(data.test_labels.astype(np.int64))
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(576, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )
    for m in model:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    lossf = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    times: list[float] = []
    cpu: list[float] = []
    print(
        f"torch {torch.__version__} CPU, {threads} thread(s), "
        f"{sum(p.numel() for p in model.parameters()):,} params",
        flush=True,
    )
    for epoch in range(1, epochs + 1):
        order = torch.from_numpy(rng.permutation(n_train))
        t, c = time.perf_counter(), time.process_time()
        model.train()
        for i in range(0, n_train, 64):
            idx = order[i : i + 64]
            opt.zero_grad()
            loss = lossf(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        print(f"  epoch {epoch}: {times[-1]:.1f} s (cpu {cpu[-1]:.1f} s)", flush=True)
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(xtest[i : i + 500]) for i in range(0, len(xtest), 500)])
        test_loss = float(lossf(logits, ytest))
        acc = float((logits.argmax(1) == ytest).float().mean())
    print(f"  test loss {test_loss:.4f}  accuracy {acc:.4f}")
    return {
        "epoch_seconds": [round(s, 2) for s in times],
        "epoch_cpu_seconds": [round(s, 2) for s in cpu],
        "test_loss": test_loss,
        "test_accuracy": acc,
        "threads": threads,
        "torch": torch.__version__,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--torch-python", default=None, help="an interpreter that has torch")
    ap.add_argument("--torch-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--skip-numpy", action="store_true", help="only the torch reference")
    args = ap.parse_args()
    threads = args.workers or min(2, len(os.sched_getaffinity(0)))
    if args.torch_only:
        print("RESULT " + json.dumps(bench_torch(args.data, args.epochs, args.seed, threads)))
        return
    results = {}
    if not args.skip_numpy:
        results["numpy"] = bench_numpy(args.data, args.epochs, args.seed, args.workers)
    try:
        import torch  # noqa: F401

        results["torch"] = bench_torch(args.data, args.epochs, args.seed, threads)
    except ImportError:
        if args.torch_python:
            cmd = [
                args.torch_python,
                __file__,
                str(args.data),
                "--epochs",
                str(args.epochs),
                "--seed",
                str(args.seed),
                "--torch-only",
                "--workers",
                str(threads),
            ]
            found = []
            with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
                assert proc.stdout is not None
                for line in proc.stdout:  # stream the reference's progress
                    if line.startswith("RESULT "):
                        found.append(json.loads(line[len("RESULT ") :]))
                    else:
                        print(line, end="", flush=True)
            if found:
                results["torch"] = found[-1]
            else:
                print(f"torch reference failed (exit {proc.returncode})")
        else:
            print("torch is not importable here (pass --torch-python to compare)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
