"""Reading and writing, in the manner of imageio v3: a few functions over one module each.

- :mod:`sobelcli.io.read`: decode a file (or stdin) into a grey float array, within limits;
- :mod:`sobelcli.io.write`: choose the format from the name, quantise, encode, save;
- :mod:`sobelcli.io.files`: the error that names a file, atomic writes, folders;
- :mod:`sobelcli.io.png`: sobelcli's own PNG encoder.

Nothing here knows the command line: messages name the file and the problem, not an option.
"""

from __future__ import annotations

from sobelcli.io.files import ImageError, atomic_write, check_writable, make_folder
from sobelcli.io.read import LoadedImage, load_image, read_array, read_image
from sobelcli.io.write import encode, output_format, quantize, save_image

__all__ = [
    "ImageError",
    "LoadedImage",
    "atomic_write",
    "check_writable",
    "encode",
    "load_image",
    "make_folder",
    "output_format",
    "quantize",
    "read_array",
    "read_image",
    "save_image",
]
