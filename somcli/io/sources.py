"""Where bytes come from: files (plain or compressed), globs and stdin.

Everything here returns binary, decompressed streams; decoding and parsing
happen in :mod:`somcli.io.read`.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import io
import lzma
import os
import sys
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from somcli.errors import InputError, IOFailure, UsageError

GLOB_CHARS = set("*?[")
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}
MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}


@dataclass(frozen=True)
class Source:
    """One input: a path, or stdin held in memory (it cannot be read twice)."""

    label: str  # what messages call it: the path as given, or "stdin"
    path: str | None
    data: bytes | None = None

    @property
    def compression(self) -> str | None:
        if self.path is not None:
            return COMPRESSIONS.get(os.path.splitext(self.path)[1].lower())
        for magic, kind in MAGIC.items():
            if self.data is not None and self.data.startswith(magic):
                return kind
        return None

    def open(self) -> BinaryIO:
        """A fresh binary stream of the decompressed bytes."""
        raw: BinaryIO
        if self.data is not None:
            raw = io.BytesIO(self.data)
        else:
            try:
                raw = open(self.path, "rb")  # noqa: SIM115 - handed to the caller
            except OSError as exc:
                raise InputError(f"{self.label}: cannot open ({exc.strerror})") from None
        kind = self.compression
        if kind == "gzip":
            return gzip.GzipFile(fileobj=raw, mode="rb")
        if kind == "bz2":
            return bz2.BZ2File(raw, mode="rb")
        if kind == "xz":
            return lzma.LZMAFile(raw, mode="rb")
        if kind == "zip":
            return _open_zip_member(raw, self.label)
        return raw

    def head(self, size: int = 65536) -> bytes:
        """The first ``size`` decompressed bytes (for sniffing)."""
        try:
            with self.open() as stream:
                return stream.read(size)
        except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
            raise broken(self, exc) from None


def _open_zip_member(raw: BinaryIO, label: str) -> BinaryIO:
    try:
        archive = zipfile.ZipFile(raw)
    except zipfile.BadZipFile:
        raise IOFailure(f"{label}: not a valid zip archive", "check the file or rename it") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) != 1:
        names = ", ".join(m.filename for m in members[:5]) or "none"
        raise InputError(
            f"{label}: a zip archive must hold exactly one file, it holds {len(members)} ({names})",
            "unzip it and pass the files (a glob works)",
        )
    return archive.open(members[0])


def broken(source: Source, exc: BaseException) -> IOFailure:
    """The error for a stream that fails while being read (corrupt or truncated)."""
    kind = source.compression
    if isinstance(exc, EOFError):
        what = f"the {kind} data ends early (truncated file?)" if kind else "unexpected end of file"
    elif isinstance(exc, gzip.BadGzipFile):
        what = "not a gzip file although its name ends in .gz"
    elif isinstance(exc, OSError) and kind == "bz2":
        what = "not valid bz2 data"
    elif isinstance(exc, lzma.LZMAError):
        what = "not valid xz data"
    elif isinstance(exc, OSError) and exc.strerror:
        what = f"read failed ({exc.strerror})"
    else:
        what = f"read failed ({exc})"
    return IOFailure(f"{source.label}: {what}", "check or re-create the file")


def resolve(inputs: tuple[str, ...], stdin: BinaryIO | None = None) -> list[Source]:
    """Turn the INPUT arguments into sources, expanding globs, checking files exist."""
    specs = list(inputs) or ["-"]
    sources: list[Source] = []
    for spec in specs:
        if spec == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            if getattr(stream, "isatty", lambda: False)():
                raise UsageError("no INPUT given and stdin is a terminal",
                                 "pass a file name, or pipe data in")
            data = stream.read()
            if not data:
                raise InputError("stdin is empty", "pipe a CSV into somcli or pass a file name")
            sources.append(Source("stdin", None, data))
            continue
        if not os.path.lexists(spec) and GLOB_CHARS & set(spec):
            matches = sorted(p for p in glob.glob(spec) if os.path.isfile(p))
            if not matches:
                raise InputError(f"{spec}: no file matches this pattern")
            sources.extend(_checked(p) for p in matches)
        else:
            sources.append(_checked(spec))
    if sum(s.path is None for s in sources) > 1:
        raise InputError("stdin ('-') can be given only once")
    return sources


def _checked(path: str) -> Source:
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file", "check the path (globs need quotes)")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder, not a file", "pass a file, or a quoted glob like 'dir/*.csv'")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied", "check the file's permissions")
    if os.path.getsize(path) == 0:
        raise InputError(f"{path}: the file is empty")
    return Source(path, path)
