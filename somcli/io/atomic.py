"""One file replaced in one step: the only way somcli writes a single file in place
(``-O FILE``, model.json and model.npz). The content goes to a temporary name beside the
target, is synced to disk, gets its mode, and is renamed over the target; the folder is
synced last. A reader sees the old file or the new one, whatever stops the writer (an
error, Ctrl-C, kill -9, a full disk, a power cut), and nothing is left behind on error.
(A whole output folder is published by :mod:`somcli.io.folder`.)"""

from __future__ import annotations

import contextlib
import os
import tempfile

from somcli.io.folder import current_umask, fsync_dir, fsync_file


def replace_file(path: str, fill, *, mode: int | None = None, gid: int | None = None,
                 prefix: str = ".somcli-tmp-") -> None:
    """Write ``path`` in one step: ``fill(staged_path)`` writes the content; ``mode`` (an
    existing file's to keep; default what the umask gives a new file) and ``gid`` are set
    before the rename. OSErrors reach the caller, who knows what to call the file."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, staged = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        fill(staged)
        fsync_file(staged)
        wanted = mode if mode is not None else 0o666 & ~current_umask()
        os.chmod(staged, wanted)
        if gid is not None and os.stat(staged).st_gid != gid:
            with contextlib.suppress(OSError):
                os.chown(staged, -1, gid)
                os.chmod(staged, wanted)  # chown may clear set-group-id
        os.replace(staged, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(staged)
        raise
    fsync_dir(folder)
