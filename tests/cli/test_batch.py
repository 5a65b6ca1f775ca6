"""Batches: several IMAGEs, folders and patterns through edges and grad-input, in parallel."""

from __future__ import annotations

import functools
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from sobelcli.cli.batch import inputs, pool, types
from sobelcli.cli.batch import plan as batch_plan
from sobelcli.io import ImageError
from tests.cli.helpers import png as _png
from tests.cli.helpers import run

png = functools.partial(_png, shape=(20, 30))  # this file's default picture


def bomb_png(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )
    return path


def lines(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def hidden(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*")]


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A folder of good, corrupt, empty and huge-claiming images."""
    d = tmp_path / "in"
    png(d / "good1.png", 1)
    png(d / "good2.png", 2)
    (d / "corrupt.png").write_bytes(png(tmp_path / "x.png").read_bytes()[:70])
    (d / "empty.png").write_bytes(b"")
    bomb_png(d / "huge.png")
    (d / "notes.txt").write_text("not an image, not taken from a folder")
    return d


# --- the "done when" ------------------------------------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_folder_with_good_and_bad_files(mixed: Path, tmp_path: Path, jobs: str) -> None:
    out = tmp_path / "out"
    result = run("edges", str(mixed), "-o", str(out), "--json", "--jobs", jobs)
    assert result.exit_code == 1
    docs = lines(result)
    summary = docs.pop()
    assert summary == {
        **summary,
        "summary": True,
        "ok": 2,
        "error": 3,
        "skipped": 0,
        "cancelled": 0,
        "interrupted": False,
    }
    by_name = {Path(d["input"]).name: d for d in docs}
    assert set(by_name) == {"good1.png", "good2.png", "corrupt.png", "empty.png", "huge.png"}
    for name in ("good1", "good2"):
        doc = by_name[f"{name}.png"]
        assert doc["status"] == "ok" and doc["error"] is None and doc["shape"] == [18, 28]
        assert doc["output"] == str(out / f"{name}_edges.png")
        assert iio.imread(out / f"{name}_edges.png").shape == (18, 28)
    for name, why in [("corrupt", "cannot decode"), ("empty", "empty"), ("huge", "over the limit")]:
        doc = by_name[f"{name}.png"]
        assert doc["status"] == "error" and doc["shape"] is None and why in doc["error"]
        assert name in doc["error"]
        assert not (out / f"{name}_edges.png").exists()
    assert sorted(p.name for p in out.iterdir()) == ["good1_edges.png", "good2_edges.png"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3 and "Traceback" not in result.stderr
    assert "2 written, 3 failed" in result.stderr


def test_batch_output_equals_single_runs(tmp_path: Path) -> None:
    files = [png(tmp_path / "in" / f"p{i}.png", i, shape=(40, 50)) for i in range(5)]
    for jobs in ("1", "2"):
        assert (
            run(
                "edges",
                str(tmp_path / "in"),
                "-o",
                str(tmp_path / f"o{jobs}"),
                "-j",
                jobs,
                "--pad",
                "reflect",
            ).exit_code
            == 0
        )
    for f in files:
        single = tmp_path / f"{f.stem}.png"
        assert run("edges", str(f), "-o", str(single), "--pad", "reflect").exit_code == 0
        for jobs in ("1", "2"):
            assert (
                tmp_path / f"o{jobs}" / f"{f.stem}_edges.png"
            ).read_bytes() == single.read_bytes()


# --- inputs: files, folders, patterns -------------------------------------------------------


def test_recursive_keeps_relative_paths(tmp_path: Path) -> None:
    d = tmp_path / "in"
    png(d / "a.png")
    png(d / "sub" / "b.png")
    png(d / "sub" / "deeper" / "c.png")
    png(d / ".hidden" / "h.png")
    out = tmp_path / "out"
    assert run("edges", str(d), "-o", str(out)).exit_code == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == ["a_edges.png"]
    assert run("edges", str(d), "-o", str(out), "-r", "--overwrite").exit_code == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == [
        "a_edges.png",
        "sub/b_edges.png",
        "sub/deeper/c_edges.png",
    ]


def test_patterns_are_expanded_when_the_shell_did_not(tmp_path: Path) -> None:
    d = tmp_path / "in"
    for name in ("a.png", "b.png", "c.jpg.txt"):
        png(d / name)
    png(d / "sub" / "s.png")
    out = tmp_path / "out"
    result = run("edges", str(d / "*.png"), "-o", str(out), "--json")
    assert result.exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["a_edges.png", "b_edges.png"]
    result = run("edges", str(d / "**" / "*.png"), "-o", str(tmp_path / "o2"), "-r")
    assert result.exit_code == 0
    assert (tmp_path / "o2" / "sub" / "s_edges.png").exists()
    result = run("edges", str(d / "*.gif"), "-o", str(tmp_path / "o3"), "--json")
    assert result.exit_code == 1
    assert "no file matches" in lines(result)[0]["error"]
    assert not (tmp_path / "o3").exists()


def test_several_files_go_beside_their_inputs_without_o(tmp_path: Path) -> None:
    a = png(tmp_path / "one" / "a.png")
    b = png(tmp_path / "two" / "b.png")
    missing = tmp_path / "missing.png"
    result = run("edges", str(a), str(b), str(missing), "--json")
    assert result.exit_code == 1
    assert (tmp_path / "one" / "a_edges.png").exists() and (
        tmp_path / "two" / "b_edges.png"
    ).exists()
    errors = [d for d in lines(result) if d.get("status") == "error"]
    assert len(errors) == 1 and "no such file" in errors[0]["error"]


def test_several_files_into_a_new_folder_by_name(tmp_path: Path) -> None:
    a = png(tmp_path / "one" / "a.png")
    b = png(tmp_path / "two" / "b.png")
    out = tmp_path / "made" / "here"
    assert run("edges", str(a), str(b), "-o", str(out)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["a_edges.png", "b_edges.png"]


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run("edges", str(tmp_path / "empty"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "no image files" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("fmt", "ext"), [("npy", ".npy"), ("tiff", ".tif")])
def test_format_sets_the_extension(tmp_path: Path, fmt: str, ext: str) -> None:
    png(tmp_path / "in" / "a.png")
    png(tmp_path / "in" / "b.png", 1)
    out = tmp_path / "out"
    assert (
        run(
            "edges", str(tmp_path / "in"), "-o", str(out), "--format", fmt, "--no-normalize"
        ).exit_code
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [f"a_edges{ext}", f"b_edges{ext}"]
    values = np.load(out / "a_edges.npy") if fmt == "npy" else iio.imread(out / "a_edges.tif")
    assert values.shape == (18, 28) and values.dtype.kind == "f" and values.max() > 1


# --- existing outputs and inputs ------------------------------------------------------------


def test_existing_outputs_error_skip_or_overwrite(tmp_path: Path) -> None:
    png(tmp_path / "in" / "a.png")
    png(tmp_path / "in" / "b.png", 1)
    out = tmp_path / "out"
    assert run("edges", str(tmp_path / "in"), "-o", str(out)).exit_code == 0
    (out / "a_edges.png").write_bytes(b"kept")
    result = run("edges", str(tmp_path / "in"), "-o", str(out), "--json")
    assert result.exit_code == 1
    assert {d["status"] for d in lines(result)[:-1]} == {"error"}
    assert "exists" in lines(result)[0]["error"] and (out / "a_edges.png").read_bytes() == b"kept"
    (out / "b_edges.png").unlink()
    result = run("edges", str(tmp_path / "in"), "-o", str(out), "--skip-existing", "--json")
    assert result.exit_code == 0
    assert [d["status"] for d in lines(result)[:-1]] == ["skipped", "ok"]
    assert lines(result)[-1]["skipped"] == 1 and (out / "a_edges.png").read_bytes() == b"kept"
    result = run("edges", str(tmp_path / "in"), "-o", str(out), "--overwrite")
    assert result.exit_code == 0 and iio.imread(out / "a_edges.png").shape == (18, 28)
    result = run("edges", str(tmp_path / "in"), "-o", str(out), "--overwrite", "--skip-existing")
    assert result.exit_code == 2 and "exclude each other" in result.stderr


def test_a_batch_never_writes_over_an_input(tmp_path: Path) -> None:
    a = png(tmp_path / "a.png")
    a_edges = png(tmp_path / "a_edges.png", 7)
    before = a_edges.read_bytes()
    result = run("edges", str(a), str(a_edges), "--json", "--overwrite")
    assert result.exit_code == 1
    docs = {d["input"]: d for d in lines(result)[:-1]}
    assert "is an input" in docs[str(a)]["error"]
    assert docs[str(a_edges)]["status"] == "ok"
    assert a_edges.read_bytes() == before


def test_rerun_on_a_folder_does_not_take_its_own_outputs(tmp_path: Path) -> None:
    png(tmp_path / "a.png")
    png(tmp_path / "b.png", 1)
    assert run("edges", str(tmp_path)).exit_code == 0
    result = run("edges", str(tmp_path), "--overwrite", "--json")
    assert result.exit_code == 0
    assert sorted(Path(d["input"]).name for d in lines(result)[:-1]) == ["a.png", "b.png"]
    assert not list(tmp_path.glob("*_edges_edges.png"))


def test_outputs_that_collide_are_errors(tmp_path: Path) -> None:
    png(tmp_path / "in" / "a.png")
    np.save(tmp_path / "in" / "a.npy", np.random.default_rng(0).random((10, 10)))
    result = run("edges", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json")
    assert result.exit_code == 1
    assert sum("also the output of" in (d["error"] or "") for d in lines(result)[:-1]) == 1


@pytest.mark.parametrize("case", ["file", "dash", "looks-like-file", "stdin-in-batch"])
def test_bad_batch_usage_exit_2(tmp_path: Path, case: str) -> None:
    a, b = png(tmp_path / "a.png"), png(tmp_path / "b.png", 1)
    args = {
        "file": [str(a), str(b), "-o", str(a)],
        "dash": [str(a), str(b), "-o", "-"],
        "looks-like-file": [str(a), str(b), "-o", str(tmp_path / "x.png")],
        "stdin-in-batch": [str(a), "-", "-o", str(tmp_path / "out")],
    }[case]
    result = run("edges", *args)
    assert result.exit_code == 2
    assert "Error:" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "out").exists()


# --- fail-fast, jobs, progress --------------------------------------------------------------


def test_fail_fast_stops_at_the_first_failure(tmp_path: Path) -> None:
    d = tmp_path / "in"
    (d).mkdir()
    (d / "a_bad.png").write_bytes(b"junk")
    for i in range(6):
        png(d / f"b{i}.png", i)
    out = tmp_path / "out"
    result = run("edges", str(d), "-o", str(out), "--fail-fast", "--jobs", "1", "--json")
    assert result.exit_code == 1
    summary = lines(result)[-1]
    assert summary["error"] == 1 and summary["ok"] == 0 and summary["cancelled"] == 6
    assert "stopped at the first failure" in result.stderr
    assert not out.exists() or not list(out.iterdir())
    result = run("edges", str(d), "-o", str(out), "--fail-fast", "--jobs", "2", "--json")
    assert result.exit_code == 1
    summary = lines(result)[-1]
    assert summary["error"] == 1 and summary["ok"] + summary["cancelled"] == 6
    assert not hidden(out) if out.exists() else True


def test_quiet_batch_prints_only_errors(mixed: Path, tmp_path: Path) -> None:
    result = run("edges", str(mixed), "-o", str(tmp_path / "out"), "--quiet")
    assert result.exit_code == 1
    assert all(line.startswith("error: ") for line in result.stderr.splitlines())
    assert len(result.stderr.splitlines()) == 3


def test_no_progress_bar_or_colour_when_not_a_terminal(mixed: Path, tmp_path: Path) -> None:
    result = run("edges", str(mixed), "-o", str(tmp_path / "out"))
    assert "\x1b[" not in result.stderr and "\r" not in result.stderr


def test_jobs_must_be_positive(tmp_path: Path) -> None:
    for value in ("0", "-2", "x"):
        result = run("edges", str(png(tmp_path / "a.png")), str(tmp_path), "--jobs", value)
        assert result.exit_code == 2 and "--jobs" in result.stderr


# --- grad-input -------------------------------------------------------------------------------


def test_grad_input_batch(tmp_path: Path) -> None:
    png(tmp_path / "in" / "a.png")
    png(tmp_path / "in" / "b.png", 1)
    (tmp_path / "in" / "c.png").write_bytes(b"\x89PNG broken")
    out = tmp_path / "g"
    result = run("grad-input", str(tmp_path / "in"), "-o", str(out), "--format", "npy", "--json")
    assert result.exit_code == 1
    docs = {Path(d["input"]).name: d for d in lines(result)[:-1]}
    assert docs["a.png"]["status"] == "ok" and docs["a.png"]["shape"] == [20, 30]
    assert np.isfinite(docs["a.png"]["L"]) and docs["c.png"]["status"] == "error"
    assert np.load(out / "a_grad.npy").shape == (20, 30)
    assert sorted(p.name for p in out.iterdir()) == ["a_grad.npy", "b_grad.npy"]
    result = run("grad-input", str(tmp_path / "in"), "--wrt", "kernel")
    assert result.exit_code == 2 and "single IMAGE" in result.stderr


# --- single files keep their behaviour --------------------------------------------------------


def test_single_file_format_and_skip_existing(tmp_path: Path) -> None:
    a = png(tmp_path / "a.png")
    result = run("edges", str(a), "--format", "npy", "--json")
    assert result.exit_code == 0 and (tmp_path / "a_edges.npy").exists()
    assert lines(result) == [
        {**lines(result)[0], "status": "ok", "output": str(tmp_path / "a_edges.npy")}
    ]
    result = run("edges", str(a), "-o", str(tmp_path / "x.png"), "--format", "npy")
    assert result.exit_code == 2 and "does not match" in result.stderr
    (tmp_path / "keep.png").write_bytes(b"keep")
    result = run("edges", str(a), "-o", str(tmp_path / "keep.png"), "--skip-existing", "--json")
    assert result.exit_code == 0 and lines(result)[0]["status"] == "skipped"
    assert (tmp_path / "keep.png").read_bytes() == b"keep"
    result = run("edges", str(a), "-o", str(tmp_path / "keep.png"))  # as always: replaced
    assert result.exit_code == 0 and iio.imread(tmp_path / "keep.png").shape == (18, 28)


# --- the module -------------------------------------------------------------------------------


def test_image_error_pickles_for_the_pool() -> None:
    err = pickle.loads(pickle.dumps(ImageError("a.png", "cannot decode")))
    assert isinstance(err, ImageError) and str(err) == "a.png: cannot decode"
    assert err.source == "a.png" and err.problem == "cannot decode"


def test_is_batch_and_expand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    png(tmp_path / "a.png")
    png(tmp_path / "weird[1].png")
    assert not inputs.is_batch(["a.png"]) and not inputs.is_batch(["-"])
    assert not inputs.is_batch(["weird[1].png"])  # exists literally: a file, not a pattern
    assert not inputs.is_batch(["missing.png"])
    assert (
        inputs.is_batch(["*.png"])
        and inputs.is_batch(["."])
        and inputs.is_batch(["a.png", "a.png"])
    )
    sources, problems = inputs.expand(["*.png", "nothing*.gif"])
    assert [s.path for s in sources] == ["a.png", "weird[1].png"] and len(problems) == 1


def test_plan_names_outputs(tmp_path: Path) -> None:
    sources = [types.Source(str(tmp_path / "in" / "x" / "p.png"), "x/p.png", True)]
    tasks, decided = batch_plan.make_plan(sources, str(tmp_path / "out"), "_edges", ".npy")
    assert decided == [] and tasks[0].output == str(tmp_path / "out" / "x" / "p_edges.npy")
    tasks, _ = batch_plan.make_plan(sources, None, "_grad", ".png")
    assert tasks[0].output == str(tmp_path / "in" / "x" / "p_grad.png")


# --- a real process, as CI runs it ------------------------------------------------------------


def sobelcli() -> list[str]:
    exe = shutil.which("sobelcli")
    return [exe] if exe else [sys.executable, "-m", "sobelcli"]


def test_real_process_batch_json_lines(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [*sobelcli(), "edges", str(mixed), "-o", str(out), "--json", "-j", "2"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 1
    docs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [d.get("status") for d in docs].count("ok") == 2 and docs[-1]["summary"] is True
    assert "Traceback" not in proc.stderr and "\x1b[" not in proc.stderr
    assert not hidden(out)


def test_one_file_into_an_output_folder(tmp_path: Path) -> None:
    a = png(tmp_path / "a.png")
    (tmp_path / "out").mkdir()
    assert run("edges", str(a), "-o", str(tmp_path / "out")).exit_code == 0
    assert (tmp_path / "out" / "a_edges.png").exists()
    assert run("grad-input", str(a), "-o", str(tmp_path / "new") + "/").exit_code == 0
    assert (tmp_path / "new" / "a_grad.png").exists()
    assert inputs.is_batch([str(a)], str(tmp_path / "out"))
    assert not inputs.is_batch([str(a)], "x.png")


def crash_on_b(task: types.Task) -> types.Done:
    if "b" in Path(task.source).name:
        os._exit(3)  # as the out-of-memory killer would end a worker
    return types.Done([1, 1])


def test_a_worker_that_dies_is_an_error_not_a_hang(tmp_path: Path) -> None:
    tasks = [types.Task(str(tmp_path / f"{n}.png"), str(tmp_path / f"{n}_o.png")) for n in "ab"]
    with pool.Runner(crash_on_b, jobs=2) as runner:
        runner.start(tasks)
        results = {Path(r.input).name: r for r in runner.results()}
    assert results["b.png"].status == "error"
    assert "worker process failed" in results["b.png"].error
    assert "\n" not in results["b.png"].error


def test_error_lines_stay_one_line_with_odd_names(tmp_path: Path) -> None:
    odd = tmp_path / "two\nlines.png"
    odd.write_bytes(b"junk")
    result = run("edges", str(odd), str(png(tmp_path / "ok.png")), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if "lines.png" in line]
    assert len(errors) == 1 and errors[0].startswith("error: ")
