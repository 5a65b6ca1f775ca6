"""``python -m sobelcli``."""

from sobelcli.cli.main import script

if __name__ == "__main__":
    script()
