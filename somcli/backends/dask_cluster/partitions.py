"""How the Dask engine's partitions are read, before anything is computed from them: Parquet
and Arrow files one row group per partition (:func:`columnar_parts`), and every partition
without its rows of empty fields and its rows that repeat the header, each counted
(:func:`on_rows_read`, :func:`on_describe`, :func:`header_notes`), each row's line in
its file in a column (:data:`LINE_COLUMN`: :func:`first_lines`, numbered before any row is
left out, as the local reader numbers them). Functions whose names start with ``on_`` or
``_on_`` run on the workers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from somcli.backends.dask_cluster.client import LINE_COLUMN, NOT_DATA, PATH_COLUMN, map_on
from somcli.io.formats import PARQUET, frame_of, read_columnar
from somcli.io.line_numbers import line_numbers, lines_read
from somcli.io.read import Dialect
from somcli.prep import roles as R


def columnar_parts(client, paths: list[str], dialect: Dialect, roles) -> list:
    """Parquet files read one row group per partition (Arrow files one per file), each
    made the frame the CSV reader would give (features as float64)."""
    import pyarrow.parquet as pq

    pieces = [(path, group) for path in paths
              for group in (range(max(pq.ParquetFile(path).num_row_groups, 1))
                            if dialect.format == PARQUET else [None])]
    floats = [d.name for d in roles.decisions if d.role == R.FEATURE and d.rule is None]
    return map_on(client, _on_read_columnar, *zip(*pieces, strict=True), kind=dialect.format,
                      na_values=sorted(set(dialect.na_values)),
                      floats=floats)


def _on_read_columnar(path, group, kind, na_values, floats):
    if group is not None:
        import pyarrow.parquet as pq

        handle = pq.ParquetFile(path)
        table = (handle.read_row_group(group) if handle.num_row_groups
                 else handle.schema_arrow.empty_table())
    else:
        table = read_columnar(path, kind)
    frame = frame_of(table, na_values)
    for name in floats:
        frame[name] = frame[name].astype(np.float64)
    frame[PATH_COLUMN] = path
    return frame


def named_floats(dtypes: dict) -> list[str]:
    """The numeric columns a repeated header can be told in: all of them, when none is
    named by a number (a header cell "2024" reads as a number: the local reader then finds
    no repeated header either), else none."""
    floats = [c for c, t in dtypes.items() if t == "float64"]
    return [] if pd.to_numeric(pd.Series(floats, dtype=object), errors="coerce").notna().any() \
        else floats


def first_lines(client, parts: list, first: int) -> list[int]:
    """The line of each partition's first row in its file (``first``: the line of a file's
    first row), from the lines each partition read, blank lines included."""
    read = client.gather(map_on(client, _on_read_rows, parts))
    out, seen = [], {}
    for n, path in read:
        out.append(first + seen.get(path, 0))
        seen[path] = seen.get(path, 0) + n
    return out


def _on_read_rows(part: pd.DataFrame) -> tuple[int, str | None]:
    return lines_read(cells(part)), str(part[PATH_COLUMN].iloc[0]) if len(part) else None


def on_rows_read(part: pd.DataFrame, first_line: int, named: list[str], texts: list[str]
                 ) -> pd.DataFrame:
    """``part`` with each row's line (``first_line``: its first row's), without its rows
    of empty fields (blank lines) and its rows that repeat the header (every numeric column
    a gap, its name having been read as one, and every other column its own name), each
    counted in the frame's attrs."""
    values = cells(part)
    part = part.assign(**{LINE_COLUMN: line_numbers(values, first_line)})
    empty = values.isna().all(axis=1).to_numpy()
    header = np.zeros(len(part), dtype=bool)
    if named and texts and len(part):
        header = values[named].isna().all(axis=1).to_numpy() & ~empty
        for name in texts:
            header &= (values[name].astype(str).str.strip() == name).to_numpy()
    if not (empty.any() or header.any()):
        return part
    kept = part.loc[~(empty | header)].reset_index(drop=True)
    kept.attrs["somcli_empty_rows"] = int(empty.sum())
    kept.attrs["somcli_header_rows"] = int(header.sum())
    return kept


def lines(part: pd.DataFrame) -> np.ndarray:
    """Each row's line in its file."""
    return part[LINE_COLUMN].to_numpy()


def cells(part: pd.DataFrame) -> pd.DataFrame:
    """The partition's columns as read (without those somcli adds)."""
    return part.drop(columns=NOT_DATA, errors="ignore")


def on_describe(part: pd.DataFrame):
    path = str(part[PATH_COLUMN].iloc[0]) if len(part) else None
    return (len(part), path, int(part.attrs.get("somcli_empty_rows", 0)),
            int(part.attrs.get("somcli_header_rows", 0)))


def header_notes(info: list, files: list[str], labels: dict[str, str]) -> list[str]:
    """Per file, how many rows repeated its header (left out)."""
    counts: dict[str, int] = {}
    for (_, _, _, headers), path in zip(info, files, strict=True):
        if headers:
            counts[path] = counts.get(path, 0) + headers
    return [f"{labels.get(path, path)}: {n:,} row{'s' * (n != 1)} repeat{'s' * (n == 1)} the "
            "header (files joined one after another?): left out" for path, n in counts.items()]


# ---------------------------------------------------------------- raw features per block
