"""sobelcli/io."""
