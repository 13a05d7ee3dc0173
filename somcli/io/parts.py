"""Parse a big plain CSV file in parts on threads: pandas' C parser releases the GIL, so
on 2 cores a 1M x 10 file reads in 0.27-0.30 s against 0.42-0.46 s in one go, with the same
bounded memory (benchmarks/README.md). ``somcli.io.read`` joins the chunks and falls back to
one go whenever this returns None.

The parts are cut after a newline. That is a row boundary only when no quoted field holds a
newline, so a file holding the quote character anywhere is read in one go (the first 64 KiB
are checked before, the rest as the parts are read). A part that fails to parse is read again
in one go too, so that the error names its true line. fuzz/fuzz_parallel_read.py checks that
parts and one go agree.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable

import pandas as pd

from somcli.runtime.parallel import io_threads, ordered

PARALLEL_BYTES = 16 * 2**20  # plain files at least this big are parsed in parts


def parse(path: str, head: bytes, dialect, n_cols: int, options: dict,
          convert: Callable[[pd.DataFrame], list]) -> list[list] | None:
    """The parsed chunks of ``path`` (each ``convert``-ed to a list of ``n_cols`` columns),
    in file order, or None when the file is read in one go instead."""
    threads = io_threads()
    if threads < 2 or dialect.encoding.startswith(("utf-16", "utf-32")):
        return None
    size = os.path.getsize(path)
    quote = dialect.quotechar.encode(dialect.encoding.replace("utf-8-sig", "utf-8"))  # no BOM
    if size < PARALLEL_BYTES or quote in head:
        return None
    cuts = [0]
    with open(path, "rb") as fh:
        for i in range(1, threads):
            fh.seek(max(size * i // threads, cuts[-1]))
            fh.readline()
            cuts.append(fh.tell())
    cuts.append(size)
    spans = [(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]

    def part(i: int) -> list | None:
        stream = _Span(path, *spans[i], quote)
        with io.BufferedReader(stream, 1 << 20) as buffered:
            # no names after the first part: a row wider than the part's first row must
            # fail here as it does in one go (given names, pandas drops the extra fields)
            first = dict(header=0, skiprows=dialect.skip_lines) if i == 0 else dict(header=None)
            try:
                chunks = [convert(c) for c in pd.read_csv(buffered, **first, **options)]
            except (pd.errors.ParserError, pd.errors.EmptyDataError):
                return None
        return None if stream.quoted else chunks

    done = list(ordered(part, range(len(spans)), threads))
    if any(p is None for p in done) or any(len(c) != n_cols for p in done for c in p):
        return None
    return [chunk for p in done for chunk in p]


class _Span(io.RawIOBase):
    """Bytes ``start``..``end`` of a file; notes whether the quote character was seen."""

    def __init__(self, path: str, start: int, end: int, quote: bytes):
        self._fh = open(path, "rb")  # noqa: SIM115 - closed with this stream
        self._fh.seek(start)
        self._left = end - start
        self._quote = quote
        self.quoted = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self._left)
        data = self._fh.read(n) if n > 0 else b""
        buffer[:len(data)] = data
        self._left -= len(data)
        self.quoted = self.quoted or self._quote in data
        return len(data)

    def close(self) -> None:
        self._fh.close()
        super().close()
