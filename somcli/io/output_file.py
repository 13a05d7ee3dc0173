"""``-O FILE``: the assignments alone, into one file.

A regular file (new, or one of this user's) is written beside the target and renamed over
it in one step, so a reader sees the old file or the new one; an existing file keeps its
mode. A character device or a FIFO (``-O /dev/null``, a pipe a reader waits on; through a
symbolic link too, ``/dev/stdout``) is opened and written in place, as ``cp`` does, and never
replaced. Anything else (a folder, a block device, a socket, another symbolic link, another
user's file, a FIFO nobody reads) is refused with exit 73
*before any work*, as are a missing or unwritable folder and a name longer than the file
system allows.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from dataclasses import dataclass

from somcli.errors import OutputError, UsageError
from somcli.io.atomic import replace_file
from somcli.io.folder import (
    check_name_length,
    has_control_characters,
    io_error,
    mine,
    read_only,
)


@dataclass(frozen=True)
class Target:
    path: str  # absolute
    kind: str  # "new", "file" (replaced atomically) or "stream" (written in place)
    mode: int | None = None  # an existing file's permission bits, kept
    gid: int | None = None  # and its group


def check(given: str) -> Target:
    """What -O will write to, refused (64 or 73) now when it cannot be written."""
    if not given or given == "-" or has_control_characters(given):
        raise UsageError(f"-O {given!r}: give a file name without control characters",
                         "leave -O out for stdout")
    if given.endswith(("/", os.sep)) or os.path.basename(given) in (".", ".."):
        raise UsageError(f"-O {given}: names a folder, not a file",
                         "give a file name, or -o DIR for every result")
    path = os.path.abspath(given)
    parent = os.path.dirname(path)
    check_name_length(path, given)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"{given}: cannot be used ({exc.strerror})") from None
    if st is not None and stat.S_ISLNK(st.st_mode):  # /dev/stdout: what it points to
        with contextlib.suppress(OSError):
            st = os.stat(path)
    if st is not None and (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        return Target(path, "stream")  # opened when written: access decides
    if not os.path.isdir(parent):
        raise OutputError(f"{given}: the folder {parent} does not exist", "create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        why = "is on a read-only file system" if read_only(parent) else "is not writable"
        raise OutputError(f"{given}: the folder {parent} {why}", "choose another -O file")
    if st is None:
        return Target(path, "new")
    if stat.S_ISLNK(st.st_mode):  # dangling, or a link to a link somcli cannot resolve
        raise OutputError(f"{given}: is a symbolic link", "pass the file it points to")
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"-O {given}: is a folder", "give a file name (leave -O out for "
                                                     "stdout)")
    if os.path.islink(path):  # neither the link nor what it points to is replaced
        raise OutputError(f"{given}: is a symbolic link", "pass the file it points to")
    if not stat.S_ISREG(st.st_mode):
        kind = "a block device" if stat.S_ISBLK(st.st_mode) else "a socket"
        raise OutputError(f"{given}: is {kind}, which somcli never writes",
                          "give a regular file, a FIFO or a character device")
    if not mine(st):
        raise OutputError(f"{given}: belongs to another user", "choose another -O file")
    return Target(path, "file", stat.S_IMODE(st.st_mode), st.st_gid)


def write(target: Target, write_to) -> None:
    """Write the file: ``write_to(path_or_binary_stream)`` fills it."""
    if target.kind == "stream":
        _stream(target, write_to)
        return
    try:
        replace_file(target.path, write_to, mode=target.mode, gid=target.gid)
    except OSError as exc:
        raise io_error(exc, target.path) from None


def _stream(target: Target, write_to) -> None:
    """A character device or FIFO, opened and written in place (a FIFO nobody reads is
    refused rather than waited on)."""
    try:
        fd = os.open(target.path, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(f"{target.path}: a FIFO that nobody reads",
                              "start its reader first, or give a file") from None
        raise io_error(exc, target.path) from None
    try:
        st = os.fstat(fd)
        if not (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
            raise OutputError(f"{target.path}: changed while the run worked",
                              "run again")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "wb", closefd=True) as sink:
            fd = -1
            write_to(sink)
    except OSError as exc:
        raise io_error(exc, target.path) from None
    finally:
        if fd >= 0:
            os.close(fd)
