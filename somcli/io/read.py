"""CSV/TSV (plain, compressed, several files, stdin) -> one table with line numbers.

Parsing is pandas' C reader; this module decides the dialect (delimiter,
encoding, decimal mark), names the columns, and turns parser failures into
one-line errors that name the file and line.
"""

from __future__ import annotations

import csv
import io
import itertools
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from somcli.config import ReadOptions
from somcli.errors import DataError, InputError
from somcli.io import formats, parts
from somcli.io.aside import set_aside_ends, set_aside_headers
from somcli.io.dialect import SNIFF_BYTES, Dialect, late_western, sniff
from somcli.io.line_numbers import line_numbers
from somcli.io.read_errors import bad_line, parser_error, preamble
from somcli.io.sources import STREAM_ERRORS, TEXT_FACTOR, Source, broken, resolve
from somcli.runtime import memory

CHUNK_CELLS = 1_000_000  # cells per parsed chunk: bounds the parser's memory (see benchmarks)


class NotDecoded(DataError):
    """A file's bytes are not the encoding it is read in; ``where``: the first line (or
    byte) that is not."""

    def __init__(self, message: str, hint: str, where: str):
        super().__init__(message, hint)
        self.where = where


@dataclass
class Table:
    """The rows as read: data columns only, plus where each row came from."""

    frame: pd.DataFrame
    lines: np.ndarray  # 1-based physical line number of each row in its file
    sources: np.ndarray | None  # file label per row, only when several files were read
    dialect: Dialect
    inputs: list[str]
    notes: list[str] = field(default_factory=list)
    blank_lines: int = 0
    warnings: list[str] = field(default_factory=list)  # rows left out (totals), for stderr

    @property
    def n_rows(self) -> int:
        return len(self.frame)


def read_table(opts: ReadOptions, stdin=None, nrows: int | None = None,
               headers: bool = True) -> Table:
    """Read every input of ``opts`` into one :class:`Table` (same columns required).
    Numbers are read in float64 whatever the model's precision: outputs quote them.
    ``stdin``: the bytes of '-' (a binary stream), or rows given as a pandas DataFrame
    (``somcli.cluster``), read then as a Parquet file's would be. ``headers``: leave out
    rows that repeat the header (the Dask engine's sample keeps them, then drops them
    silently: :func:`somcli.io.aside.without_headers`)."""
    if isinstance(stdin, pd.DataFrame):
        table = frame_table(stdin, opts, opts.inputs[0], nrows)
        if not opts.keep_totals:
            set_aside_ends(table, ends=nrows is None or table.n_rows < nrows)
        return table
    text_limit = opts.memory_limit // TEXT_FACTOR if opts.memory_limit and nrows is None else None
    sources = resolve(opts.inputs, stdin=stdin, limit=text_limit)
    dialect = sniff(sources[0], opts)
    late = ""
    try:
        parts = [_read_one(src, dialect, nrows) for src in sources]
    except NotDecoded as exc:  # plain ASCII for 64 KiB, then a Western European export's
        if opts.encoding != "utf-8" or len(sources) > 1 or not late_western(sources[0]):
            raise  # (an encoding given is the user's; several files: each may differ)
        dialect = replace(dialect, encoding="cp1252", sniffed=(*dialect.sniffed, "encoding"))
        parts = [_read_one(sources[0], dialect, nrows)]
        late = f" ({exc.where} is the first that is not)"
    if dialect.encoding == "cp1252" and "encoding" in dialect.sniffed:
        parts[0].warnings.append(f"{sources[0].label}: not UTF-8{late}; read as Windows-1252, "
                                 "as Western European spreadsheets write (pass -e with the "
                                 "file's encoding if its text reads wrong)")
    for part in parts if headers else ():
        set_aside_headers(part)
    if not opts.keep_totals:  # each file's own totals row (a month's export each)
        for part in parts:
            set_aside_ends(part, ends=nrows is None or part.n_rows < nrows)
    first = parts[0]
    for src, part in zip(sources[1:], parts[1:], strict=True):
        if list(part.frame.columns) != list(first.frame.columns):
            raise InputError(
                f"{src.label}: its columns ({_names(part.frame.columns)}) differ from "
                f"{sources[0].label} ({_names(first.frame.columns)})",
                "all files of one run must have the same header",
            )
    if len(parts) == 1:
        table = first
    else:
        frame = pd.concat([p.frame for p in parts], ignore_index=True)
        lines = np.concatenate([p.lines for p in parts])
        labels = np.concatenate([np.full(p.n_rows, s.label, dtype=object)
                                 for s, p in zip(sources, parts, strict=True)])
        notes = first.notes + [f"{len(parts)} files read: " + _names(s.label for s in sources)]
        table = Table(frame, lines, labels, dialect, [s.label for s in sources], notes,
                      sum(p.blank_lines for p in parts), [w for p in parts for w in p.warnings])
    if table.n_rows == 0:
        where = table.inputs[0] if len(table.inputs) == 1 else "the input files"
        raise InputError(f"{where}: has a header but no data rows")
    return table


def frame_table(frame: pd.DataFrame, opts: ReadOptions, label: str,
                nrows: int | None = None) -> Table:
    """Rows given as a DataFrame, converted as a Parquet file's are (numbers as numbers,
    text with the missing-value markers as gaps, dates as ISO text); ``line`` is the row
    number."""
    import pyarrow as pa

    frame = frame.iloc[:nrows] if nrows is not None else frame
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1).reset_index(drop=True)
    arrays = []
    for name in frame.columns:
        try:
            arrays.append(pa.array(frame[name], from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: as text
            arrays.append(pa.array(frame[name].map(lambda v: None if pd.isna(v) else str(v)),
                                   pa.string()))
    arrow = pa.Table.from_arrays(arrays, names=list(frame.columns))
    out = formats.frame_of(arrow, sorted(set(opts.na_values)))
    if not out.shape[1]:
        raise InputError(f"{label}: has no columns")
    if not len(out):
        raise InputError(f"{label}: has no rows")
    dialect = Dialect(",", "utf-8", ".", True, 0, '"', tuple(opts.na_values), ("format",),
                      formats.FRAME)
    return Table(out, np.arange(1, len(out) + 1, dtype=np.int64), None, dialect, [label],
                 [f"a {label}: `line` is the row number (1 = the first row)"])


def header_names(source: Source, dialect: Dialect, notes: list[str]) -> list[str] | None:
    """Column names from the header line: blanks named, duplicates made unique."""
    if not dialect.header:
        return None
    try:
        with source.open() as stream:
            text = io.TextIOWrapper(stream, encoding=dialect.encoding, errors="replace",
                                    newline="")
            for _ in range(dialect.skip_lines):
                text.readline()
            line = text.readline()
            while line and not line.strip():
                line = text.readline()
    except STREAM_ERRORS as exc:
        raise broken(source, exc) from None
    # (a space before a quoted name, ` "Kunde "`, kept the quotes in the name)
    row = next(csv.reader([line.rstrip("\r\n")], delimiter=dialect.delimiter,
                          quotechar=dialect.quotechar, skipinitialspace=True), [])
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(row, start=1):
        name = raw.strip().replace("\x00", "")
        if not name:
            name = f"column_{i}"
            notes.append(f"column {i} has no name in the header; called it '{name}'")
        if name in seen:
            seen[name] += 1
            new = f"{name}_{seen[name]}"
            while new in seen:
                seen[name] += 1
                new = f"{name}_{seen[name]}"
            notes.append(f"column name '{name}' appears more than once; column {i} is called '{new}'")
            name = new
        seen.setdefault(name, 1)
        names.append(name)
    return names


def _read_one(source: Source, dialect: Dialect, nrows: int | None = None) -> Table:
    kind = formats.kind_of(source.head(16), source.label)
    if kind != (formats.TEXT if dialect.format == "csv" else dialect.format):
        raise InputError(f"{source.label}: is {formats.NAMES[kind]}, the first input is "
                         f"{formats.NAMES[dialect.format]}",
                         "all files of one run must have the same format")
    if kind in formats.COLUMNAR:
        return _read_columnar(source, dialect, nrows)
    notes: list[str] = []
    if dialect.blank_top:
        notes.append(f"{dialect.blank_top} empty line(s) above the table: skipped")
    sep = "sep_line" in dialect.sniffed
    if sep:
        notes.append(f"the first line ('sep={dialect.delimiter}', as Excel writes it) names the "
                     "delimiter: read, and skipped")
    if "skip_lines" in dialect.sniffed:
        above = sep + dialect.blank_top
        title = dialect.skip_lines - above
        notes.append(f"the {'next' if above else 'first'} {title} line(s) look like a title "
                     f"above the table: skipped (as -K {dialect.skip_lines}; -K {above} "
                     "reads them as the header)")
    names = header_names(source, dialect, notes)
    na_values = sorted(set(dialect.na_values) | {""})
    chunk_rows = max(1000, CHUNK_CELLS // max(len(names or []), 1))
    options = dict(sep=dialect.delimiter, encoding=dialect.encoding, decimal=dialect.decimal,
                   quotechar=dialect.quotechar, na_values=na_values, keep_default_na=False,
                   skip_blank_lines=False, engine="c", index_col=False, chunksize=chunk_rows)
    try:
        with warnings.catch_warnings():
            # pandas drops the fields past the header's with only a warning: data lost
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = _parse(source, dialect, names, options, nrows)
    except pd.errors.ParserWarning:
        raise _short_header(source, dialect, names) from None
    except UnicodeError as exc:  # a decoding error, or UTF-32/16 without a byte-order mark
        line = bad_line(source, dialect.encoding)
        start = getattr(exc, "start", None)
        where = f"line {line}" if line else f"byte {start}" if start is not None else "the start"
        raise NotDecoded(
            f"{source.label}: {where} is not valid {dialect.encoding.replace('utf-8-sig', 'UTF-8')}",
            "pass the file's encoding, e.g. -e latin-1, -e cp1252 or -e cp1251", where,
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{source.label}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise parser_error(source, dialect, exc) from None
    except STREAM_ERRORS as exc:
        raise broken(source, exc) from None
    if names is not None:
        if len(names) == frame.shape[1]:
            frame.columns = names
        else:  # the header line had a different count than pandas saw (embedded quotes etc.)
            frame.columns = [str(c) for c in frame.columns]
    else:
        frame.columns = [f"column_{i}" for i in range(1, frame.shape[1] + 1)]
    lines = line_numbers(frame, dialect.skip_lines + (2 if dialect.header else 1))
    blank = frame.isna().all(axis=1).to_numpy()
    n_blank = int(blank.sum())
    if n_blank:
        frame = frame.loc[~blank].reset_index(drop=True)
        lines = lines[~blank]
        notes.append(f"{n_blank} empty line(s) skipped")
    return Table(frame, lines, None, dialect, [source.label], notes, n_blank)


def _read_columnar(source: Source, dialect: Dialect, nrows) -> Table:
    """A Parquet or Arrow file: its rows are numbered from 1 (there are no lines)."""
    frame = formats.read_frame(source, dialect.format, sorted(set(dialect.na_values)), nrows)
    lines = np.arange(1, len(frame) + 1, dtype=np.int64)
    note = f"{formats.NAMES[dialect.format]} input: `line` is the row number (1 = the first row)"
    return Table(frame, lines, None, dialect, [source.label], [note])


def _parse(source: Source, dialect: Dialect, names, options: dict, nrows) -> pd.DataFrame:
    """The rows of a text file as a frame (in parts on threads when it is big)."""
    chunks = None
    if nrows is None and names is not None and source.path and not source.compression:
        chunks = parts.parse(source.path, source.head(SNIFF_BYTES), dialect, len(names),
                             options, _columns)
    if chunks is not None:  # handed over, not kept here: _join frees them column by column
        frame, mixed = _join(_handed(chunks), list(range(len(names))))
    else:
        with source.open() as stream:
            reader = pd.read_csv(stream, header=0 if dialect.header else None,
                                 skiprows=dialect.skip_lines, nrows=nrows, **options)
            first = next(reader, None)
            if first is None:
                raise pd.errors.EmptyDataError("no columns")
            second = next(reader, None)
            if second is None and len(first.columns):  # one chunk: the parser's frame as
                frame, mixed = first, []  # it is (10,000 columns: 1.4 s of copies spared)
            else:
                frame, mixed = _join((_columns(c) for c in itertools.chain(
                    [first], [] if second is None else [second], reader)), list(first.columns))
    if mixed:
        frame = _as_text(source, dialect, options, frame, mixed)
    return frame


def _short_header(source: Source, dialect: Dialect, names: list[str] | None) -> DataError:
    """Rows with more fields than the header: a title above the table (found by
    read_errors.preamble, with the -K that skips it), or a header missing names."""
    lead = preamble(source, dialect)
    skip = f"pass -K {dialect.skip_lines + lead} to skip them"
    if lead and len(names or []) <= 1:
        return DataError(f"{source.label}: rows have more fields than the header: the first "
                         f"{lead} line(s) look like a preamble before the table", skip)
    hint = "name every column in the header, or check the delimiter with -d"
    if lead:
        hint += f"; if the first {lead} line(s) are a preamble, {skip}"
    return DataError(f"{source.label}: rows have more fields than the header's "
                     f"{len(names or [])} names", hint)


def _handed(items: list):
    """The items of ``items`` in order, each removed from the list as it is given."""
    items.reverse()
    while items:
        yield items.pop()


def _columns(chunk: pd.DataFrame) -> list[pd.Series]:
    """A parsed chunk's columns, each owning its memory (not views of the chunk's one
    block), so that :func:`_join` can free each column's pieces once it is joined: the
    reading's peak is then the table and one column, not twice the table (4M x 10: 771 MB
    -> see benchmarks/README.md)."""
    return [chunk[col].copy() for col in chunk.columns]


def _join(chunks, columns: list) -> tuple[pd.DataFrame, list[int]]:
    """Join parsed chunks (lists of columns) column by column, so the parser never holds
    the whole file. A column numeric in every chunk stays numeric (float64 if the chunks'
    types differ). Returns the frame and the positions of the columns that were numbers
    in some chunks and text in others: those must be read again as text (the text of a
    number parsed in one chunk, say 002, is lost), so that where the chunks are cut never
    changes what a column holds.
    """
    pieces: list[list[pd.Series]] = [[] for _ in columns]
    for chunk in chunks:
        for held, piece in zip(pieces, chunk, strict=True):
            held.append(piece)
    if not columns or not pieces[0]:
        raise pd.errors.EmptyDataError("no columns")
    joined, mixed = {}, []
    for i, col in enumerate(columns):
        held, pieces[i] = pieces[i], []  # the pieces go once this column is joined
        if i and len(held) > 1:
            memory.release()  # the last column's pieces, back to the system
        held = [p for p in held if len(p)] or held[:1]  # an empty chunk has no type
        if len(held) == 1:
            joined[col] = held[0].reset_index(drop=True)
            continue
        numeric = [pd.api.types.is_numeric_dtype(p) and not pd.api.types.is_bool_dtype(p)
                   for p in held]
        if all(numeric) and all(isinstance(p.dtype, np.dtype) for p in held):
            kinds = {p.dtype for p in held}
            wide = kinds.pop() if len(kinds) == 1 else np.float64
            # (copy=False: pandas 3 copies an array it is given, 18 ms per 1M-row column)
            joined[col] = pd.Series(np.concatenate([p.to_numpy(wide) for p in held]),
                                    copy=False)
            continue
        # what the chunks that hold a value hold (a chunk of empty cells reads as float)
        kinds = {"number" if n else str(p.dtype)
                 for p, n in zip(held, numeric, strict=True) if p.notna().any()}
        if len(kinds) > 1:
            mixed.append(i)
            joined[col] = pd.concat(held, ignore_index=True)
        elif kinds == {"number"}:
            joined[col] = pd.Series(np.concatenate([p.to_numpy(np.float64) for p in held]),
                                    copy=False)
        else:  # one kind of text (or nothing at all): of that type
            text = next((p for p in held if p.notna().any()), held[0])
            joined[col] = pd.concat(held, ignore_index=True).astype(text.dtype)
    return pd.DataFrame(joined, copy=False), mixed


def _as_text(source: Source, dialect: Dialect, options: dict, frame: pd.DataFrame,
             positions: list[int]) -> pd.DataFrame:
    """Read the columns at ``positions`` again, as text, into ``frame``."""
    with source.open() as stream:
        reader = pd.read_csv(stream, header=0 if dialect.header else None,
                             skiprows=dialect.skip_lines, usecols=positions, dtype=str,
                             **options)
        text, _ = _join(([c[col] for col in c.columns] for c in reader), positions)
    for pos in positions:
        frame[frame.columns[pos]] = text[pos].to_numpy()
    return frame


def _names(names) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(names[:8])
    return shown + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
