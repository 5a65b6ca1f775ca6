"""sobelcli/cli."""
