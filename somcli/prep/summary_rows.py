"""Totals and averages written into a table as rows ("Summe" under an export, "Total" or
"Average" above or below the data): they are not observations, so they are set aside
before the column roles are decided, with a note, as a title above the table is.

A row among the first or last EDGE rows is one when

- one of its text cells says so (Total, Sum, Summe, Gesamt, Insgesamt, ...; or Average,
  Mean, Durchschnitt, ...: :data:`TOTAL_WORDS`, :data:`MEAN_WORDS`) and its numbers are the
  sums (or means) of the other rows' in at least half of the numeric columns where it has a
  number, one at least; or
- it is the very first or last row, says nothing, and its numbers are the other rows'
  sums in every numeric column where it has one, two at least (a blank label cell).

"Are the sums" allows 0.5% (the rows were rounded before they were added up). A number
here is what the column rules would read: numbers as read, or, when a row says it is a
total, text numbers with one unit or thousands separators (:mod:`somcli.prep.units`;
parsing every text column of a long table for a row that says nothing would cost more than
the check is worth). The local reader applies this to each file (:func:`find`); the Dask
engine to each file's edge rows and its partitions' column sums (:func:`judge`, from
:mod:`somcli.backends.dask_cluster.ends`). Pure pandas and numpy; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from somcli.prep.notes_rows import first_few
from somcli.prep.units import read_text_column

EDGE = 3  # rows looked at, at each end of the table
MIN_OTHER_ROWS = 3  # a "total" of fewer rows is not told from a row
TOLERANCE = 0.005  # relative
MAX_COLUMNS = 200  # numeric columns read, at most (the first ones)

TOTAL_WORDS = ("total", "totals", "grand total", "sum", "sums", "summe", "gesamt",
               "gesamtsumme", "insgesamt", "totaal", "totale", "totalt", "suma", "somme",
               "overall", "all")
MEAN_WORDS = ("average", "avg", "mean", "durchschnitt", "mittelwert", "moyenne", "promedio",
              "media", "gemiddelde")
_LABEL = re.compile(r"^\W*(?P<word>" + "|".join(sorted(
    (re.escape(w) for w in TOTAL_WORDS + MEAN_WORDS), key=len, reverse=True)) + r")\b",
    re.IGNORECASE)


@dataclass(frozen=True)
class SummaryRow:
    position: int  # row position in the table
    label: str  # the text cell that says what it is ("" when none does)
    kind: str  # "sum" or "mean"
    columns: tuple[str, ...]  # the columns whose numbers agree


def find(frame: pd.DataFrame, decimal: str, last: bool = True) -> list[SummaryRow]:
    """The summary rows at the ends of ``frame`` (first rows first); at its start only
    when not ``last`` (the rows are the first of a longer file)."""
    n = len(frame)
    if n < MIN_OTHER_ROWS + 1 or not len(frame.columns):  # (judge's rule: no label read)
        return []
    edge = edge_rows(n, last)
    labels = {p: label(frame.iloc[p]) for p in edge}
    return judge(n, labels, lambda parse: _numbers(frame, decimal, parse, edge), last)


def edge_rows(n: int, last: bool = True) -> list[int]:
    """The positions looked at in a table of ``n`` rows: its first EDGE, and its last EDGE
    when ``last``."""
    edge = set(range(min(EDGE, n)))
    if last:
        edge |= set(range(max(n - EDGE, 0), n))
    return sorted(edge)


def judge(n: int, labels: dict[int, str], numbers, last: bool = True) -> list[SummaryRow]:
    """The summary rows among the edge rows of a table of ``n`` rows, from each edge row's
    label (:func:`label`) and ``numbers(parse_text)``: (column name, :class:`Column`) pairs
    in the table's order, each what the check reads of a numeric column (the local reader
    computes them from the frame; the Dask engine from its partitions)."""
    if n < MIN_OTHER_ROWS + 1:
        return []
    said = [p for p in labels if labels[p]]
    ends = [p for p in ((0, n - 1) if last else (0,)) if p in labels and not labels[p]]
    if not said:  # only the unlabelled ends, which every column must bear out: the
        return _silent_ends(numbers(False), ends)  # first column that no end agrees with
    table = dict(numbers(True))  # stops the reading
    found = []
    for p in said:  # (a total is not added into an average beside it)
        word = labels[p].lower()
        kind = "mean" if any(word.startswith(w) for w in MEAN_WORDS) else "sum"
        agree, tried = _agreement(table, p, said, kind)
        if agree and 2 * len(agree) >= tried:
            found.append(SummaryRow(p, labels[p], kind, tuple(agree)))
    found += _silent_ends(table.items(), ends, [s.position for s in found])
    return sorted(found, key=lambda s: s.position)


def _silent_ends(numbers, ends: list[int], aside: list[int] = ()) -> list[SummaryRow]:
    """The rows of ``ends`` (which say nothing) whose numbers are the other rows' sums in
    every column of ``numbers`` (name, :class:`Column` pairs, read one at a time) where
    they have one, two columns at least. The columns stop being read once no end can be one
    (a table without totals: after its first column, not all 200: 1M x 10, 46 -> 5 ms)."""
    agree: dict[int, list[str]] = {p: [] for p in ends}
    for name, column in numbers:
        for p in list(agree):
            verdict = _agrees(column, p, [*aside, p], "sum")
            if verdict is False:
                del agree[p]
            elif verdict:
                agree[p].append(name)
        if not agree:
            break
    return [SummaryRow(p, "", "sum", tuple(names)) for p, names in agree.items()
            if len(names) >= 2]


def note(rows: list[SummaryRow], lines: np.ndarray) -> str:
    """What was set aside, for the report and stderr."""
    parts = []
    for s in rows[:3]:
        said = f" ('{s.label}')" if s.label else ""
        what = "sums" if s.kind == "sum" else "means"
        cols = ", ".join(f"'{c}'" for c in s.columns[:3]) + (", ..." if len(s.columns) > 3 else "")
        parts.append(f"line {int(lines[s.position])}{said} holds the other rows' {what} "
                     f"({cols})")
    what = "a totals row" if len(rows) == 1 else "totals rows"
    them = "it" if len(rows) == 1 else "them"
    return (f"{first_few(parts, len(rows), '; ')}: {what}, not data; left out (--keep-totals "
            f"keeps {them})")


def label(row: pd.Series) -> str:
    """The text cell of ``row`` that says it is a total or a mean ("" when none does)."""
    for value in row.to_numpy():
        if isinstance(value, str) and _LABEL.match(value.strip()):
            return value.strip()
    return ""


@dataclass(frozen=True)
class Column:
    """What the check reads of a numeric column: its sum and count over every row, its
    largest magnitude, and its values on the edge rows (no copy of a long column)."""

    total: float
    count: int
    size: float
    at: dict[int, float]


def _numbers(frame: pd.DataFrame, decimal: str, parse_text: bool, edge: list[int]):
    """(column, :class:`Column`) pairs, in the table's order, each computed when asked
    for, for the first MAX_COLUMNS columns read as numbers (text columns only when
    ``parse_text``: see the module's note; a total holds in every column, so a wide table's
    first columns are evidence enough: all 10,000 of a wide one took 2.4 s)."""
    given = 0
    for name, dtype in frame.dtypes.items():
        if given >= MAX_COLUMNS:
            break
        if pd.api.types.is_bool_dtype(dtype):
            continue
        if pd.api.types.is_numeric_dtype(dtype):
            col = frame[name]
            lo, hi = col.min(), col.max()
            given += 1
            yield name, Column(float(col.sum()), int(col.count()),
                                max(abs(float(lo)), abs(float(hi))) if pd.notna(lo) else 0.0,
                                {p: float(col.iat[p]) if pd.notna(col.iat[p]) else np.nan
                                 for p in edge})
        elif parse_text and (pd.api.types.is_object_dtype(dtype)
                             or pd.api.types.is_string_dtype(dtype)):
            values = read_text_column(frame[name], decimal).values
            if values is not None:
                seen = values[~np.isnan(values)]
                given += 1
                yield name, Column(float(seen.sum()), len(seen),
                                    float(np.abs(seen).max()) if len(seen) else 0.0,
                                    {p: float(values[p]) for p in edge})


def _agreement(numbers: dict[str, Column], p: int, aside: list[int], kind: str
               ) -> tuple[list[str], int]:
    """The columns where row ``p``'s number is the sum (mean) of the other rows' (all but
    ``aside``, which holds ``p``), and how many columns were tried (where ``p`` and two of
    the others have a number)."""
    agree, tried = [], 0
    for name, c in numbers.items():
        verdict = _agrees(c, p, aside, kind)
        if verdict is not None:
            tried += 1
            if verdict:
                agree.append(name)
    return agree, tried


def _agrees(c: Column, p: int, aside: list[int], kind: str) -> bool | None:
    """Whether row ``p``'s number in column ``c`` is the sum (mean) of the other rows' (all
    but ``aside``); None where it is not tried (``p`` or two of the others have no number)."""
    v = c.at[p]
    gone = [c.at[q] for q in aside if not np.isnan(c.at[q])]
    n = c.count - len(gone)
    if np.isnan(v) or n < 2:
        return None
    total = c.total - sum(gone)
    target = total if kind == "sum" else total / n
    if not (np.isfinite(target) and np.isfinite(c.size)):
        return None  # an infinite value: the sum tells nothing (a row of zeros "agreed")
    return bool(target != 0 and abs(v - target) <= TOLERANCE * max(abs(target), 1e-9 * c.size))
