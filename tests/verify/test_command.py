"""``sobelcli verify`` through Click's CliRunner: verdicts, diagnoses, exit codes, JSON, --cmd."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sobelcli.cli.commands.verify import command

HERE = Path(__file__).resolve().parent
MISTAKES = HERE / "mistakes.py"
EXAMPLES = HERE.parent.parent / "examples"
PYTHON = shlex.quote(sys.executable)


def impl(name: str) -> str:
    return f"{MISTAKES}:{name}"


def run(*args: str) -> tuple[int, dict, str]:
    """Exit code, the JSON document on stdout, and stderr."""
    result = CliRunner().invoke(command, [*args, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout), result.stderr


@pytest.mark.parametrize(
    ("role", "name"),
    [
        ("forward", "correlate"),
        ("grad-input", "grad_input"),
        ("grad-kernel", "grad_kernel"),
        ("edges", "edges"),
    ],
)
def test_a_correct_implementation_passes_every_role(role: str, name: str) -> None:
    code, doc, err = run(str(EXAMPLES / f"conv.py:{name}"), "--role", role, "--cases", "20")
    assert code == 0, err
    assert doc["status"] == "ok" and doc["passed"] is True
    assert doc["cases"] == 20 and doc["failures"] == [] and doc["failed"] == 0
    assert "PASS: 20 of 20" in err


def test_lists_and_prints_on_stdout_are_fine() -> None:
    assert run(impl("forward_as_list"), "--role", "forward", "--cases", "4")[0] == 0
    code, doc, _ = run(impl("forward_printing"), "--role", "forward", "--cases", "4")
    assert code == 0 and doc["passed"]


@pytest.mark.parametrize(
    ("role", "name", "mistake", "words"),
    [
        ("forward", "flipped", "flipped", "convolution"),
        ("forward", "transposed_kernel", "transposed-kernel", "transposed"),
        ("forward", "transposed_image", "transposed-image", "image transposed"),
        ("forward", "transposed_output", "transposed-output", "output transposed"),
        ("forward", "same_size", "same-size", "'same' size"),
        ("forward", "full_size", "full-size", "'full' size"),
        ("forward", "off_by_one", "off-by-one", "off by one"),
        ("forward", "sign", "sign", "sign flipped"),
        ("forward", "twice", "factor-2", "factor of 2"),
        ("forward", "squeezed", "not-2d", "2-D"),
        ("grad-input", "grad_input_not_flipped", "flipped", "K not flipped"),
        ("grad-input", "grad_input_without_dy", "dy-unused", "dL/dY not used"),
        ("grad-input", "grad_input_dy_shape", "dy-size", "shape of dL/dY"),
        ("grad-input", "grad_input_twice", "factor-2", "factor of 2"),
        ("grad-input", "grad_input_interior", "borders-missing", "border"),
        ("grad-kernel", "grad_kernel_flipped", "flipped", "dL/dY flipped"),
        ("grad-kernel", "grad_kernel_without_dy", "dy-unused", "dL/dY not used"),
        ("grad-kernel", "grad_kernel_sign", "sign", "sign flipped"),
        ("grad-kernel", "grad_kernel_reversed", "reversed", "rotated"),
        ("edges", "edges_not_normalized", "not-normalized", "maximum"),
        ("edges", "edges_no_sqrt", "no-sqrt", "square root"),
        ("edges", "edges_same_size", "same-size", "'same' size"),
        ("edges", "edges_only_gx", "only-gx", "only Gx"),
    ],
)
def test_a_known_mistake_fails_with_its_diagnosis(
    role: str, name: str, mistake: str, words: str
) -> None:
    code, doc, err = run(impl(name), "--role", role, "--cases", "8")
    assert code == 1
    assert doc["status"] == "ok" and doc["passed"] is False
    assert doc["mistake"] == mistake, doc["diagnosis"]
    assert words.lower() in doc["diagnosis"].lower()
    assert doc["failures"] and all(f["diagnosis"] for f in doc["failures"])
    assert f"Diagnosis: {doc['diagnosis']}" in err


def test_integer_output_is_caught_by_the_integer_cases() -> None:
    code, doc, _ = run(impl("integer_output"), "--role", "forward", "--cases", "12")
    assert code == 1
    assert [f["dtype"] for f in doc["failures"]] == ["uint8 / float64"]
    assert doc["mistake"] == "truncated"


@pytest.mark.parametrize(
    ("name", "mistake", "problem"),
    [
        ("with_nan", "nan", "NaN at [4, 5]"),
        ("raising", "raised", "raised RuntimeError: not written yet (mistakes.py:"),
        ("exiting", "raised", "raised SystemExit: 3"),
        ("crashing", "crashed", "exited with status 7"),
        ("returns_none", "not-array", "returned None"),
        ("returns_text", "not-array", "returned a str"),
    ],
)
def test_a_broken_function_fails_its_cases_without_a_traceback(
    name: str, mistake: str, problem: str
) -> None:
    code, doc, err = run(impl(name), "--role", "forward", "--cases", "2")
    assert code == 1
    assert doc["mistake"] == mistake
    assert doc["failed"] == 2
    assert doc["failures"][0]["problem"].startswith(problem)
    assert "Traceback" not in err
    assert "sobelcli/verify" not in err  # no frame of ours in what the user sees


def test_a_hang_fails_after_the_timeout_and_the_next_case_still_runs() -> None:
    code, doc, _ = run(impl("sleeping"), "--role", "forward", "--cases", "2", "--timeout", "0.3")
    assert code == 1
    assert doc["mistake"] == "timeout" and doc["failed"] == 2
    assert doc["failures"][1]["problem"] == "timed out: no answer within 0.3 s"


def test_quiet_keeps_the_verdict_and_json_has_every_field() -> None:
    result = CliRunner().invoke(
        command, [impl("flipped"), "--role", "forward", "--cases", "3", "-q", "--json"]
    )
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"FAIL: 3 of 3 cases failed (forward, {impl('flipped')}): kernel flipped (convolution)"
    ]
    doc = json.loads(result.stdout)
    assert set(doc) >= {"status", "passed", "cases", "failures", "diagnosis"}
    failure = doc["failures"][0]
    assert set(failure) >= {"shape_x", "shape_k", "max_abs_err", "diagnosis"}
    assert failure["shape_x"] == [6, 8] and failure["shape_k"] == [2, 3]
    assert failure["max_abs_err"] > 0.1


def test_the_report_shows_the_table_and_the_smallest_case_in_full(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    result = CliRunner().invoke(command, [impl("flipped"), "--role", "forward", "--cases", "7"])
    assert result.exit_code == 1
    err = result.stderr
    assert "\x1b[" not in err  # plain
    assert "Failing cases" in err
    assert re.search(r"\| # \| case +\| inputs +\| expected \| got", err)
    assert "kernel flipped (convolution)" in err
    # case 7, the 1 x 1 kernel, passes a flipped kernel; case 6, one row, is the smallest failure
    assert "Smallest failing case, in full:\ncase 6: one-row image" in err
    assert "expected Y (1 x 7):" in err and "got (1 x 7):" in err
    assert "FAIL: 6 of 7 cases failed" in err


def test_same_seed_same_battery_other_seed_other_values() -> None:
    docs = [
        run(impl("sign"), "--role", "forward", "--cases", "18", "--seed", seed)[1]
        for seed in ("1", "1", "2")
    ]
    errors = [[f["max_abs_err"] for f in d["failures"]] for d in docs]
    assert errors[0] == errors[1]
    assert errors[0] != errors[2]


# --- --cmd ----------------------------------------------------------------------------------


def cmd(name: str, *placeholders: str) -> str:
    return " ".join([PYTHON, shlex.quote(str(MISTAKES)), name, *placeholders])


def test_cmd_diagnoses_through_csv_and_reports_a_failing_program() -> None:
    code, doc, _ = run(
        "--role", "forward", "--cmd", cmd("flipped", "{x}", "{k}", "{out}"), "--cases", "3"
    )
    assert code == 1 and doc["mistake"] == "flipped"
    code, doc, err = run(
        "--role", "forward", "--cmd", cmd("raising", "{x}", "{k}", "{out}"), "--cases", "2"
    )
    assert code == 1 and doc["mistake"] == "crashed"
    assert doc["failures"][0]["problem"] == "exited with status 1"
    assert "RuntimeError: not written yet" in err  # the program's own last words


def test_cmd_timeout_kills_the_program() -> None:
    template = f"{PYTHON} -c 'import time; time.sleep(60)' {{x}} {{k}} {{out}}"
    code, doc, _ = run("--role", "forward", "--cmd", template, "--cases", "1", "--timeout", "0.3")
    assert code == 1 and doc["mistake"] == "timeout"


def test_cmd_without_an_output_file_fails_its_case() -> None:
    template = f"{PYTHON} -c 'pass' {{x}} {{k}} {{out}}"
    code, doc, _ = run("--role", "forward", "--cmd", template, "--cases", "1")
    assert code == 1 and doc["mistake"] == "no-output"
    assert doc["failures"][0]["problem"] == "it did not write {out}"


def test_npy_exchange() -> None:
    script = (
        "import sys, numpy as np; sys.path.insert(0, sys.argv[1]); import mistakes; "
        "np.save(sys.argv[4], mistakes.forward(np.load(sys.argv[2]), np.load(sys.argv[3])))"
    )
    template = f"{PYTHON} -c {shlex.quote(script)} {shlex.quote(str(HERE))} {{x}} {{k}} {{out}}"
    code, doc, err = run(
        "--role", "forward", "--cmd", template, "--exchange", "npy", "--cases", "3"
    )
    assert code == 0, err


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
@pytest.mark.parametrize(
    ("role", "placeholders"),
    [
        ("forward", "{x} {k} {out}"),
        ("grad-input", "{dy} {k} {out}"),
        ("grad-kernel", "{x} {dy} {out}"),
        ("edges", "{x} {out}"),
    ],
)
def test_the_r_example_passes(role: str, placeholders: str) -> None:
    template = f"Rscript {shlex.quote(str(EXAMPLES / 'conv.R'))} {role} {placeholders}"
    code, doc, err = run("--role", role, "--cmd", template, "--timeout", "30")
    assert code == 0, err


@pytest.mark.parametrize("role", ["forward", "grad-input", "grad-kernel", "edges"])
def test_cmd_runs_a_program_that_reads_and_writes_csv(role: str) -> None:
    """examples/conv.py takes conv.R's arguments: the R script's template, python for Rscript."""
    placeholders = {
        "forward": "{x} {k} {out}",
        "grad-input": "{dy} {k} {out}",
        "grad-kernel": "{x} {dy} {out}",
        "edges": "{x} {out}",
    }[role]
    template = f"{PYTHON} {shlex.quote(str(EXAMPLES / 'conv.py'))} {role} {placeholders}"
    code, doc, err = run("--role", role, "--cmd", template, "--cases", "3")
    assert code == 0, err


# --- --forward: finite differences of the user's own forward --------------------------------


def test_forward_finite_differences_agree_with_a_right_gradient() -> None:
    code, doc, err = run(
        impl("grad_input"), "--role", "grad-input", "--forward", impl("forward"), "--cases", "6"
    )
    assert code == 0, err
    assert "finite differences" in err


@pytest.mark.parametrize(
    ("role", "name", "mistake"),
    [
        ("grad-input", "grad_input_not_flipped", "flipped"),
        ("grad-kernel", "grad_kernel_reversed", "reversed"),
    ],
)
def test_a_gradient_consistent_with_a_flipped_forward_blames_the_forward_too(
    role: str, name: str, mistake: str
) -> None:
    """A convolution's own gradients: right for it, wrong for the lab's correlation."""
    code, doc, _ = run(impl(name), "--role", role, "--forward", impl("flipped"), "--cases", "4")
    assert code == 1 and doc["mistake"] == mistake
    assert "forward has the same mistake" in doc["diagnosis"]
    assert all(f["finite_difference"]["passed"] for f in doc["failures"])


def test_a_right_gradient_of_a_wrong_forward_says_the_forward_is_wrong() -> None:
    code, doc, _ = run(
        impl("grad_input"), "--role", "grad-input", "--forward", impl("sign"), "--cases", "3"
    )
    assert code == 1 and doc["mistake"] == "forward-wrong"
    assert doc["failures"][0]["problem"].startswith("finite differences of the forward disagree")


def test_forward_may_be_a_command() -> None:
    forward = cmd("forward", "{x}", "{k}", "{out}")
    code, doc, err = run(
        impl("grad_kernel"), "--role", "grad-kernel", "--forward", forward, "--cases", "2"
    )
    assert code == 0, err


# --- usage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "forward"], "not neither"),
        (
            [str(EXAMPLES / "conv.py:correlate"), "--role", "forward", "--cmd", "a {x} {k} {out}"],
            "not both",
        ),
        (["--role", "forward", "--cmd", "prog {x} {out}"], "lacks {k}"),
        (["--role", "edges", "--cmd", "prog {x} {k} {out}"], "{k} is not a file of role edges"),
        (["--role", "forward", "--cmd", "no-such-program-here {x} {k} {out}"], "cannot run"),
        (["examples/conv.py", "--role", "forward"], "names no function"),
        (["no_such_file.py:f", "--role", "forward"], "no file no_such_file.py"),
        (["no_such_module:f", "--role", "forward"], "no module named 'no_such_module'"),
        ([str(EXAMPLES / "conv.py:nope"), "--role", "forward"], "has no function 'nope'"),
        ([str(EXAMPLES / "conv.py:GX"), "--role", "forward"], "not a function"),
        ([impl("forward"), "--role", "edges", "--forward", impl("forward")], "--forward"),
        ([impl("forward"), "--role", "forward", "--timeout", "nan"], "timeout"),
        ([impl("forward"), "--role", "forward", "--cases", "0"], "--cases"),
        ([impl("forward"), "--role", "backward"], "--role"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_usage_with_json_still_gives_a_document() -> None:
    result = CliRunner().invoke(command, ["no_such_module:f", "--role", "forward", "--json"])
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["status"] == "error" and doc["passed"] is False and "no_such_module" in doc["error"]


def test_a_module_that_fails_to_import_is_a_failure_not_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text(
        "import numpy\nraise ImportError('needs torch')\ndef f(x, k):\n    return x\n"
    )
    code, doc, err = run(f"{broken}:f", "--role", "forward")
    assert code == 1
    assert doc["status"] == "error" and doc["cases"] == 0
    assert "ImportError: needs torch" in doc["error"]
    assert "error: " in err and "Traceback" not in err


def test_a_module_by_dotted_name_from_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "labwork"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "conv.py").write_text((EXAMPLES / "conv.py").read_text())
    monkeypatch.chdir(tmp_path)
    code, doc, err = run("labwork.conv:correlate", "--role", "forward", "--cases", "3")
    assert code == 0, err


# --- help -----------------------------------------------------------------------------------


def test_help_explains_signatures_and_csv_with_examples_last() -> None:
    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0
    text = result.output
    for words in (
        "f(x, k)  -> Y",
        "f(dy, k) -> dL/dX",
        "f(x, dy) -> dL/dK",
        "f(image) -> E",
        "x_{i+k-1,j+l-1}",
        "0-based",
        "comma-separated, one matrix row per line",
        "1,2.5,-3\n",
        "write.table(m, path,",
    ):
        assert words in text, words
    tail = text.split("Examples:")[-1]
    for role in ("forward", "grad-input", "grad-kernel", "edges"):
        assert f"sobelcli verify --role {role} --cmd" in tail
    assert "sobelcli verify examples/conv.py:correlate --role forward" in tail
    assert not tail.strip().endswith(":")


def test_help_does_not_import_numpy() -> None:
    import subprocess

    code = (
        "import sys\nfrom click.testing import CliRunner\n"
        "from sobelcli.cli.commands.verify import command\n"
        "CliRunner().invoke(command, ['--help'])\n"
        "print([m for m in ('numpy', 'rich') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_command_knows_the_library_roles() -> None:
    from sobelcli.cli.commands import verify as module
    from sobelcli.verify import DEFAULT_CASES, DEFAULT_TIMEOUT, EXCHANGES, ROLES

    assert module.ROLES == ROLES
    assert module.EXCHANGES == EXCHANGES
    assert (module.DEFAULT_CASES, module.DEFAULT_TIMEOUT) == (DEFAULT_CASES, DEFAULT_TIMEOUT)
    assert command.name == "verify"


def test_through_the_command_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registered in the group's table, exit codes and help hold through its error boundary."""
    from sobelcli.cli import main

    monkeypatch.setitem(main.COMMANDS, "verify", "sobelcli.cli.commands.verify:command")
    runner = CliRunner()
    result = runner.invoke(main.cli, ["verify", "--help"], prog_name="sobelcli")
    assert result.exit_code == 0
    assert result.output.startswith("Usage: sobelcli verify [OPTIONS] [IMPL]")
    assert "sobelcli verify" in result.output.split("Examples:")[-1]
    ok = [str(EXAMPLES / "conv.py:edges"), "--role", "edges", "--cases", "2"]
    assert runner.invoke(main.cli, ["verify", *ok]).exit_code == 0
    bad = [impl("sign"), "--role", "forward", "--cases", "2"]
    assert runner.invoke(main.cli, ["verify", *bad]).exit_code == 1
    assert runner.invoke(main.cli, ["verify", "--role", "forward"]).exit_code == 2
