"""Where bytes come from: files (plain or compressed), globs and stdin.

Everything here returns binary, decompressed streams; decoding and parsing
happen in :mod:`somcli.io.read`.
"""

from __future__ import annotations

import bz2
import functools
import glob
import gzip
import io
import lzma
import os
import sys
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from somcli.errors import DataError, InputError, IOFailure, UsageError

GLOB_CHARS = set("*?[")
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}
MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}
#: What reading a (decompressing) stream raises when the file is broken: see broken()
STREAM_ERRORS = (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile)


#: a zip archive member that says what the archive is
OFFICE = {"xl/workbook.xml": "an Excel workbook (.xlsx)",
          "word/document.xml": "a Word document",
          "content.xml": "an OpenDocument file (.ods/.odt)"}


def office_archive(archive: zipfile.ZipFile, label: str) -> None:
    """Refuse a zip archive that is an office document (an .xlsx is a zip)."""
    names = set(archive.namelist())
    for member, what in OFFICE.items():
        if member in names:
            raise InputError(f"{label}: is {what}, not a table somcli reads",
                             "save the sheet as CSV (or Parquet) and pass that")


TEXT_FACTOR = 4  # parsed tables take up to about this many times their text (measured)


def too_much_text(label: str, limit: int) -> DataError:
    return DataError(f"{label}: more than {limit / 2**20:,.0f} MiB of text, which would not "
                     f"parse within the memory limit (about {TEXT_FACTOR}x the text)",
                     "raise --max-memory, or use --engine dask for inputs larger than memory")


class _Capped(io.RawIOBase):
    """A stream that fails once more than ``limit`` bytes have come through: a small
    compressed file that unpacks to gigabytes is refused, not unpacked."""

    def __init__(self, stream: BinaryIO, limit: int, label: str):
        self.stream, self.limit, self.label, self.count = stream, limit, label, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        self.count += len(data)
        if self.count > self.limit:
            raise too_much_text(self.label, self.limit)
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.stream.close()
        super().close()


@dataclass(frozen=True)
class Source:
    """One input: a path, or stdin held in memory (it cannot be read twice)."""

    label: str  # what messages call it: the path as given, or "stdin"
    path: str | None
    data: bytes | None = None
    limit: int | None = None  # most decompressed bytes to read

    @property
    def compression(self) -> str | None:
        if self.path is not None:
            by_name = COMPRESSIONS.get(os.path.splitext(self.path)[1].lower())
            if by_name:
                return by_name
        return next((kind for magic, kind in MAGIC.items() if self._first.startswith(magic)),
                    None)

    @functools.cached_property
    def _first(self) -> bytes:  # read once: compression is asked for at every open
        if self.data is not None:
            return self.data[:8]
        try:
            with open(self.path, "rb") as f:
                return f.read(8)
        except OSError:
            return b""

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
            stream = gzip.GzipFile(fileobj=raw, mode="rb")
        elif kind == "bz2":
            stream = bz2.BZ2File(raw, mode="rb")
        elif kind == "xz":
            stream = lzma.LZMAFile(raw, mode="rb")
        elif kind == "zip":
            stream = _open_zip_member(raw, self.label)
        else:
            return raw  # its size was checked by resolve()
        if self.limit is None:
            return stream
        return io.BufferedReader(_Capped(stream, self.limit, self.label), 1 << 16)

    def head(self, size: int = 65536) -> bytes:
        """The first ``size`` decompressed bytes (for sniffing)."""
        try:
            with self.open() as stream:
                return stream.read(size)
        except STREAM_ERRORS as exc:
            raise broken(self, exc) from None


def _open_zip_member(raw: BinaryIO, label: str) -> BinaryIO:
    try:
        archive = zipfile.ZipFile(raw)
    except zipfile.BadZipFile:
        raise IOFailure(f"{label}: not a valid zip archive", "check the file or rename it") from None
    office_archive(archive, label)
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


def resolve(inputs: tuple[str, ...], stdin: BinaryIO | None = None,
            limit: int | None = None) -> list[Source]:
    """Turn the INPUT arguments into sources, expanding globs, checking files exist;
    with ``limit``, no input may hold more bytes of text than that (plain files by their
    size, stdin and compressed files as they are read)."""
    specs = list(inputs) or ["-"]
    sources: list[Source] = []
    for spec in specs:
        if spec == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            if getattr(stream, "isatty", lambda: False)():
                raise UsageError("no INPUT given and stdin is a terminal",
                                 "pass a file name, or pipe data in")
            data = stream.read() if limit is None else stream.read(limit + 1)
            if limit is not None and len(data) > limit:
                raise too_much_text("stdin", limit)
            if not data:
                raise InputError("stdin is empty", "pipe a CSV into somcli or pass a file name")
            sources.append(Source("stdin", None, data, limit))
            continue
        if not os.path.lexists(spec) and GLOB_CHARS & set(spec):
            matches = sorted(p for p in glob.glob(spec) if os.path.isfile(p))
            if not matches:
                raise InputError(f"{spec}: no file matches this pattern")
            sources.extend(_checked(p, limit) for p in matches)
        else:
            sources.append(_checked(spec, limit))
    if sum(s.path is None for s in sources) > 1:
        raise InputError("stdin ('-') can be given only once")
    return sources


def _checked(path: str, limit: int | None = None) -> Source:
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file", "check the path (globs need quotes)")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder, not a file", "pass a file, or a quoted glob like 'dir/*.csv'")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied", "check the file's permissions")
    size = os.path.getsize(path)
    if size == 0:
        raise InputError(f"{path}: the file is empty")
    source = Source(path, path, limit=limit)
    if limit is not None and not source.compression and size > limit:
        raise too_much_text(path, limit)
    return source
