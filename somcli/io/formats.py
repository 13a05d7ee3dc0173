"""What a file is by its content: text (CSV/TSV), Parquet or Arrow, or a binary format
somcli does not read (refused by name, with how to export it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

from somcli.errors import DataError, InputError, brief

if TYPE_CHECKING:
    import pandas as pd

TEXT, PARQUET, ARROW, ARROW_STREAM = "text", "parquet", "arrow", "arrow-stream"
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")  # a text table's delimiter is sniffed among these
COLUMNAR = (PARQUET, ARROW, ARROW_STREAM)
NAMES = {TEXT: "text", "csv": "text", PARQUET: "Parquet", ARROW: "Arrow/Feather",
         ARROW_STREAM: "an Arrow stream"}

#: leading bytes -> the format somcli reads
READABLE = {b"PAR1": PARQUET, b"ARROW1": ARROW, b"FEA1": ARROW,
            b"\xff\xff\xff\xff": ARROW_STREAM}
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
    return TEXT


def read_frame(source, kind: str, na_values: list[str], nrows: int | None):
    """A Parquet or Arrow source read into the frame the CSV reader would give."""
    import pyarrow as pa

    from somcli.io.sources import STREAM_ERRORS, broken

    try:
        if source.path is not None and not source.compression:
            arrow = read_columnar(source.path, kind, nrows)
        else:
            with source.open() as stream:
                arrow = read_columnar(pa.BufferReader(stream.read()), kind, nrows)
    except (pa.ArrowException, ValueError) as exc:
        raise DataError(f"{source.label}: not a readable {NAMES[kind]} file ({brief(exc, 120)})",
                        "check or re-create the file") from None
    except STREAM_ERRORS as exc:
        raise broken(source, exc) from None
    frame = frame_of(arrow, na_values)
    if not frame.shape[1]:
        raise InputError(f"{source.label}: the file has no columns")
    return frame


def read_columnar(stream: BinaryIO | str, kind: str, nrows: int | None = None):
    """A Parquet or Arrow file (a path or an open binary stream) as a pyarrow Table."""
    import pyarrow as pa

    if kind == PARQUET:
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(stream)
        if nrows is None:
            return handle.read()
        batch = next(handle.iter_batches(batch_size=nrows), None)
        return pa.Table.from_batches([batch]) if batch is not None else handle.schema_arrow.empty_table()
    if kind == ARROW:
        import pyarrow.feather as feather

        table = feather.read_table(stream)
    else:
        table = pa.ipc.open_stream(stream).read_all()
    return table.slice(0, nrows) if nrows is not None else table


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
