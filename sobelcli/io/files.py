"""Files on disk: errors that name them, atomic writes, folders, and writable checks.

Every output is written to a temporary file in the target folder and renamed into place, so
a reader never sees half a file and a failed or interrupted run leaves nothing behind. A
temporary file is named ``.NAME.<pid>-<8 hex>.part`` after its writer; one that a killed
writer left (SIGKILL, a power cut) is removed by the next write into its folder.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sobelcli.names import OUTPUT_SUFFIXES

__all__ = [
    "ImageError",
    "atomic_write",
    "check_writable",
    "clear_stale_parts",
    "make_folder",
    "anonymous_file",
    "drop_part",
    "forget_part",
    "is_stream",
    "new_part",
    "output_format",
    "read_at",
    "remove_unfinished",
    "signals_held",
    "write_at",
]


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


def is_stream(path: str | os.PathLike[str]) -> bool:
    """True for ``-`` (stdout) and for devices (``/dev/null``): names that say no format."""
    if str(path) == "-":
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def output_format(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The format written to ``path``: by its extension, or ``fmt`` (default PNG) for stdout.

    Devices and pipes (``/dev/null``) name no format either. ValueError for an unknown
    extension.
    """
    if is_stream(path):
        return fmt or "png"
    ext = Path(path).suffix.lower()
    if ext not in OUTPUT_SUFFIXES:
        raise ValueError(
            f"cannot write {ext or 'a file without extension'}: use {', '.join(OUTPUT_SUFFIXES)}"
        )
    return OUTPUT_SUFFIXES[ext]


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
    name = new_part(target)
    try:
        with open(name, "wb") as fh:
            fh.write(data)
        os.replace(name, target)
    except BaseException:
        drop_part(name)
        raise
    forget_part(name)


def new_part(target: Path, *, folder: bool = False) -> Path:
    """Create the temporary file (or folder) of a write to ``target``, beside it; its path.

    Named ``.NAME.<pid>-<8 hex>.part``, and known before it exists, so that an interrupt at
    any point (Ctrl-C, SIGTERM and the other terminating signals, turned into exceptions)
    finds it: the writer's :func:`drop_part`, or :func:`remove_unfinished` at the process's
    last step, removes it. The pid lets a later run tell a temporary left by a killed writer
    (:func:`clear_stale_parts`, called here first) from one being written now.
    """
    clear_stale_parts(target.parent)
    for _ in range(100):
        name = target.with_name(f".{target.name}.{os.getpid()}-{os.urandom(4).hex()}.part")
        entry = (os.getpid(), name)
        _unfinished.add(entry)  # before it exists: no moment when it is unknown
        try:
            if folder:
                os.mkdir(name)
            else:
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            _unfinished.discard(entry)  # another writer's file
            continue
        except BaseException:  # an error, or a stop even as the file was made: ours to remove
            drop_part(name)
            raise
        return name
    raise FileExistsError(f"no free temporary name beside {target}")


def anonymous_file(folder: str | os.PathLike[str]) -> int:
    """A descriptor of a new, empty file in ``folder`` that has no name: nothing to clean up.

    ``O_TMPFILE`` where the OS and file system have it; elsewhere a file created and
    unlinked at once. Raises OSError when the folder cannot take a file.
    """
    flags = os.O_RDWR | getattr(os, "O_CLOEXEC", 0)
    if hasattr(os, "O_TMPFILE"):
        try:
            return os.open(folder, flags | os.O_TMPFILE, 0o600)
        except OSError:
            pass  # a file system without it
    for _ in range(100):
        name = os.path.join(folder, f".sobelcli-spill.{os.getpid()}-{os.urandom(4).hex()}.part")
        try:
            fd = os.open(name, flags | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        os.unlink(name)
        return fd
    raise FileExistsError(f"no free temporary name in {folder}")


def read_at(fd: int, size: int, offset: int) -> bytearray:
    """Up to ``size`` bytes of ``fd`` from ``offset``: fewer only at the end of the file.

    A positioned read may return less than asked (reads over 2 GB, a signal): this one goes
    on until it has them all or the file ends. OSError as the OS raises it.
    """
    buf = bytearray(size)
    view = memoryview(buf)
    done = 0
    while done < size:
        got = os.preadv(fd, [view[done:]], offset + done)
        if got == 0:
            break
        done += got
    del view
    del buf[done:]
    return buf


def write_at(fd: int, data: Any, offset: int) -> None:
    """All of ``data`` (bytes-like) to ``fd`` at ``offset``, however many writes it takes.

    Raises OSError when the OS refuses (a full disk), also after part of it is written.
    """
    view = memoryview(data).cast("B")
    done = 0
    while done < len(view):
        wrote = os.pwrite(fd, view[done:], offset + done)
        if wrote == 0:
            raise OSError("no progress writing")
        done += wrote


def forget_part(name: Path) -> None:
    """The temporary ``name`` was renamed into place: nothing to remove any more."""
    _unfinished.discard((os.getpid(), name))


def drop_part(name: Path) -> None:
    """Remove the temporary ``name`` (a file or a folder), with the stopping signals held back."""
    with signals_held():  # a second signal must not skip the clean-up
        _remove_path(name)
    forget_part(name)


def _remove_path(name: str | os.PathLike[str]) -> None:
    if os.path.isdir(name) and not os.path.islink(name):
        import shutil

        shutil.rmtree(name, ignore_errors=True)
    else:
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass


#: (pid, path) of the temporary files being written; normally empty between writes.
_unfinished: set[tuple[int, Path]] = set()


def remove_unfinished() -> list[str]:
    """Remove this process's temporary files that a clean-up missed; the paths removed.

    A write removes its own temporary file when it fails or is interrupted; a second signal
    arriving during that clean-up can cut it short. The process's last step (the command
    line's error boundary, a worker about to exit) calls this to be sure.
    """
    removed = []
    for entry in list(_unfinished):
        pid, name = entry
        if pid != os.getpid():
            continue  # a forked worker's copy of its parent's list
        if os.path.lexists(name):
            try:
                _remove_path(name)
                removed.append(str(name))
            except OSError:
                pass
        _unfinished.discard(entry)
    return removed


#: The signals that stop sobelcli after a clean-up (held back while a temporary is removed).
_STOP_SIGNALS = ("SIGINT", "SIGHUP", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM")


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold the stopping signals back for a moment (delivered on leaving), where the OS can."""
    held = {getattr(signal, n) for n in _STOP_SIGNALS if hasattr(signal, n)}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


#: ``.NAME.<pid>-<8 hex>.part``: a temporary file of ``atomic_write``, and its writer.
_PART = re.compile(r"\.(?P<name>.+)\.(?P<pid>[1-9][0-9]{0,9})-[0-9a-f]{8}\.part", re.DOTALL)
#: ``.NAME.<8 hex>.part``: the naming of earlier versions, without the writer's pid.
_OLD_PART = re.compile(r"\.(?P<name>.+)\.[0-9a-f]{8}\.part", re.DOTALL)

_cleared: set[str] = set()


def clear_stale_parts(folder: str | os.PathLike[str]) -> list[str]:
    """Remove the temporary files that killed writers left in ``folder``; once per process.

    Only files (and Zarr outputs' folders) of ``atomic_write``'s naming are touched:
    ``.NAME.<pid>-<8 hex>.part`` whose writer (``pid``) is no longer alive, and the older
    ``.NAME.<8 hex>.part`` when it was last modified before this process started. Anything
    else, a link or a file of a live writer, is left alone. Returns the names removed;
    problems (a folder that cannot be listed, a file gone already) are not errors.
    """
    try:
        key = os.path.realpath(folder)
    except (OSError, ValueError):
        return []
    if key in _cleared:
        return []
    _cleared.add(key)
    removed: list[str] = []
    try:
        with os.scandir(key) as entries:
            candidates = [e for e in entries if e.name.startswith(".") and e.name.endswith(".part")]
    except OSError:
        return removed
    for entry in candidates:
        try:
            if entry.is_symlink() or not _is_stale(entry):
                continue
            _remove_path(entry.path)  # a file, or a Zarr output's folder
        except OSError:
            continue
        removed.append(entry.name)
    return removed


def _is_stale(entry: os.DirEntry[str]) -> bool:
    match = _PART.fullmatch(entry.name)
    if match:
        pid = int(match["pid"])
        return pid != os.getpid() and not _alive(pid)
    if _OLD_PART.fullmatch(entry.name):
        return entry.stat(follow_symlinks=False).st_mtime < process_start_time()
    return False


def _alive(pid: int) -> bool:
    """True unless no process ``pid`` exists (one of another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):
        return True  # PermissionError: it exists; anything odd: keep the file
    return True


_started: list[float] = []


def process_start_time() -> float:
    """When this process started (seconds since the epoch), from /proc where there is one."""
    if not _started:
        _started.append(_read_start_time())
    return _started[0]


def _read_start_time() -> float:
    fallback = time.time() - time.monotonic() + _IMPORTED  # when this module was imported
    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        with open("/proc/stat", "rb") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith(b"btime "))
        ticks = os.sysconf("SC_CLK_TCK")
        return min(fallback, boot + int(fields[19]) / ticks)
    except (OSError, ValueError, IndexError, StopIteration):
        return fallback


_IMPORTED = time.monotonic()


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
