"""Reading and writing, in the manner of imageio v3: a few functions over one module each.

- :mod:`sobelcli.io.read`: decode a file (or stdin) into a grey float array, within limits;
- :mod:`sobelcli.io.write`: choose the format from the name, quantise, encode, save;
- :mod:`sobelcli.io.files`: the error that names a file, atomic writes, folders;
- :mod:`sobelcli.io.png`: sobelcli's own PNG encoder.

Nothing here knows the command line: messages name the file and the problem, not an option.
The names below are imported when first used (as the package's own), so that a command can
check its output's folder, or start decoding its input (:mod:`sobelcli.io.early`), before
numpy is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sobelcli._lazy import lazy_names

#: public name -> module that defines it
_NAMES = {
    "ImageError": "files",
    "atomic_write": "files",
    "check_writable": "files",
    "make_folder": "files",
    "output_format": "files",
    "LoadedImage": "read",
    "load_image": "read",
    "read_array": "read",
    "read_image": "read",
    "encode": "write",
    "quantize": "write",
    "save_image": "write",
}

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
__getattr__, __dir__ = lazy_names(__name__, _NAMES)

if TYPE_CHECKING:  # pragma: no cover
    from sobelcli.io.files import (
        ImageError,
        atomic_write,
        check_writable,
        make_folder,
        output_format,
    )
    from sobelcli.io.read import LoadedImage, load_image, read_array, read_image
    from sobelcli.io.write import encode, quantize, save_image
