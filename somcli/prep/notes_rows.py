"""Rows that are not data: notes written under a table ("Source: World Development
Indicators", "Note: estimates", "* provisional"), and the header again within the rows
(files joined one after another, a paged export). Downloads from statistics offices and
spreadsheets end with notes, and a reader that takes them for rows clusters a row of gaps
filled with medians; a header within the rows made every numeric column text. They are set
aside before the column roles are decided, with a note, as totals rows are
(:mod:`somcli.prep.summary_rows`).

A row at the bottom of the table (the last MAX_NOTES at most, each one below the other) is
one when it holds a single value, text, every other cell empty, in a table of MIN_COLUMNS
columns or more, and that text

- begins like a note: a note word (Source, Note, Quelle, Anmerkung, Fuente, Nota, ...:
  :data:`NOTE_WORDS`) or a mark (``*``, ``©``, ``†``, ``¹``, ``1)``); or
- is longer than every value of its column above it (a sentence under a column of names).

A row is the header again when each of its cells is its column's name (two columns at
least).

The local reader scans a whole file (:func:`find`); the Dask engine a file's last rows,
with the longest text of each column from every partition (:func:`scan`, from
:mod:`somcli.backends.dask_cluster.ends`). Pure pandas; no I/O.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

MAX_NOTES = 10  # rows looked at, from the bottom up
MIN_COLUMNS = 3  # in a narrower table one value in a row may be an observation's
NOTE_WORDS = ("source", "sources", "note", "notes", "footnote", "footnotes", "copyright",
              "quelle", "quellen", "anmerkung", "anmerkungen", "hinweis", "fußnote",
              "fuente", "fuentes", "nota", "notas", "remarque", "remarques", "bron", "fonte")
_NOTE = re.compile(r"^\s*(\*+|©|†|‡|[¹²³⁴⁵⁶⁷⁸⁹]|\(?\d{1,2}\)|(" + "|".join(NOTE_WORDS) +
                   r")\b)", re.IGNORECASE)


def find(frame: pd.DataFrame) -> list[int]:
    """The positions of the notes at the bottom of ``frame``, top one first."""
    return scan(frame, 0, len(frame), lambda p, column: longest_text(frame.iloc[:p, column]))


def scan(rows: pd.DataFrame, start: int, n: int, longest) -> list[int]:
    """The notes at the bottom of a table of ``n`` rows whose last rows are ``rows`` (the
    first of them at position ``start``), top one first; ``longest(p, column)``: the
    longest text of column (its index) above position ``p``. The Dask engine gives the
    last rows of a file's last partition, and the longest texts from every partition."""
    width = rows.shape[1]
    if width < MIN_COLUMNS or n < 2:
        return []
    found = []
    for p in range(n - 1, max(n - 1 - MAX_NOTES, 0, start - 1), -1):
        cells = rows.iloc[p - start]
        present = np.flatnonzero(cells.notna().to_numpy())
        if len(present) != 1 or not isinstance(cells.iat[present[0]], str):
            break
        column, text = present[0], cells.iat[present[0]].strip()
        if not (_NOTE.match(text) or len(text) > longest(p, column)):
            break
        found.append(p)
    if len(found) == n - 1:  # no row above them is data: these are the table
        return []
    return found[::-1]


def longest_text(values: pd.Series) -> int:
    """The length of the longest value of ``values`` written as text (0: none)."""
    text = values.dropna()
    return int(text.astype(str).str.len().max()) if len(text) else 0


def note(positions: list[int], frame: pd.DataFrame, lines: np.ndarray) -> str:
    """What was set aside, for the report and stderr."""
    parts = []
    for p in positions[:3]:
        text = str(frame.iloc[p].dropna().iat[0]).strip()
        shown = text if len(text) <= 50 else text[:47] + "..."
        parts.append(f"line {int(lines[p])} ('{shown}')")
    what = "a note below the table" if len(positions) == 1 else "notes below the table"
    them = "it" if len(positions) == 1 else "them"
    return (f"{first_few(parts, len(positions))}: {what}, not data; left out (--keep-totals "
            f"keeps {them})")


def first_few(shown: list[str], total: int, sep: str = ", ") -> str:
    """``shown`` (the first of ``total`` things) joined, with how many more there are."""
    more = f" and {total - len(shown)} more" if total > len(shown) else ""
    return sep.join(shown) + more


def repeated_headers(frame: pd.DataFrame) -> list[int]:
    """The positions of the rows that repeat the header, cell for cell."""
    names = [str(c).strip() for c in frame.columns]
    if len(names) < 2 or not len(frame):
        return []
    text = [pd.api.types.is_object_dtype(t) or pd.api.types.is_string_dtype(t)
            for t in frame.dtypes]
    if not all(text):  # a column read as numbers holds no name (unless its name is one)
        return []
    first = frame.iloc[:, 0].astype(str).str.strip().to_numpy()
    return [int(p) for p in np.flatnonzero(first == names[0])
            if [str(v).strip() for v in frame.iloc[p].to_numpy()] == names]


def header_note(positions: list[int], lines: np.ndarray) -> str:
    shown = first_few([str(int(lines[p])) for p in positions[:5]], len(positions))
    many = len(positions) > 1
    return (f"line{'s' if many else ''} {shown} repeat{'' if many else 's'} the header "
            "(files joined one after another?): left out")
