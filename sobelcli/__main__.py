"""``python -m sobelcli``."""

from sobelcli.cli.main import main

if __name__ == "__main__":
    main()
