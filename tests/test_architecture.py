"""The shape of the package: import direction, fast --help, help with examples, README in sync."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sobelcli.cli.main import COMMANDS, cli

from tests import readme_help

PACKAGE = Path(__file__).resolve().parent.parent / "sobelcli"
CORE = {
    "conv",
    "_engine",
    "_strips",
    "_cost",
    "_slices",
    "_rank1",
    "_fft",
    "_gradient",
    "kernels",
    "edges",
    "losses",
    "gradcheck",
    "maximize",
}
STDLIB = set(sys.stdlib_module_names)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found |= {base} if node.module else {f".{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize("name", sorted(CORE))
def test_core_imports_numpy_and_stdlib_only(name: str) -> None:
    for module in imports_of(PACKAGE / f"{name}.py"):
        top = module.lstrip(".").split(".")[0]
        if module.startswith("."):
            assert top in CORE, f"{name}.py imports {module}, outside the core"
        else:
            assert top == "numpy" or top in STDLIB, f"{name}.py imports {module}"


def test_nothing_imports_the_cli() -> None:
    for path in (p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py"):
        for module in imports_of(path):
            assert not module.endswith("cli") or module.endswith("sobelcli"), (
                f"{path} imports {module}"
            )
            assert "commands" not in module or "commands" in str(path.parent), (
                f"{path} imports {module}"
            )


def test_help_imports_no_numpy_imageio_or_skimage() -> None:
    code = (
        "import sys\nfrom sobelcli.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('numpy', 'imageio', 'skimage', 'scipy', 'rich')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    for args in ([], ["edges"], ["gradcheck"]):
        script = code.replace("['--help']", repr([*args, "--help"]))
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        assert "HEAVY []" in out.stdout, (args, out.stdout)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_ending_with_examples(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    tail = result.output.split("Examples:")[-1]
    assert "sobelcli " + name in tail


def test_readme_help_blocks_match_the_real_help() -> None:
    text = readme_help.README.read_text()
    found = readme_help.blocks(text)
    assert {"sobelcli", *COMMANDS} <= set(found)
    for command, body in found.items():
        assert body.rstrip() == readme_help.real_help(command), (
            f"README's help of {command} is stale: run python tests/readme_help.py"
        )
