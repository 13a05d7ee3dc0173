"""What a file is by its content: text (CSV/TSV), Parquet or Arrow, or a binary format
somcli does not read (refused by name, with how to export it)."""

from __future__ import annotations

import re
import struct
from typing import TYPE_CHECKING, BinaryIO

from somcli.errors import DataError, InputError, brief

if TYPE_CHECKING:
    import pandas as pd

TEXT, PARQUET, ARROW, ARROW_STREAM = "text", "parquet", "arrow", "arrow-stream"
FRAME = "dataframe"  # rows handed over in Python (somcli.cluster), read as columnar rows are
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")  # a text table's delimiter is sniffed among these
COLUMNAR = (PARQUET, ARROW, ARROW_STREAM)
NAMES = {TEXT: "text", "csv": "text", PARQUET: "Parquet", ARROW: "Arrow/Feather",
         ARROW_STREAM: "an Arrow stream", FRAME: "a DataFrame"}

#: leading bytes -> the format somcli reads
READABLE = {b"PAR1": PARQUET, b"ARROW1": ARROW, b"FEA1": ARROW,
            b"\xff\xff\xff\xff": ARROW_STREAM}
#: a JSON document or JSON lines: an object, or an array of objects or arrays, first
_JSON = re.compile(rb"^(\xef\xbb\xbf)?\s*(\{\s*(\"|\})|\[\s*[\{\[])")
#: leading bytes -> (what the file is, how to get a CSV from it)
REFUSED = {
    b"SQLite format 3\x00": ("a SQLite database",
                             "export a table: sqlite3 -header -csv FILE 'SELECT * FROM t' > t.csv"),
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": ("an Excel 97-2003 workbook (or another old Office file)",
                                          "save the sheet as CSV and pass that"),
    b"%PDF": ("a PDF document", "export its table as CSV"),
    b"\x89HDF\r\n\x1a\n": ("an HDF5 file", "write the table as CSV or Parquet, e.g. "
                           "pandas.read_hdf(FILE).to_parquet('t.parquet')"),
    b"\x93NUMPY": ("a NumPy array file", "write it as CSV, e.g. numpy.savetxt with delimiter=','"),
    b"\x89PNG": ("a PNG image", "pass a table (CSV or Parquet)"),
    b"\xff\xd8\xff": ("a JPEG image", "pass a table (CSV or Parquet)"),
    b"\x7fELF": ("a program", "pass a table (CSV or Parquet)"),
}



def kind_of(head: bytes, label: str) -> str:
    """The format of a (decompressed) file from its first bytes; refuses the binary
    formats of :data:`REFUSED` with a hint."""
    for magic, kind in READABLE.items():
        if head.startswith(magic):
            return kind
    for magic, (what, hint) in REFUSED.items():
        if head.startswith(magic):
            raise InputError(f"{label}: is {what}, not a table somcli reads", hint)
    if _JSON.match(head):  # (a CSV's header never opens with a brace)
        raise InputError(f"{label}: is JSON, not a table somcli reads",
                         "convert it to CSV, e.g. pandas.read_json(FILE, lines=True)"
                         ".to_csv('t.csv', index=False) (lines=False for one array)")
    return TEXT


def read_frame(source, kind: str, na_values: list[str], nrows: int | None):
    """A Parquet or Arrow source read into the frame the CSV reader would give."""
    import pyarrow as pa

    from somcli.io.sources import STREAM_ERRORS, TEXT_FACTOR, broken

    limit = None if source.limit is None or nrows is not None else source.limit * TEXT_FACTOR
    try:
        if source.path is not None and not source.compression:
            arrow = read_columnar(source.path, kind, nrows, limit, source.label)
        else:
            with source.open() as stream:
                arrow = read_columnar(pa.BufferReader(stream.read()), kind, nrows, limit,
                                      source.label)
    except (pa.ArrowException, ValueError) as exc:
        raise DataError(f"{source.label}: not a readable {what(kind)} ({brief(exc, 120)})",
                        "check or re-create the file") from None
    except STREAM_ERRORS as exc:
        raise broken(source, exc) from None
    try:
        frame = frame_of(arrow, na_values)
    except (pa.ArrowException, ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise DataError(f"{source.label}: not a readable {what(kind)} ({brief(exc, 120)})",
                        "check or re-create the file") from None
    if not frame.shape[1]:
        raise InputError(f"{source.label}: the file has no columns")
    return frame


def what(kind: str) -> str:
    """The format's name for a person: 'Parquet file', 'Arrow/Feather file', 'Arrow stream'."""
    return "Arrow stream" if kind == ARROW_STREAM else f"{NAMES[kind]} file"


def read_columnar(stream: BinaryIO | str, kind: str, nrows: int | None = None,
                  limit: int | None = None, label: str = ""):
    """A Parquet or Arrow file (a path or an open binary stream) as a pyarrow Table; with
    ``limit``, refused (65) before any column is decoded when the frame its metadata
    describes (rows and column types) would take more bytes than that."""
    import pyarrow as pa

    if limit is not None:
        rows, schema = columnar_shape(stream, kind)
        check_size(rows, schema, limit, label)
    if kind == PARQUET:
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(stream)
        if nrows is None:
            table = handle.read()
        else:
            batch = next(handle.iter_batches(batch_size=nrows), None)
            table = (pa.Table.from_batches([batch]) if batch is not None
                     else handle.schema_arrow.empty_table())
    elif kind == ARROW:
        import pyarrow.feather as feather

        table = feather.read_table(stream)
    else:
        table = pa.ipc.open_stream(stream).read_all()
    table = table.slice(0, nrows) if nrows is not None and kind != PARQUET else table
    # an Arrow file's buffers are taken as written: offsets pointing outside them crash
    # whatever reads them next (a segfault), so every invariant is checked first (linear)
    table.validate(full=True)
    return table


MAX_COLUMNS = 20_000  # past this a columnar file's metadata alone takes minutes to use
CELL_BYTES = {"number": 16, "text": 80}  # Arrow's copy and the frame's, per cell (measured)


def columnar_shape(stream, kind: str):
    """(rows, Arrow schema) from a columnar file's metadata, no column decoded: Parquet's
    footer, an Arrow file's batch headers, an Arrow stream's message headers."""
    import pyarrow as pa
    import pyarrow.ipc as ipc

    if kind == PARQUET:
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(stream)
        return handle.metadata.num_rows, handle.schema_arrow
    if kind == ARROW:
        nothing = ipc.IpcReadOptions(included_fields=[])  # the batches' lengths alone
        with ipc.open_file(stream, options=nothing) as reader:
            rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
            return rows, reader.schema
    source = pa.OSFile(stream) if isinstance(stream, str) else stream
    try:
        schema, rows = None, 0
        for message in ipc.MessageReader.open_stream(source):
            if message.type == "schema":
                schema = ipc.read_schema(message)
            elif message.type == "record batch":
                try:
                    length = _batch_length(message.metadata)
                except (struct.error, IndexError, OverflowError):
                    raise ValueError("a record batch header is damaged") from None
                if length < 0:
                    raise ValueError("a record batch of negative length")
                rows += length
    finally:
        if isinstance(stream, str):
            source.close()
        else:
            stream.seek(0)
    return rows, schema if schema is not None else pa.schema([])


def _batch_length(meta) -> int:
    """A record batch's row count, read from its flatbuffer header (Message.header ->
    RecordBatch.length) without touching its body."""
    buf = memoryview(meta).cast("B")

    def field(table: int, index: int) -> int | None:
        vtable = table - struct.unpack_from("<i", buf, table)[0]
        size = struct.unpack_from("<H", buf, vtable)[0]
        if 4 + 2 * index >= size:
            return None
        offset = struct.unpack_from("<H", buf, vtable + 4 + 2 * index)[0]
        return table + offset if offset else None

    root = struct.unpack_from("<I", buf, 0)[0]
    at = field(root, 2)  # Message.header
    if at is None:
        return 0
    batch = at + struct.unpack_from("<I", buf, at)[0]
    length = field(batch, 0)  # RecordBatch.length
    return struct.unpack_from("<q", buf, length)[0] if length is not None else 0


def check_size(rows: int, schema, limit: int, label: str) -> None:
    """Refuse (65) a columnar file whose decoded frame would not fit ``limit`` bytes, or
    that has more columns than somcli can profile in reasonable time."""
    import pyarrow as pa

    from somcli.runtime.memory import human

    if len(schema) > MAX_COLUMNS:
        raise DataError(f"{label}: {len(schema):,} columns, more than the {MAX_COLUMNS:,} "
                        "somcli reads", "write the columns to cluster to a new file first")
    per_row = sum(CELL_BYTES["number" if pa.types.is_integer(f.type) or pa.types.is_floating(
        f.type) or pa.types.is_boolean(f.type) else "text"] for f in schema)
    need = rows * per_row
    if need > limit:
        raise DataError(f"{label}: {rows:,} rows x {len(schema):,} columns would take about "
                        f"{human(need)} in memory, more than the limit ({human(limit)})",
                        "raise --max-memory, or use --engine dask for inputs larger than "
                        "memory")


def frame_of(table, na_values) -> pd.DataFrame:
    """A pyarrow Table as the frame the CSV reader would give: numbers as numbers, text as
    Python strings with the missing-value markers as NaN, dates and times as ISO text (the
    date rules read them), anything else as its text."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    columns, seen = {}, set()
    for i, (name, col) in enumerate(zip(table.column_names, table.columns, strict=True)):
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        typ = col.type
        if pa.types.is_integer(typ) or pa.types.is_boolean(typ):
            series = col.to_pandas()
        elif pa.types.is_floating(typ) or pa.types.is_decimal(typ):
            series = col.to_pandas().astype(np.float64)
        else:
            if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
                col = _as_text(col)
            series = col.to_pandas().astype(object)
            series = series.where(series.notna() & ~series.isin(na_values), np.nan)
        label = str(name).strip() or f"column_{i + 1}"
        while label in seen:
            label += "_"
        seen.add(label)
        columns[label] = series.reset_index(drop=True)
    return pd.DataFrame(columns, copy=False)


def _as_text(col):
    import pyarrow as pa

    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        import pandas as pd

        when = pd.to_datetime(col.to_pandas(), errors="coerce")
        if getattr(when.dt, "tz", None) is not None:
            when = when.dt.tz_convert("UTC").dt.tz_localize(None)
        timed = (when.dropna() != when.dropna().dt.normalize()).any()
        text = when.dt.strftime("%Y-%m-%dT%H:%M:%S" if timed else "%Y-%m-%d")
        return pa.chunked_array([pa.array(text.where(when.notna(), None).tolist(), pa.string())])
    try:
        return col.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.chunked_array([pa.array([None if v is None else str(v)
                                           for v in col.to_pylist()], pa.string())])
