"""The ``sobelcli`` script and ``python -m sobelcli``.

A Ctrl-C while Python is still importing the command line (before its own signal handlers
exist) ends as the command's would: one line, exit 130, no traceback.
"""

import sys


def run() -> None:
    """Import the command line and run it (:func:`sobelcli.cli.main.script`)."""
    try:
        from sobelcli.cli.main import script
    except KeyboardInterrupt:
        sys.stderr.write("sobelcli: interrupted\n")
        raise SystemExit(130) from None
    script()


if __name__ == "__main__":
    run()
