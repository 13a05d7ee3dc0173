"""Each row's line in its file: one line a row, and one more for each line break inside a
quoted field of the rows above it (a comment written over two lines, as Excel exports it).
Both engines number rows this way (:mod:`somcli.io.read`, the Dask partitions)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def line_numbers(frame: pd.DataFrame, first_line: int) -> np.ndarray:
    """Each row's line in its file, ``first_line`` the first's: one line a row, and one
    more for each line break inside a quoted field (a comment written over two lines) of
    the rows above it, which :func:`lines_read` counts."""
    lines = np.arange(first_line, first_line + len(frame), dtype=np.int64)
    within = breaks(frame)
    if within is not None:
        lines[1:] += np.cumsum(within[:-1])
    return lines


def lines_read(frame: pd.DataFrame) -> int:
    """How many of the file's lines ``frame``'s rows took (:func:`line_numbers`)."""
    within = breaks(frame)
    return len(frame) + (int(within.sum()) if within is not None else 0)


def breaks(frame: pd.DataFrame) -> np.ndarray | None:
    """Per row, the line breaks inside its fields; None when there is none (the usual
    case: one vectorised search of each text column)."""
    out = None
    for name in frame.columns:
        column = frame[name]
        if not (column.dtype == object or pd.api.types.is_string_dtype(column.dtype)):
            continue
        try:
            found = column.str.contains("\n", regex=False)
        except AttributeError:  # (no text in it: numbers too big for floats, say)
            continue
        if not found.fillna(False).astype(bool).any():
            continue
        count = column.str.count("\n").fillna(0).to_numpy(dtype=np.int64)
        out = count if out is None else out + count
    return out
