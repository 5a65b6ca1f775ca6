"""Child process of ``sobelcli verify``: loads one user function and calls it on request.

Run as a script, ``python _worker.py file|module TARGET FUNCTION``, never imported by sobelcli:
it needs the standard library and numpy only, so that nothing of sobelcli's sits between the
user's function and its inputs. The parent talks to it over the original stdin and stdout;
the user's own ``print`` goes to stderr (fd 1 is pointed there) and stdin reads nothing.

Every message is a frame: 4 bytes of big-endian length, then the payload. A message is one
JSON frame (a dict with ``"type"`` and ``"arrays"``, the count of array frames that follow),
then that many ``.npy`` frames. The worker first answers ``ready``, ``not-found`` or
``load-error``; then, for each request (its arrays are the function's arguments), it answers
``result`` (one array), ``raised`` or ``bad-return``. End of input ends the worker, and so
does the end of the parent, even while the user's function is still running.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import os
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO

_HEADER = struct.Struct(">I")


def read_exact(stream: BinaryIO, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> bytes | None:
    head = read_exact(stream, _HEADER.size)
    if head is None:
        return None
    (size,) = _HEADER.unpack(head)
    return read_exact(stream, size) if size else b""


def send(stream: BinaryIO, message: dict[str, Any], arrays: tuple[Any, ...] = ()) -> None:
    """Write one message: its JSON frame, then one ``.npy`` frame per array."""
    frames = [json.dumps({**message, "arrays": len(arrays)}).encode()]
    for array in arrays:
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        frames.append(buffer.getvalue())
    stream.write(b"".join(_HEADER.pack(len(f)) + f for f in frames))
    stream.flush()


def _user_frames(exc: BaseException) -> tuple[str, str]:
    """The traceback without this file's frames, and the innermost user line."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename != __file__ and not f.filename.startswith("<frozen")
    ]
    where = f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    lines = traceback.format_list(frames[-6:]) + traceback.format_exception_only(type(exc), exc)
    return where, "".join(lines)[-4000:]


def _load(mode: str, target: str, name: str) -> Callable[..., Any]:
    """Import the user's module; LookupError when it is not there, anything else from it."""
    if mode == "file":
        path = os.path.abspath(target)
        if not os.path.isfile(path):
            raise LookupError(f"no file {target}")
        folder = os.path.dirname(path)
        sys.path.insert(0, folder)  # the file's own imports of its neighbours work
        stem = os.path.splitext(os.path.basename(path))[0]
        module_name = stem if stem.isidentifier() and stem not in sys.modules else "_verify_impl"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise LookupError(f"{target} cannot be imported as Python")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    else:
        try:
            found = importlib.util.find_spec(target)
        except (ImportError, ValueError):
            found = None
        if found is None:
            raise LookupError(
                f"no module named {target!r} (from the current folder or the installed packages)"
            )
        module = importlib.import_module(target)
    function = getattr(module, name, None)
    if function is None:
        public = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        hint = f"; it has {', '.join(public[:12])}" if public else ""
        raise LookupError(f"{target} has no function {name!r}{hint}")
    if not callable(function):
        raise LookupError(f"{target}:{name} is a {type(function).__name__}, not a function")
    return function  # type: ignore[no-any-return]


def _answer(
    function: Callable[..., Any], arrays: list[Any]
) -> tuple[dict[str, Any], tuple[Any, ...]]:
    import numpy as np

    try:
        result = function(*arrays)
    except BaseException as exc:  # noqa: B036 - SystemExit and KeyboardInterrupt are theirs too
        where, text = _user_frames(exc)
        message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        return {
            "type": "raised",
            "exception": type(exc).__name__,
            "message": message,
            "where": where,
            "traceback": text,
        }, ()
    kind = type(result).__name__
    try:
        array = np.asarray(result)
    except Exception as exc:  # a ragged list, a tensor that needs .detach()
        return {"type": "bad-return", "returned": kind, "message": str(exc)[:300]}, ()
    if array.dtype.kind not in "biuf":
        return {"type": "bad-return", "returned": kind, "message": f"dtype {array.dtype}"}, ()
    return {"type": "result", "returned": kind}, (np.ascontiguousarray(array),)


def _watch(parent: int) -> None:
    """End this process when its parent is gone (killed before it could stop us)."""
    while True:
        time.sleep(0.25)
        if os.getppid() != parent:
            os._exit(1)


def main(argv: list[str]) -> int:
    """Serve requests until the parent closes stdin."""
    threading.Thread(target=_watch, args=(os.getppid(),), daemon=True).start()
    requests: BinaryIO = os.fdopen(os.dup(0), "rb")
    replies: BinaryIO = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # the user's print() goes to stderr, not into the protocol
    sys.path[0] = os.getcwd()  # as ``python -m``: modules of the current folder import
    mode, target, name = argv
    try:
        import numpy as np

        function = _load(mode, target, name)
    except LookupError as exc:
        send(replies, {"type": "not-found", "message": str(exc)})
        return 0
    except BaseException as exc:  # noqa: B036 - their module may raise anything, even SystemExit
        where, text = _user_frames(exc)
        send(
            replies,
            {"type": "load-error", "message": f"{type(exc).__name__}: {exc}", "traceback": text},
        )
        return 0
    send(replies, {"type": "ready"})
    while True:
        head = read_frame(requests)
        if head is None:
            return 0
        count = json.loads(head)["arrays"]
        arrays = []
        for _ in range(count):
            frame = read_frame(requests)
            if frame is None:
                return 0
            arrays.append(np.load(io.BytesIO(frame), allow_pickle=False))
        message, out = _answer(function, arrays)
        send(replies, message, out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
