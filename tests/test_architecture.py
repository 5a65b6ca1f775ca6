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
STDLIB = set(sys.stdlib_module_names)

#: Each part of the package and the parts it may import; data flows one way, toward engine.
#: (``sobelcli`` alone is the public facade of core, for the optional parts; ``_lazy`` is the
#: PEP 562 helper of the facade and of ``io``'s names, imported when first used.)
ALLOWED = {
    "names": set(),
    "_lazy": set(),
    "engine": {"names"},
    "io": {"names", "_lazy"},
    "core": {"engine", "names"},
    "nn": {"core", "io", "engine", "names"},
    "verify": {"core", "names", "facade"},
    "dask": {"core", "engine", "names", "io", "facade"},
    "cli": {"cli", "nn", "core", "io", "engine", "names", "verify", "dask", "facade"},
}
#: Third-party packages each part may import (beyond the standard library).
THIRD_PARTY = {
    "engine": {"numpy", "scipy"},  # scipy.ndimage.label for hysteresis (engine/label.py)
    "core": {"numpy"},
    "io": {"numpy", "PIL", "imageio", "tifffile", "zarr", "pyvips", "isal"},
    "nn": {"numpy", "skimage"},
    "verify": {"numpy"},
    "dask": {"numpy", "dask", "distributed", "zarr", "tifffile", "imageio"},
    "cli": {"numpy", "click", "rich", "PIL", "imageio"},
}


def part_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    package = ["sobelcli", *path.relative_to(PACKAGE).parent.parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module == "sobelcli":  # from sobelcli import io, names ...
                found |= {f"sobelcli.{alias.name}" for alias in node.names}
            else:
                found.add(module)
    return found


def package_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if part_of(p) in ALLOWED)


@pytest.mark.parametrize("path", package_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_one_way(path: Path) -> None:
    part = part_of(path)
    for module in imports_of(path):
        top, *rest = module.split(".")
        if top == "sobelcli":
            target = rest[0] if rest else "facade"
            if target not in ALLOWED:
                target = "facade"  # the public API and _version
            assert target == part or target in ALLOWED[part], f"{part} imports {module}"
        else:
            assert top in STDLIB or top in THIRD_PARTY.get(part, set()), (
                f"{path.relative_to(PACKAGE)} imports {module}"
            )


def test_only_the_cli_imports_click_or_rich() -> None:
    for path in package_files():
        if part_of(path) == "cli":
            continue
        tops = {m.split(".")[0] for m in imports_of(path)}
        assert not tops & {"click", "rich"}, f"{path} imports click or rich"


def test_top_level_holds_few_modules_and_no_file_is_long() -> None:
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 6, top
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 420, f"{path.relative_to(PACKAGE)} has {lines} lines"


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


def test_checking_an_output_and_decoding_early_import_no_numpy() -> None:
    """``edges`` checks its output and starts decoding its input while numpy is imported."""
    code = (
        "import sys\nimport sobelcli.io.early\n"
        "from sobelcli.io import check_writable, output_format, ImageError\n"
        "print('numpy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


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
