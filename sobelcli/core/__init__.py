"""sobelcli/core."""
