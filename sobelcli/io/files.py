"""Files on disk: errors that name them, atomic writes, folders, and writable checks.

Every output is written to a temporary file in the target folder and renamed into place, so
a reader never sees half a file and a failed or interrupted run leaves nothing behind.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

__all__ = ["ImageError", "atomic_write", "check_writable", "make_folder"]


class ImageError(ValueError):
    """A file that cannot be read or written; ``str()`` is one line naming the file.

    ``setting`` names the reader's parameter that the problem is about (``max_pixels``,
    ``channel``), so that a caller can say how to change it.
    """

    def __init__(
        self, source: str | os.PathLike[str], problem: str, setting: str | None = None
    ) -> None:
        self.source = str(source)
        self.problem = problem
        self.setting = setting
        super().__init__(f"{self.source}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its arguments, so it crosses a process pool intact.
        return (type(self), (self.source, self.problem, self.setting))


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise OSError at once if ``path`` is a folder or its folder is missing or read-only.

    For commands that work long before they write (training), so that a bad ``-o`` fails first.
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise IsADirectoryError(f"{p} is a folder")
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"folder {folder} is not writable")


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file in the same folder and a rename.

    Raises
    ------
    ImageError
        When the folder does not exist or cannot be written; no file is left behind.
    """
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise ImageError(path, f"cannot write: folder {str(folder)!r} does not exist")
    try:
        _write_then_rename(target, data)
    except OSError as exc:
        raise ImageError(path, f"cannot write: {exc.strerror or exc}") from None


def _write_then_rename(target: Path, data: bytes) -> None:
    # The temporary name is known before the file exists, so that an interrupt at any
    # point (Ctrl-C, SIGTERM turned into an exception) finds it and removes it.
    for _ in range(100):
        name = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        ours = True
        try:
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
            except FileExistsError:
                ours = False  # another writer's file
                continue
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(name, target)
            ours = False
            return
        finally:
            if ours:
                name.unlink(missing_ok=True)
    raise FileExistsError(f"no free temporary name beside {target}")


def make_folder(path: str | os.PathLike[str]) -> None:
    """Create a folder and its parents if missing.

    Raises
    ------
    ImageError
        When it cannot be created, or a file is in the way.
    """
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ImageError(path, "cannot create the folder: a file of that name exists") from None
    except OSError as exc:
        raise ImageError(path, f"cannot create the folder: {exc.strerror or exc}") from None
