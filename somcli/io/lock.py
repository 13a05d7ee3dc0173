"""The lock that keeps two runs from writing one output folder at the same time."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time

from somcli.errors import Busy, OutputError
from somcli.io.folder import io_error, mine, resolve


@contextlib.contextmanager
def locked(target: str | None, wait: float = 0.0):
    """Hold an exclusive lock on an output folder for the whole run (a lock file beside
    it, named after the resolved path); a second run waits up to ``wait`` seconds, then
    fails with exit 75. The lock file is never followed when it is a symbolic link, and
    written (the process id) only when it is this user's own plain file."""
    if target is None:
        yield
        return
    import fcntl

    target = resolve(target)
    parent, name = os.path.dirname(target), os.path.basename(target)
    if not os.path.isdir(parent):
        raise OutputError(f"{parent}: the folder does not exist", "create it first")
    fd = _open_lock(os.path.join(parent, f".{name}.somcli.lock"))
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(f"{target}: another somcli run is writing this folder",
                               "try again later, or pass --wait SECONDS") from None
                time.sleep(0.05)
        st = os.fstat(fd)
        if st.st_nlink == 1 and mine(st):
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError:
                pass  # a full disk: the lock holds all the same
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _open_lock(path: str) -> int:
    flags = os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        try:
            fd = os.open(path, os.O_RDWR | flags, 0o644)
        except PermissionError:  # another user's lock file: a lock needs no write access
            fd = os.open(path, os.O_RDONLY | flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(f"{path}: the lock file is a symbolic link",
                              "remove it (somcli never makes one) and run again") from None
        raise io_error(exc, path) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OutputError(f"{path}: the lock file is not a plain file", "remove it, run again")
    return fd
