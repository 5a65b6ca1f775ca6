"""One module per command; each defines ``command`` and imports numpy only inside it."""
