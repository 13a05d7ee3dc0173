"""The rows of a table as read that are not data, left out with a note each: the header
repeated within the rows (files joined one after another), notes written under the table,
and rows that are its totals or averages (:mod:`somcli.prep.notes_rows`,
:mod:`somcli.prep.summary_rows`). On a :class:`somcli.io.read.Table`, in place."""

from __future__ import annotations

import numpy as np
import pandas as pd


def set_aside_ends(table, ends: bool) -> None:
    """Leave out the notes below the table and the rows that are its totals or averages,
    with a note each (:mod:`somcli.prep.notes_rows`, :mod:`somcli.prep.summary_rows`);
    ``ends``: the last rows read are the file's last."""
    from somcli.prep import notes_rows, summary_rows

    notes = notes_rows.find(table.frame) if ends else []
    if notes:
        table.warnings.append(f"{table.inputs[0]}: "
                              f"{notes_rows.note(notes, table.frame, table.lines)}")
        drop(table, notes)
    found = summary_rows.find(table.frame, table.dialect.decimal, last=ends)
    if found:
        table.warnings.append(f"{table.inputs[0]}: {summary_rows.note(found, table.lines)}")
        drop(table, [s.position for s in found])


def set_aside_headers(table) -> None:
    """Leave out the rows that repeat the header (:func:`notes_rows.repeated_headers`), and
    read the columns again: the header text had made every numeric column text."""
    from somcli.prep import notes_rows

    found = notes_rows.repeated_headers(table.frame)
    if found:
        table.warnings.append(f"{table.inputs[0]}: {notes_rows.header_note(found, table.lines)}")
        drop(table, found)
        table.frame = table.frame.apply(retyped)


def without_headers(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the rows that repeat its header, its columns typed again (what
    :func:`somcli.io.read.read_table` does, without a note: the Dask engine's sample, whose partitions
    say where they found them)."""
    from somcli.prep import notes_rows

    found = notes_rows.repeated_headers(frame)
    if not found:
        return frame
    return frame.loc[_kept(len(frame), found)].reset_index(drop=True).apply(retyped)


def retyped(column: pd.Series) -> pd.Series:
    """A text column as pandas' reader would have typed it without the header rows."""
    numbers = as_numbers(column)
    return column if numbers is None else numbers


def as_numbers(column: pd.Series) -> pd.Series | None:
    """``column``'s values as numbers when every value reads as one (gaps stay gaps), else
    None."""
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers if numbers.notna().sum() == column.notna().sum() else None


def drop(table, positions: list[int]) -> None:
    keep = _kept(table.n_rows, positions)
    table.frame = table.frame.loc[keep].reset_index(drop=True)
    table.lines = table.lines[keep]


def _kept(n: int, positions: list[int]) -> np.ndarray:
    """Which of ``n`` rows stay when those at ``positions`` go."""
    keep = np.ones(n, dtype=bool)
    keep[positions] = False
    return keep
