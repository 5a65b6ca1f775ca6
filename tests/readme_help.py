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


def real_help(command: str) -> str:
    from click.testing import CliRunner

    from sobelcli.cli.main import cli

    args = [command, "--help"] if command != "sobelcli" else ["--help"]
    result = CliRunner().invoke(cli, args, terminal_width=100, prog_name="sobelcli")
    return result.output.rstrip()


def blocks(text: str) -> dict[str, str]:
    return {m["cmd"]: m["body"].rstrip() for m in BLOCK.finditer(text)}


def rewrite(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + real_help(m["cmd"]) + "\n```", text)


if __name__ == "__main__":
    README.write_text(rewrite(README.read_text()))
    print(f"updated {len(blocks(README.read_text()))} help blocks in {README}", file=sys.stderr)
