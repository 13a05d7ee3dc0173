"""Totals rows on the Dask engine: each file's first and last rows checked against the
sums (means) of its rows over every partition, as the local reader checks a whole file
(:mod:`somcli.prep.summary_rows`), and set aside before the column roles are decided.

What crosses to the client is small whatever the file's size: the first EDGE rows of each
file's first partition, the last EDGE of its last, and each numeric column's sum, count and
largest magnitude per partition. A column is numeric as the local reader types it: a
feature (float64 on the partitions), or a column that the sample read as numbers. Numbers
written as text with a unit (``1.234 EUR``) are not read for this check here (the local
reader reads them when a row says it is a total).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from somcli.backends.dask_cluster.client import LINE_COLUMN, NOT_DATA, PATH_COLUMN, map_on
from somcli.backends.dask_cluster.partitions import cells
from somcli.io.aside import as_numbers
from somcli.prep import notes_rows
from somcli.prep import summary_rows as S

SHIPPED = S.EDGE + notes_rows.MAX_NOTES  # a partition's last rows sent: notes, totals above


def number_and_text_columns(sample: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The columns the local reader reads as numbers (numeric in the sample as it read it)
    and the text columns it reads as numbers with a unit when a row says it is a total."""
    numeric, text = [], []
    for name, dtype in sample.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            continue
        if pd.api.types.is_numeric_dtype(dtype):
            numeric.append(str(name))
        elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            text.append(str(name))
    return numeric[:S.MAX_COLUMNS], text[:S.MAX_COLUMNS]


def set_aside(client, parts: list, columns: tuple[list[str], list[str]], decimal: str,
              labels: dict[str, str]) -> tuple[list, list[str]]:
    """``parts`` without each file's notes below the table and totals rows (notes first, as
    the local reader sets them aside), and a warning per file that had some, naming the
    file as the user did (``labels``: path -> name) and the rows' lines. ``columns``: from
    :func:`number_and_text_columns`."""
    numeric, text = columns
    info = client.gather(map_on(client, _on_edges, parts, columns=numeric))
    by_file: dict[str, list[int]] = {}
    for p, (n, path, *_rest) in enumerate(info):
        if n:
            by_file.setdefault(path, []).append(p)
    warnings = []
    drops: dict[int, list[int]] = {}
    for path, mine in by_file.items():
        notes, said = _notes([info[p] for p in mine],
                             _longest_texts(client, [parts[p] for p in mine]))
        if notes:
            warnings.append(f"{labels.get(path, path)}: {said}")
            total = sum(info[p][0] for p in mine)
            drops[mine[-1]] = [p - (total - info[mine[-1]][0]) for p in notes]
        edges = Edges([info[p] for p in mine], len(notes))
        if text and any(edges.labels.values()):  # text numbers read only for a labelled row
            edges.text = client.gather(map_on(client, _on_text, [parts[p] for p in mine],
                                              columns=text, decimal=decimal))
        found = S.judge(edges.n, edges.labels, edges.numbers)
        if not found:
            continue
        lines = {s.position: int(edges.rows[s.position][LINE_COLUMN]) for s in found}
        warnings.append(f"{labels.get(path, path)}: {S.note(found, lines)}")
        for s in found:
            k, local = edges.where(s.position)
            drops.setdefault(mine[k], []).append(local)
    if drops:
        parts = [client.submit(_on_drop, part, drops[p], pure=False) if p in drops else part
                 for p, part in enumerate(parts)]
    return parts, warnings


def _notes(infos: list, longest_above) -> tuple[list[int], str]:
    """The notes at the bottom of one file (positions in it) and the warning that says so:
    its last partition's last rows scanned as the local reader scans a table, a text that
    does not begin like a note measured against the longest of its column above it
    (``longest_above(column)``: above those last rows, over every partition)."""
    n = sum(i[0] for i in infos)
    shipped = infos[-1][3]
    tail = cells(shipped)
    start = n - len(tail)

    def longest(p: int, column: int) -> int:
        name = tail.columns[column]
        return max(longest_above(name), notes_rows.longest_text(tail[name].iloc[:p - start]))

    found = notes_rows.scan(tail, start, n, longest)
    if not found:
        return [], ""
    lines = {p - start: int(shipped[LINE_COLUMN].iloc[p - start]) for p in found}
    return found, notes_rows.note([p - start for p in found], tail, lines)


def _longest_texts(client, parts: list):
    """column -> the longest text of one file's column above its last partition's last
    SHIPPED rows, read from its partitions when first asked (only a row that may be a note
    and does not begin like one asks: most runs read no text column for it)."""
    known: dict[str, int] = {}
    skip = [0] * (len(parts) - 1) + [SHIPPED]

    def longest_above(name: str) -> int:
        if name not in known:
            known[name] = max(client.gather(map_on(client, _on_longest, parts, skip,
                                                   column=name)), default=0)
        return known[name]

    return longest_above


class Edges:
    """One file's edge rows, and its numeric columns as the check reads them, from what
    its partitions sent (:func:`_on_edges`, :func:`_on_text`)."""

    def __init__(self, infos: list, notes: int = 0):
        self.infos = infos
        self.lengths = [i[0] for i in infos]
        self.total = sum(self.lengths)
        self.n = self.total - notes  # the rows above the notes at its bottom
        last = infos[-1][3]
        self.head, tail = infos[0][2], last.iloc[:len(last) - notes].tail(S.EDGE)
        self.tail_start = self.n - len(tail)
        self.rows = {p: self.head.iloc[p] if p < len(self.head) else tail.iloc[p - self.tail_start]
                     for p in S.edge_rows(self.n)
                     if p < len(self.head) or p >= self.tail_start}
        self.labels = {p: S.label(row.drop(NOT_DATA, errors="ignore"))
                       for p, row in self.rows.items()}
        self.text: list | None = None  # per partition: its text columns read as numbers

    def numbers(self, parse_text: bool):
        """(name, :class:`summary_rows.Column`) in the table's order, at most MAX_COLUMNS:
        the numeric columns, and with ``parse_text`` the text columns that read as numbers
        with one unit in every partition."""
        given = 0
        for name in self.rows[next(iter(self.rows))].index:
            if given >= S.MAX_COLUMNS:
                return
            if name in NOT_DATA:
                continue
            sums = [i[4].get(name, False) for i in self.infos]
            if all(s is not False for s in sums):
                at = {p: _number(row[name]) for p, row in self.rows.items()}
            elif parse_text and self.text is not None:
                sums = [t.get(name) for t in self.text]
                if any(s is None for s in sums) or len({s[3] for s in sums if s[1]} - {""}) > 1:
                    continue
                at = self._text_at([t[name] for t in self.text])
            else:
                continue
            if any(s is None for s in sums):
                continue
            given += 1
            yield name, S.Column(float(sum(s[0] for s in sums)), int(sum(s[1] for s in sums)),
                                 max((s[2] for s in sums), default=0.0), at)

    def _text_at(self, per_part: list) -> dict[int, float]:
        """The edge rows' values of a text column from each partition's first and last
        values as :func:`_on_text` read them."""
        out = {}
        for p in self.rows:
            k, local = self.where(p)
            first, last = per_part[k][4], per_part[k][5]
            from_end = self.lengths[k] - local  # 1 for the partition's last row
            out[p] = first[local] if local < len(first) else last[len(last) - from_end]
        return out

    def where(self, position: int) -> tuple[int, int]:
        """A position in the file: (its partition among the file's, its index there)."""
        if position < len(self.head):
            return 0, position
        return len(self.infos) - 1, position - (self.total - self.lengths[-1])


def _number(value) -> float:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iat[0]
    return float(number) if pd.notna(number) else np.nan


def _on_edges(part: pd.DataFrame, columns: list[str]):
    """(rows, file, first EDGE rows, last SHIPPED rows, column -> (sum, count, largest
    magnitude)) of a partition; the entry of a column that does not read as numbers whole
    is None: the file's column is then not numeric."""
    path = str(part[PATH_COLUMN].iloc[0]) if len(part) else None
    sums = {}
    for name in columns:
        if name not in part.columns:
            continue
        column = part[name]
        values = column if pd.api.types.is_float_dtype(column.dtype) else as_numbers(column)
        # text among its numbers: not a numeric column in this file
        sums[name] = None if values is None else _sums(values.to_numpy(dtype=float))
    return (len(part), path, part.head(S.EDGE), part.tail(SHIPPED), sums)


def _on_longest(part: pd.DataFrame, skip: int, column: str) -> int:
    return notes_rows.longest_text(part[column].iloc[:max(len(part) - skip, 0)])


def _on_text(part: pd.DataFrame, columns: list[str], decimal: str) -> dict:
    """Column -> (sum, count, largest magnitude, unit, first values, last values) of the
    text columns that read as numbers with one unit, None for the others."""
    from somcli.prep.units import read_text_column

    out = {}
    for name in columns:
        if name not in part.columns or pd.api.types.is_float_dtype(part[name].dtype):
            continue
        read = read_text_column(part[name], decimal)
        if read.values is None:
            out[name] = None
            continue
        values = read.values
        out[name] = (*_sums(values), read.rule.unit, [float(v) for v in values[:S.EDGE]],
                     [float(v) for v in values[-SHIPPED:]])
    return out


def _sums(values: np.ndarray) -> tuple[float, int, float]:
    seen = values[~np.isnan(values)]
    return float(seen.sum()), len(seen), float(np.abs(seen).max()) if len(seen) else 0.0


def _on_drop(part: pd.DataFrame, positions: list[int]) -> pd.DataFrame:
    keep = np.ones(len(part), dtype=bool)
    keep[positions] = False
    out = part.loc[keep].reset_index(drop=True)
    out.attrs = dict(part.attrs)
    return out
