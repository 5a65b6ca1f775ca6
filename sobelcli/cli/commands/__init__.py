"""One module per command; each defines ``command`` and imports numpy only inside it.

The registry is here, read by the group in :mod:`sobelcli.cli.main` without importing any
command's module: ``sobelcli --help`` lists them from :data:`SUMMARIES`.
"""

#: Command name -> ``module:attribute`` of its click command, imported when it runs.
COMMANDS: dict[str, str] = {
    "edges": "sobelcli.cli.commands.edges:command",
    "grad-input": "sobelcli.cli.commands.grad_input:command",
    "gradcheck": "sobelcli.cli.commands.gradcheck:command",
    "maximize": "sobelcli.cli.commands.maximize:command",
    "train": "sobelcli.cli.commands.train:command",
    "predict": "sobelcli.cli.commands.predict:command",
    "verify": "sobelcli.cli.commands.verify:command",
}
#: The first line of each command's help, so that ``sobelcli --help`` lists the commands
#: without importing their modules (tests/cli/test_commands.py checks them against the commands).
SUMMARIES: dict[str, str] = {
    "edges": "Write the edge map of IMAGE: E = sqrt((Gx*I)^2 + (Gy*I)^2) / max.",
    "grad-input": "Gradient of L = loss(K * X) with respect to the image X (or the kernel K).",
    "gradcheck": "Check dL/dX and dL/dK of L = loss(K * X) against finite differences.",
    "maximize": "Find the image that a filter responds to most, by gradient ascent.",
    "train": "Train the lab's CNN on MNIST and report its test loss and accuracy.",
    "predict": "Classify pictures of single digits with MODEL.npz (written by 'sobelcli train').",
    "verify": "Check your own convolution, its gradients or the edge map against sobelcli's.",
}
#: Commands that multiply no large matrices: numpy's BLAS threads would only cost them time.
#: (train and predict do; verify runs the user's own programs, which inherit its environment.)
NO_MATRIX_PRODUCTS = frozenset({"edges", "grad-input", "gradcheck", "maximize"})
