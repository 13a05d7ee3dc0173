"""What a text file's bytes are: encoding, delimiter, decimal mark and the title lines
above the table, decided from its first 64 KiB (:func:`sniff`) and recorded as a
:class:`Dialect` in the report and the model."""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass

from somcli.config import ReadOptions
from somcli.errors import DataError, InputError, UsageError
from somcli.io import formats
from somcli.io.sources import Source

CANDIDATE_DELIMITERS = formats.CANDIDATE_DELIMITERS
SNIFF_BYTES = 65536
SNIFF_LINES = 100
_UNIT = re.compile(r"^\s*[-+]?\s*[$€£¥]?\s*(?P<num>\d(?:[0-9., \u00a0\u202f]*\d)?)-?\s*(%|[$€£¥])?\s*$")
_SPACED = r"\d{1,3}([ \u00a0\u202f]\d{3})+"  # thousands set apart by a space (1 204,50)
_COMMA_DECIMAL = re.compile(rf"^(\d{{1,3}}(\.\d{{3}})+|{_SPACED}|\d+),\d+$")  # 1,5  1.204,50
_DOT_DECIMAL = re.compile(rf"^(\d{{1,3}}(,\d{{3}})+|{_SPACED}|\d+)\.\d+$")  # 1.5  1,204.50
# 3.120 or 1,010: a separator either way (but 0,670 is a decimal: no group of thousands is 0)
_THREE_AFTER = re.compile(r"^[1-9]\d{0,2}([.,]\d{3})+$")
#: Excel's first line naming the delimiter (``sep=;``): Excel writes and honours it
_SEP_LINE = re.compile(r'^\s*"?sep=([^\w"\s]|\t)"?\s*$', re.IGNORECASE)


@dataclass(frozen=True)
class Dialect:
    """What was decided about the bytes; recorded in the report and the model."""

    delimiter: str
    encoding: str
    decimal: str
    header: bool
    skip_lines: int
    quotechar: str
    na_values: tuple[str, ...]
    sniffed: tuple[str, ...] = ()  # which of the above were detected, not given
    format: str = "csv"  # or parquet, arrow, arrow-stream: found from the content
    bom: bool = False  # the file starts with a UTF-8 byte-order mark
    blank_top: int = 0  # empty lines above everything else, skipped (within skip_lines)

    def to_dict(self) -> dict:
        """For the report: a UTF-8 file with a byte-order mark is UTF-8 (the mark noted)."""
        utf8 = self.encoding == "utf-8-sig"  # how somcli reads UTF-8: a mark or none
        return {
            "delimiter": self.delimiter, "encoding": "utf-8" if utf8 else self.encoding,
            **({"byte_order_mark": True} if self.bom else {}), "decimal": self.decimal,
            "header": self.header, "skip_lines": self.skip_lines, "quotechar": self.quotechar,
            "na_values": list(self.na_values), "detected": list(self.sniffed),
            **({"format": self.format} if self.format != "csv" else {}),
        }


def sniff(source: Source, opts: ReadOptions) -> Dialect:
    """Decide encoding, delimiter and decimal mark from the first 64 KiB."""
    head = source.head(SNIFF_BYTES)
    if not head.strip():
        raise InputError(f"{source.label}: the file is empty")
    kind = formats.kind_of(head, source.label)
    if kind != formats.TEXT:
        return Dialect(",", "utf-8", ".", True, 0, '"', tuple(opts.na_values), ("format",), kind)
    detected: list[str] = []
    encoding = _encoding(head, opts.encoding, detected)
    try:
        # as the parser will read it: a stream decoder (which needs UTF-32's mark, say)
        text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    except UnicodeError as exc:  # UTF-32/16 without a byte-order mark, say
        raise DataError(f"{source.label}: not {encoding} text ({exc})",
                        "pass the file's encoding, e.g. -e utf-8 or -e latin-1") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    if len(head) == SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut in half
    lead = next((i for i, line in enumerate(lines) if line.strip()), 0)
    hint = _SEP_LINE.match(lines[lead]) if lines else None
    if hint:
        detected.append("sep_line")
    skip = opts.skip_lines
    if skip is None:  # not given: a title line or two above the table is found and skipped
        skip = title_lines(lines[lead + bool(hint):], opts.quotechar)
        if skip:
            detected.append("skip_lines")
        # (empty lines above it all, and Excel's "sep=;" line: read, then skipped; an
        # empty first line was taken for the header: "the file is empty")
        skip += lead + bool(hint)
    else:
        lead = 0
    lines = lines[skip:]
    sample = [ln for ln in lines if ln.strip()][:SNIFF_LINES]
    if not sample:
        raise InputError(f"{source.label}: no lines left after skipping {skip}")
    delimiter = opts.delimiter
    if delimiter is None:
        delimiter = hint[1] if hint else _sniff_delimiter(sample, opts.quotechar)
        detected.append("delimiter")
    decimal = opts.decimal
    if decimal is None:
        decimal = _sniff_decimal(sample, delimiter, opts.quotechar)
        detected.append("decimal")
    return Dialect(delimiter, encoding, decimal, opts.header, skip,
                   opts.quotechar, tuple(opts.na_values), tuple(detected),
                   bom=head.startswith(codecs.BOM_UTF8), blank_top=lead)


TITLE_MAX = 10  # title lines above a table, at most


def _number(text: str) -> bool:
    try:
        float(text.strip().replace(",", "."))
    except ValueError:
        return False
    return True


def title_lines(lines: list[str], quotechar: str) -> int:
    """How many lines above the table are a title (``Sales report 2026``, ``Export;;;``):
    leading lines with at most one non-empty field, that one first, under a delimiter by
    which the next line (the header) names at least two columns and the rows after it
    agree on the header's width (or one more, empty: a trailing delimiter). 0 when there is no
    such title; a two-column header with one name (``name,``), or a "header" holding a
    number (a data row: ``1,5;2`` in a ;-separated file with decimal commas), is never
    taken for one."""
    best = (0, 0)  # (the header's width, the title's lines)
    head = lines[:TITLE_MAX + 21]
    # records, not lines: a quoted field over two lines (a comment) is one row's (read line
    # by line, its halves disagreed with the header, and a title above it was not found)
    split = {d: list(csv.reader(head, delimiter=d, quotechar=quotechar))
             for d in CANDIDATE_DELIMITERS}
    for rows in split.values():  # the first line already heads the table under some delimiter
        full = [sum(1 for f in r if f.strip()) for r in rows]
        if full and full[0] >= 2 and _agree(rows[0], [r for r, n in zip(rows[1:], full[1:],
                                                                         strict=True) if n]):
            return 0
    for rows in split.values():
        full = [sum(1 for f in r if f.strip()) for r in rows]
        k = 0
        while k < min(TITLE_MAX, len(rows) - 1) and full[k] <= 1 and \
                (full[k] == 0 or rows[k][0].strip()):
            k += 1
        if k == 0 or full[0] == 0 or full[k] < 2:
            continue
        width = len(rows[k])
        if width == 2 and any(len(r) == 2 for r in rows[:k]) or any(
                _number(f) for f in rows[k]):  # a header names columns: no number in it
            continue
        body = [r for r, n in zip(rows[k + 1:], full[k + 1:], strict=True) if n]
        if width > best[0] and _agree(rows[k], body):
            best = (width, k)
    return best[1]


def _agree(header: list[str], body: list[list[str]]) -> bool:
    """Whether the rows (two at least, the first 20 looked at) have the header's width, or
    one more field left empty (a trailing delimiter)."""
    width = len(header)
    body = body[:20]
    return width >= 2 and len(body) >= 2 and all(
        len(r) == width or (len(r) == width + 1 and not r[-1].strip()) for r in body)


def _encoding(head: bytes, asked: str, detected: list[str]) -> str:
    try:
        info = codecs.lookup(asked)
    except LookupError:
        raise UsageError(f"unknown encoding '{asked}'", "try utf-8, latin-1 or cp1252") from None
    if not getattr(info, "_is_text_encoding", True):
        raise UsageError(f"-e {asked}: not a text encoding", "try utf-8, latin-1 or cp1252")
    name = info.name
    if name in ("utf-8", "utf-8-sig"):
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            detected.append("encoding")
            return "utf-16"
        if asked == "utf-8" and _western(head):  # (the default: another spelling is a choice)
            detected.append("encoding")
            return "cp1252"
        return "utf-8-sig"  # accepts a BOM, and reads plain UTF-8 the same
    return name


_HIGH = re.compile(rb"[\x80-\xff]")  # a byte beyond ASCII


def late_western(source) -> bool:
    """Whether a file read as UTF-8 because its first bytes were plain ASCII is Windows-1252
    after all: its first SNIFF_BYTES hold nothing beyond ASCII, and the SNIFF_BYTES from
    just before its first byte that is read as :func:`_western` does. A sorted export's
    first "Müller" can lie a megabyte down."""
    if _HIGH.search(source.head(SNIFF_BYTES)):
        return False  # UTF-8 text beyond ASCII at the start: a later bad byte is damage
    before = b""  # the end of the chunk before, so that the window may start in it
    try:
        with source.open() as stream:
            while chunk := stream.read(1 << 20):
                found = _HIGH.search(chunk)
                if found:
                    seen = before + chunk
                    at = len(before) + found.start()
                    window = seen[max(0, at - 256):]
                    return _western(window[:SNIFF_BYTES]
                                    + stream.read(max(0, SNIFF_BYTES - len(window))))
                before = chunk[-256:]
    except OSError:
        return False
    return False


WESTERN_RUNS = 0.5  # share of the bytes outside ASCII, at most, that stand beside another
#: Windows-1252's letters and the signs Western European tables hold (accented letters but
#: ×, ÷ and ÿ, a byte that marks junk more often; €, Œ, Š, Ž, £, §, °, ², ³, µ, «, », the
#: no-break space, typographic quotes and dashes, the ellipsis)
WESTERN_BYTES = re.compile(rb"[^\x00-\x7f\xc0-\xd6\xd8-\xf6\xf8-\xfe\x80\x8a\x8c\x8e"
                           rb"\x9a\x9c\x9e\x9f\xa0\xa3\xa7\xaa\xab\xb0\xb2\xb3\xb5"
                           rb"\xba\xbb\x91-\x94\x96\x97\x85]")


def _western(head: bytes) -> bool:
    """Whether the first bytes are not UTF-8 but Windows-1252 (what Excel and most Western
    European Windows programs write): invalid as UTF-8 before their last four bytes (a
    character may be cut there), valid as Windows-1252, and its letters outside ASCII
    standing alone, as accents do in Western European words (Müller, Genève, Ångström): a
    file in Cyrillic or Greek single-byte text, whose bytes decode as Windows-1252 too, has
    whole words of them."""
    try:
        head.decode("utf-8")
        return False
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4 and exc.reason == "unexpected end of data":
            return False
    if head.startswith(codecs.BOM_UTF8):
        return False
    if WESTERN_BYTES.search(head):
        return False
    high = len(_HIGH.findall(head))
    runs = sum(len(r) for r in re.findall(rb"[\x80-\xff]{2,}", head))
    return runs <= WESTERN_RUNS * high


def _sniff_delimiter(sample: list[str], quotechar: str) -> str:
    """Pick the candidate that splits the header into most fields, consistently."""
    best, best_score = ",", (0.0, 1)
    for cand in CANDIDATE_DELIMITERS:
        counts = [len(row) for row in csv.reader(sample, delimiter=cand, quotechar=quotechar)]
        if not counts or counts[0] < 2:
            continue
        consistency = sum(c == counts[0] for c in counts) / len(counts)
        score = (consistency, counts[0])
        if score > best_score:
            best, best_score = cand, score
    return best


def _sniff_decimal(sample: list[str], delimiter: str, quotechar: str) -> str:
    """Decimal comma only when the delimiter is not a comma and more columns write their
    decimals with a comma (1,5  or 1.204,50) than with a dot (3.12, 1,204.50), each column
    counted for the mark most of its values use. Values like 3.120 (three digits after one
    separator) could be either and do not count. By columns, not values: a ;-separated
    table of prices with decimal commas and one column of rates written 7.5% is read with
    the comma (the rates column is then told apart, with a warning), where any dotted value
    had made every price column text."""
    if delimiter == ",":
        return "."
    votes: dict[int, list[int]] = {}
    for row in csv.reader(sample[1:], delimiter=delimiter, quotechar=quotechar):
        for column, value in enumerate(row):
            m = _UNIT.match(value)
            if m is None or _THREE_AFTER.match(m["num"]):
                continue
            comma, dot = bool(_COMMA_DECIMAL.match(m["num"])), bool(_DOT_DECIMAL.match(m["num"]))
            if comma or dot:
                tally = votes.setdefault(column, [0, 0])
                tally[0] += comma
                tally[1] += dot
    commas = sum(c > d for c, d in votes.values())
    dots = sum(d > c for c, d in votes.values())
    return "," if commas > dots else "."
