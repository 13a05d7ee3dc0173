"""What a parse failure means, told with its file and line: ragged rows (with a preamble
detected and the -K that skips it), unclosed quotes, bytes outside the encoding."""

from __future__ import annotations

import re

from somcli.errors import DataError
from somcli.io.formats import CANDIDATE_DELIMITERS
from somcli.io.sources import Source

_ROW_IN_MSG = re.compile(r"starting at row (\d+)")


def parser_error(source: Source, dialect, exc: Exception) -> DataError:
    """The one-line error for pandas' parse failure ``exc`` (``dialect``: the file's)."""
    msg = str(exc).replace("Error tokenizing data. C error: ", "").strip()
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    if m:
        expected, line, saw = m.groups()
        lead = preamble(source, dialect)
        if lead:
            return DataError(
                f"{source.label}: line {line} has {saw} fields, the header has {expected}: "
                f"the first {lead} line(s) look like a preamble before the table",
                f"pass -K {dialect.skip_lines + lead} to skip them")
        return DataError(
            f"{source.label}: line {line} has {saw} fields, the header has {expected}",
            "fix that row, quote fields that contain the delimiter, or pass -d",
        )
    m = _ROW_IN_MSG.search(msg)
    if "EOF inside string" in msg and m:
        line = int(m.group(1)) + dialect.skip_lines + 1
        return DataError(
            f"{source.label}: a quote opened near line {line} is never closed",
            "close the quote or pass --quotechar with another character",
        )
    return DataError(f"{source.label}: cannot parse the file ({msg})",
                     "check the delimiter (-d) and quoting")


PREAMBLE_LINES = 200  # lines looked at for a preamble
PREAMBLE_MAX = 50  # a longer "preamble" is not one


def preamble(source: Source, dialect) -> int:
    """How many lines before the table a text preamble takes: from then on every
    non-empty line has the same number of fields (at least 2, over at least 3 lines), and
    each line before has another number. 0 when no such cut exists."""
    import csv
    import io

    try:
        with source.open() as stream:
            raw = [stream.readline() for _ in range(PREAMBLE_LINES + dialect.skip_lines)]
    except (OSError, EOFError):
        return 0
    text = [r.decode(dialect.encoding, errors="replace") for r in raw if r][dialect.skip_lines:]
    # the delimiter was sniffed with the preamble in the sample, so it may be wrong: the
    # table's own is the one under which the rows after the cut agree on the most fields
    found = []  # (fields, cut) per delimiter that has a cut
    for delimiter in dict.fromkeys((dialect.delimiter, *CANDIDATE_DELIMITERS)):
        counts = [len(next(csv.reader(io.StringIO(t), delimiter=delimiter,
                                      quotechar=dialect.quotechar), [])) for t in text]
        for cut in range(1, min(PREAMBLE_MAX, len(counts)) + 1):
            rest = [c for c in counts[cut:] if c > 0]
            if len(rest) >= 3 and rest[0] >= 2 and all(c == rest[0] for c in rest) and \
                    all(c != rest[0] for c in counts[:cut]):
                while counts[cut] == 0:  # blank lines before the header are skipped too
                    cut += 1
                found.append((rest[0], cut))
                break
    if found:
        return max(found, key=lambda f: f[0])[1]  # the first of equals: the sniffed one
    return 0



def bad_line(source: Source, encoding: str) -> int | None:
    """1-based number of the first line that does not decode (ASCII-compatible encodings)."""
    if encoding.startswith("utf-16") or encoding.startswith("utf-32"):
        return None
    try:
        with source.open() as stream:
            for number, raw in enumerate(stream, start=1):
                try:
                    raw.decode(encoding)
                except UnicodeDecodeError:
                    return number
    except (OSError, EOFError):
        return None
    return None
