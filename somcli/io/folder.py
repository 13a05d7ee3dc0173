"""The output folder of a run: locked, staged, and published in one step.

Everything a run writes goes into a staging folder beside the target. Publication is
one ``rename`` (a new target) or one exchange of the two names (``renameat2`` with
``RENAME_EXCHANGE``, replacing an earlier result), so a reader sees the complete old
folder or the complete new one, whatever happens (error, Ctrl-C, kill -9, full disk).
What a killed run leaves beside the target (its staging folder, or the old folder it
had swapped out) is removed by the next run on the same target, under the same lock.

``--force`` replaces an earlier somcli result. A file counts as somcli's only when it
is verifiably so: a name somcli writes, listed in the folder's manifest (report.json)
with the size and modification time it had when somcli wrote it, a plain file owned by
this user. Every other entry is carried into the new folder (a hard link, so the file
itself is never copied, moved or deleted): a forged manifest cannot make somcli remove
a file it did not write.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import tempfile
import time

from somcli.errors import IOFailure, OutputError

STAGING_PREFIX = ".somcli-tmp-"
OLD_PREFIX = ".somcli-old-"
MANIFEST = "report.json"  # its "files" and "file_stats" list what somcli wrote
_RESULT_NAME = re.compile(r"[a-z][a-z0-9_]*\.(csv|tsv|json|ndjson|md|html|png|svg|npz)")
_PARTS_FOLDER = "assignments"
_PART_NAME = re.compile(r"part-\d{5}\.(csv|tsv|json|ndjson)")


def has_control_characters(name: str) -> bool:
    """Newlines, tabs and the like: they split log and summary lines, so no output name
    may hold them."""
    return any(ord(c) < 32 or ord(c) == 127 for c in name)


def check_name_length(path: str, given: str) -> None:
    """Refuse (73) a last component longer than the file system allows, before any work
    (the rename that publishes the result would fail with "write failed")."""
    parent, name = os.path.split(os.path.abspath(path))
    try:
        limit = os.pathconf(parent if os.path.isdir(parent) else "/", "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    size = len(os.fsencode(name))
    if size > limit:
        shown = given if len(given) <= 60 else given[:57] + "..."
        raise OutputError(f"{shown}: the name is {size} bytes, more than the {limit} the file "
                          "system allows", "choose a shorter name")


def resolve(target: str) -> str:
    """The output folder's absolute path with its parent's symlinks resolved, so that two
    spellings of one folder take one lock; the last component is kept as given."""
    if has_control_characters(target):
        raise OutputError(f"{target!r}: the name holds a control character",
                          "choose a name without newlines or tabs")
    absolute = os.path.abspath(target)
    name = os.path.basename(absolute)
    if not name:
        raise OutputError(f"{target}: give a folder to create or replace, not '/'")
    check_name_length(absolute, target)
    return os.path.join(os.path.realpath(os.path.dirname(absolute)), name)


def _tag(target: str) -> str:
    """A short, name-safe tag of an output folder, for the names of its staging folders."""
    name = os.path.basename(target).encode("utf-8", "surrogateescape")
    return hashlib.sha256(name).hexdigest()[:12]


def mine(st: os.stat_result) -> bool:
    """Whether this user owns the entry (always true where there are no user ids)."""
    return not hasattr(os, "geteuid") or st.st_uid == os.geteuid()


def read_only(folder: str) -> bool:
    """Whether ``folder`` is on a file system mounted read-only."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def current_umask() -> int:
    """The process's umask (reading it means setting it: set back at once)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


class OutputFolder:
    """``with OutputFolder(path, force) as out: write(out.path("a.csv")); out.commit()``"""

    def __init__(self, target: str, force: bool = False):
        self.target = resolve(target)
        self.force = force
        self.staging: str | None = None
        self.written: list[str] = []
        self.check()

    def check(self) -> list[str]:
        """Refuse (exit 73), before any work, a target that cannot be used; return the
        entries of an existing target that are not somcli's (to be carried over)."""
        parent = os.path.dirname(self.target)
        if not os.path.isdir(parent):
            raise OutputError(f"{parent}: the folder does not exist", "create it first")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"{parent}: not writable", "choose another -o folder")
        try:
            st = os.lstat(self.target)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise OutputError(f"{self.target}: cannot be used ({exc.strerror})") from None
        if stat.S_ISLNK(st.st_mode):
            raise OutputError(f"{self.target}: is a symbolic link",
                              "pass the folder it points to, or a new name, to -o")
        if not stat.S_ISDIR(st.st_mode):
            kind = ("a file" if stat.S_ISREG(st.st_mode) else "a FIFO" if stat.S_ISFIFO(
                st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(
                st.st_mode) else "not a folder")
            raise OutputError(f"{self.target}: exists and is {kind}, not a folder",
                              "pass a new folder name to -o")
        if not os.access(self.target, os.W_OK | os.X_OK):
            raise OutputError(f"{self.target}: not writable", "choose another -o folder")
        if not os.listdir(self.target):
            return []
        if not self.force:
            raise OutputError(f"{self.target}: exists and is not empty",
                              "pass --force to replace its results, or choose another folder")
        foreign = foreign_entries(self.target)
        folders = [n for n in foreign if stat.S_ISDIR(os.lstat(os.path.join(self.target,
                                                                            n)).st_mode)]
        if folders:
            raise OutputError(f"{self.target}: holds the folder {folders[0]!r}, which somcli "
                              "did not write", "move it away, or choose another -o folder")
        return foreign

    def __enter__(self) -> OutputFolder:
        parent = os.path.dirname(self.target)
        remove_stale(self.target)
        try:
            self.staging = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{_tag(self.target)}-",
                                            dir=parent)
            os.chmod(self.staging, 0o777 & ~current_umask())  # mkdtemp makes it private
        except OSError as exc:
            raise io_error(exc, parent) from None
        return self

    def path(self, name: str) -> str:
        assert self.staging is not None, "use OutputFolder as a context manager"
        self.written.append(name)
        return os.path.join(self.staging, name)

    def stamps(self) -> dict[str, list[int]]:
        """name -> [size, mtime_ns] of each plain file written so far (for the manifest)."""
        stamps = {}
        for name in self.written:
            st = os.lstat(os.path.join(self.staging, name))
            if stat.S_ISREG(st.st_mode):
                stamps[name] = [st.st_size, st.st_mtime_ns]
        return stamps

    def commit(self) -> None:
        """Publish the staged folder. Ctrl-C and SIGTERM are held back meanwhile."""
        assert self.staging is not None
        with _signals_deferred():
            self._publish()

    def _publish(self) -> None:
        try:
            for name in self.written:
                fsync_file(os.path.join(self.staging, name))
            foreign = self.check()  # the folder may have changed while the run worked
            for name in foreign:  # the user's own files stay: linked into the new folder
                if name not in self.written:
                    os.link(os.path.join(self.target, name), os.path.join(self.staging, name),
                            follow_symlinks=False)
            fsync_dir(self.staging)
            staged, self.staging = self.staging, None
            try:
                if not os.path.lexists(self.target):
                    rename_hook()
                    os.rename(staged, self.target)
                    old = None
                else:
                    old = _swap(staged, self.target)
            except BaseException:
                shutil.rmtree(staged, ignore_errors=True)
                raise
            fsync_dir(os.path.dirname(self.target))
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:
            raise io_error(exc, self.target) from None

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None


def rename_hook() -> None:
    """A test hook: ``SOMCLI_TEST_RENAME_DELAY`` seconds of sleep before each rename that
    publishes a result (folder or model), so that tests can kill the process inside."""
    delay = os.environ.get("SOMCLI_TEST_RENAME_DELAY")
    if delay:
        time.sleep(float(delay))


def _swap(staged: str, target: str) -> str:
    """Put ``staged`` at ``target`` in one step; returns where the old folder now is."""
    rename_hook()
    if _exchange(staged, target):
        return staged
    # no atomic exchange here (not Linux, or a file system without it): the old folder
    # moves aside first, so a reader sees the old folder, none, or the new one
    old = tempfile.mkdtemp(prefix=f"{OLD_PREFIX}{_tag(target)}-", dir=os.path.dirname(target))
    os.rename(target, old)  # replaces the empty folder mkdtemp made
    rename_hook()
    os.rename(staged, target)
    return old


_RENAMEAT2: list = []


def _exchange(a: str, b: str) -> bool:
    """renameat2(a, b, RENAME_EXCHANGE); False where the call or the flag is missing."""
    import ctypes

    if not _RENAMEAT2:
        try:
            fn = ctypes.CDLL(None, use_errno=True).renameat2
            fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]
            _RENAMEAT2.append(fn)
        except (OSError, AttributeError):
            _RENAMEAT2.append(None)
    fn = _RENAMEAT2[0]
    if fn is None or os.environ.get("SOMCLI_TEST_NO_EXCHANGE"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), b)


def foreign_entries(folder: str) -> list[str]:
    """Entries of ``folder`` that are not verifiably files of an earlier somcli run."""
    listed, stamps = _manifest(folder)
    foreign = []
    for name in sorted(os.listdir(folder)):
        try:
            st = os.lstat(os.path.join(folder, name))
        except OSError:
            continue
        own = mine(st)
        if name == _PARTS_FOLDER and stat.S_ISDIR(st.st_mode):
            ours = own and "assignments/" in listed and _only_parts(os.path.join(folder, name))
        elif name == MANIFEST:
            ours = own and stat.S_ISREG(st.st_mode) and bool(listed)
        else:
            ours = (own and stat.S_ISREG(st.st_mode) and _RESULT_NAME.fullmatch(name)
                    is not None and name in listed
                    and stamps.get(name) == [st.st_size, st.st_mtime_ns])
        if not ours:
            foreign.append(name)
    return foreign


def _only_parts(folder: str) -> bool:
    for name in os.listdir(folder):
        st = os.lstat(os.path.join(folder, name))
        if not _PART_NAME.fullmatch(name) or not stat.S_ISREG(st.st_mode) or not mine(st):
            return False
    return True


def _manifest(folder: str) -> tuple[set[str], dict]:
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as fh:
            report = json.load(fh)
        files = {f for f in report.get("files", []) if isinstance(f, str)}
        stamps = report.get("file_stats", {})
        return files, stamps if isinstance(stamps, dict) else {}
    except (OSError, ValueError, AttributeError, TypeError, RecursionError):
        return set(), {}


def remove_stale(target: str) -> None:
    """Remove staging folders (and swapped-out old folders) that killed runs on this target
    left beside it. Called with the target's lock held, so no live run owns them."""
    parent, tag = os.path.dirname(target), _tag(target)
    try:
        names = sorted(os.listdir(parent))
    except OSError:
        return
    if not os.path.lexists(target):  # killed between the two renames of the fallback
        old = [n for n in names if n.startswith(f"{OLD_PREFIX}{tag}-")]
        if len(old) == 1 and mine(os.lstat(os.path.join(parent, old[0]))):
            with contextlib.suppress(OSError):
                os.rename(os.path.join(parent, old[0]), target)  # the old result is back
    for name in names:
        if not name.startswith((f"{STAGING_PREFIX}{tag}-", f"{OLD_PREFIX}{tag}-")):
            continue
        path = os.path.join(parent, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and mine(st):
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _signals_deferred():
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError, OSError):  # not POSIX, or not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def fsync_dir(path: str) -> None:
    """Make a folder's entries durable (a rename is on disk once its folder is)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_file(path: str) -> None:
    if os.path.isdir(path):  # a folder of part files
        for name in os.listdir(path):
            fsync_file(os.path.join(path, name))
        return
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def io_error(exc: OSError, where: str) -> Exception:
    """The user's error for an OSError met while writing ``where``."""
    if exc.errno == errno.EPIPE:  # the reader of stdout left (`| head`): a quiet end
        return BrokenPipeError(errno.EPIPE, "broken pipe")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return IOFailure(f"{where}: no space left on the device", "free some space and run again")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"{where}: cannot write ({exc.strerror})", "choose another -o folder")
    return IOFailure(f"{where}: write failed ({exc.strerror or exc})")
