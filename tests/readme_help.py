"""Keep the README's copies of ``--help`` equal to the real ones.

``python tests/readme_help.py`` rewrites the blocks in README.md that follow a
``<!-- help: COMMAND -->`` marker; ``tests/test_layout.py`` fails when they drift.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"(<!-- help: (?P<cmd>[\w-]+) -->\n```text\n)(?P<body>.*?)^```$", re.S | re.M)


#: The help, 100 columns wide, in a process of its own: in a test process click keeps the help
#: option of a command first invoked on its own (without the group's ``-h``), so a help shown
#: there would depend on the tests before it.
SHOW_HELP = """
import sys
from click.testing import CliRunner
from sobelcli.cli.main import cli
result = CliRunner().invoke(cli, sys.argv[1:], terminal_width=100, prog_name="sobelcli")
sys.stdout.write(result.output)
"""


def real_help(command: str) -> str:
    """``sobelcli COMMAND --help`` (``sobelcli --help`` for "sobelcli")."""
    import subprocess

    args = [command, "--help"] if command != "sobelcli" else ["--help"]
    done = subprocess.run(
        [sys.executable, "-c", SHOW_HELP, *args], capture_output=True, text=True, check=True
    )
    return done.stdout.rstrip()


def blocks(text: str) -> dict[str, str]:
    return {m["cmd"]: m["body"].rstrip() for m in BLOCK.finditer(text)}


def rewrite(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + real_help(m["cmd"]) + "\n```", text)


if __name__ == "__main__":
    README.write_text(rewrite(README.read_text()))
    print(f"updated {len(blocks(README.read_text()))} help blocks in {README}", file=sys.stderr)
