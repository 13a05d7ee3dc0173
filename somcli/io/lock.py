"""The lock that keeps two runs from writing one output folder at the same time.

The lock is an ``flock`` on a file beside the output folder (``.NAME.somcli.lock``). The
run that holds it removes the file when it ends, before it lets go, and a run that has
just taken a lock checks that the file it locked is still the one at that path: if the
holder removed it in between, the newcomer locked a file no one else will ever open, so it
opens the path again. That keeps removal race-free: at any moment at most one run holds a
lock on the file that the path names. A run killed with ``kill -9`` leaves the file behind;
the kernel has released its lock, so the next run takes it and removes it at the end.
"""

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
    """Hold an exclusive lock on an output folder for the whole run; a second run waits up
    to ``wait`` seconds, then fails with exit 75. The lock file is never followed when it
    is a symbolic link, and written (the process id) or removed only when it is this
    user's own plain file."""
    if target is None:
        yield
        return
    target = resolve(target)
    parent, name = os.path.dirname(target), os.path.basename(target)
    if not os.path.isdir(parent):
        raise OutputError(f"{parent}: the folder does not exist", "create it first")
    path = os.path.join(parent, f".{name}.somcli.lock")
    fd = _acquire(path, target, time.monotonic() + wait)
    try:
        if _ours(fd):
            try:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            except OSError:
                pass  # a full disk: the lock holds all the same
        yield
    finally:
        try:
            if _ours(fd) and _names(path, fd):
                os.unlink(path)  # while still holding it: see the module's docstring
        except OSError:
            pass  # a read-only folder: the file stays, the lock goes with the close
        finally:
            os.close(fd)  # closing releases the lock


def _acquire(path: str, target: str, deadline: float) -> int:
    import fcntl

    while True:
        fd = _open_lock(path)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise Busy(f"{target}: another somcli run is writing this folder",
                                   "try again later, or pass --wait SECONDS") from None
                    time.sleep(0.05)
        except BaseException:
            os.close(fd)
            raise
        if _names(path, fd):
            return fd
        os.close(fd)  # the last holder removed the file after we opened it: open it again


def _names(path: str, fd: int) -> bool:
    """Whether ``path`` is still the file open as ``fd``."""
    try:
        here = os.lstat(path)
    except FileNotFoundError:
        return False
    there = os.fstat(fd)
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _ours(fd: int) -> bool:
    st = os.fstat(fd)
    return st.st_nlink == 1 and mine(st)


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
